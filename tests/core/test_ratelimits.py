"""Shared rate limits: the `limits` storage over SQLAlchemy counts one window per key for every process, and
the gateway's per-grant limit answers 429 with Retry-After through it."""

from __future__ import annotations

import threading
import time
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


def test_a_count_in_the_audit_append_refuses_over_the_limit_and_appends_nothing(db, database_url):
    from sqlalchemy import func

    from govgrid.core.audit import service as audit
    from govgrid.core.audit.models import AuditHead, AuditRecord

    engine = db.connection().engine
    count = ratelimits.in_statement("t.guard", 5, limit=2, engine=engine)
    if not database_url.startswith("postgresql"):
        assert count is None, "SQLite counts in process memory: nothing to count in a statement"
        return
    assert count is not None, "PostgreSQL with its counters in the same database counts in the append"

    def append() -> audit.AuditRecord:
        guard = ratelimits.in_statement("t.guard", 5, limit=2, engine=engine)
        return audit.record(db, actor=audit.SystemActor("test"), action="test.guarded", guard=guard)

    first, second = append(), append()
    assert second.seq == first.seq + 1 and second.prev_hash == first.hash
    with pytest.raises(audit.GuardRefused) as refused:
        append()
    now = time.time()
    assert now < refused.value.expires_at <= now + 60, "the refusal names the end of this minute's window"
    assert refused.value.count == 3
    assert db.get(AuditHead, 1).seq == second.seq, "the head did not move"
    assert db.scalar(select(func.count()).where(AuditRecord.action == "test.guarded")) == 2
    assert audit.verify(db).ok, "the records the database hashed verify in Python"
    key = RATE_LIMITS.c.key.startswith("LIMITER/t.guard/5/")
    assert db.execute(select(RATE_LIMITS.c.count).where(key)).scalar_one() == 3, (
        "the same window as `hit`; the refused count goes when the caller rolls back"
    )


def test_counts_in_appends_take_the_chain_head_first_so_two_callers_never_deadlock(database_url):
    # A caller that holds the head (it appended) and counts another key must never wait for a caller that
    # counted that key and now waits for the head: the count is taken after the head's lock, so the second
    # caller holds no counter while it waits. Counted first, PostgreSQL would report a deadlock here.
    if not database_url.startswith("postgresql"):
        pytest.skip("counts in append statements are PostgreSQL's (SQLite counts in memory); "
                    "CI's PostgreSQL leg runs it")
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from govgrid.core import db as coredb
    from govgrid.core.audit import service as audit

    engine = coredb.get_engine()
    actor = audit.SystemActor("test")
    errors: list[BaseException] = []

    def append(session: Session, key: int, action: str) -> None:
        guard = ratelimits.in_statement("t.order", key, limit=100, engine=engine)
        audit.record(session, actor=actor, action=action, guard=guard)

    def second_caller(pid: list[int]) -> None:
        try:
            with Session(engine) as b:
                pid.append(b.execute(text("SELECT pg_backend_pid()")).scalar_one())
                append(b, 2, "test.order.b")  # waits for the head A holds
                b.commit()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    with Session(engine) as a, engine.connect() as watcher:
        append(a, 1, "test.order.a")  # A holds the head (and counter 1)
        pid: list[int] = []
        b_thread = threading.Thread(target=second_caller, args=(pid,))
        b_thread.start()
        for _ in range(200):  # until B waits on a lock
            waiting = pid and watcher.execute(
                text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :p"), {"p": pid[0]}
            ).scalar() == "Lock"
            watcher.commit()
            if waiting:
                break
            time.sleep(0.02)
        assert waiting, "the second caller should be waiting for the chain head"
        append(a, 2, "test.order.a")  # A counts key 2 now: B must not hold it
        a.commit()
    b_thread.join(timeout=30)
    assert not b_thread.is_alive() and not errors, errors
    with coredb.session_scope() as s:
        assert audit.verify(s).ok
