"""Machine ingest (video, IoT) with an API key, cameras, units' positions, dispatch proposals, live feed."""

import json
from datetime import timedelta

from govgrid.citymap.models import UnitPosition
from govgrid.citymap.services import feed
from govgrid.core.db import utcnow
from tests.citymap.conftest import offset

API = "/api/v1/citymap"


def _event(lon, lat, ref, **kw):
    return {"source": "video", "external_ref": ref, "class_code": "0409", "lon": lon, "lat": lat, **kw}


def test_ingest_needs_a_key_and_dedups(client, grid, camera, sensor_key):
    lon, lat = offset(camera.lon, camera.lat, 40, 0)
    assert client.post(f"{API}/ingest", json=_event(lon, lat, "v-1")).status_code == 401
    assert (
        client.post(
            f"{API}/ingest", json=_event(lon, lat, "v-1"), headers={"X-API-Key": "gg_bad_key"}
        ).status_code
        == 401
    )
    first = client.post(
        f"{API}/ingest", json=_event(lon, lat, "v-1", camera_code=camera.code), headers=sensor_key
    )
    assert first.status_code == 201, first.text
    again = client.post(
        f"{API}/ingest", json=_event(lon, lat, "v-1", camera_code=camera.code), headers=sensor_key
    )
    assert again.json()["duplicate"] and again.json()["case_id"] == first.json()["case_id"]
    nearby = client.post(
        f"{API}/ingest",
        json=_event(*offset(lon, lat, 15, 0), "v-2", camera_code=camera.code),
        headers=sensor_key,
    )
    assert nearby.json()["duplicate"] and nearby.json()["case_id"] == first.json()["case_id"]
    iot = client.post(
        f"{API}/ingest",
        json={
            "source": "iot",
            "external_ref": "well-7",
            "kind": "part",
            "class_code": "0102",
            "lon": lon,
            "lat": lat,
        },
        headers=sensor_key,
    )
    assert iot.status_code == 201 and not iot.json()["duplicate"]
    batch = client.post(
        f"{API}/ingest/batch",
        json={"items": [_event(lon, lat, "v-3"), _event(lon, lat, "v-4", class_code="9999")]},
        headers=sensor_key,
    )
    assert batch.status_code == 422 and batch.json()["error"]["details"][0]["loc"][:2] == ["items", 1]


def test_camera_links_back_to_its_cases(client, login, grid, camera, sensor_key):
    lon, lat = offset(camera.lon, camera.lat, 60, 0)
    case_id = client.post(
        f"{API}/ingest", json=_event(lon, lat, "v-9", camera_code=camera.code), headers=sensor_key
    ).json()["case_id"]
    case = client.get(f"{API}/cases/{case_id}", headers=login("pd_dispatcher")).json()
    assert case["camera_id"] == camera.id and case["source"] == "video"
    body = client.get(f"{API}/cameras/{camera.id}/cases", headers=login("pd_dispatcher")).json()
    assert body["camera"]["stream_url"] == "rtsp://cam.test/1" and [c["id"] for c in body["cases"]] == [
        case_id
    ]
    assert client.get(f"{API}/cameras/{camera.id}/cases", headers=login("nh_dispatcher")).status_code == 404
    bad = client.post(f"{API}/ingest", json=_event(lon, lat, "v-10", camera_code="NOPE"), headers=sensor_key)
    assert bad.status_code == 422
    r = client.post(
        f"{API}/cameras",
        json={"code": "X", "name": "x", "lon": lon, "lat": lat, "stream_url": "javascript:alert(1)"},
        headers=login("pd_gov"),
    )
    assert r.status_code == 422


def test_positions_track_and_bad_reports(client, db, login, unit, users):
    lon, lat = unit.lon, unit.lat
    now = utcnow()
    pts = [
        {
            "lon": lon + 0.0001 * i,
            "lat": lat,
            "at": (now + timedelta(seconds=i)).isoformat(),
            "speed_mps": 1.2,
        }
        for i in range(3)
    ]
    r = client.post(f"{API}/units/{unit.id}/positions", json={"positions": pts}, headers=login("pd_unit01"))
    assert r.status_code == 200 and abs(r.json()["lon"] - (lon + 0.0002)) < 1e-9
    track = client.get(f"{API}/units/{unit.id}/track", headers=login("pd_dispatcher")).json()
    assert len(track) == 3 and track[0]["at"] < track[-1]["at"]
    future = [{"lon": lon, "lat": lat, "at": (now + timedelta(hours=2)).isoformat()}]
    r = client.post(
        f"{API}/units/{unit.id}/positions", json={"positions": future}, headers=login("pd_unit01")
    )
    assert r.status_code == 422
    r = client.post(
        f"{API}/units/{unit.id}/positions",
        json={"positions": [{"lon": 200, "lat": lat}]},
        headers=login("pd_unit01"),
    )
    assert r.status_code == 422
    assert (
        client.post(
            f"{API}/units/{unit.id}/positions", json={"positions": pts}, headers=login("nh_handler")
        ).status_code
        == 403
    )
    assert client.post(f"{API}/units/{unit.id}/positions", json={"positions": pts}).status_code == 401
    assert db.query(UnitPosition).count() == 3
    r = client.post(f"{API}/units/{unit.id}/status", json={"status": "off_duty"}, headers=login("pd_unit01"))
    assert r.json()["status"] == "off_duty"
    assert (
        client.get(f"{API}/units", params={"status": "available"}, headers=login("pd_dispatcher")).json()
        == []
    )
    assert client.get(f"{API}/units", headers=login("nh_dispatcher")).json() == []


