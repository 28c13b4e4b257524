"""Shared rate limits: the `limits` storage over SQLAlchemy counts one window per key for every process, and
the gateway's per-grant limit answers 429 with Retry-After through it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from limits.storage import MemoryStorage
from sqlalchemy import create_engine, select

from govgrid.core import ratelimits
from govgrid.core.errors import RateLimitedError, UnavailableError
from govgrid.core.ratelimits import RATE_LIMITS, SqlStorage
from govgrid.exchange.services.ratelimit import NAMESPACE, RateLimiter


@pytest.fixture()
def sql_storage(tmp_path: Path, database_url: str) -> Iterator[SqlStorage]:
    """The database storage: on the test's PostgreSQL when there is one, else on a SQLite file of its own."""
    if database_url.startswith("postgresql"):
        store = ratelimits.storage()
        assert isinstance(store, SqlStorage), "PostgreSQL keeps the counters in the database"
    else:
        engine = create_engine(f"sqlite:///{tmp_path / 'limits.db'}", connect_args={"timeout": 30})
        RATE_LIMITS.create(engine)
        store = SqlStorage(engine)
    store.reset()
    ratelimits.set_storage(store)
    yield store
    store.reset()
    ratelimits.set_storage(None)


class Clock:
    """A settable time.time() for the window arithmetic."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_counts_within_a_window_and_starts_a_new_one_when_it_ends(sql_storage, monkeypatch):
    clock = Clock(1_000_000.0)
    monkeypatch.setattr(ratelimits.time, "time", clock)
    assert [ratelimits.hit("t.ns", 1, limit=3, seconds=60) for _ in range(3)] == [None, None, None]
    clock.now += 20
    assert ratelimits.hit("t.ns", 1, limit=3, seconds=60) == 40, "refused until the window's end"
    assert ratelimits.hit("t.ns", 2, limit=3, seconds=60) is None, "another key has its own window"
    clock.now += 41
    assert ratelimits.hit("t.ns", 1, limit=3, seconds=60) is None, "a new window"
    with sql_storage.engine.connect() as conn:
        counts = dict(conn.execute(select(RATE_LIMITS.c.key, RATE_LIMITS.c.count)).all())
    assert sorted(counts.values()) == [1, 1] and len(counts) == 2, "one row per key: an UPSERT, not a log"


def test_reset_of_a_namespace_keeps_the_others(sql_storage):
    for ns in ("t.a", "t.b"):
        ratelimits.hit(ns, 1, limit=1)
        assert ratelimits.hit(ns, 1, limit=1) is not None
    ratelimits.reset("t.a")
    assert ratelimits.hit("t.a", 1, limit=1) is None
    assert ratelimits.hit("t.b", 1, limit=1) is not None


def test_concurrent_callers_never_exceed_the_limit(sql_storage):
    accepted: list[int] = []
    lock = threading.Lock()

    def caller() -> None:
        for _ in range(15):
            if ratelimits.hit("t.race", 9, limit=40) is None:
                with lock:
                    accepted.append(1)

    threads = [threading.Thread(target=caller) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(accepted) == 40, "90 calls against a limit of 40: exactly 40 accepted"


def test_the_gateway_limiter_refuses_with_429_and_retry_after(sql_storage):
    limiter = RateLimiter()
    limiter.hit(77, 2)
    limiter.hit(77, 2)
    with pytest.raises(RateLimitedError) as refused:
        limiter.hit(77, 2)
    assert refused.value.status == 429 and 1 <= int(refused.value.headers["Retry-After"]) <= 60
    assert "每分钟最多 2 次" in str(refused.value)
    limiter.reset()
    limiter.hit(77, 2)


def test_unreachable_counters_answer_503_not_500(tmp_path):
    store = SqlStorage(create_engine(f"sqlite:///{tmp_path / 'missing-table.db'}"))
    ratelimits.set_storage(store)
    try:
        with pytest.raises(UnavailableError):
            ratelimits.hit(NAMESPACE, 1, limit=5)
        assert store.check() is False
    finally:
        ratelimits.set_storage(None)


def test_storage_follows_the_deployment(monkeypatch):
    from govgrid.config import Settings, get_settings, set_settings

    before = get_settings()
    try:
        set_settings(Settings(database_url="sqlite:///x.db", secret_key="s" * 48))
        assert isinstance(ratelimits.storage(), MemoryStorage), "SQLite: one process, counters in memory"
        set_settings(Settings(database_url="postgresql+psycopg://u@127.0.0.1:1/x", secret_key="s" * 48))
        assert isinstance(ratelimits.storage(), SqlStorage)
        ratelimits.dispose()
    finally:
        set_settings(before)
