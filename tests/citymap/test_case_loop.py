"""The GB/T 30428 case loop through the API: the right role at each step, 403 for the wrong one, rework."""

from sqlalchemy import select

from govgrid.citymap.models import Case, CaseStep
from govgrid.citymap.spatial import haversine_m
from tests.citymap.conftest import offset

API = "/api/v1/citymap"


def _report(client, login, lon, lat, class_code="0101", user="pd_inspector"):
    return client.post(
        f"{API}/reports",
        json={"class_code": class_code, "lon": lon, "lat": lat, "description": "路边垃圾堆积"},
        headers=login(user),
    )


def test_full_loop_with_roles_and_rework(client, db, login, grid, users, unit):
    lon, lat = grid[3].center_lon, grid[3].center_lat
    r = _report(client, login, lon, lat)
    assert r.status_code == 201, r.text
    body = r.json()
    case_id = body["case_id"]
    assert body["state"] == "collected" and body["cell_code"] == grid[3].code and not body["duplicate"]
    assert len(body["case_code"]) == 19 and body["case_code"].startswith("140321")

    # 案卷建立: only the command centre's dispatcher
    assert client.post(f"{API}/cases/{case_id}/file", json={}, headers=login("pd_handler")).status_code == 403
    assert (
        client.post(f"{API}/cases/{case_id}/file", json={}, headers=login("pd_inspector")).status_code == 403
    )
    r = client.post(f"{API}/cases/{case_id}/file", json={}, headers=login("pd_dispatcher"))
    assert r.status_code == 200 and r.json()["state"] == "filed" and r.json()["deadline_at"]

    # proposals: the only available unit, at its great-circle distance
    props = client.get(f"{API}/cases/{case_id}/proposals", headers=login("pd_dispatcher")).json()
    expected = float(haversine_m(unit.lon, unit.lat, lon, lat))
    assert props[0]["unit"]["id"] == unit.id and abs(props[0]["distance_m"] - expected) < 1
    # 任务派遣
    assert (
        client.post(
            f"{API}/cases/{case_id}/dispatch", json={"unit_id": unit.id}, headers=login("pd_handler")
        ).status_code
        == 403
    )
    r = client.post(
        f"{API}/cases/{case_id}/dispatch", json={"unit_id": unit.id}, headers=login("pd_dispatcher")
    )
    assert r.status_code == 200 and r.json()["state"] == "dispatched" and r.json()["unit_id"] == unit.id

    # 任务处理: the dispatcher may not sign for the task; the unit's own account may
    assert (
        client.post(f"{API}/cases/{case_id}/acknowledge", json={}, headers=login("pd_dispatcher")).status_code
        == 403
    )
    r = client.post(f"{API}/cases/{case_id}/acknowledge", json={}, headers=login("pd_unit01"))
    assert r.status_code == 200 and r.json()["state"] == "handling"
    assert client.get(f"{API}/units/{unit.id}", headers=login("pd_dispatcher")).json()["status"] == "en_route"
    r = client.post(f"{API}/cases/{case_id}/arrive", headers=login("pd_unit01"))
    assert r.status_code == 200 and r.json()["response_minutes"] is not None
    assert client.get(f"{API}/units/{unit.id}", headers=login("pd_dispatcher")).json()["status"] == "on_site"

    # 处理反馈 by the department's handler
    r = client.post(f"{API}/cases/{case_id}/feedback", json={"result": "已清运"}, headers=login("pd_handler"))
    assert r.status_code == 200 and r.json()["state"] == "handled"
    # 核查结案: the handler cannot verify their own work; a failed check sends it back (返工)
    assert (
        client.post(
            f"{API}/cases/{case_id}/verify", json={"passed": True}, headers=login("pd_handler")
        ).status_code
        == 403
    )
    r = client.post(
        f"{API}/cases/{case_id}/verify",
        json={"passed": False, "note": "仍有垃圾"},
        headers=login("pd_inspector"),
    )
    assert r.status_code == 200 and r.json()["state"] == "handling" and r.json()["rework_count"] == 1
    r = client.post(
        f"{API}/cases/{case_id}/feedback", json={"result": "二次清运"}, headers=login("pd_unit01")
    )
    assert r.status_code == 200
    r = client.post(f"{API}/cases/{case_id}/verify", json={"passed": True}, headers=login("pd_supervisor"))
    assert r.status_code == 200 and r.json()["state"] == "closed" and r.json()["closed_on_time"] is True
    # 综合评价 by the supervisor only
    assert (
        client.post(
            f"{API}/cases/{case_id}/evaluate", json={"score": 4}, headers=login("pd_inspector")
        ).status_code
        == 403
    )
    r = client.post(f"{API}/cases/{case_id}/evaluate", json={"score": 4}, headers=login("pd_supervisor"))
    assert r.status_code == 200 and r.json()["state"] == "evaluated"

    steps = client.get(f"{API}/cases/{case_id}/steps", headers=login("pd_dispatcher")).json()
    assert [s["action"] for s in steps] == [
        "collect",
        "file",
        "dispatch",
        "acknowledge",
        "arrive",
        "feedback",
        "verify_fail",
        "feedback",
        "verify_pass",
        "evaluate",
    ]
    assert [s["role"] for s in steps][:3] == ["inspector", "dispatcher", "dispatcher"]
    assert all(s["at"] for s in steps)

    k = client.get(
        f"{API}/indicators", params={"division_code": "140321"}, headers=login("pd_supervisor")
    ).json()
    assert (
        k["filed"] == 1 and k["closed"] == 1 and k["closure_rate"] == 1.0 and k["on_time_closure_rate"] == 1.0
    )
    assert k["rework_rate"] == 1.0 and k["reworked"] == 1
    assert k["departments"][0]["department"] == "平定县城市管理局"
    by_name = {i["inspector"]: i for i in k["inspectors"]}
    assert by_name["pd_inspector"]["valid_reports"] == 1 and by_name["pd_inspector"]["verified"] == 1
    assert by_name["平定县纪委监督员"]["verified"] == 1  # pd_supervisor closed it
    assert by_name["pd_inspector"]["verified_on_time"] == 1  # checked right after the feedback


