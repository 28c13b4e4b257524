"""Background work: the BPMN timer pass (SpiffWorkflow has no scheduler; the host polls)."""

from __future__ import annotations

import asyncio
import logging
import time

from govgrid.core.audit.service import SystemActor
from govgrid.core.db import session_scope
from govgrid.services.services import workflow

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 30
ACTOR = SystemActor("services-timers")
TASKS: list[asyncio.Task[None]] = []


def timers_once() -> int:
    """One pass over applications waiting on a timer, in its own transaction; how many moved."""
    started = time.perf_counter()
    with session_scope() as session:
        moved = workflow.refresh_timers(session, actor=ACTOR)
    log.info(
        "services timer pass finished",
        extra={"moved": moved, "duration_ms": round((time.perf_counter() - started) * 1000, 1)},
    )
    return moved


async def _loop() -> None:
    log.info("services timer loop started", extra={"interval_s": INTERVAL_SECONDS})
    while True:
        try:
            await asyncio.to_thread(timers_once)
        except Exception:  # keep the loop alive; the next pass retries
            log.exception("services timer pass failed")
        await asyncio.sleep(INTERVAL_SECONDS)


async def start_timer_loop() -> None:
    """Start the timer pass (a server startup hook; returns at once)."""
    if not TASKS or TASKS[-1].done():
        TASKS.append(asyncio.get_running_loop().create_task(_loop(), name="services-timers"))
