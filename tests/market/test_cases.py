"""Cross-level response: escalate up, forward across, deadlines in working days, only the receiver answers."""

from govgrid.core.departments import service as departments
from govgrid.core.modules import open_work
from tests.market.conftest import code

API = "/api/v1/market"


def body(**over):
    b = {
        "credit_code": code("410527", 1000),
        "kind": "escalate",
        "from_department_code": "410527-market_regulation",
        "to_department_code": "410500-market_regulation",
        "title": "连锁门店跨县销售问题食品",
        "days": 10,
    }
    b.update(over)
    return b


def test_escalate_accept_close(client, db, registry_nh, login):
    r = client.post(f"{API}/cases", json=body(), headers=login("nh_market"))
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["status"] == "open" and case["number"].startswith("XT-")
    assert case["deadline"] > case["created_at"]
    city = departments.get_by_code(db, "410500-market_regulation")
    assert open_work(db, [city.id])[city.id][0][1] == 1  # shows in the 条×块 matrix
    # the sender cannot accept its own case; the receiver can
    assert (
        client.post(f"{API}/cases/{case['id']}/accept", json={}, headers=login("nh_market")).status_code
        == 403
    )
    assert (
        client.post(f"{API}/cases/{case['id']}/accept", json={}, headers=login("ay_market")).status_code
        == 200
    )
    done = client.post(
        f"{API}/cases/{case['id']}/close", json={"reply": "已协调召回"}, headers=login("ay_market")
    )
    assert done.json()["status"] == "closed" and done.json()["reply"] == "已协调召回"
    assert (
        client.post(f"{API}/cases/{case['id']}/accept", json={}, headers=login("ay_market")).status_code
        == 409
    )
    assert client.get(f"{API}/cases", headers=login("pd_market")).json() == []
    assert client.get(f"{API}/cases").status_code == 401


def test_direction_rules(client, db, registry_nh, login):
    h = login("nh_market")
    # escalating sideways (another county) or forwarding upwards are refused
    r = client.post(f"{API}/cases", json=body(to_department_code="140321-market_regulation"), headers=h)
    assert r.status_code == 422 and "上级" in r.json()["error"]["message"]
    r = client.post(f"{API}/cases", json=body(kind="forward"), headers=h)
    assert r.status_code == 422
    r = client.post(
        f"{API}/cases", json=body(kind="forward", to_department_code="140321-market_regulation"), headers=h
    )
    assert r.status_code == 201
    assert client.get(f"{API}/cases", headers=login("pd_market")).json()[0]["kind"] == "forward"
    # another county cannot send in 内黄县's name; an unknown receiver is a field error
    assert client.post(f"{API}/cases", json=body(), headers=login("pd_market")).status_code == 403
    assert client.post(f"{API}/cases", json=body(to_department_code="999999-x"), headers=h).status_code == 422
