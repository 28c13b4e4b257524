"""Rate limits shared by every worker: the `limits` library's fixed windows over a shared counter store.

Where the counters live (`storage()`): Redis when `GOVGRID_REDIS_URL` is set (the `limits` Redis storage,
needs the `redis` package); else the database on PostgreSQL (`SqlStorage`: table `core_rate_limits`, one
UPSERT per counted call, on its own autocommit connection pool so a counter row is never locked for the
length of a request); else (SQLite: one process serves it) in process memory.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import Column, Float, Integer, String, Table, bindparam, case, create_engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from govgrid.core.db import Base
from govgrid.core.errors import UnavailableError

log = logging.getLogger(__name__)

RATE_LIMITS = Table(
    "core_rate_limits",
    Base.metadata,
    Column("key", String(255), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),  # epoch seconds
)


def _upsert(dialect: Any, source: Any = None) -> Any:
    """One statement per counted call: a new row, the count added in the window, or a new window when the
    row's has ended; returns (count, expires_at). With `source` (a FROM clause) the row is counted once per
    row of it, after it: the caller's statement orders its locks so (see `Count`)."""
    values: dict[str, Any] = {
        "key": bindparam("key", type_=String),
        "count": bindparam("amount", type_=Integer),
        "expires_at": bindparam("expires_at", type_=Float),
    }
    ins = dialect.insert(RATE_LIMITS)
    if source is None:
        ins = ins.values(values)
    else:
        ins = ins.from_select(list(values), select(*values.values()).select_from(source))
    expired = RATE_LIMITS.c.expires_at <= bindparam("now", type_=Float)
    return ins.on_conflict_do_update(
        index_elements=[RATE_LIMITS.c.key],
        set_={
            "count": case((expired, ins.excluded.count), else_=RATE_LIMITS.c.count + ins.excluded.count),
            "expires_at": case((expired, ins.excluded.expires_at), else_=RATE_LIMITS.c.expires_at),
        },
    ).returning(RATE_LIMITS.c.count, RATE_LIMITS.c.expires_at)


_UPSERT = {"postgresql": _upsert(postgresql), "sqlite": _upsert(sqlite)}


