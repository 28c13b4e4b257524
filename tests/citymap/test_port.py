"""Citizens' events arrive through the declared port (appeals is never imported); closures go back."""

from sqlalchemy import select

from govgrid.citymap.models import Case
from govgrid.core.audit.models import AuditRecord
from govgrid.core.db import session_scope
from govgrid.core.events import subscribe
from govgrid.core.ports import CITY_CASE_CLOSED, CityEventReport, report_city_event

API = "/api/v1/citymap"


def test_forwarded_event_becomes_a_case_and_closure_is_reported_back(client, db, login, grid, users):
    closed = []
    subscribe(CITY_CASE_CLOSED, lambda ev: closed.append(ev.payload))
    c = grid[0]
    with session_scope() as s:
        report_city_event(
            s,
            CityEventReport(
                source="appeals",
                external_ref="T-2024-0001",
                category="street_vending",
                description="小区门口占道摆摊",
                lon=c.center_lon,
                lat=c.center_lat,
                division_code=None,
                reported_at="2000-01-01T00:00:00+08:00",
            ),
        )
    case = db.scalar(select(Case).where(Case.source == "appeals", Case.external_ref == "T-2024-0001"))
    assert (
        case is not None
        and case.class_code == "0409"
        and case.cell_code == c.code
        and case.state == "collected"
    )
    # the same ticket forwarded twice stays one case
    with session_scope() as s:
        report_city_event(
            s,
            CityEventReport(
                source="appeals",
                external_ref="T-2024-0001",
                category="street_vending",
                description="again",
                lon=c.center_lon,
                lat=c.center_lat,
                division_code=None,
                reported_at="",
            ),
        )
    assert len(db.scalars(select(Case).where(Case.external_ref == "T-2024-0001")).all()) == 1

    h = {u: login(u) for u in ("pd_dispatcher", "pd_handler", "pd_inspector")}
    assert (
        client.get(f"{API}/cases/{case.id}", headers=h["pd_dispatcher"]).json()["description"]
        == "小区门口占道摆摊"
    )
    read = db.scalar(
        select(AuditRecord).where(
            AuditRecord.action == "citymap.case_read", AuditRecord.entity_id == str(case.id)
        )
    )
    assert read is not None and read.actor_name == "pd_dispatcher"  # a citizen's text may carry personal data
    client.post(f"{API}/cases/{case.id}/file", json={}, headers=h["pd_dispatcher"])
    client.post(f"{API}/cases/{case.id}/dispatch", json={}, headers=h["pd_dispatcher"])
    client.post(f"{API}/cases/{case.id}/acknowledge", json={}, headers=h["pd_handler"])
    client.post(f"{API}/cases/{case.id}/feedback", json={"result": "已劝离"}, headers=h["pd_handler"])
    r = client.post(f"{API}/cases/{case.id}/verify", json={"passed": True}, headers=h["pd_inspector"])
    assert r.status_code == 200
    assert [(p["source"], p["external_ref"], p["result"], p["handled"]) for p in closed] == [
        ("appeals", "T-2024-0001", "已劝离", True)
    ]

    # a report the command centre declines (不予立案) is told back as closed without being handled
    with session_scope() as s:
        report_city_event(s, CityEventReport(
            source="appeals", external_ref="T-2024-0002", category="street_vending", description="重复反映",
            lon=c.center_lon, lat=c.center_lat, division_code=None, reported_at=""))
    other = db.scalar(select(Case).where(Case.external_ref == "T-2024-0002"))
    r = client.post(f"{API}/cases/{other.id}/reject", json={"reason": "重复上报"}, headers=h["pd_dispatcher"])
    assert r.status_code == 200, r.text
    assert (closed[-1]["external_ref"], closed[-1]["handled"]) == ("T-2024-0002", False)


def test_unmappable_or_outside_events_are_refused_without_a_case(db):
    with session_scope() as s:
        report_city_event(
            s,
            CityEventReport(
                source="appeals",
                external_ref="T-X",
                category="unknown",
                description="",
                lon=-40.0,
                lat=10.0,
                division_code=None,
                reported_at="",
            ),
        )
    assert db.scalar(select(Case.id).where(Case.external_ref == "T-X")) is None


def test_keyword_mapping_of_unknown_categories():
    from govgrid.citymap import catalog

    assert catalog.map_source_category("other", "路边井盖丢失").code == "0102"
    # the appeals module's city-event categories
    assert [
        catalog.map_source_category(c).code
        for c in ("road_damage", "garbage", "illegal_parking", "street_vendor", "street_light")
    ] == ["0501", "0101", "0405", "0409", "0115"]
    assert catalog.map_source_category("other", "无关内容").code == "0699"
