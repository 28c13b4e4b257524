"""Every state change through the API, with permissions: dispatch, sign, contact, answer, rate, reopen,
survey, return, merge, supervise; reporter identity only for the handling unit and supervisors."""

from __future__ import annotations

from sqlalchemy import func, select

from govgrid.appeals.models import DailyStat, TicketEvent
from govgrid.appeals.services import routing, stats
from govgrid.core.audit.models import AuditRecord
from govgrid.core.divisions.models import Division
from tests.appeals.conftest import make_ticket

API = "/api/v1/appeals"


def _ticket(db, **kw):
    t = make_ticket(db, **kw)
    db.flush()
    return t


def test_anonymous_is_401_on_staff_endpoints(client, world, db):
    t = _ticket(db)
    assert client.get(f"{API}/tickets").status_code == 401
    assert client.get(f"{API}/tickets/{t.id}").status_code == 401
    assert client.post(f"{API}/tickets/{t.id}/dispatch", json={}).status_code == 401
    assert client.post(f"{API}/hotline", json={"description": "x"}).status_code == 401


def test_full_life_of_a_ticket(client, world, db, login):
    t = _ticket(db)  # garbage in 城关镇东关村: urban management is the line department
    disp, handler = login("nh_dispatcher"), login("nh_handler")
    inbox = client.get(f"{API}/tickets", params={"view": "inbox"}, headers=disp).json()
    assert t.id in [i["id"] for i in inbox["items"]]
    # the dispatcher sees no reporter identity (only a masked phone)
    view = client.get(f"{API}/tickets/{t.id}", headers=disp).json()
    assert view["reporter"] is None and view["reporter_phone_masked"] == "139****5678"
    r = client.post(f"{API}/tickets/{t.id}/dispatch", json={}, headers=disp)
    assert r.status_code == 200 and r.json()["state"] == "dispatched"
    assert r.json()["department_name"].endswith("城市管理局") or "城" in r.json()["department_name"]
    assert r.json()["sign_due"] and r.json()["resolve_due"]
    # handler of another county sees nothing of it
    assert client.get(f"{API}/tickets/{t.id}", headers=login("pd_handler")).status_code == 404
    assert client.post(f"{API}/tickets/{t.id}/sign", headers=login("pd_handler")).status_code == 404
    work = client.get(f"{API}/tickets", params={"view": "work"}, headers=handler).json()
    assert t.id in [i["id"] for i in work["items"]]
    detail = client.get(f"{API}/tickets/{t.id}", headers=handler).json()
    assert detail["reporter"]["phone"] == "13912345678" and detail["reporter"]["name"] == "王建国"
    assert (
        db.scalar(
            select(AuditRecord).where(
                AuditRecord.action == "appeals.reporter_read", AuditRecord.entity_id == str(t.id)
            )
        )
        is not None
    )
    assert client.post(f"{API}/tickets/{t.id}/sign", headers=handler).json()["state"] == "signed"
    assert client.post(f"{API}/tickets/{t.id}/sign", headers=handler).status_code == 409
    assert (
        client.post(f"{API}/tickets/{t.id}/contact", json={"text": "电话联系"}, headers=handler).status_code
        == 200
    )
    assert client.post(f"{API}/tickets/{t.id}/answer", json={"text": ""}, headers=handler).status_code == 422
    r = client.post(f"{API}/tickets/{t.id}/answer", json={"text": "已清运完毕"}, headers=handler)
    assert r.json()["state"] == "answered"
    # the resident rates with the tracking code: satisfied closes it
    track = client.get(f"{API}/track/{t.tracking_code}").json()
    assert track["state"] == "answered" and "13912345678" not in str(track) and "王建国" not in str(track)
    r = client.post(f"{API}/track/{t.tracking_code}/rating", json={"rating": "satisfied"})
    assert r.status_code == 200 and r.json()["state"] == "closed"
    assert (
        client.post(f"{API}/track/{t.tracking_code}/rating", json={"rating": "satisfied"}).status_code == 409
    )
    kinds = [
        e.kind
        for e in db.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id).order_by(TicketEvent.id))
    ]
    assert kinds == [
        "created",
        "dispatched",
        "signed",
        "contacted",
        "contact_note",
        "answered",
        "rated",
        "closed",
    ]
    metrics = set(stats.counts(db, root=db.get(Division, t.division_code), start=None, end=None))
    assert {
        "created",
        "dispatched",
        "signed",
        "signed_on_time",
        "contacted_on_time",
        "responded_on_time",
        "answered",
        "rated_satisfied",
        "rated_resolved",
        "closed",
    } <= metrics


