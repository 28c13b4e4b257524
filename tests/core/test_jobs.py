"""The job API on SQLite (in-process): every module's passes are declared, periods become cron lines, deferred
jobs run in this process with their retries, the last failure is a dead letter an operator lists and retries
through the API and the admin page (zh-CN, CSRF), and nobody else sees it."""

from __future__ import annotations

import os
import re

import pytest
from sqlalchemy import func, select

from govgrid.core import jobs
from govgrid.core.errors import NotFoundError
from govgrid.core.jobs import inprocess, registry
from govgrid.core.jobs.models import FailureStatus, JobFailure
from govgrid.core.jobs.runner import record_failure
from tests.conftest import cookie_login, csrf_token

API = "/api/v1/jobs/failed"
ON_POSTGRES = bool(os.environ.get("GOVGRID_TEST_DATABASE_URL"))
sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason=(
    "SQLite runs jobs in process; on PostgreSQL the queue is tested in test_jobs_postgres.py; "
    "CI's SQLite leg runs it"))
CALLS: list[dict] = []


def _ok(**kwargs: object) -> None:
    CALLS.append(dict(kwargs))


def _boom(**kwargs: object) -> None:
    CALLS.append(dict(kwargs))
    raise RuntimeError("上游接口超时 (upstream timed out)")


@pytest.fixture()
def test_jobs(db):
    """Two on-demand jobs registered for one test (one succeeds, one always fails); forgotten after it."""
    CALLS.clear()
    jobs.register_job(jobs.Job("test.ok", _ok, retries=0))
    jobs.register_job(jobs.Job("test.boom", _boom, retries=2, backoff_seconds=0))
    yield
    inprocess.wait_idle(10)
    registry.unregister("test.ok")
    registry.unregister("test.boom")


def _dead_letter(db, name: str = "test.ok", error: str = "RuntimeError: 上游接口超时") -> JobFailure:
    failure = JobFailure(job_name=name, args={"ticket": 7}, error=error, attempts=3)
    db.add(failure)
    db.flush()
    return failure


def test_every_module_declares_its_passes_as_periodic_jobs():
    found = {j.name: j.every_seconds for j in registry.periodic_jobs()}
    assert found["appeals.escalation"] == 60
    assert found["services.timers"] == 30
    assert found["carbon.market_pass"] == 60
    assert found["economy.monitor"] == 24 * 3600


@pytest.mark.parametrize("name", ["appeals.escalation", "carbon.market_pass", "services.timers"])
def test_module_passes_run_as_jobs_against_the_database(db, name):
    job = registry.find_periodic(name)
    assert job is not None
    assert inprocess.run_periodic(job) is True
    assert db.scalar(select(func.count()).select_from(JobFailure).where(JobFailure.job_name == name)) == 0


@pytest.mark.parametrize(("seconds", "cron"), [
    (30, "* * * * * */30"), (60, "* * * * *"), (300, "*/5 * * * *"), (3600, "0 * * * *"),
    (6 * 3600, "0 */6 * * *"), (86400, "0 0 * * *"),
])
def test_periods_become_cron_lines(seconds, cron):
    assert registry.every_to_cron(seconds) == cron


@pytest.mark.parametrize("seconds", [0, 7, 90, 7200 + 60, 2 * 86400])
def test_a_period_the_queue_cannot_schedule_is_refused_when_declared(seconds):
    with pytest.raises(ValueError, match="period"):
        jobs.register_periodic(jobs.PeriodicJob("test.odd", seconds, lambda: None))
    assert registry.find_periodic("test.odd") is None


@sqlite_only
def test_defer_runs_the_job_in_this_process_on_sqlite(test_jobs):
    assert jobs.defer("test.ok", ticket=7, note="复核") is None  # no queue id: a thread of this process
    assert inprocess.wait_idle(10)
    assert CALLS == [{"ticket": 7, "note": "复核"}]


@sqlite_only
def test_defer_after_commit_waits_for_the_commit(test_jobs, db):
    from govgrid.core.db import session_scope

    with session_scope() as s:
        jobs.defer_after_commit(s, "test.ok", ticket=8)
        assert CALLS == []
    inprocess.wait_idle(10)
    assert CALLS == [{"ticket": 8}]
    with pytest.raises(RuntimeError), session_scope() as s:
        jobs.defer_after_commit(s, "test.ok", ticket=9)
        raise RuntimeError("rolled back")
    inprocess.wait_idle(10)
    assert CALLS == [{"ticket": 8}], "a rolled-back unit of work queues nothing"


def test_an_unknown_job_is_refused(test_jobs, db):
    with pytest.raises(NotFoundError):
        jobs.defer("test.nothing", x=1)
    with pytest.raises(NotFoundError):
        jobs.defer_after_commit(db, "test.nothing")


def test_a_failing_job_retries_then_becomes_a_dead_letter(test_jobs, db):
    job = registry.find_job("test.boom")
    assert job is not None
    assert inprocess.run_job(job, {"ticket": 7}) is False
    assert len(CALLS) == 3  # the first attempt and two retries
    failure = db.scalars(select(JobFailure).where(JobFailure.job_name == "test.boom")).one()
    assert failure.attempts == 3 and failure.status == FailureStatus.FAILED
    assert failure.error == "RuntimeError: 上游接口超时 (upstream timed out)"
    assert failure.args == {"ticket": 7}


