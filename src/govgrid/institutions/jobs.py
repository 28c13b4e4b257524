"""Background work: the governance pass every hour (a periodic job: once per hour however many workers run)
syncs the grading register with the catalog and files the last two days' gateway refusals as incidents, for
the whole tree. Idempotent: it works from the catalog and the audit chain, not from memory. And the durable
subscriber that notes case closures (CITY_CASE_CLOSED) for the ledger's "cases closed"."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from govgrid.core import ports
from govgrid.core.audit.service import SystemActor
from govgrid.core.db import session_scope, utcnow
from govgrid.core.divisions.enums import NATIONAL_CODE
from govgrid.core.events import DomainEvent
from govgrid.core.jobs import PeriodicJob
from govgrid.institutions.services import incidents, outcomes, register

log = logging.getLogger(__name__)
ACTOR = SystemActor("institutions.governance")
INTERVAL_SECONDS = 3600


def govern_once() -> tuple[int, int, int]:
    """One governance pass in its own transaction: (entries added, grades raised, incidents filed)."""
    started = time.perf_counter()
    with session_scope() as session:
        added, raised = register.sync(session, actor=ACTOR, division_code=NATIONAL_CODE)
        end = utcnow()
        filed = incidents.scan(
            session, actor=ACTOR, division_code=NATIONAL_CODE, start=end - timedelta(days=2), end=end
        )
    log.info(
        "institutions governance pass finished",
        extra={
            "added": added,
            "raised": raised,
            "filed": filed,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return added, raised, filed


def on_case_closed(event: DomainEvent) -> None:
    """Note a reported case closure (at least once: noted once per case code); a declined report (不予立案)
    was closed without being handled and is not an outcome of the data used for it."""
    payload = event.payload
    if payload.get("handled", True) is False:
        return
    try:
        closed_at = datetime.fromisoformat(str(payload.get("closed_at", "")))
    except ValueError:
        closed_at = utcnow()
    with session_scope() as session:
        outcomes.note_closure(
            session,
            actor=ACTOR,
            source=str(payload.get("source", "")),
            external_ref=str(payload.get("external_ref", "")),
            case_code=str(payload.get("case_code", "")),
            result=str(payload.get("result", "")),
            closed_at=closed_at if closed_at.tzinfo else closed_at.replace(tzinfo=utcnow().tzinfo),
        )


PERIODIC = (PeriodicJob("institutions.governance", INTERVAL_SECONDS, govern_once),)
SUBSCRIPTIONS = [(ports.CITY_CASE_CLOSED, on_case_closed)]
