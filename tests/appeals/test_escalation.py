"""Clocks and escalation with frozen times: weekends and listed holidays are skipped; an unsigned ticket goes
to the superior's list and later to the supervisor queue; stale answers close."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from govgrid.appeals.services import escalation, routing, workflow
from tests.appeals.conftest import make_ticket, principal

SH = ZoneInfo("Asia/Shanghai")
API = "/api/v1/appeals"


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def test_deadlines_skip_weekends_and_holidays(db, world):
    t = make_ticket(db, now=at(2026, 11, 20, 15, 0))  # garbage: sign 2h, contact 4h, resolve 2 working days
    workflow.dispatch(db, actor=principal(db, "nh_dispatcher"), ticket=t, now=at(2026, 11, 20, 16, 0))
    assert t.sign_due == at(2026, 11, 23, 10, 0)  # Fri 16-17, Mon 9-10
    assert t.contact_due == at(2026, 11, 23, 12, 0)
    assert t.resolve_due == at(2026, 11, 24, 16, 0)  # two working days: Mon, Tue
    h = make_ticket(db, now=at(2026, 9, 30, 15, 0))
    workflow.dispatch(db, actor=principal(db, "nh_dispatcher"), ticket=h, now=at(2026, 9, 30, 16, 0))
    assert h.sign_due == at(2026, 10, 8, 10, 0)  # 国庆节 1-7 October skipped
    assert h.resolve_due == at(2026, 10, 9, 16, 0)  # Thu 8 Oct, Fri 9 Oct


def test_unsigned_ticket_goes_to_superior_then_supervisor(client, world, db, login):
    t = make_ticket(db, now=at(2026, 9, 30, 15, 0))
    v = make_ticket(db, description="东关村村委村务不公开，村干部不回应", now=at(2026, 9, 30, 15, 5))
    for x in (t, v):
        workflow.dispatch(db, actor=principal(db, "nh_dispatcher"), ticket=x, now=at(2026, 9, 30, 16, 0))
    # during the holiday nothing is overdue
    run = escalation.run_escalations(db, now=at(2026, 10, 5, 12, 0))
    assert t.number not in run.to_superior and t.escalation_level == 0
    run = escalation.run_escalations(db, now=at(2026, 10, 8, 10, 30))
    assert t.number in run.to_superior and t.escalation_level == 1 and t.escalation_reason == "sign_overdue"
    assert v.escalation_level == 0  # the village's sign clock (8 h) runs to 8 Oct 16:00
    assert t.escalated_department_id == routing.department_id(db, code="410527-government")
    db.flush()
    ids = [
        i["id"]
        for i in client.get(f"{API}/tickets", params={"view": "superior"}, headers=login("nh_gov")).json()[
            "items"
        ]
    ]
    assert t.id in ids
    queue = client.get(
        f"{API}/tickets", params={"view": "supervision"}, headers=login("nh_supervisor")
    ).json()
    assert t.id not in [i["id"] for i in queue["items"]]
    # the village ticket goes to the township government (its superior)
    escalation.run_escalations(db, now=at(2026, 10, 8, 16, 30))
    assert v.escalation_level == 1
    assert v.escalated_department_id == routing.department_id(db, code="410527100-government")
    db.flush()
    town = client.get(f"{API}/tickets", params={"view": "superior"}, headers=login("nh_town")).json()
    assert v.id in [i["id"] for i in town["items"]]
    # one more working day without signing: the supervisor queue (下沉监督)
    run = escalation.run_escalations(db, now=at(2026, 10, 9, 10, 0))
    assert t.number not in run.to_supervisor
    run = escalation.run_escalations(db, now=at(2026, 10, 9, 11, 0))
    assert t.number in run.to_supervisor and t.escalation_level == 2
    db.flush()
    queue = client.get(
        f"{API}/tickets", params={"view": "supervision"}, headers=login("nh_supervisor")
    ).json()
    assert t.id in [i["id"] for i in queue["items"]]
    # another county's supervisor sees nothing of it
    other = client.get(
        f"{API}/tickets", params={"view": "supervision"}, headers=login("pd_supervisor")
    ).json()
    assert t.id not in [i["id"] for i in other["items"]]
    # a pass is idempotent
    run = escalation.run_escalations(db, now=at(2026, 10, 9, 11, 1))
    assert t.number not in run.to_supervisor + run.to_superior


def test_signed_but_unanswered_escalates_on_resolution_clock_and_answers_autoclose(db, world):
    t = make_ticket(db, now=at(2026, 11, 23, 9, 0))
    handler = principal(db, "nh_handler")
    workflow.dispatch(db, actor=principal(db, "nh_dispatcher"), ticket=t, now=at(2026, 11, 23, 9, 30))
    workflow.sign(db, actor=handler, ticket=t, now=at(2026, 11, 23, 10, 0))
    workflow.contact(db, actor=handler, ticket=t, now=at(2026, 11, 23, 10, 30))
    run = escalation.run_escalations(db, now=at(2026, 11, 25, 9, 0))
    assert t.escalation_level == 0 and not run.to_superior
    run = escalation.run_escalations(db, now=at(2026, 11, 25, 10, 0))  # 2 working days after 23 Nov 09:30
    assert t.number in run.to_superior and t.escalation_reason == "resolve_overdue"
    workflow.answer(db, actor=handler, ticket=t, text="已处理", now=at(2026, 11, 25, 11, 0))
    run = escalation.run_escalations(db, now=at(2026, 11, 30, 12, 0))
    assert t.state == "answered"
    run = escalation.run_escalations(db, now=at(2026, 12, 3, 12, 0))  # 5 working days without a rating
    assert t.number in run.auto_closed and t.state == "closed"


def test_a_ticket_back_within_its_clocks_stays_with_the_superior(db, world):
    t = make_ticket(db, now=at(2026, 9, 30, 15, 0))
    handler = principal(db, "nh_handler")
    workflow.dispatch(db, actor=principal(db, "nh_dispatcher"), ticket=t, now=at(2026, 9, 30, 16, 0))
    escalation.run_escalations(db, now=at(2026, 10, 8, 10, 30))
    assert t.escalation_level == 1
    workflow.sign(db, actor=handler, ticket=t, now=at(2026, 10, 8, 11, 0))
    workflow.contact(db, actor=handler, ticket=t, now=at(2026, 10, 8, 11, 30))
    run = escalation.run_escalations(
        db, now=at(2026, 10, 9, 11, 0)
    )  # superior's day passed, resolution due 9 Oct 16:00
    assert t.number not in run.to_supervisor and t.escalation_level == 1
    run = escalation.run_escalations(
        db, now=at(2026, 10, 9, 16, 30)
    )  # now the resolution clock has run out too
    assert t.number in run.to_supervisor and t.escalation_level == 2
