"""The demo simulator runs once per deployment: with several web processes on PostgreSQL only the holder of a
county's advisory lock moves its units; the others wait and take over when the holder stops."""

from __future__ import annotations

import threading
import time

import pytest

from govgrid.citymap import jobs
from govgrid.core import db as coredb


def _run_two(monkeypatch: pytest.MonkeyPatch, county: str) -> tuple[list[str], threading.Event]:
    started: list[str] = []
    release = threading.Event()

    def fake_run(c: str, *, seconds: float, stop: threading.Event) -> int:
        started.append(threading.current_thread().name)
        release.wait(10)
        return 0

    monkeypatch.setattr(jobs.simulation, "run", fake_run)
    monkeypatch.setattr(jobs, "RETRY_S", 0.1)
    for name in ("worker-a", "worker-b"):
        threading.Thread(target=jobs.simulate_once_per_deployment, args=(county,), name=name,
                         daemon=True).start()
    return started, release


def test_only_one_process_simulates_a_county_on_postgresql(database_url: str, monkeypatch) -> None:
    if coredb.get_engine().dialect.name != "postgresql":
        pytest.skip("the election is PostgreSQL's: SQLite is served by one process, which simulates directly "
                    "(next test); CI's PostgreSQL leg runs it")
    monkeypatch.setattr(jobs, "stop", threading.Event())
    started, release = _run_two(monkeypatch, "140321")
    time.sleep(1.0)
    assert len(started) == 1  # the second worker found the county taken
    release.set()  # the holder stops (as a worker that exits): the other takes over within RETRY_S
    deadline = time.time() + 5
    while len(started) < 2 and time.time() < deadline:
        time.sleep(0.05)
    jobs.stop.set()
    assert len(started) == 2 and started[0] != started[1]


def test_sqlite_runs_the_simulator_in_its_one_process(database_url: str, monkeypatch) -> None:
    if coredb.get_engine().dialect.name == "postgresql":
        pytest.skip("SQLite's single process only: PostgreSQL elects one process (test above); "
                    "CI's SQLite leg runs it")
    calls: list[str] = []
    monkeypatch.setattr(jobs.simulation, "run", lambda c, *, seconds, stop: calls.append(c) or 0)
    jobs.simulate_once_per_deployment("140321")
    assert calls == ["140321"]


def test_lock_keys_differ_per_county() -> None:
    assert jobs.lock_key("140321") != jobs.lock_key("410527")
