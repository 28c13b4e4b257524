"""The ledger's "cases closed" (办结案件): data uses whose purpose named a case (its code or the ticket it
came from) that the city map reported closed through the declared port event, each case counted once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from govgrid.core import ports
from govgrid.core.db import utcnow
from govgrid.core.events import OutboxEvent, deliver_pending
from govgrid.institutions import rules
from govgrid.institutions.models import CaseClosure
from govgrid.institutions.services import ledger
from tests.institutions.conftest import SYSTEM, call

# the real formats: a city case code (county + day + serial), an appeal ticket number (day + serial)
CASE, TICKET, OPEN_CASE = "4105272026120100007", "20261130000123", "4105272026120200009"


def _close(db: Session) -> None:
    """The city map closes the case forwarded from a ticket: the port event, delivered by the relay."""
    closed = ports.CityCaseClosed(
        source="appeals", external_ref=TICKET, case_code=CASE, result="已修复路灯",
        closed_at=utcnow().isoformat(),
    )
    ports.report_case_closed(db, closed)
    db.commit()
    deliver_pending(db, now=utcnow() + timedelta(minutes=2))


def test_case_refs_are_the_codes_a_purpose_names():
    assert rules.case_refs(f"城管案件核查 {CASE}") == {CASE}
    assert rules.case_refs(f"诉求复核{TICKET}，另见{CASE}") == {TICKET, CASE}
    assert rules.case_refs("低保资格核验") == set()
    assert rules.case_refs("YW20261203-004711 预填") == {"YW20261203-004711"}  # an application number


def test_cases_closed_counts_closed_cases_named_by_uses_once(client, db: Session, login, usage):
    call(db, usage.police, "410527-urban_management", kind="verify", purpose=f"城管案件核查 {CASE}")
    call(db, usage.police, "410527-petition", kind="records", purpose=f"诉求复核 {TICKET}")  # the same case
    call(db, usage.police, "410527-urban_management", kind="verify", purpose=f"城管案件核查 {OPEN_CASE}")
    end = utcnow()
    before = ledger.ledger(db, actor=SYSTEM, division_code="410527", start=end - timedelta(days=30), end=end)
    assert before.cases_closed == 0

    _close(db)
    assert db.scalar(select(func.count(CaseClosure.id))) == 1
    # the event delivered again: noted once
    db.execute(update(OutboxEvent).where(OutboxEvent.name == ports.CITY_CASE_CLOSED)
               .values(delivered_at=None, available_at=utcnow()))
    db.commit()
    deliver_pending(db, now=utcnow() + timedelta(minutes=2))
    assert db.scalar(select(func.count(CaseClosure.id))) == 1

    nh = login("in_nh")
    body = client.get("/api/v1/institutions/divisions/410527/ledger", headers=nh).json()
    assert body["cases_closed"] == 1  # two uses named the one closed case; the open case does not count
    police = next(s for s in body["scores"] if s["department_id"] == usage.police.provider_department_id)
    assert police["cases_closed"] == 1
    assert all(s["cases_closed"] == 0 for s in body["scores"] if s is not police)
    named = [r for r in body["rows"] if r["cases_closed"]]
    assert {r["purpose"] for r in named} == {f"城管案件核查 {CASE}", f"诉求复核 {TICKET}"}
    assert all(r["cases_closed"] == [CASE] for r in named)

    page = client.get("/institutions/ledger?division=410527", headers={**nh, "Accept": "text/html"}).text
    assert 'id="cases-closed">1<' in page and "办结案件" in page
    other = client.get("/api/v1/institutions/divisions/410527/ledger", headers=login("in_pd"))
    assert other.status_code == 403


def test_a_declined_report_is_no_closed_case(db: Session, usage):
    # 不予立案: the city map tells the source the report was declined; nothing was handled with the data
    call(db, usage.police, "410527-urban_management", kind="verify", purpose=f"城管案件核查 {OPEN_CASE}")
    declined = ports.CityCaseClosed(
        source="appeals", external_ref="20261130000124", case_code=OPEN_CASE,
        result="不予立案: 不属于城管职责", closed_at=utcnow().isoformat(), handled=False,
    )
    ports.report_case_closed(db, declined)
    db.commit()
    deliver_pending(db, now=utcnow() + timedelta(minutes=2))
    assert db.scalar(select(func.count(CaseClosure.id))) == 0
    end = utcnow()
    assert ledger.ledger(db, actor=SYSTEM, division_code="410527", start=end - timedelta(days=30),
                         end=end).cases_closed == 0
