"""PostgreSQL: the job queue on procrastinate (SKIP LOCKED to hand out jobs, LISTEN/NOTIFY to wake workers).

Periodic jobs are procrastinate periodic tasks: every worker's deferrer proposes each tick, the database keeps
one job per (task, tick), and a queueing lock keeps a slow pass from piling up behind itself; so a pass runs
once per period however many workers run. Failed attempts retry with exponential backoff; the last failure
stays as a procrastinate job in status `failed` and as a dead letter (core_job_failures) with its error."""

from __future__ import annotations

import asyncio
import datetime
import logging
import socket
from collections.abc import Sequence
from typing import Any

import procrastinate
import psycopg
from procrastinate.job_context import JobContext
from procrastinate.schema import SchemaManager
from sqlalchemy.engine import make_url

from govgrid.core.errors import ConflictError
from govgrid.core.jobs.registry import every_to_cron, on_demand_jobs, periodic_jobs
from govgrid.core.jobs.runner import run_attempt
from govgrid.core.modules import Job, PeriodicJob

log = logging.getLogger(__name__)
PERIODIC_QUEUE = "periodic"
DEFAULT_QUEUE = "default"
SCHEMA_LOCK = 7_302_116  # advisory lock held while procrastinate's schema is installed
_defer_app: procrastinate.App | None = None
_defer_url: str | None = None


def conninfo(database_url: str) -> str:
    """libpq's connection string for a SQLAlchemy URL (postgresql+psycopg://... -> postgresql://...)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def apply_schema(database_url: str) -> bool:
    """Install procrastinate's tables and functions unless present (idempotent); True if installed now."""
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            row = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if row is not None and row[0] is not None:
                return False
            with conn.transaction():
                conn.execute(SchemaManager.get_schema())
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))
    log.info("procrastinate schema installed")
    return True


def _retry(retries: int, backoff: int) -> procrastinate.RetryStrategy | bool:
    # RetryStrategy(max_attempts=0) would mean "retry for ever": no retries is False
    return procrastinate.RetryStrategy(max_attempts=retries, exponential_wait=backoff) if retries else False


def _periodic_task(job: PeriodicJob) -> Any:
    def run(context: JobContext, timestamp: int) -> None:
        done = context.job.attempts
        run_attempt(job.name, job.func, {}, attempt=done + 1, final=done >= job.retries,
                    queue_job_id=context.job.id)

    return run


def _on_demand_task(job: Job) -> Any:
    def run(context: JobContext, **kwargs: Any) -> None:
        done = context.job.attempts
        run_attempt(job.name, job.func, kwargs, attempt=done + 1, final=done >= job.retries,
                    queue_job_id=context.job.id)

    return run


def build_app(
    connector: procrastinate.BaseConnector,
    *,
    periodic: Sequence[PeriodicJob] | None = None,
    on_demand: Sequence[Job] | None = None,
) -> procrastinate.App:
    """A procrastinate app over `connector` with the given jobs registered (default: every declared job)."""
    app = procrastinate.App(connector=connector)
    for pjob in periodic_jobs() if periodic is None else periodic:
        task = app.task(name=pjob.name, queue=PERIODIC_QUEUE, queueing_lock=pjob.name, pass_context=True,
                        retry=_retry(pjob.retries, 2))(_periodic_task(pjob))
        app.periodic(cron=every_to_cron(pjob.every_seconds), periodic_id=pjob.name)(task)
    for job in on_demand_jobs() if on_demand is None else on_demand:
        app.task(name=job.name, queue=DEFAULT_QUEUE, pass_context=True,
                 retry=_retry(job.retries, job.backoff_seconds))(_on_demand_task(job))
    return app


async def run_worker_async(
    database_url: str,
    *,
    concurrency: int = 1,
    wait: bool = True,
    name: str | None = None,
    install_signal_handlers: bool = True,
    periodic: Sequence[PeriodicJob] | None = None,
    on_demand: Sequence[Job] | None = None,
) -> None:
    """Run one worker (its periodic deferrer included) until stopped, or until the queue is empty (`wait`)."""
    app = build_app(procrastinate.PsycopgConnector(conninfo=conninfo(database_url)), periodic=periodic,
                    on_demand=on_demand)
    worker_name = name or f"govgrid-{socket.gethostname()}"
    async with app.open_async():
        await app.run_worker_async(concurrency=concurrency, wait=wait, name=worker_name,
                                   install_signal_handlers=install_signal_handlers,
                                   fetch_job_polling_interval=2.0)


def run_worker(database_url: str, *, concurrency: int = 1) -> None:
    """`govgrid worker`: run a worker in the foreground until SIGINT or SIGTERM."""
    asyncio.run(run_worker_async(database_url, concurrency=concurrency))


def _app_for(database_url: str) -> procrastinate.App:
    """This process's app for deferring and retrying (a small synchronous pool, opened once)."""
    global _defer_app, _defer_url
    if _defer_app is None or _defer_url != database_url:
        if _defer_app is not None:
            _defer_app.close()
        app = build_app(procrastinate.SyncPsycopgConnector(conninfo=conninfo(database_url), min_size=1,
                                                           max_size=4))
        app.open()
        _defer_app, _defer_url = app, database_url
    return _defer_app


def close() -> None:
    """Close this process's deferring pool (tests, shutdown)."""
    global _defer_app, _defer_url
    if _defer_app is not None:
        _defer_app.close()
    _defer_app, _defer_url = None, None


def defer(database_url: str, name: str, kwargs: dict[str, Any]) -> int:
    """Queue one run of the on-demand job `name`; its procrastinate job id."""
    return int(_app_for(database_url).configure_task(name=name).defer(**kwargs))


def retry(database_url: str, queue_job_id: int) -> None:
    """Queue a failed job again, now (its attempts keep counting)."""
    app = _app_for(database_url)
    try:
        app.job_manager.retry_job_by_id(queue_job_id, retry_at=datetime.datetime.now(datetime.UTC))
    except procrastinate.exceptions.ConnectorException as exc:  # gone, or no longer failed
        raise ConflictError(
            "队列中的这个任务已不在失败状态，无法重试 (the queued job is no longer failed)"
        ) from exc


def job_status(database_url: str, queue_job_id: int) -> str:
    """A queued job's status: todo, doing, succeeded, failed, cancelled, aborted."""
    return str(_app_for(database_url).job_manager.get_job_status(queue_job_id).value)