def test_dispatcher_override_is_kept_and_counted(client, world, db, login):
    t = _ticket(db, description="东关村村委村务不公开")  # village affairs: the village committee
    village_dept = routing.department_id(db, code="410527100200-government")
    town_dept = routing.department_id(db, code="410527100-government")
    assert t.proposed_department_id == village_dept
    r = client.post(
        f"{API}/tickets/{t.id}/dispatch",
        json={"department_id": town_dept, "note": "涉及多村"},
        headers=login("nh_dispatcher"),
    )
    assert r.status_code == 200 and r.json()["department_id"] == town_dept
    assert r.json()["category_confirmed"] is True
    ev = db.scalar(select(TicketEvent).where(TicketEvent.ticket_id == t.id, TicketEvent.kind == "dispatched"))
    assert "改派" in ev.note
    assert (
        db.scalar(select(func.sum(DailyStat.overridden)).where(DailyStat.division_code == t.division_code))
        >= 1
    )
    # a category change re-proposes the unit and is kept
    t2 = _ticket(db, description="东关村这边有点事情想反映")
    r = client.post(
        f"{API}/tickets/{t2.id}/dispatch",
        json={"category_code": "water_supply"},
        headers=login("nh_dispatcher"),
    )
    assert r.json()["category_code"] == "water_supply" and r.json()["category_source"] == "dispatcher"
    assert r.json()["department_id"] == routing.department_id(db, code="410527-water_resources")
    bad = client.post(
        f"{API}/tickets/{t2.id}/dispatch", json={"category_code": "nosuch"}, headers=login("nh_dispatcher")
    )
    assert bad.status_code == 409  # already dispatched


def test_only_dispatchers_dispatch_and_only_the_unit_handles(client, world, db, login):
    t = _ticket(db)
    assert (
        client.post(f"{API}/tickets/{t.id}/dispatch", json={}, headers=login("nh_supervisor")).status_code
        == 403
    )
    client.post(f"{API}/tickets/{t.id}/dispatch", json={}, headers=login("nh_dispatcher"))
    assert client.post(f"{API}/tickets/{t.id}/sign", headers=login("nh_dispatcher")).status_code == 403
    assert (
        client.post(
            f"{API}/tickets/{t.id}/dispatch", json={"department_id": 999999}, headers=login("nh_dispatcher")
        ).status_code
        == 409
    )


def test_unresolved_rating_reopens_and_escalates(client, world, db, login):
    t = _ticket(db)
    disp, handler = login("nh_dispatcher"), login("nh_handler")
    client.post(f"{API}/tickets/{t.id}/dispatch", json={}, headers=disp)
    client.post(f"{API}/tickets/{t.id}/sign", headers=handler)
    client.post(f"{API}/tickets/{t.id}/answer", json={"text": "已处理"}, headers=handler)
    r = client.post(
        f"{API}/track/{t.tracking_code}/rating", json={"rating": "unsatisfied", "comment": "根本没来"}
    )
    assert r.json()["state"] == "signed"
    db.refresh(t)
    assert t.reopen_count == 1 and t.escalation_level == 1 and t.escalation_reason == "citizen_rejected"
    assert t.escalated_department_id == routing.department_id(db, code="410527-government")
    sup = client.get(f"{API}/tickets", params={"view": "superior"}, headers=login("nh_gov")).json()
    assert t.id in [i["id"] for i in sup["items"]]
    # answered again, rejected again by the callback survey: the supervisor queue
    client.post(f"{API}/tickets/{t.id}/answer", json={"text": "重新处理"}, headers=handler)
    r = client.post(f"{API}/tickets/{t.id}/survey", json={"rating": "basic", "resolved": False}, headers=disp)
    assert r.status_code == 200
    db.refresh(t)
    assert t.escalation_level == 2 and t.rating_source == "survey"
    queue = client.get(
        f"{API}/tickets", params={"view": "supervision"}, headers=login("nh_supervisor")
    ).json()
    assert t.id in [i["id"] for i in queue["items"]]


