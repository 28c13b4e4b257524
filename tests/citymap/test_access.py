"""Who sees what on the city map, on the core policy (services/access.py): territory for division reach, the
department's own records for department reach, and the city map's named rules (grid keeper, register readers,
a unit's own account)."""

import logging

from govgrid.citymap.services import ogc, units
from govgrid.core.errors import AppError
from tests.citymap.conftest import ACTOR, VILLAGE

API = "/api/v1/citymap"


def _report(client, login, cell):
    r = client.post(
        f"{API}/reports",
        json={"class_code": "0101", "lon": cell.center_lon, "lat": cell.center_lat},
        headers=login("pd_inspector"),
    )
    assert r.status_code == 201, r.text
    return r.json()["case_id"]


def _ids(client, login, user, path):
    return [f["id"] for f in client.get(f"{API}{path}", headers=login(user)).json()["features"]]


def test_a_department_reach_bureau_no_longer_sees_the_county_map(
    client, login, grid, users, unit, camera
):
    """The scope fix: pd_tax (operator of the county tax bureau, department reach) saw every case, unit and
    camera of Pingding through the city map's own territory rule; the core policy gives it its department."""
    case_id = _report(client, login, grid[0])
    assert client.get(f"{API}/cases/{case_id}", headers=login("pd_tax")).status_code == 404
    assert client.get(f"{API}/cases", headers=login("pd_tax")).json()["total"] == 0
    assert _ids(client, login, "pd_tax", "/map/cameras?county_code=140321") == []
    assert _ids(client, login, "pd_tax", "/map/units?county_code=140321") == []
    r = client.get("/ogcapi/collections/cameras/items", headers=login("pd_tax"))
    assert r.status_code == 200 and r.json()["numberMatched"] == 0
    # division reach (the county's dispatcher and inspector) oversees the whole county, as before
    assert client.get(f"{API}/cases/{case_id}", headers=login("pd_dispatcher")).status_code == 200
    assert _ids(client, login, "pd_dispatcher", "/map/cameras?county_code=140321") == [camera.id]


def test_the_urban_management_bureau_reads_its_register_and_its_assigned_cases(
    client, login, grid, users, unit, camera, urban_admin
):
    case_id = _report(client, login, grid[0])
    # register readers: the bureau's people read the parts and cameras it keeps, whatever their reach
    for user in ("pd_handler", "pd_urban_admin"):
        assert _ids(client, login, user, "/map/cameras?county_code=140321") == [camera.id]
    # a case waiting for the command centre belongs to no department yet: only the territory sees it
    assert client.get(f"{API}/cases/{case_id}", headers=login("pd_handler")).status_code == 404
    # and a caller without the dispatcher role is refused before the case is looked up
    r = client.post(f"{API}/cases/{case_id}/file", json={}, headers=login("pd_handler"))
    assert r.status_code == 403 and str(case_id) not in r.json()["error"]["message"]
    client.post(f"{API}/cases/{case_id}/file", json={}, headers=login("pd_dispatcher"))
    # dispatched to the class's line: urban management
    client.post(f"{API}/cases/{case_id}/dispatch", json={}, headers=login("pd_dispatcher"))
    assert client.get(f"{API}/cases/{case_id}", headers=login("pd_handler")).status_code == 200
    # the grid keeper validates the grid it keeps and registers cameras, with department reach
    r = client.get(f"{API}/grid/validate", params={"division_code": VILLAGE}, headers=login("pd_urban_admin"))
    assert r.status_code == 200
    r = client.post(
        f"{API}/cameras",
        json={"code": "T-CAM-K", "name": "k", "lon": grid[1].center_lon, "lat": grid[1].center_lat},
        headers=login("pd_urban_admin"),
    )
    assert r.status_code == 201, r.text
    # another bureau's operator may not
    r = client.post(
        f"{API}/cameras",
        json={"code": "T-CAM-X", "name": "x", "lon": grid[1].center_lon, "lat": grid[1].center_lat},
        headers=login("pd_tax"),
    )
    assert r.status_code == 403


def test_a_units_own_account_sees_the_case_dispatched_to_its_unit(client, db, login, grid, users):
    # a housing repair crew whose account (pd_unit01) sits in the urban management bureau
    crew = units.create_unit(
        db, actor=ACTOR, code="T-REP-01", name="维修组", kind="repair", department_code="140321-housing",
        skills=["repair"], user_id=users["pd_unit01"].id, lon=grid[1].center_lon, lat=grid[1].center_lat,
    )
    db.flush()
    case_id = _report(client, login, grid[0])
    client.post(f"{API}/cases/{case_id}/file", json={}, headers=login("pd_dispatcher"))
    assert client.get(f"{API}/cases/{case_id}", headers=login("pd_unit01")).status_code == 404
    r = client.post(
        f"{API}/cases/{case_id}/dispatch", json={"unit_id": crew.id}, headers=login("pd_dispatcher")
    )
    assert r.status_code == 200, r.text
    assert client.get(f"{API}/cases/{case_id}", headers=login("pd_unit01")).status_code == 200
    r = client.post(f"{API}/cases/{case_id}/acknowledge", json={}, headers=login("pd_unit01"))
    assert r.status_code == 200 and r.json()["state"] == "handling"


def test_ogc_errors_are_app_errors_in_the_ogc_format(client):
    assert issubclass(ogc.OgcError, AppError)
    err = ogc.OgcError(401, "Unauthorized", "x")
    assert (err.status, err.code, err.headers) == (401, "Unauthorized", {"WWW-Authenticate": "Bearer"})
    r = client.get("/ogcapi/collections/parts/items")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert r.json() == {"code": "Unauthorized", "description": r.json()["description"]}
    r = client.get("/ogcapi/collections/nope")
    assert r.status_code == 404 and r.json() == {"code": "NotFound", "description": r.json()["description"]}


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_each_step_logs_one_line_with_ids_only(client, login, grid, users):
    logger, seen = logging.getLogger("govgrid.citymap"), _Records()
    level = logger.level
    logger.addHandler(seen)
    logger.setLevel(logging.INFO)
    try:
        case_id = _report(client, login, grid[0])
        client.post(f"{API}/cases/{case_id}/file", json={}, headers=login("pd_dispatcher"))
    finally:
        logger.removeHandler(seen)
        logger.setLevel(level)
    moved = [r for r in seen.records if r.getMessage() == "case moved"]
    assert [(r.action, r.__dict__["from"], r.to) for r in moved] == [
        ("collect", None, "collected"),
        ("file", "collected", "filed"),
    ]
    assert all(r.case_id == case_id for r in moved)
    text = " ".join(f"{r.getMessage()} {r.__dict__}" for r in seen.records)
    assert "pd_inspector" not in text and "pd_dispatcher" not in text  # ids, never names
