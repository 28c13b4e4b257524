"""Scheduled work: the escalation pass every minute, and the city map's closure notes."""

from __future__ import annotations

import asyncio
import logging

from govgrid.appeals import service
from govgrid.core import ports
from govgrid.core.db import session_scope, utcnow
from govgrid.core.events import DomainEvent

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 60
_task: asyncio.Task | None = None


def escalate_once() -> service.EscalationRun:
    """One escalation pass in its own transaction."""
    with session_scope() as session:
        return service.run_escalations(session, utcnow())


async def _loop() -> None:
    while True:
        try:
            run = await asyncio.to_thread(escalate_once)
            if run.to_superior or run.to_supervisor or run.auto_closed:
                log.info(
                    "escalations: %d to superior, %d to supervisor, %d auto-closed",
                    len(run.to_superior),
                    len(run.to_supervisor),
                    len(run.auto_closed),
                )
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
        service.note_city_case_closed(
            session,
            number=str(payload.get("external_ref", "")),
            case_code=str(payload.get("case_code", "")),
            result=str(payload.get("result", "")),
        )


SUBSCRIPTIONS = [(ports.CITY_CASE_CLOSED, on_city_case_closed)]