def test_steps_out_of_order_are_409(client, login, grid, users):
    case_id = _report(client, login, grid[0].center_lon, grid[0].center_lat).json()["case_id"]
    r = client.post(f"{API}/cases/{case_id}/dispatch", json={}, headers=login("pd_dispatcher"))
    assert r.status_code == 409 and "collected" in r.json()["error"]["message"]
    r = client.post(f"{API}/cases/{case_id}/verify", json={"passed": True}, headers=login("pd_inspector"))
    assert r.status_code == 409


def test_reject_and_other_county_cannot_see(client, db, login, grid, users):
    case_id = _report(client, login, grid[1].center_lon, grid[1].center_lat).json()["case_id"]
    assert client.get(f"{API}/cases/{case_id}", headers=login("nh_dispatcher")).status_code == 404
    assert (
        client.post(f"{API}/cases/{case_id}/file", json={}, headers=login("nh_dispatcher")).status_code == 404
    )
    assert client.get(f"{API}/cases/{case_id}").status_code == 401
    assert client.get(f"{API}/cases", headers=login("nh_dispatcher")).json()["total"] == 0
    assert client.get(f"{API}/cases", headers=login("pd_dispatcher")).json()["total"] == 1
    r = client.post(
        f"{API}/cases/{case_id}/reject", json={"reason": "非城管事项"}, headers=login("pd_dispatcher")
    )
    assert r.status_code == 200 and r.json()["state"] == "rejected"
    assert (
        db.scalar(select(CaseStep.action).where(CaseStep.case_id == case_id).order_by(CaseStep.id.desc()))
        == "reject"
    )


def test_overdue_case_counts(client, db, login, grid, users):
    from datetime import timedelta

    from govgrid.core.db import utcnow

    case_id = _report(client, login, grid[2].center_lon, grid[2].center_lat).json()["case_id"]
    client.post(f"{API}/cases/{case_id}/file", json={}, headers=login("pd_dispatcher"))
    case = db.get(Case, case_id)
    case.deadline_at = utcnow() - timedelta(hours=1)
    db.flush()
    body = client.get(f"{API}/cases/{case_id}", headers=login("pd_dispatcher")).json()
    assert body["overdue"] is True
    assert (
        client.get(f"{API}/cases", params={"overdue": True}, headers=login("pd_dispatcher")).json()["total"]
        == 1
    )
    k = client.get(
        f"{API}/indicators", params={"division_code": "140321"}, headers=login("pd_supervisor")
    ).json()
    assert k["open_overdue"] == 1 and k["overdue"] == 1 and k["closure_rate"] == 0.0
    cells = client.get(f"{API}/map/grid", params={"county_code": "140321"}).json()["features"]
    assert next(f for f in cells if f["id"] == grid[2].code)["properties"]["overdue"] == 1
    assert (
        client.get(
            f"{API}/indicators", params={"division_code": "140321"}, headers=login("nh_gov")
        ).status_code
        == 403
    )


