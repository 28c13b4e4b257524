"""The 条×块 flow matrix on hand-built requests: counts, overdue, median approval time, calls, levels."""

from datetime import timedelta

from govgrid.core.db import utcnow
from govgrid.exchange.services import gateway, metrics, sharing
from tests.exchange.conftest import principal, request_data


def _age(req, days_ago, decided_after_hours=None):
    when = utcnow() - timedelta(days=days_ago)
    shift = when - req.submitted_at
    req.submitted_at = when
    req.check_due_at += shift
    req.answer_due_at += shift
    if decided_after_hours is not None:
        req.decided_at = when + timedelta(hours=decided_after_hours)


def test_flow_matrix_figures(client, login, db, people):
    nh_handler, pd_handler, ay_tax, nh_tax = (
        principal(db, u) for u in ("nh_handler", "pd_handler", "ay_tax", "nh_tax")
    )
    same = sharing.submit_request(db, actor=nh_handler, data=request_data(people.code))
    sharing.decide(db, actor=nh_tax, request_id=same.id, action="approve")
    _age(same, 5, decided_after_hours=10)
    across = sharing.submit_request(db, actor=pd_handler, data=request_data(people.code))
    sharing.decide(db, actor=nh_tax, request_id=across.id, action="refuse", reason="不在本县履职范围")
    _age(across, 6, decided_after_hours=20)
    up = sharing.submit_request(db, actor=ay_tax, data=request_data(people.code))
    _age(up, 30)  # still waiting, far past both deadlines
    db.flush()
    gateway.read_records(db, actor=nh_handler, code=people.code)
    r = client.get("/api/v1/exchange/metrics/flow", params={"division": "410527"}, headers=login("nh_gov"))
    assert r.status_code == 200, r.text
    m = r.json()
    t = m["totals"]
    assert (t["requested"], t["granted"], t["refused"], t["pending"], t["overdue"]) == (3, 1, 1, 1, 1)
    assert t["median_approval_hours"] == 15.0
    assert (t["calls"], t["rows"]) == (1, 3)
    cells = {(c["provider_line"], c["consumer_line"]): c for c in m["cells"]}
    assert set(cells) == {("tax", "urban_management"), ("tax", "tax")}
    um = cells[("tax", "urban_management")]
    assert (um["requested"], um["granted"], um["refused"], um["calls"], um["rows"]) == (2, 1, 1, 1, 3)
    assert cells[("tax", "tax")]["overdue"] == 1
    levels = {lv["relation"]: lv for lv in m["levels"]}
    assert [levels[k]["requested"] for k in ("same", "up", "down", "across")] == [1, 1, 0, 1]
    assert levels["same"]["calls"] == 1 and levels["same"]["median_approval_hours"] == 10.0
    assert [s["id"] for s in m["stuck"]] == [up.id]


def test_flow_matrix_period_excludes_older_requests(client, login, db, people):
    req = sharing.submit_request(db, actor=principal(db, "nh_handler"), data=request_data(people.code))
    _age(req, 40)
    db.flush()
    start = (utcnow() - timedelta(days=10)).isoformat()
    r = client.get(
        "/api/v1/exchange/metrics/flow",
        params={"division": "410527", "start": start},
        headers=login("nh_gov"),
    )
    assert r.json()["totals"]["requested"] == 0
    r = client.get(
        "/api/v1/exchange/metrics/flow",
        params={"division": "410527", "start": "2026-01-01T00:00:00"},
        headers=login("nh_gov"),
    )
    assert r.status_code == 422


def test_flow_matrix_outside_territory_is_403(client, login):
    r = client.get(
        "/api/v1/exchange/metrics/flow", params={"division": "410527"}, headers=login("pd_handler")
    )
    assert r.status_code == 403
    assert (
        client.get(
            "/api/v1/exchange/metrics/flow", params={"division": "999999"}, headers=login("nh_gov")
        ).status_code
        == 404
    )


def test_relation_levels():
    a, b = "/000000/410000/410500/410527/", "/000000/410000/410500/"
    assert metrics.relation(a, a) == "same"
    assert metrics.relation(a, b) == "up"
    assert metrics.relation(b, a) == "down"
    assert metrics.relation(a, "/000000/140000/140300/140321/") == "across"


def test_department_role_sees_only_its_own_departments_flows(client, login, db, people, make_resource):
    mine = sharing.submit_request(db, actor=principal(db, "nh_handler"), data=request_data(people.code))
    other = make_resource(provider="410527-forestry", name="林地图斑", sharing_type="conditional")
    sharing.submit_request(db, actor=principal(db, "nh_tax"), data=request_data(other.code))
    db.flush()
    r = client.get(
        "/api/v1/exchange/metrics/flow", params={"division": "410527"}, headers=login("nh_handler")
    )
    assert r.status_code == 200
    m = r.json()
    assert m["scope"] == "departments" and m["totals"]["requested"] == 1
    assert {(c["provider_line"], c["consumer_line"]) for c in m["cells"]} == {("tax", "urban_management")}
    full = client.get("/api/v1/exchange/metrics/flow", params={"division": "410527"}, headers=login("nh_gov"))
    assert full.json()["scope"] == "territory" and full.json()["totals"]["requested"] == 2
    page = client.get("/exchange/matrix", headers=login("nh_handler"))
    assert page.status_code == 200 and 'id="matrix-scope"' in page.text
    assert mine.id