def test_a_failing_periodic_pass_is_kept_and_the_next_one_runs(db):
    seen = []

    def flaky() -> None:
        seen.append(1)
        if len(seen) == 1:
            raise ValueError("第一次失败")

    job = jobs.PeriodicJob("test.flaky", 60, flaky)
    assert inprocess.run_periodic(job) is False
    assert inprocess.run_periodic(job) is True
    kept = select(func.count()).select_from(JobFailure).where(JobFailure.job_name == "test.flaky")
    assert db.scalar(kept) == 1


def test_scheduler_threads_start_once_per_job():
    job = jobs.PeriodicJob("test.sleepy", 86400, lambda: None)
    try:
        assert inprocess.start([job]) == 1
        assert inprocess.start([job]) == 0, "a second start does not run the pass twice"
    finally:
        inprocess.stop()


def test_record_failure_keeps_the_start_of_a_long_error(db):
    failure_id = record_failure("test.long", {}, RuntimeError("x" * 5000), attempts=1, queue_job_id=None)
    failure = db.get(JobFailure, failure_id)
    assert failure is not None and len(failure.error) == 2000


# ---- the API: platform administrators only


def test_anonymous_callers_get_401(client):
    assert client.get(API).status_code == 401
    assert client.post(f"{API}/1/retry").status_code in (401, 403)


@pytest.mark.parametrize("username", ["nh_gov", "hn_data", "pd_gov"])
def test_division_and_line_admins_get_403(client, login, db, username):
    failure = _dead_letter(db)
    r = client.get(API, headers=login(username))
    assert r.status_code == 403 and "平台管理员" in r.json()["error"]["message"]
    assert client.post(f"{API}/{failure.id}/retry", headers=login(username)).status_code == 403
    db.refresh(failure)
    assert failure.status == FailureStatus.FAILED


def test_admin_lists_and_retries_a_dead_letter(client, login, db, test_jobs):
    failure = _dead_letter(db)
    r = client.get(API, headers=login("admin"))
    assert r.status_code == 200
    row = next(x for x in r.json() if x["id"] == failure.id)
    assert row["job_name"] == "test.ok" and row["attempts"] == 3 and "上游接口超时" in row["error"]
    r = client.post(f"{API}/{failure.id}/retry", headers=login("admin"))
    assert r.status_code == 200 and r.json()["status"] == "retried"
    inprocess.wait_idle(10)
    assert CALLS == [{"ticket": 7}], "the retry ran the job again with its arguments"
    assert failure.id not in [x["id"] for x in client.get(API, headers=login("admin")).json()]
    again = client.post(f"{API}/{failure.id}/retry", headers=login("admin"))
    assert again.status_code == 409 and "已经重试" in again.json()["error"]["message"]


def test_retrying_an_unknown_or_vanished_job_is_a_4xx_and_writes_nothing(client, login, db):
    assert client.post(f"{API}/999999/retry", headers=login("admin")).status_code == 404
    assert client.post(f"{API}/0/retry", headers=login("admin")).status_code == 422
    gone = _dead_letter(db, name="test.removed_long_ago")
    r = client.post(f"{API}/{gone.id}/retry", headers=login("admin"))
    assert r.status_code == 422 and "已不存在" in r.json()["error"]["message"]
    db.refresh(gone)
    assert gone.status == FailureStatus.FAILED


# ---- the page


def test_page_sends_anonymous_visitors_to_login(client):
    r = client.get("/admin/jobs", headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code in (302, 303, 307) and "/login" in r.headers["location"]


def test_page_is_refused_to_a_county_admin(client, db):
    cookie_login(client, db, "nh_gov")
    r = client.get("/admin/jobs", headers={"Accept": "text/html"})
    assert r.status_code == 403


def test_page_lists_in_chinese_and_retries_with_the_csrf_token(client, db, test_jobs):
    failure = _dead_letter(db)
    cookie_login(client, db, "admin")
    page = client.get("/admin/jobs", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "失败任务" in page.text and "上游接口超时" in page.text and "重试" in page.text
    assert "Failed jobs" not in page.text
    assert re.search(rf'action="/admin/jobs/{failure.id}/retry">\s*<input type="hidden" name="csrf_token"',
                     page.text)
    refused = client.post(f"/admin/jobs/{failure.id}/retry", headers={"Accept": "text/html"})
    assert refused.status_code == 403
    db.refresh(failure)
    assert failure.status == FailureStatus.FAILED
    token = csrf_token(client, "/admin/jobs")
    r = client.post(f"/admin/jobs/{failure.id}/retry", data={"csrf_token": token},
                    headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/admin/jobs?retried={failure.id}"
    done = client.get(r.headers["location"], headers={"Accept": "text/html"})
    assert f"任务 {failure.id} 已重新排队" in done.text
    assert f'id="failure-{failure.id}"' not in done.text
    inprocess.wait_idle(10)
    assert CALLS == [{"ticket": 7}]


def test_page_in_english_on_request(client, db):
    cookie_login(client, db, "admin")
    page = client.get("/admin/jobs?lang=en", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Failed jobs" in page.text