def test_batch_dispatch_proposes_one_unit_per_case(client, db, login, grid, users, unit):
    from govgrid.citymap.services import units
    from tests.citymap.conftest import ACTOR

    other = units.create_unit(
        db,
        actor=ACTOR,
        code="T-SAN-01",
        name="环卫一组",
        kind="sanitation",
        department_code="140321-urban_management",
        skills=["sanitation"],
        lon=grid[-1].center_lon,
        lat=grid[-1].center_lat,
    )
    ids = []
    for cell, cc in ((grid[0], "0409"), (grid[-1], "0101"), (grid[len(grid) // 2], "0501")):
        r = client.post(
            f"{API}/reports",
            json={"class_code": cc, "lon": cell.center_lon, "lat": cell.center_lat},
            headers=login("pd_inspector"),
        )
        ids.append(r.json()["case_id"])
        client.post(f"{API}/cases/{ids[-1]}/file", json={}, headers=login("pd_dispatcher"))
    r = client.post(f"{API}/dispatch/batch", json={"county_code": "140321"}, headers=login("pd_dispatcher"))
    assert r.status_code == 200, r.text
    body = r.json()
    got = {p["case_id"]: p["unit"]["id"] for p in body["proposals"]}
    assert got == {
        ids[0]: unit.id,
        ids[1]: other.id,
    }  # street vending -> enforcement, garbage -> sanitation crew
    assert body["unassigned"] == [ids[2]]  # nobody can repair the road
    assert body["total_distance_m"] <= body["greedy_distance_m"] + 0.1
    assert (
        client.post(
            f"{API}/dispatch/batch", json={"county_code": "140321"}, headers=login("pd_handler")
        ).status_code
        == 403
    )


def test_live_feed_snapshot_and_broadcast(client, login, unit):
    with client.stream(
        "GET",
        f"{API}/live",
        params={"county_code": "140321", "max_events": 1},
        headers=login("pd_dispatcher"),
    ) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        text = "".join(r.iter_text())
    assert text.startswith("event: snapshot")
    data = json.loads(text.split("data: ", 1)[1])
    assert data["units"][0]["code"] == "T-ENF-01"
    assert client.get(f"{API}/live", params={"county_code": "140321"}).status_code == 401


def test_broadcaster_delivers_committed_unit_moves_only_to_the_county():
    import asyncio

    from govgrid.core.events import DomainEvent

    async def run():
        here = feed.broadcaster.add("140321")
        there = feed.broadcaster.add("410527")
        try:
            feed.on_live(
                DomainEvent("citymap.live", {"data": {"channel": "unit", "county": "140321", "id": 7}})
            )
            got = await asyncio.wait_for(here.queue.get(), 1)
            assert got["id"] == 7 and there.queue.empty()
        finally:
            feed.broadcaster.remove(here)
            feed.broadcaster.remove(there)

    asyncio.run(run())


def test_simulator_moves_units_to_their_case_and_reports_back(db, client, login, grid, users, unit, camera):
    import random

    from govgrid.citymap.models import Case
    from govgrid.citymap.services import simulation

    case_id = client.post(
        f"{API}/reports",
        json={"class_code": "0409", "lon": grid[0].center_lon, "lat": grid[0].center_lat},
        headers=login("pd_inspector"),
    ).json()["case_id"]
    client.post(f"{API}/cases/{case_id}/file", json={}, headers=login("pd_dispatcher"))
    client.post(f"{API}/cases/{case_id}/dispatch", json={"unit_id": unit.id}, headers=login("pd_dispatcher"))
    client.post(f"{API}/cases/{case_id}/acknowledge", json={}, headers=login("pd_unit01"))
    rng = random.Random(1)  # a reproducible simulation, not a secret
    db.expire_all()  # the API wrote through its own session
    before = float(haversine(unit, grid[0]))
    simulation.step(db, "140321", 20.0, rng, new_event_p=1.0)  # 120 m per tick by van
    db.refresh(unit)
    assert float(haversine(unit, grid[0])) < before - 100
    for _ in range(5):
        simulation.step(db, "140321", 20.0, rng, new_event_p=0.0)
    case = db.get(Case, case_id)
    db.refresh(case)
    assert case.arrived_at is not None and unit.status == "on_site"
    case.arrived_at = case.arrived_at - timedelta(minutes=5)
    simulation.step(db, "140321", 20.0, rng, new_event_p=0.0)
    db.refresh(unit)
    assert case.state == "handled" and unit.status == "available"
    assert db.query(Case).filter(Case.source == "video", Case.camera_id == camera.id).count() == 1


def haversine(unit, cell):
    from govgrid.citymap.spatial import haversine_m

    return haversine_m(unit.lon, unit.lat, cell.center_lon, cell.center_lat)


def test_two_reports_that_read_the_same_serial_both_get_a_case(client, grid, camera, sensor_key, monkeypatch):
    """Several workers on PostgreSQL: a second report may compute the code the first just took; it is retried
    with the next free serial instead of failing with a conflict."""
    from govgrid.citymap.services import ingest

    lon, lat = offset(camera.lon, camera.lat, 40, 0)
    first = client.post(f"{API}/ingest", json=_event(lon, lat, "race-1"), headers=sensor_key).json()
    taken = client.get(f"{API}/cases/{first['case_id']}", headers=sensor_key).json().get("code")
    real = ingest.next_case_code
    calls = []

    def stale_then_real(session, county, at):
        calls.append(county)
        return taken if len(calls) == 1 and taken else real(session, county, at)

    monkeypatch.setattr(ingest, "next_case_code", stale_then_real)
    far = offset(lon, lat, 900, 0)
    second = client.post(f"{API}/ingest", json=_event(*far, "race-2"), headers=sensor_key)
    assert second.status_code == 201, second.text
    assert len(calls) == 2 and second.json()["case_id"] != first["case_id"]
