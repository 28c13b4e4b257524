"""Database engine, Base and the per-request session (the request owns the transaction)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base for every govgrid table."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


def rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE touched (a CursorResult's rowcount, typed)."""
    return int(getattr(result, "rowcount", 0) or 0)


def utcnow() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(UTC)


def _json_dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)


# Execution option on a session's connection: "deferred" for requests that only read (GET, HEAD).
BEGIN_OPTION = "govgrid_begin"
# Header an error response carries when the request may simply run again (a stale SQLite read snapshot).
RETRY_MARKER = "x-govgrid-retry"


# When the current request must have its write turn by (time.monotonic()); set by core.websec per request.
request_deadline: ContextVar[float | None] = ContextVar("govgrid_request_deadline", default=None)


class WriteGate:
    """One writer at a time on SQLite, queued in Python instead of spinning in SQLite's busy handler.

    SQLite allows one writer per database; without a queue, concurrent writers poll the lock with growing
    sleeps, so a burst starves some of them for the whole busy timeout. Writers here wait in line, for at most
    `timeout` seconds, and then get a quick 503 (core.errors.UnavailableError) instead of a silent minute. The
    turn belongs to a pooled connection and is given back when the connection returns to the pool (a session
    returns it right after its commit or rollback).

    Units of work that write take their turn when they begin, before running any code: a thread that waited
    for the turn while holding an application lock (a cache being filled from the database) would deadlock
    with the turn's holder waiting for that lock."""

    def __init__(self, timeout: float, max_waiters: int) -> None:
        self._sem = threading.BoundedSemaphore(1)
        self._holder: Any = None
        self._waiters = 0
        self._count_lock = threading.Lock()
        self.timeout = timeout
        # Threads blocked here are threads the turn's holder cannot use for its next step: never all of them.
        self.max_waiters = max_waiters

    def acquire(self, record: Any) -> None:
        """Take the write turn for the pooled connection `record` (a no-op if it holds it already).

        A request waits at most until `timeout` seconds after it arrived (`request_deadline`), so time already
        spent queueing for a worker thread counts too."""
        if self._holder is record:
            return
        deadline = request_deadline.get()
        wait = self.timeout if deadline is None else max(0.05, min(self.timeout, deadline - time.monotonic()))
        with self._count_lock:
            full = self._waiters >= self.max_waiters
            if not full:
                self._waiters += 1
        if full:
            from govgrid.core.errors import UnavailableError

            raise UnavailableError(
                "服务器繁忙：写入排队已满，请稍后重试 (server busy: the write queue is full; retry shortly)"
            )
        try:
            got = self._sem.acquire(timeout=wait)
        finally:
            with self._count_lock:
                self._waiters -= 1
        if not got:
            from govgrid.core.errors import UnavailableError

            raise UnavailableError(
                f"服务器繁忙：写入排队超过 {self.timeout:g} 秒，请稍后重试 "
                f"(server busy: waited {self.timeout:g}s for the database; retry shortly)"
            )
        self._holder = record

    def release(self, record: Any) -> None:
        """Give the turn to the next writer if `record` holds it."""
        if self._holder is record:
            self._holder = None
            self._sem.release()


_WRITE_PREFIXES = ("insert", "update", "delete", "replace", "create", "drop", "alter")


def is_stale_snapshot(exc: BaseException) -> bool:
    """True for SQLite's refusal to let a read transaction write after another commit (safe to retry)."""
    if not isinstance(exc, OperationalError):
        return False
    text = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in text or "snapshot" in text


def make_engine(url: str, *, echo: bool = False, pool_size: int = 40, write_wait: float = 10.0,
                max_waiters: int = 30) -> Engine:
    """Create an engine: SQLite gets WAL, foreign keys and queued writers; PostgreSQL, a pool sized to
    the threads.

    SQLite: requests that only read begin a deferred transaction (no write lock; WAL readers never wait);
    everything else begins IMMEDIATE after taking its turn at the `WriteGate`. A read transaction that writes
    after all (an audited read) takes its turn at its first write statement."""
    if url.startswith("sqlite"):
        memory = ":memory:" in url or "mode=memory" in url
        pool_args: dict[str, Any] = (
            {} if memory else {"pool_size": pool_size, "max_overflow": 0, "pool_timeout": 10}
        )
        engine = create_engine(
            url,
            echo=echo,
            json_serializer=_json_dumps,
            connect_args={"check_same_thread": False, "timeout": 30},
            **pool_args,
        )
        gate = WriteGate(write_wait, max_waiters)

        def record_of(conn: Connection) -> Any:
            return conn.connection.dbapi_connection  # the pooled DBAPI connection, stable across checkouts

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            # pysqlite's own transaction handling breaks SAVEPOINT; we issue BEGIN ourselves.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            if conn.get_execution_options().get(BEGIN_OPTION) == "deferred":
                conn.exec_driver_sql("BEGIN")
                return
            # IMMEDIATE takes the write lock up front, so a writer never fails half-way on a stale snapshot;
            # the gate makes this process's writers queue for it in order.
            gate.acquire(record_of(conn))
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        @event.listens_for(engine, "before_cursor_execute")
        def _sqlite_first_write(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement.lstrip()[:7].lower().startswith(_WRITE_PREFIXES):
                gate.acquire(record_of(conn))

        @event.listens_for(engine, "checkin")
        def _sqlite_checkin(dbapi_conn: Any, _record: Any) -> None:
            gate.release(dbapi_conn)

        @event.listens_for(engine, "invalidate")
        def _sqlite_invalidate(dbapi_conn: Any, _record: Any, _exc: Any) -> None:
            gate.release(dbapi_conn)

        return engine
    return create_engine(url, echo=echo, json_serializer=_json_dumps, pool_pre_ping=True, pool_size=pool_size,
                         max_overflow=5, pool_timeout=10)


_engine: Engine | None = None
_factory: sessionmaker[Session] | None = None


def configure(url: str) -> Engine:
    """Bind the process-wide engine and session factory to a database URL."""
    global _engine, _factory
    from govgrid.config import get_settings

    if _engine is not None:
        _engine.dispose()
    try:
        settings = get_settings()
        pool, wait = settings.worker_threads + 4, settings.sqlite_write_wait_seconds
        waiters = max(1, settings.worker_threads - 8)
    except ValueError:  # settings not valid yet (a CLI pointing at a database before the secret is known)
        pool, wait, waiters = 44, 10.0, 32
    _engine = make_engine(url, pool_size=pool, write_wait=wait, max_waiters=waiters)
    _factory = sessionmaker(bind=_engine, expire_on_commit=False)
    return _engine


def get_engine() -> Engine:
    """The process-wide engine (configured from Settings on first use)."""
    if _engine is None:
        from govgrid.config import get_settings

        return configure(get_settings().database_url)
    return _engine


def session_factory() -> sessionmaker[Session]:
    """The process-wide session factory."""
    get_engine()
    if _factory is None:  # set_session_factory(None) after the engine was configured
        raise RuntimeError("no session factory: call configure() or set_session_factory() first")
    return _factory


def set_session_factory(factory: sessionmaker[Session] | None) -> None:
    """Tests install a factory bound to a rolled-back connection."""
    global _factory
    _factory = factory


@contextmanager
def session_scope(*, readonly: bool = False) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error (`readonly`:
    takes no write lock up front)."""
    from govgrid.core.events import deliver_committed

    session = session_factory()()
    # Begin now: a writer takes its turn before it takes any lock of the application (see WriteGate).
    session.connection(execution_options={BEGIN_OPTION: "deferred"} if readonly else None)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    deliver_committed(session)
