"""Background work: the escalation pass every minute, and the city map's closure notes (a port
subscription)."""

from __future__ import annotations

import asyncio
import logging
import time

from govgrid.appeals.services import city, escalation
from govgrid.core import ports
from govgrid.core.db import session_scope, utcnow
from govgrid.core.events import DomainEvent

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 60
_task: asyncio.Task[None] | None = None


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


async def _loop() -> None:
    """Run the pass every INTERVAL_SECONDS for the life of the process."""
    log.info("escalation loop started", extra={"interval_s": INTERVAL_SECONDS})
    while True:
        try:
            await asyncio.to_thread(escalate_once)
        except Exception:  # keep the scheduler alive; the next pass retries
            log.exception("escalation pass failed")
        await asyncio.sleep(INTERVAL_SECONDS)


async def start_escalation_loop() -> None:
    """Start the every-minute escalation pass (a server startup hook; returns at once)."""
    global _task
    if _task is None or _task.done():
        _task = asyncio.get_running_loop().create_task(_loop(), name="appeals-escalations")


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
