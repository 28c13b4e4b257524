"""The JSON API: 401 without a login, 403 for another division, one error shape for bad input."""

from __future__ import annotations

from sqlalchemy import func, select

from govgrid.institutions.models import ScoringRule

BASE = "/api/v1/institutions"


def test_anonymous_calls_are_401(client):
    for method, path in [
        ("get", f"{BASE}/divisions/410527/ledger"),
        ("get", f"{BASE}/divisions/410527/register"),
        ("get", f"{BASE}/divisions/410527/incidents"),
        ("post", f"{BASE}/divisions/410527/sync"),
    ]:
        assert getattr(client, method)(path).status_code == 401, path


def test_ledger_register_and_incidents_over_the_api(client, login, usage):
    h = login("in_nh")
    book = client.get(f"{BASE}/divisions/410527/ledger", headers=h).json()
    assert book["scores"][0]["line_code"] == "public_security" and book["rule"]["version"] == 0
    assert client.post(f"{BASE}/divisions/410527/sync", headers=h).json() == {
        "added": 2,
        "raised": 0,
        "incidents_filed": 1,
    }
    reg = client.get(f"{BASE}/divisions/410527/register", headers=h).json()
    assert [e["grade"] for e in reg] == ["important", "general"]
    r = client.post(
        f"{BASE}/register/T01-410527-0001/reviews", json={"grade": "core", "note": "复核"}, headers=h
    )
    assert r.status_code == 201 and r.json()["grade"] == "core"
    (inc,) = client.get(f"{BASE}/divisions/410527/incidents", headers=h).json()
    r = client.post(
        f"{BASE}/incidents/{inc['id']}/move", json={"state": "dismissed", "note": "测试调用"}, headers=h
    )
    assert r.status_code == 200 and r.json()["state"] == "dismissed"


def test_other_division_and_bad_input(client, login, db, usage):
    pd = login("in_pd")
    r = client.get(f"{BASE}/divisions/410527/ledger", headers=pd)
    assert r.status_code == 403 and "message" in r.json()["error"]
    r = client.post(f"{BASE}/divisions/410527/rules", json={"weights": {"case": 9}}, headers=pd)
    assert r.status_code == 403
    nh = login("in_nh")
    r = client.post(f"{BASE}/divisions/410527/rules", json={"weights": {"case": 9}, "extra": 1}, headers=nh)
    assert r.status_code == 422
    r = client.post(f"{BASE}/divisions/410527/rules", json={"weights": {"bribes": 9}}, headers=nh)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["msg"] == "unknown:bribes"
    assert db.scalar(select(func.count(ScoringRule.id))) == 0
    assert client.get(f"{BASE}/divisions/999999/ledger", headers=nh).status_code == 404
    r = client.post(f"{BASE}/divisions/410527/rules", json={"weights": {"case": 9}}, headers=nh)
    assert r.status_code == 201 and r.json()["version"] == 1


def test_a_department_cannot_sync_the_whole_countys_register(client, login, usage):
    r = client.post(f"{BASE}/divisions/410527/sync", headers=login("in_nh_police"))
    assert r.status_code == 403 and "operator/admin" in r.json()["error"]["message"]
    assert client.get(f"{BASE}/divisions/410527/register", headers=login("in_nh")).json() == []
