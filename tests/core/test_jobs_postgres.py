"""The job queue on PostgreSQL (procrastinate): a periodic job run by two workers executes once per period, a
failing job retries with backoff and then lands in the dead letters, and an operator's retry queues it again.
Skipped on SQLite (GOVGRID_TEST_DATABASE_URL unset)."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import delete, select

from govgrid.core import jobs
from govgrid.core.db import session_scope
from govgrid.core.jobs import queue, registry
from govgrid.core.jobs.models import FailureStatus, JobFailure

pytestmark = pytest.mark.skipif(not os.environ.get("GOVGRID_TEST_DATABASE_URL"), reason=(
    "the procrastinate job queue runs on PostgreSQL only (SQLite runs jobs in process: test_jobs.py); "
    "CI's PostgreSQL leg runs it"))
CALLS: list[dict] = []


def _boom(**kwargs: object) -> None:
    CALLS.append(dict(kwargs))
    raise RuntimeError("省平台接口不可用 (the provincial API is down)")


BOOM = jobs.Job("test.pg_boom", _boom, retries=2, backoff_seconds=0)


def _sql(url: str, query: str, *params: object) -> list[tuple]:
    with psycopg.connect(queue.conninfo(url), autocommit=True) as conn:
        cur = conn.execute(query, params)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []


@pytest.fixture()
def pg(database_url: str) -> Iterator[str]:
    """The session's PostgreSQL database; the test's queue jobs and dead letters are removed after it."""
    CALLS.clear()
    yield database_url
    queue.close()
    registry.unregister(BOOM.name)
    _sql(database_url, "DELETE FROM procrastinate_periodic_defers WHERE task_name LIKE 'test.%%'")
    _sql(database_url, "DELETE FROM procrastinate_jobs WHERE task_name LIKE 'test.%%'")
    with session_scope() as s:
        s.execute(delete(JobFailure).where(JobFailure.job_name.like("test.%")))


def _work_until_empty(url: str, *on_demand: jobs.Job) -> None:
    asyncio.run(queue.run_worker_async(url, wait=False, install_signal_handlers=False, periodic=[],
                                       on_demand=list(on_demand)))


def test_schema_is_installed_by_prepare_database_and_stays_idempotent(pg):
    assert queue.apply_schema(pg) is False, "prepare_database installed it; a second run changes nothing"
    assert _sql(pg, "SELECT to_regclass('procrastinate_jobs') IS NOT NULL") == [(True,)]


def test_a_periodic_job_runs_once_per_period_with_two_workers(pg):
    runs: list[float] = []
    lock = threading.Lock()

    def tick() -> None:
        with lock:
            runs.append(1.0)

    job = jobs.PeriodicJob("test.tick", 1, tick)

    async def two_workers() -> None:
        workers = [
            asyncio.create_task(queue.run_worker_async(pg, name=f"test-w{i}", install_signal_handlers=False,
                                                       periodic=[job], on_demand=[]))
            for i in range(2)
        ]
        await asyncio.sleep(3.5)
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)

    asyncio.run(two_workers())
    rows = _sql(pg, "SELECT (args->>'timestamp')::bigint, status FROM procrastinate_jobs "
                    "WHERE task_name = 'test.tick'")
    ticks = [r[0] for r in rows]
    assert len(ticks) == len(set(ticks)), "each period was queued once although both workers proposed it"
    succeeded = [r for r in rows if r[1] == "succeeded"]
    assert len(succeeded) >= 2
    assert len(runs) == len(succeeded), "each queued period ran exactly once"


def test_a_failing_job_retries_then_lands_in_the_dead_letters(pg):
    jobs.register_job(BOOM)
    job_id = jobs.defer(BOOM.name, ticket=7)
    assert isinstance(job_id, int)
    _work_until_empty(pg, BOOM)
    assert CALLS == [{"ticket": 7}] * 3, "the first attempt and two retries"
    assert queue.job_status(pg, job_id) == "failed"
    with session_scope() as s:
        failure = s.scalars(select(JobFailure).where(JobFailure.queue_job_id == job_id)).one()
        assert failure.job_name == BOOM.name and failure.attempts == 3 and failure.args == {"ticket": 7}
        assert failure.error == "RuntimeError: 省平台接口不可用 (the provincial API is down)"


@pytest.fixture()
def failed_job(pg) -> int:
    """A job that exhausted its retries on the queue (committed before the test's rolled-back session)."""
    jobs.register_job(BOOM)
    job_id = jobs.defer(BOOM.name, ticket=8)
    assert job_id is not None
    _work_until_empty(pg, BOOM)
    return job_id


def test_admin_retry_queues_the_failed_job_again(pg, failed_job, client, login, db):
    listed = client.get("/api/v1/jobs/failed", headers=login("admin")).json()
    row = next(x for x in listed if x["queue_job_id"] == failed_job)
    assert row["attempts"] == 3 and row["status"] == FailureStatus.FAILED
    assert client.post(f"/api/v1/jobs/failed/{row['id']}/retry", headers=login("nh_gov")).status_code == 403
    assert queue.job_status(pg, failed_job) == "failed"
    r = client.post(f"/api/v1/jobs/failed/{row['id']}/retry", headers=login("admin"))
    assert r.status_code == 200 and r.json()["status"] == "retried"
    assert queue.job_status(pg, failed_job) == "todo", "the same queue job waits for a worker again"


def test_retrying_a_dead_letter_whose_queue_job_is_gone_is_a_409(pg, client, login, db):
    failure = JobFailure(job_name=BOOM.name, queue_job_id=987_654_321, args={}, error="RuntimeError: x",
                         attempts=3)
    db.add(failure)
    db.flush()
    r = client.post(f"/api/v1/jobs/failed/{failure.id}/retry", headers=login("admin"))
    assert r.status_code == 409 and "不在失败状态" in r.json()["error"]["message"]
    db.refresh(failure)
    assert failure.status == FailureStatus.FAILED
