"""The job API modules use (defer) and the operators' dead-letter list (list and retry failed jobs)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from govgrid.config import get_settings
from govgrid.core.audit import service as audit
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.errors import ForbiddenError, NotFoundError, ValidationFailedError
from govgrid.core.jobs import inprocess, queue
from govgrid.core.jobs.models import FAILURE_LIFECYCLE, FailureStatus, JobFailure
from govgrid.core.jobs.registry import find_job, find_periodic, periodic_jobs

log = logging.getLogger(__name__)
LIST_LIMIT = 200


def defer(name: str, **kwargs: Any) -> int | None:
    """Queue one run of the on-demand job `name` (JSON-able kwargs); the queue's job id on PostgreSQL, None
    when it runs in a thread of this process (SQLite)."""
    job = find_job(name)
    if job is None:
        raise NotFoundError(f"没有名为 {name} 的任务 (no job named {name})")
    settings = get_settings()
    if settings.is_sqlite:
        inprocess.submit(job, kwargs)
        return None
    job_id = queue.defer(settings.database_url, name, kwargs)
    log.info("job deferred", extra={"job": name, "queue_job_id": job_id})
    return job_id


def defer_after_commit(session: Session, name: str, **kwargs: Any) -> None:
    """Queue the job once `session` commits (nothing is queued if it rolls back)."""
    if find_job(name) is None:
        raise NotFoundError(f"没有名为 {name} 的任务 (no job named {name})")
    event.listen(session, "after_commit", lambda _s: defer(name, **kwargs), once=True)


def start_in_process() -> int:
    """SQLite: run every periodic job in this process (a server's start); PostgreSQL: nothing (the worker
    runs them). How many scheduler threads started."""
    if not get_settings().is_sqlite:
        return 0
    return inprocess.start(periodic_jobs())


def _require_operator(actor: Principal, action: str) -> None:
    if not actor.is_superuser:
        raise ForbiddenError("只有平台管理员可以查看和重试失败任务 (platform administrators only)", audit={
            "actor": actor, "action": f"{action}_refused", "entity_type": "job_failure",
        })


def list_failed(session: Session, *, actor: Principal, limit: int = LIST_LIMIT) -> list[JobFailure]:
    """The dead letters waiting for an operator, newest first (platform administrators only)."""
    _require_operator(actor, "jobs.failed.read")
    rows = list(session.scalars(
        select(JobFailure).where(JobFailure.status == FailureStatus.FAILED)
        .order_by(JobFailure.failed_at.desc(), JobFailure.id.desc()).limit(limit)
    ))
    audit.record(session, actor=actor, action="jobs.failed.read", entity_type="job_failure",
                 detail={"count": len(rows)})
    return rows


def retry_failed(session: Session, *, actor: Principal, failure_id: int) -> JobFailure:
    """Queue a dead letter's job again (PostgreSQL: the same queue job; SQLite: a new in-process run)."""
    _require_operator(actor, "jobs.retry")
    failure = session.get(JobFailure, failure_id, with_for_update=True)
    if failure is None:
        raise NotFoundError("没有这条失败任务记录 (no such failed job)")
    FAILURE_LIFECYCLE.require_move(failure.status, FailureStatus.RETRIED,
                                   message="这条失败任务已经重试过 (this failed job was already retried)")
    failure.status = FailureStatus.RETRIED
    failure.retried_at = utcnow()
    failure.retried_by = actor.name
    session.flush()
    audit.record(session, actor=actor, action="jobs.retry", entity_type="job_failure", entity_id=failure.id,
                 detail={"job": failure.job_name, "queue_job_id": failure.queue_job_id})
    _requeue(failure)
    log.info("job retried", extra={"failure_id": failure.id, "queue_job_id": failure.queue_job_id})
    return failure


def _requeue(failure: JobFailure) -> None:
    settings = get_settings()
    if not settings.is_sqlite and failure.queue_job_id is not None:
        queue.retry(settings.database_url, failure.queue_job_id)
        return
    job = find_job(failure.job_name)
    if job is not None:
        inprocess.submit(job, dict(failure.args))
        return
    periodic = find_periodic(failure.job_name)
    if periodic is None:
        raise ValidationFailedError(f"任务 {failure.job_name} 已不存在，无法重试 (the job no longer exists)")
    inprocess.submit_periodic(periodic)
