"""Background work: the escalation pass every minute (a periodic job: once per minute however many workers
run), and the city map's closure notes (a port subscription)."""

from __future__ import annotations

import logging
import time

from govgrid.appeals.services import city, escalation
from govgrid.core import ports
from govgrid.core.db import session_scope, utcnow
from govgrid.core.events import DomainEvent
from govgrid.core.jobs import PeriodicJob

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 60


def escalate_once() -> escalation.EscalationRun:
    """One escalation pass in its own transaction (logs its start and its end with the counts)."""
    started = time.perf_counter()
    log.debug("escalation pass started")
    with session_scope() as session:
        run = escalation.run_escalations(session, now=utcnow())
    log.info(
        "escalation pass finished",
        extra={
            "to_superior": len(run.to_superior),
            "to_supervisor": len(run.to_supervisor),
            "auto_closed": len(run.auto_closed),
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return run


def on_city_case_closed(event: DomainEvent) -> None:
    """The city map closed a case that came from a ticket: note the outcome on the ticket."""
    payload = event.payload
    if payload.get("source") != "appeals":
        return
    with session_scope() as session:
        city.note_city_case_closed(
            session,
            number=str(payload.get("external_ref", "")),
            case_code=str(payload.get("case_code", "")),
            result=str(payload.get("result", "")),
        )


SUBSCRIPTIONS = [(ports.CITY_CASE_CLOSED, on_city_case_closed)]
PERIODIC = (PeriodicJob("appeals.escalation", INTERVAL_SECONDS, escalate_once),)
