"""Classes per county (本县类别设置): 平定县 runs 暴露垃圾 with its own deadline and line, its new cases get
them, another county keeps the standard; only the county's administrators change them; bad input is a 422."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from govgrid.citymap import catalog
from govgrid.citymap.models import Case, ClassOverride
from govgrid.citymap.services import cases, classes
from govgrid.core.workdays import default_calendar
from tests.citymap.conftest import ACTOR

API = "/api/v1/citymap"
PINGDING = "140321"
NEIHUANG = "410527"
GARBAGE = f"{API}/counties/{PINGDING}/classes/event/0101"  # 暴露垃圾: 2 working hours in the standard
START = datetime(2026, 12, 2, 1, 30, tzinfo=UTC)  # a Wednesday, 09:30 in Beijing


def _count(db) -> int:
    return db.scalar(select(func.count()).select_from(ClassOverride)) or 0


def _file_garbage_case(client, login, cell) -> Case:
    r = client.post(
        f"{API}/reports",
        json={
            "class_code": "0101",
            "lon": cell.center_lon,
            "lat": cell.center_lat,
            "description": "路边垃圾",
        },
        headers=login("pd_inspector"),
    )
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    filed = client.post(f"{API}/cases/{case_id}/file", json={}, headers=login("pd_dispatcher"))
    assert filed.status_code == 200, filed.text
    return client.get(f"{API}/cases/{case_id}", headers=login("pd_dispatcher")).json()


def test_pingding_runs_garbage_with_its_own_deadline_and_another_county_keeps_the_standard(
    client, db, login, grid, users
):
    r = client.put(GARBAGE, json={"deadline_hours": 6, "line": "housing"}, headers=login("pd_gov"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["deadline_hours"] == 6 and body["standard_deadline_hours"] == 2 and body["overridden"]
    assert body["line"] == "housing" and body["standard_line"] == "urban_management"

    case = _file_garbage_case(client, login, grid[2])
    filed_at = datetime.fromisoformat(case["filed_at"])
    assert datetime.fromisoformat(case["deadline_at"]) == default_calendar().add_working_hours(filed_at, 6)
    row = db.get(Case, case["id"])
    assert cases.default_department(db, row).code == f"{PINGDING}-housing"  # the county's own line handles it

    other = Case(county_code=NEIHUANG, kind="event", class_code="0101")
    assert cases.deadline_for(db, other, START) == default_calendar().add_working_hours(START, 2)
    assert classes.for_county(db, county_code=NEIHUANG, kind="event", code="0101") == catalog.get_class(
        "event", "0101"
    )
    listed = {
        (c["kind"], c["code"]): c
        for c in client.get(f"{API}/counties/{PINGDING}/classes", headers=login("pd_dispatcher")).json()
    }
    assert listed[("event", "0101")]["deadline_hours"] == 6
    assert not listed[("event", "0103")]["overridden"] and listed[("event", "0103")]["deadline_hours"] == 2

    # paused (inactive) and removed settings: new cases run under the standard again
    paused = client.put(GARBAGE, json={"deadline_hours": 6, "active": False}, headers=login("pd_gov"))
    assert paused.status_code == 200 and paused.json()["deadline_hours"] == 2
    assert paused.json()["setting_active"] is False
    assert client.delete(GARBAGE, headers=login("pd_gov")).status_code == 204
    case = _file_garbage_case(client, login, grid[5])
    filed_at = datetime.fromisoformat(case["filed_at"])
    assert datetime.fromisoformat(case["deadline_at"]) == default_calendar().add_working_hours(filed_at, 2)
    assert _count(db) == 0


def test_a_county_without_settings_runs_every_standard_class(db):
    for klass in catalog.catalogue():
        got = classes.for_county(db, county_code=PINGDING, kind=klass.kind, code=klass.code)
        assert got == klass
    assert classes.for_county(db, county_code=PINGDING, kind="event", code="9999") == catalog.get_class(
        *catalog.OTHER_EVENT
    )


def test_anonymous_and_other_divisions_are_refused_and_nothing_is_written(client, db, login, urban_admin):
    listing = f"{API}/counties/{PINGDING}/classes"
    assert client.get(listing).status_code == 401
    assert client.put(GARBAGE, json={"deadline_hours": 3}).status_code == 401
    assert client.delete(GARBAGE).status_code == 401
    nh = login("nh_gov")  # Neihuang's administrator
    assert client.get(listing, headers=nh).status_code == 403
    refused = client.put(GARBAGE, json={"deadline_hours": 3}, headers=nh)
    assert refused.status_code == 403 and "管理员" in refused.text
    assert client.delete(GARBAGE, headers=nh).status_code == 403
    assert client.put(GARBAGE, json={"deadline_hours": 3}, headers=login("pd_handler")).status_code == 403
    assert _count(db) == 0
    # the urban-management bureau's administrator keeps the county's classes too
    assert client.put(GARBAGE, json={"deadline_hours": 3}, headers=login("pd_urban_admin")).status_code == 200
    assert _count(db) == 1


def test_bad_settings_are_422_in_chinese_and_write_nothing(client, db, login):
    pd = login("pd_gov")
    for url, body, words in [
        (GARBAGE, {"deadline_hours": 0}, None),
        (GARBAGE, {"deadline_hours": 1000}, None),
        (GARBAGE, {"line": "no_such_line"}, "本县没有"),
        (GARBAGE, {}, "请填写处置时限或处置条线"),  # a row that changes nothing is no setting
        (GARBAGE, {"deadline_hours": 3, "colour": "red"}, None),
        (f"{API}/counties/{PINGDING}/classes/event/9999", {"deadline_hours": 3}, "没有城市管理类别"),
        (f"{API}/counties/{PINGDING}/classes/thing/0101", {"deadline_hours": 3}, None),
        (f"{API}/counties/140300/classes/event/0101", {"deadline_hours": 3}, "不是县级区划"),  # 阳泉市
    ]:
        r = client.put(url, json=body, headers=pd)
        assert r.status_code in (403, 422), (url, body, r.text)
        if words:
            assert r.status_code == 422 and words in r.text, r.text
    assert client.put(f"{API}/counties/999999/classes/event/0101", json={}, headers=pd).status_code == 404
    assert client.delete(GARBAGE, headers=pd).status_code == 404  # nothing set: nothing to remove
    assert _count(db) == 0


def test_the_service_refuses_a_setting_for_a_line_the_county_lacks(db):
    found = classes.problems(
        db, county_code=PINGDING, key="event-0101", deadline_hours=3, line="no_such_line", loc=["x"]
    )
    assert found and "本县没有" in found[0]["msg"]
    row = classes.set_override(
        db, actor=ACTOR, county_code=PINGDING, kind="part", code="0115", deadline_hours=None, line="housing"
    )
    assert row is not None and row.deadline_hours is None
    lamp = classes.for_county(db, county_code=PINGDING, kind="part", code="0115")
    assert lamp.line == "housing" and lamp.deadline_hours == 16  # the standard's hours stay
