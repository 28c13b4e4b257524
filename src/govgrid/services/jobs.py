"""Background work: the BPMN timer pass every 30 s (a periodic job; SpiffWorkflow has no scheduler, the host
polls)."""

from __future__ import annotations

import logging
import time

from govgrid.core.audit.service import SystemActor
from govgrid.core.db import session_scope
from govgrid.core.jobs import PeriodicJob
from govgrid.services.services import workflow

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 30
ACTOR = SystemActor("services-timers")


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


PERIODIC = (PeriodicJob("services.timers", INTERVAL_SECONDS, timers_once),)
