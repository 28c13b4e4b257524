"""Two `govgrid serve` processes and one `govgrid worker` against one PostgreSQL database: an overdue appeals
ticket escalates exactly once (one escalation record, one queued escalation pass per minute), and neither web
process runs the pass itself. PostgreSQL only (GOVGRID_TEST_DATABASE_URL); skipped on SQLite."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.live import free_port

BASE = os.environ.get("GOVGRID_TEST_DATABASE_URL")
pytestmark = [
    pytest.mark.skipif(not BASE, reason=(
        "several server processes on one database need PostgreSQL; CI's PostgreSQL leg runs it")),
    pytest.mark.slow,
]
START_SECONDS = 240  # three processes importing every module (15 s idle, minutes on a crowded 2-core box)

MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(scope="module")
def database(database_url: str) -> tuple[str, int]:
    """The session's PostgreSQL database with the appeals world and one ticket dispatched on Monday 30
    November 2026, whose two-hour sign clock ran out long ago (committed): (url, ticket id)."""
    from govgrid.appeals.services import workflow
    from govgrid.core.db import session_scope
    from tests.appeals.conftest import ensure_world, make_ticket, principal

    ensure_world()
    with session_scope() as s:
        ticket = make_ticket(s, now=MONDAY)
        workflow.dispatch(s, actor=principal(s, "nh_dispatcher"), ticket=ticket, now=MONDAY)
        ticket_id = ticket.id
    return database_url, ticket_id


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # a pipe nobody reads would fill up and freeze the process
        return subprocess.Popen([sys.executable, "-m", "govgrid.cli", *args], env=env,
                                stdout=subprocess.DEVNULL, stderr=out)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()


def _escalations(url: str, ticket_id: int) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(text(
                "SELECT count(*) FROM appeals_ticket_events WHERE ticket_id = :t AND kind = 'escalated'"
            ), {"t": ticket_id}) or 0)
    finally:
        engine.dispose()


def _passes(url: str) -> list[tuple[int, str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [(int(r[0]), str(r[1])) for r in conn.execute(text(
                "SELECT (args->>'timestamp')::bigint, status FROM procrastinate_jobs "
                "WHERE task_name = 'appeals.escalation'"
            ))]
    finally:
        engine.dispose()


def test_two_servers_and_one_worker_escalate_an_overdue_ticket_exactly_once(database, tmp_path):
    url, ticket_id = database
    env = {**os.environ, "GOVGRID_DATABASE_URL": url, "GOVGRID_DEMO_MODE": "1", "GOVGRID_LOG_FORMAT": "json"}
    env.pop("GOVGRID_SECRET_KEY", None)
    procs: list[subprocess.Popen[bytes]] = []
    logs = [tmp_path / "server0.log", tmp_path / "server1.log", tmp_path / "worker.log"]
    try:
        ports = [free_port(), free_port()]
        for port, log in zip(ports, logs, strict=False):
            procs.append(_spawn(["serve", "--port", str(port)], env, log))
        procs.append(_spawn(["worker", "--concurrency", "2"], env, logs[2]))
        deadline = time.time() + START_SECONDS
        waiting = set(ports)
        while (waiting or _escalations(url, ticket_id) == 0) and time.time() < deadline:
            for port in list(waiting):
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        waiting.discard(port)
                except httpx.HTTPError:
                    pass
            for proc, log in zip(procs, logs, strict=True):
                assert proc.poll() is None, log.read_text()[-3000:]
            time.sleep(0.5)
        assert not waiting, "the servers did not answer"
        time.sleep(2)  # anything running a second pass would show by now
        assert _escalations(url, ticket_id) == 1, logs[2].read_text()[-3000:]
        passes = _passes(url)
        ticks = [t for t, _ in passes]
        assert ticks and len(ticks) == len(set(ticks)), passes
        for port, log in zip(ports, logs, strict=False):
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
            assert "in-process jobs started" not in log.read_text(), "a web process on PG runs no pass"
    finally:
        _stop(procs)