class SqlStorage(Storage):
    """The `limits` storage interface over SQLAlchemy (PostgreSQL or SQLite): one row per key and window."""

    STORAGE_SCHEME = ["govgrid+sqlalchemy"]  # noqa: RUF012  (the base class declares it so)

    def __init__(self, engine: Engine | Callable[[], Engine], **options: float | str | bool) -> None:
        super().__init__(None, wrap_exceptions=True, **options)
        self._engine = engine

    @property
    def engine(self) -> Engine:
        """The engine the counters are written through."""
        return self._engine if isinstance(self._engine, Engine) else self._engine()

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` to the key's counter; a new window of `expiry` seconds if the last one ended."""
        try:
            return self._incr(key, expiry, amount)
        except DBAPIError as exc:
            # The pool does not ping before each use (a round trip on every counted call): a connection the
            # server dropped (a restart) fails here once and is replaced; the UPSERT never ran on it.
            if not exc.connection_invalidated:
                raise
            return self._incr(key, expiry, amount)

    def _incr(self, key: str, expiry: int, amount: int) -> int:
        now = time.time()
        engine = self.engine
        stmt = _UPSERT["postgresql" if engine.dialect.name == "postgresql" else "sqlite"]
        with engine.begin() as conn:
            row = {"key": key, "amount": amount, "now": now, "expires_at": now + expiry}
            return int(conn.execute(stmt, row).scalar_one())

    def get(self, key: str) -> int:
        """The key's count in its current window (0 when none)."""
        with self.engine.connect() as conn:
            live = (RATE_LIMITS.c.key == key) & (RATE_LIMITS.c.expires_at > time.time())
            count = conn.execute(select(RATE_LIMITS.c.count).where(live)).scalar()
        return int(count or 0)

    def get_expiry(self, key: str) -> float:
        """When the key's current window ends (epoch seconds; now when none)."""
        with self.engine.connect() as conn:
            at = conn.execute(select(RATE_LIMITS.c.expires_at).where(RATE_LIMITS.c.key == key)).scalar()
        now = time.time()
        return float(at) if at is not None and at > now else now

    def check(self) -> bool:
        """True if the table answers."""
        try:
            with self.engine.connect() as conn:
                conn.execute(select(RATE_LIMITS.c.key).limit(1))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        """Forget every counter; how many there were."""
        with self.engine.begin() as conn:
            return int(getattr(conn.execute(delete(RATE_LIMITS)), "rowcount", 0) or 0)

    def clear(self, key: str) -> None:
        """Forget one key's counter."""
        with self.engine.begin() as conn:
            conn.execute(delete(RATE_LIMITS).where(RATE_LIMITS.c.key == key))

    def clear_prefix(self, prefix: str) -> None:
        """Forget every counter whose key starts with `prefix`."""
        with self.engine.begin() as conn:
            conn.execute(delete(RATE_LIMITS).where(RATE_LIMITS.c.key.startswith(prefix, autoescape=True)))


class LocalStorage(MemoryStorage):
    """`limits`' in-process counters without a timer thread per counted call.

    MemoryStorage starts its expiry timer again on each call once the last one has run out, and starting a
    thread waits until the new thread runs: milliseconds on a busy machine, on every gateway call. Fixed
    windows need no timer: `get` drops a window that has ended when its key is next counted."""

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add `amount` to the key's counter; a new window of `expiry` seconds if the last one ended."""
        self.get(key)  # forgets the key's ended window
        with self.locks[key]:
            self.storage[key] += amount
            if self.storage[key] == amount:
                self.expirations[key] = time.time() + expiry
            return self.storage[key]


_lock = threading.Lock()
_chosen: tuple[tuple[str, str], Storage] | None = None
_installed: Storage | None = None


def _counter_engine(url: str) -> Engine:
    # autocommit: each UPSERT is one round trip and holds its row lock only for that statement
    # no pre-ping (a second round trip per call): SqlStorage.incr retries once on a dropped connection
    # synchronous_commit off: a counter's commit does not wait for the WAL flush (a crash may forget the last
    # few milliseconds of counts, never corrupt them)
    return create_engine(url, isolation_level="AUTOCOMMIT", pool_size=5, max_overflow=10,
                         connect_args={"options": "-c synchronous_commit=off"})


def storage() -> Storage:
    """The counter store for this deployment (see the module's docstring)."""
    global _chosen
    if _installed is not None:
        return _installed
    from govgrid.config import get_settings

    settings = get_settings()
    signature = (settings.redis_url, settings.database_url)
    with _lock:
        if _chosen is None or _chosen[0] != signature:
            if _chosen is not None and isinstance(_chosen[1], SqlStorage):
                _chosen[1].engine.dispose()  # another database now: let the old one go
            if settings.redis_url:
                found = storage_from_string(settings.redis_url, wrap_exceptions=True)
                if not isinstance(found, Storage):
                    raise ValueError(f"GOVGRID_REDIS_URL is not a synchronous limits storage: {found!r}")
                chosen: Storage = found
            elif settings.database_url.startswith("postgresql"):
                chosen = SqlStorage(_counter_engine(settings.database_url))
            else:
                chosen = LocalStorage()
            _chosen = (signature, chosen)
        return _chosen[1]


def dispose() -> None:
    """Close the configured store's connections (before dropping its database, or at shutdown)."""
    global _chosen
    with _lock:
        if _chosen is not None and isinstance(_chosen[1], SqlStorage):
            _chosen[1].engine.dispose()
        _chosen = None


def set_storage(store: Storage | None) -> None:
    """Use this counter store instead of the configured one (tests); None goes back to the configured one."""
    global _installed
    _installed = store


def _item(limit: int, seconds: int) -> RateLimitItem:
    return RateLimitItemPerMinute(limit) if seconds == 60 else RateLimitItemPerSecond(limit, seconds)


def hit(namespace: str, key: str | int, *, limit: int, seconds: int = 60) -> int | None:
    """Count one call of `key` in `namespace` against `limit` calls per `seconds`: None if it is within the
    limit, else the seconds until the window ends (for Retry-After). 503 if the counters cannot be reached."""
    store = storage()
    limiter = FixedWindowRateLimiter(store)
    item = _item(limit, seconds)
    try:
        if limiter.hit(item, namespace, str(key)):
            return None
        reset_at = limiter.get_window_stats(item, namespace, str(key)).reset_time
    except (StorageError, SQLAlchemyError) as exc:
        log.warning("rate-limit counters unreachable", extra={"namespace": namespace}, exc_info=exc)
        raise UnavailableError(
            "限流计数服务暂不可用，请稍后重试 (the rate-limit counters are unreachable; retry shortly)"
        ) from exc
    return retry_after(reset_at)


@dataclass(frozen=True)
class Count:
    """One call counted inside the caller's own statement and transaction (see `in_statement`): the audit
    append's `guard`. The counter row stays locked until the caller commits, so the UPSERT is built to run
    after the statement's own serialising lock (it reads `source`, the locked row): every holder of a counter
    row then already holds that lock, and two calls can never wait on each other in a cycle."""

    params: dict[str, Any]
    limit: int
    shape: str = "core.ratelimits.count"

    def statement(self, source: Any) -> Any:
        """The UPSERT, counted once per row of `source` (none: not counted), returning (count, expires_at)."""
        return _upsert(postgresql, source)


def in_statement(
    namespace: str, key: str | int, *, limit: int, engine: Engine, seconds: int = 60
) -> Count | None:
    """The count of one call of `key` for the caller's own PostgreSQL statement, when the counters are the
    table in `engine`'s own database (no Redis configured): a round trip and a connection fewer than `hit`.
    None otherwise: count with `hit`. The same key and windows as `hit` (both paths count the same row); the
    caller refuses the call when the returned count is over `limit` (see `retry_after`), and its rollback
    takes the refused count back."""
    store = storage()
    if not isinstance(store, SqlStorage) or engine.dialect.name != "postgresql":
        return None
    if store.engine.url != engine.url:
        return None
    item = _item(limit, seconds)
    now = time.time()
    key_ = item.key_for(namespace, str(key))
    return Count({"key": key_, "amount": 1, "now": now, "expires_at": now + item.get_expiry()}, limit)


def retry_after(expires_at: float) -> int:
    """Seconds until a counted window ends (Retry-After), at least 1."""
    return max(1, math.ceil(expires_at - time.time()))


def reset(namespace: str | None = None) -> None:
    """Forget the counters of a namespace (every counter if None): tests, or an operator lifting limits."""
    store = storage()
    if namespace is not None and isinstance(store, SqlStorage):
        store.clear_prefix(f"{_item(1, 60).namespace}/{namespace}/")
        return
    store.reset()
