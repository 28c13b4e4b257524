"""Resident intake (web form, mobile page) and bad input on the JSON API: a clear 4xx, nothing
half-created."""

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
    ev = [e for e in city_events if e.external_ref == r.json()["number"]]
    assert ev and ev[0].category == "road_damage" and ev[0].source == "appeals"
    assert ev[0].division_code == "410527100202"
    # the city map's closure is noted on the ticket
    from govgrid.appeals.services import city

    t = city.note_city_case_closed(db, number=r.json()["number"], case_code="C-1", result="已修复")
    assert t.city_case_code == "C-1"
    assert city.note_city_case_closed(db, number="nope", case_code="C", result="x") is None


def test_idempotency_keys_are_checked_and_kept_apart_per_caller(client, world, db, login):
    body = {"description": "楚旺镇停水两天了", "division_code": "410527"}
    bad = client.post(f"{API}/tickets", json=body, headers={"Idempotency-Key": "has space"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["loc"] == [
        "header",
        "Idempotency-Key",
    ]
    key = {"Idempotency-Key": "call-0001"}
    # the same key from two call-takers: two calls, two tickets (keys of one caller never answer another)
    a = client.post(f"{API}/hotline", json=body, headers={**key, **login("nh_operator")})
    b = client.post(f"{API}/hotline", json=body, headers={**key, **login("nh_dispatcher")})
    assert a.status_code == b.status_code == 201 and a.json()["number"] != b.json()["number"]
    assert "Idempotent-Replayed" not in b.headers
    # a refused request leaves no claim behind: the key still works once the request is right
    before = count_tickets(db)
    refused = client.post(f"{API}/tickets", json={"description": ""}, headers={"Idempotency-Key": "k-late"})
    assert refused.status_code == 422 and count_tickets(db) == before
    ok = client.post(f"{API}/tickets", json=body, headers={"Idempotency-Key": "k-late"})
    assert ok.status_code == 201 and "Idempotent-Replayed" not in ok.headers


def test_hotline_defaults_to_the_call_takers_own_division(client, world, db, login):
    r = client.post(f"{API}/hotline", json={"description": "停水两天了没人管"}, headers=login("nh_operator"))
    assert r.status_code == 201, r.text
    from govgrid.appeals.models import Ticket

    t = db.scalar(select(Ticket).where(Ticket.number == r.json()["number"]))
    assert t.division_code.startswith("410527") and t.channel == "hotline"
    # a role that does not take calls is refused, whatever its place
    assert (
        client.post(f"{API}/hotline", json={"description": "x"}, headers=login("nh_handler")).status_code
        == 403
    )


def test_long_titles_are_cut_after_masking(client, world, db, login):
    from govgrid.appeals.models import Ticket

    lon, lat = village_point(db, "410527101201")
    text = "东庄镇" * 18 + "联系电话13912345678，家里停水两天"
    r = client.post(f"{API}/tickets", json={"description": text, "lon": lon, "lat": lat})
    t = db.scalar(select(Ticket).where(Ticket.number == r.json()["number"]))
    assert len(t.title) == 60 and t.title.endswith("…")  # stored: the first line, shortened
    public = client.get(f"{API}/track/{r.json()['tracking_code']}").json()["title"]
    assert public.startswith("东庄镇") and "139" not in public and len(public) <= 60
    staff = client.get(f"{API}/tickets/{t.id}", headers=login("nh_dispatcher")).json()
    assert "139****5678" in staff["description"] and "13912345678" not in staff["description"]
