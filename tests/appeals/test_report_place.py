"""A resident's report lands in the county its address names (平定县, not the channel's default 内黄县), or in
the county and township chosen in the form; the place is shown before submitting."""

from __future__ import annotations

from sqlalchemy import select

from govgrid.appeals.models import Ticket
from govgrid.appeals.services import routing
from tests.appeals.conftest import count_tickets
from tests.conftest import csrf_token


def test_address_in_another_served_county_resolves_there(world, db):
    div = routing.resolve_place(db, address="平定县冠山镇东关村村口路灯不亮")
    assert div is not None and div.code.startswith("140321100")  # 冠山镇's 东关村, not 内黄县
    label = routing.place_label(db, code=div.code)
    assert (
        label["county"] == "平定县"
        and label["township"] == "冠山镇"
        and label["label"].startswith("平定县冠山镇")
    )
    # a township name alone is enough when only one served county has it
    assert routing.resolve_place(db, address="娘子关镇河边").code.startswith("140321104")
    # the choice in the form wins over nothing; a township outside the chosen county is refused
    assert routing.resolve_place(db, address="", county_code="140321").code == "140321"
    assert routing.resolve_place(db, address="路灯", township_code="140321101").code == "140321101"
    assert routing.resolve_place(db, address="随便哪里") is None


def test_report_page_files_a_pingding_address_under_pingding(client, world, db):
    before = count_tickets(db)
    r = client.post(
        "/appeals/report",
        data={
            "description": "村口路灯坏了一个月没人修",
            "address": "平定县冠山镇东关村村口",
            "csrf_token": csrf_token(client, "/appeals/report"),
        },
    )
    assert r.status_code == 200 and "平定县冠山镇" in r.text
    t = db.scalar(select(Ticket).order_by(Ticket.id.desc()).limit(1))
    assert count_tickets(db) == before + 1
    assert t.division_code.startswith("140321") and t.location_source == "address"


def test_chosen_county_and_township_are_used_and_checked(client, world, db):
    r = client.post(
        "/appeals/report",
        data={
            "description": "路面塌陷有危险",
            "county_code": "140321",
            "township_code": "140321102",
            "csrf_token": csrf_token(client, "/appeals/report"),
        },
    )
    assert r.status_code == 200
    t = db.scalar(select(Ticket).order_by(Ticket.id.desc()).limit(1))
    assert t.division_code.startswith("140321102") and t.location_source == "chosen"
    before = count_tickets(db)
    bad = client.post(
        "/appeals/report",
        data={
            "description": "路面塌陷有危险",
            "county_code": "410527",
            "township_code": "140321102",
            "csrf_token": csrf_token(client, "/appeals/report"),
        },
    )
    assert bad.status_code == 422 and "所选乡镇不在所选区县内" in bad.text
    assert count_tickets(db) == before


def test_the_place_is_shown_before_submitting(client, world, db):
    before = count_tickets(db)
    r = client.post(
        "/appeals/report",
        data={
            "description": "垃圾",
            "address": "平定县锁簧镇",
            "step": "check",
            "csrf_token": csrf_token(client, "/appeals/report"),
        },
    )
    assert r.status_code == 200 and 'id="place-box"' in r.text and "平定县锁簧镇" in r.text
    assert count_tickets(db) == before  # checking saves nothing
    j = client.get("/appeals/report/place", params={"address": "平定县冠山镇东关村"}).json()
    assert j["resolved"] and j["place"]["county"] == "平定县"
    fallback = client.get("/appeals/report/place", params={"address": "某处"}).json()
    assert not fallback["resolved"] and fallback["place"]["county"] == "内黄县"
    form = client.get("/appeals/report")
    assert 'id="county_code"' in form.text and "平定县" in form.text and "冠山镇" in form.text