def test_bad_reports_are_4xx_and_write_nothing(client, db, login, grid, users):
    lon, lat = grid[0].center_lon, grid[0].center_lat
    cases = [
        ({"class_code": "9999", "lon": lon, "lat": lat}, 422),
        ({"class_code": "0101", "lon": 500, "lat": lat}, 422),
        ({"class_code": "0101", "lon": -40.0, "lat": 10.0}, 422),  # outside every county
        ({"class_code": "0101", "lon": lon, "lat": lat, "reported_at": "2999-01-01T00:00:00+08:00"}, 422),
        ({"class_code": "0101", "lon": lon, "lat": lat, "reported_at": "2024-01-01T00:00:00"}, 422),
        ({"class_code": "0101", "lon": "east", "lat": lat}, 422),
        ({"class_code": "0101", "lon": lon, "lat": lat, "extra": 1}, 422),
    ]
    for body, status in cases:
        r = client.post(f"{API}/reports", json=body, headers=login("pd_inspector"))
        assert r.status_code == status, (body, r.text)
        assert "error" in r.json()
    assert (
        client.post(f"{API}/reports", json={"class_code": "0101", "lon": lon, "lat": lat}).status_code == 401
    )
    # an inspector of another county may not report here
    nh = client.post(
        f"{API}/reports", json={"class_code": "0101", "lon": lon, "lat": lat}, headers=login("nh_handler")
    )
    assert nh.status_code == 403
    assert db.scalar(select(Case.id)) is None


def test_repeated_reports_merge_into_one_case(client, login, grid, users):
    lon, lat = grid[0].center_lon, grid[0].center_lat
    first = _report(client, login, lon, lat).json()
    near = _report(client, login, *offset(lon, lat, 20, 10)).json()
    far = _report(client, login, *offset(lon, lat, 200, 0)).json()
    other_class = _report(client, login, lon, lat, class_code="0405").json()
    assert near["duplicate"] and near["case_id"] == first["case_id"]
    assert not far["duplicate"] and far["case_id"] != first["case_id"]
    assert not other_class["duplicate"]
    assert (
        client.get(f"{API}/cases/{first['case_id']}", headers=login("pd_dispatcher")).json()["report_count"]
        == 2
    )


def test_map_cases_geojson_filters_and_scope(client, login, grid, users):
    a = _report(client, login, grid[0].center_lon, grid[0].center_lat).json()["case_id"]
    b = _report(client, login, grid[5].center_lon, grid[5].center_lat, class_code="0405").json()["case_id"]
    client.post(f"{API}/cases/{b}/file", json={}, headers=login("pd_dispatcher"))
    h = login("pd_dispatcher")
    r = client.get(f"{API}/map/cases", params={"county_code": "140321"}, headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    feats = r.json()["features"]
    assert {f["id"] for f in feats} == {a, b}
    fb = next(f for f in feats if f["id"] == b)
    assert fb["properties"] == {
        "code": fb["properties"]["code"],
        "state": "filed",
        "kind": "event",
        "class_code": "0405",
        "overdue": False,
    }
    assert abs(fb["geometry"]["coordinates"][0] - grid[5].center_lon) < 1e-9
    only = client.get(
        f"{API}/map/cases", params={"county_code": "140321", "class_code": "0405"}, headers=h
    ).json()
    assert [f["id"] for f in only["features"]] == [b]
    states = client.get(
        f"{API}/map/cases", params=[("county_code", "140321"), ("state", "collected")], headers=h
    ).json()
    assert [f["id"] for f in states["features"]] == [a]
    c = grid[0]
    box = f"{c.min_lon},{c.min_lat},{c.max_lon},{c.max_lat}"
    assert [
        f["id"] for f in client.get(f"{API}/map/cases", params={"bbox": box}, headers=h).json()["features"]
    ] == [a]
    assert client.get(f"{API}/map/cases", params={"bbox": "1,2"}, headers=h).status_code == 400
    assert client.get(f"{API}/map/cases", headers=login("nh_dispatcher")).json()["features"] == []
    assert client.get(f"{API}/map/cases").status_code == 401
    heat = client.get(f"{API}/map/heat", params={"county_code": "140321"}, headers=h).json()
    assert sorted(n for *_, n in heat) == [1, 1]
