"""Background work: the governance pass every hour (a periodic job: once per hour however many workers run)
syncs the grading register with the catalog and files the last two days' gateway refusals as incidents, for
the whole tree. Idempotent: it works from the catalog and the audit chain, not from memory."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from govgrid.core.audit.service import SystemActor
from govgrid.core.db import session_scope, utcnow
from govgrid.core.divisions.enums import NATIONAL_CODE
from govgrid.core.jobs import PeriodicJob
from govgrid.institutions.services import incidents, register

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


PERIODIC = (PeriodicJob("institutions.governance", INTERVAL_SECONDS, govern_once),)
