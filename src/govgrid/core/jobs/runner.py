"""One attempt of a job, the same on every backend: run it, log it, keep the last failure as a dead letter."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from govgrid.core.audit import service as audit
from govgrid.core.audit.service import SystemActor
from govgrid.core.db import session_scope
from govgrid.core.jobs.models import JobFailure

log = logging.getLogger(__name__)
ACTOR = SystemActor("jobs")
ERROR_CHARS = 2000  # the dead letter keeps the start of a long message


def run_attempt(
    name: str,
    func: Callable[..., object],
    kwargs: dict[str, Any],
    *,
    attempt: int,
    final: bool,
    queue_job_id: int | None = None,
) -> object:
    """Call `func(**kwargs)`; on an error log it, keep a dead letter after the last attempt, re-raise."""
    started = time.perf_counter()
    try:
        result = func(**kwargs)
    except Exception as exc:
        log.warning(
            "job attempt failed",
            extra={"job": name, "attempt": attempt, "final": final, "queue_job_id": queue_job_id},
            exc_info=True,
        )
        if final:
            record_failure(name, kwargs, exc, attempts=attempt, queue_job_id=queue_job_id)
        raise
    log.debug(  # the job's own function logs what it changed; this line is for tracing
        "job finished",
        extra={"job": name, "attempt": attempt, "queue_job_id": queue_job_id,
               "duration_ms": round((time.perf_counter() - started) * 1000, 1)},
    )
    return result


def record_failure(
    name: str, kwargs: dict[str, Any], exc: BaseException, *, attempts: int, queue_job_id: int | None
) -> int:
    """Store a dead letter in its own transaction (the job's own work was rolled back); returns its id."""
    error = f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]
    with session_scope() as session:
        failure = JobFailure(job_name=name, queue_job_id=queue_job_id, args=dict(kwargs), error=error,
                             attempts=attempts)
        session.add(failure)
        session.flush()
        audit.record(session, actor=ACTOR, action="jobs.dead_letter", entity_type="job_failure",
                     entity_id=failure.id, detail={"job": name, "attempts": attempts})
        failure_id = failure.id
    log.info("job dead-lettered", extra={"job": name, "failure_id": failure_id, "queue_job_id": queue_job_id})
    return failure_id
