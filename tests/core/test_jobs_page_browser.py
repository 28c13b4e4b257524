"""The dead-letter page (失败任务, /admin/jobs) in Chromium at 1280 px and at 375 px: the platform
administrator sees a failed job with its error, presses 重试, the page says it was queued again, the row is
gone and the job really runs in the server (its own log line appears); a county administrator is refused, a
visitor is sent to the login page."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import live

JOB = "economy.monitor"  # daily: its first scheduled run is minutes away, so a run seen here is the retry
RAN = "economy feeds pulled"  # the job's own log line
ERROR = "RuntimeError: 上游统计接口超时 (upstream timed out)"
WIDTHS = [1280, 375]

PREPARE = f"""
from govgrid.core.jobs.models import JobFailure
with db.session_scope() as s:
    for _ in range({len(WIDTHS)}):
        s.add(JobFailure(job_name={JOB!r}, args={{}}, error={ERROR!r}, attempts=3))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[live.LiveServer]:
    """One live server for the module, its database holding one dead letter per screen width."""
    s = live.start(tmp_path_factory.mktemp("jobs-live"), modules="economy", prepare=PREPARE)
    yield s
    s.stop()


def _log(server: live.LiveServer) -> str:
    path: Path = server.db_path.parent / "server.log"
    return path.read_text(encoding="utf-8", errors="replace")


def _signed_in(chromium, server: live.LiveServer, username: str, width: int) -> tuple[Any, Any, list[str]]:
    """A context at `width` px signed in as `username` through the /login form."""
    context = chromium.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server.url + "/login")
    page.fill("#username", username)
    page.fill("#password", live.DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url, timeout=20_000)
    return context, page, errors


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_the_administrator_retries_a_dead_letter_and_the_job_runs(chromium, server, width):
    context, page, errors = _signed_in(chromium, server, "admin", width)
    try:
        page.goto(server.url + "/admin/jobs")
        assert page.inner_text("h1") == "失败任务"
        rows = page.locator("#failed-jobs tbody tr")
        row = rows.first
        row_id = row.get_attribute("id") or ""
        failure_id = row_id.removeprefix("failure-")
        assert failure_id.isdigit()
        assert JOB in row.inner_text() and "上游统计接口超时" in row.inner_text()
        count = rows.count()
        # the page fits a phone: only the table scrolls sideways, not the page
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        runs_before = _log(server).count(RAN)
        row.get_by_role("button", name="重试").click()
        page.wait_for_url(f"**/admin/jobs?retried={failure_id}")
        assert page.inner_text("#jobs-retried") == f"任务 {failure_id} 已重新排队。"
        assert page.locator(f"#failure-{failure_id}").count() == 0
        assert page.locator("#failed-jobs tbody tr").count() == count - 1
        deadline = time.time() + 30
        while _log(server).count(RAN) <= runs_before and time.time() < deadline:
            time.sleep(0.3)
        assert _log(server).count(RAN) > runs_before, "the retried job did not run in the server"
        page.reload()  # it ran without failing again: no new dead letter for it
        assert page.locator("#failed-jobs tbody tr").count() == count - 1
        assert errors == []
    finally:
        context.close()


@pytest.mark.browser
def test_a_county_administrator_is_refused_and_a_visitor_is_sent_to_login(chromium, server):
    context, page, _errors = _signed_in(chromium, server, "nh_gov", 375)
    try:
        r = page.goto(server.url + "/admin/jobs")
        assert r is not None and r.status == 403
        assert page.locator("#failed-jobs").count() == 0 and ERROR not in page.content()
        assert "平台管理员" in page.content()
    finally:
        context.close()
    anonymous = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = anonymous.new_page()
        page.goto(server.url + "/admin/jobs")
        assert "/login" in page.url and page.locator("#username").count() == 1
    finally:
        anonymous.close()