def test_return_merge_and_supervise(client, world, db, login):
    disp, handler, sup = login("nh_dispatcher"), login("nh_handler"), login("nh_supervisor")
    a = _ticket(db, description="城关镇东关村路口垃圾堆放好几天没人清运")
    b = _ticket(
        db,
        description="城关镇东关村路口垃圾堆放好几天没人清运了",
        reporter_name="李秀英",
        reporter_phone="13700001111",
    )
    dups = client.get(f"{API}/tickets/{a.id}", headers=disp).json()["duplicates"]
    assert b.id in [d["id"] for d in dups]
    r = client.post(f"{API}/tickets/{b.id}/merge", json={"into_id": a.id}, headers=disp)
    assert r.status_code == 200 and r.json()["state"] == "merged"
    assert client.post(f"{API}/tickets/{a.id}/merge", json={"into_id": a.id}, headers=disp).status_code == 422
    client.post(f"{API}/tickets/{a.id}/dispatch", json={}, headers=disp)
    detail = client.get(f"{API}/tickets/{a.id}", headers=handler).json()
    assert detail["reporter"]["name"] == "王建国"
    # the merged reporter follows the surviving ticket on the tracking page
    assert client.get(f"{API}/track/{b.tracking_code}").json()["merged_into"] == a.number
    assert client.post(f"{API}/tickets/{a.id}/return", json={"text": ""}, headers=handler).status_code == 422
    r = client.post(f"{API}/tickets/{a.id}/return", json={"text": "不属于城管职责"}, headers=handler)
    assert r.json()["state"] == "pending" and r.json()["department_id"] is None
    assert (
        client.post(f"{API}/tickets/{a.id}/supervise", json={"action": "summon"}, headers=handler).status_code
        == 404
    )
    assert (
        client.post(f"{API}/tickets/{a.id}/supervise", json={"action": "summon"}, headers=disp).status_code
        == 403
    )
    for action, text in (("comment", "请尽快派遣"), ("summon", "约谈城关镇"), ("accountability", "通报批评")):
        r = client.post(f"{API}/tickets/{a.id}/supervise", json={"action": action, "text": text}, headers=sup)
        assert r.status_code == 200
    assert r.json()["summoned"] is True and r.json()["accountability"] == "通报批评"
    assert r.json()["reporter"]["name"] == "王建国"  # supervisors see the reporter
    assert (
        client.post(
            f"{API}/tickets/{a.id}/supervise", json={"action": "accountability"}, headers=sup
        ).status_code
        == 422
    )


def test_hotline_intake_by_operator(client, world, db, login):
    r = client.post(
        f"{API}/hotline",
        json={"description": "后河镇停水两天了", "reporter_phone": "13811112222", "call_ref": "CALL-1"},
        headers=login("nh_operator"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["category_code"] == "water_supply"
    again = client.post(
        f"{API}/hotline",
        json={"description": "后河镇停水两天了", "call_ref": "CALL-1"},
        headers=login("nh_operator"),
    )
    assert again.json()["number"] == r.json()["number"]  # same call id: same ticket
    assert (
        client.post(f"{API}/hotline", json={"description": "x"}, headers=login("nh_viewer")).status_code
        == 403
    )


def test_hotline_bad_input_is_422_and_writes_nothing(client, world, db, login):
    from tests.appeals.conftest import count_tickets

    before = count_tickets(db)
    op = login("nh_operator")
    for payload in (
        {"description": "坑" * 4001},
        {"description": "有事", "category_code": "nosuch"},
        {"description": "有事", "lon": -30.0, "lat": -60.0},
        {"description": ""},
    ):
        r = client.post(f"{API}/hotline", json=payload, headers=op)
        assert r.status_code == 422, payload
        assert r.json()["error"]["message"]
    page = client.post(
        "/appeals/hotline",
        data={"description": "有事", "category_code": "nosuch"},
        headers={**op, "Accept": "text/html"},
    )
    assert page.status_code == 422 and 'id="errors"' in page.text
    assert count_tickets(db) == before


def test_masking_follows_who_may_see_the_reporter(client, world, db, login):
    t = _ticket(db, description="城关镇东关村垃圾没人清运，我是王建国，电话139.1234.5678")
    disp = client.get(f"{API}/tickets/{t.id}", headers=login("nh_dispatcher")).json()
    assert disp["reporter"] is None
    assert "139****5678" in disp["description"] and "王建国" not in disp["description"] + disp["title"]
    row = client.get(f"{API}/tickets", params={"q": t.number}, headers=login("nh_dispatcher")).json()[
        "items"
    ][0]
    assert "139.1234.5678" not in row["title"] and "王建国" not in row["title"]
    # the supervisor of the territory sees the reporter, and the text as written
    sup = client.get(f"{API}/tickets/{t.id}", headers=login("nh_supervisor")).json()
    assert sup["reporter"]["name"] == "王建国" and "139.1234.5678" in sup["description"]
