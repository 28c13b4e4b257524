"""Plans, commitments and draws through the API: who may, what the public sees before and after."""

from sqlalchemy import func, select

from govgrid.market import drawing
from govgrid.market.models import Draw, Inspection

API = "/api/v1/market"
FIELDS = {"id", "plan", "committed_at", "commitment", "seed", "entities_hash", "targets", "inspectors"}


def plan_body(**over):
    body = {
        "name": "2026 年内黄县联合抽查",
        "year": 2026,
        "department_code": "410527-market_regulation",
        "items": [
            {"department_code": "410527-market_regulation", "item": "公示信息检查"},
            {"department_code": "410527-health", "item": "健康证明检查"},
        ],
        "sample_size": 5,
        "per_group": 1,
    }
    body.update(over)
    return body


def test_commit_then_draw_publishes_a_verifiable_draw(client, db, registry_nh, login):
    h = login("nh_market")
    plan = client.post(f"{API}/plans", json=plan_body(), headers=h)
    assert plan.status_code == 201, plan.text
    pid = plan.json()["id"]
    committed = client.post(f"{API}/plans/{pid}/commit", headers=h).json()
    public = client.get(f"{API}/draws").json()
    mine = next(d for d in public if d["id"] == committed["id"])
    assert set(mine) >= FIELDS
    assert mine["seed"] is None and mine["targets"] == [] and mine["inspectors"] == []
    assert len(mine["commitment"]) == 64 and mine["entity_count"] == 30
    # drawing again needs no new commitment; committing twice is refused
    assert client.post(f"{API}/plans/{pid}/commit", headers=h).status_code == 409
    drawn = client.post(f"{API}/plans/{pid}/draw", json={}, headers=h).json()
    assert drawing.commitment(drawn["seed"]) == mine["commitment"]
    assert len(drawn["targets"]) == 5 and all(len(ids) == 2 for ids in drawn["inspectors"])
    assert drawn["commitment"] == mine["commitment"] and drawn["entities_hash"] == mine["entities_hash"]
    row = db.get(Draw, drawn["id"])
    assert drawing.verify(drawn, row.entities_snapshot, row.inspectors_snapshot) is None
    visits = client.get(f"{API}/plans/{pid}/inspections", headers=h).json()
    assert [v["credit_code"] for v in visits] == drawn["targets"]
    assert all(
        len(v["items"]) == 2 for v in visits
    )  # 进一次门、查多项事: both departments' items on one visit
    assert client.post(f"{API}/plans/{pid}/draw", json={}, headers=h).status_code == 409


def test_changing_the_directory_after_commitment_is_detectable(client, db, registry_nh, login):
    h = login("nh_market")
    pid = client.post(f"{API}/plans", json=plan_body(), headers=h).json()["id"]
    committed = client.post(f"{API}/plans/{pid}/commit", headers=h).json()
    drawn = client.post(f"{API}/plans/{pid}/draw", json={}, headers=h).json()
    row = db.get(Draw, drawn["id"])
    tampered = row.entities_snapshot.replace(",B,", ",D,", 1)
    assert drawing.verify(drawn, tampered, row.inspectors_snapshot).startswith("entities_hash")
    assert drawn["entities_hash"] == committed["entities_hash"]


def test_beacon_named_in_advance_is_required(client, db, registry_nh, login):
    h = login("nh_market")
    pid = client.post(
        f"{API}/plans", json=plan_body(beacon_source="2026-12-31 双色球开奖号码"), headers=h
    ).json()["id"]
    client.post(f"{API}/plans/{pid}/commit", headers=h)
    r = client.post(f"{API}/plans/{pid}/draw", json={}, headers=h)
    assert r.status_code == 422 and "公开随机值" in r.json()["error"]["message"]
    drawn = client.post(
        f"{API}/plans/{pid}/draw", json={"beacon": "03 11 17 22 28 31 + 09"}, headers=h
    ).json()
    assert drawn["beacon"] == "03 11 17 22 28 31 + 09"


def test_refusals_write_nothing(client, db, registry_nh, login):
    h = login("nh_market")
    before = db.scalar(select(func.count()).select_from(Draw))
    too_many = client.post(f"{API}/plans", json=plan_body(sample_size=31), headers=h).json()["id"]
    r = client.post(f"{API}/plans/{too_many}/commit", headers=h)
    assert r.status_code == 409 and "超过" in r.json()["error"]["message"]
    assert (
        client.post(
            f"{API}/plans", json=plan_body(weights={"A": 0, "B": 0, "C": 0, "D": 0}), headers=h
        ).status_code
        == 422
    )
    foreign = plan_body(items=[{"department_code": "140321-health", "item": "x"}])
    assert client.post(f"{API}/plans", json=foreign, headers=h).status_code == 422
    assert client.post(f"{API}/plans", json=plan_body(extra=1), headers=h).status_code == 422
    assert db.scalar(select(func.count()).select_from(Draw)) == before
    assert db.scalar(select(func.count()).select_from(Inspection)) == 0


def test_other_division_and_anonymous(client, db, registry_nh, login):
    h = login("nh_market")
    pid = client.post(f"{API}/plans", json=plan_body(), headers=h).json()["id"]
    other = login("pd_market")
    assert client.post(f"{API}/plans", json=plan_body(), headers=other).status_code == 403
    assert client.get(f"{API}/plans/{pid}", headers=other).status_code == 404
    assert client.post(f"{API}/plans/{pid}/commit", headers=other).status_code == 403
    assert client.get(f"{API}/plans", headers=other).json() == []
    assert client.get(f"{API}/plans/{pid}", headers=login("ay_market")).status_code == 200  # the city line
    for method, path in (("get", "/plans"), ("post", f"/plans/{pid}/commit"), ("post", f"/plans/{pid}/draw")):
        assert getattr(client, method)(f"{API}{path}").status_code == 401
    # the public lists need no login; an unknown draw is a 404 in the one error shape
    assert client.get(f"{API}/draws").status_code == 200
    assert client.get(f"{API}/draws/999999").json()["error"]["code"] == "not_found"
    assert client.get(f"{API}/draws", params={"division": "x"}).status_code == 422
