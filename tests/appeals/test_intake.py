"""Resident intake (web form, mobile page) and bad input on the JSON API: a clear 4xx, nothing half-created."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from govgrid.appeals.models import DailyStat, TicketEvent
from govgrid.core.audit.models import AuditRecord
from tests.appeals.conftest import count_tickets, village_point

API = "/api/v1/appeals"


def test_web_report_without_login_gives_tracking_code(client, world, db):
    lon, lat = village_point(db, "410527104202")
    r = client.post(
        f"{API}/tickets",
        json={
            "description": "后河镇这里路灯坏了一个多月不亮",
            "lon": lon,
            "lat": lat,
            "reporter_phone": "13911112222",
            "channel": "mobile",
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["category_code"] == "street_light" and len(body["tracking_code"]) == 10
    assert body["proposed_department"]
    track = client.get(f"{API}/track/{body['tracking_code'].lower()}")
    assert track.status_code == 200 and track.json()["state"] == "pending"
    assert "13911112222" not in track.text
    assert client.get(f"{API}/track/NOSUCHCODE").status_code == 404
    assert (
        db.scalar(
            select(AuditRecord)
            .where(AuditRecord.action == "appeals.ticket_create")
            .order_by(AuditRecord.seq.desc())
            .limit(1)
        ).actor_type
        == "public"
    )


@pytest.mark.parametrize(
    "payload,status",
    [
        ({"description": ""}, 422),
        ({"description": "坑" * 4001}, 422),
        ({"description": "有问题", "category_code": "nosuch"}, 422),
        ({"description": "有问题", "lon": -30.0, "lat": -60.0}, 422),
        ({"description": "有问题", "lon": 200.0, "lat": 35.0}, 422),
        ({"description": "有问题", "lon": 114.9}, 422),
        ({"description": "有问题", "reporter_phone": "call me maybe"}, 422),
        ({"description": "有问题", "lon": "east"}, 422),
        ({"description": "有问题", "unexpected": 1}, 422),
    ],
)
def test_bad_input_is_4xx_and_nothing_is_written(client, world, db, payload, status):
    before = (
        count_tickets(db),
        db.scalar(select(func.count()).select_from(TicketEvent)),
        db.scalar(select(func.coalesce(func.sum(DailyStat.created), 0))),
    )
    r = client.post(f"{API}/tickets", json=payload)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["message"] and err["code"] in ("validation_error",)
    after = (
        count_tickets(db),
        db.scalar(select(func.count()).select_from(TicketEvent)),
        db.scalar(select(func.coalesce(func.sum(DailyStat.created), 0))),
    )
    assert after == before


def test_malformed_json_and_wrong_types(client, world, db, login):
    before = count_tickets(db)
    r = client.post(f"{API}/tickets", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.json()["error"]["details"][0]["msg"]
    r = client.post(f"{API}/tickets", json=["a list"])
    assert r.status_code == 422
    assert (
        client.get(f"{API}/tickets", params={"view": "bogus"}, headers=login("nh_dispatcher")).status_code
        == 422
    )
    assert client.get(f"{API}/tickets/999999", headers=login("nh_dispatcher")).status_code == 404
    assert client.post(f"{API}/track/NOSUCH/rating", json={"rating": "great"}).status_code == 422
    assert count_tickets(db) == before


def test_city_management_concern_is_published_on_the_city_event_port(client, world, db, city_events):
    lon, lat = village_point(db, "410527100202")
    r = client.post(
        f"{API}/tickets", json={"description": "南街村路面破损严重有大坑", "lon": lon, "lat": lat}
    )
    assert r.status_code == 201
    ev = [e for e in city_events if e.payload["external_ref"] == r.json()["number"]]
    assert ev and ev[0].payload["category"] == "road_damage" and ev[0].payload["source"] == "appeals"
    assert ev[0].payload["division_code"] == "410527100202"
    # the city map's closure is noted on the ticket
    from govgrid.appeals import service

    t = service.note_city_case_closed(db, number=r.json()["number"], case_code="C-1", result="已修复")
    assert t.city_case_code == "C-1"
    assert service.note_city_case_closed(db, number="nope", case_code="C", result="x") is None
