"""Domain events through an outbox: written in the publisher's transaction, delivered after it commits.

`publish` queues the event on the session and inserts a `core_outbox` row in the same transaction: no event
without its change, no change without its event. Two kinds of subscribers:

- `subscribe(name, handler)`: durable, at least once, in one process. The publishing process calls the
  handlers right after its commit (`deliver_committed`) and marks the row delivered; if a handler fails or
  the process dies first, the relay (`deliver_pending`, a periodic job) delivers the row again later. A
  handler may therefore see an event twice: handlers must be idempotent (look the change up by its key
  before applying it).
- `subscribe_fanout(name, handler)`: every process, best effort (the live map's server-sent events). The
  publishing process calls them after its commit; on PostgreSQL the publisher also sends `pg_notify` in the
  same transaction and every other web process hears it (`core.notify`). Not retried.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Mapped, Session, mapped_column

from govgrid.core.db import Base, utcnow
from govgrid.core.modules import PeriodicJob

log = logging.getLogger(__name__)

CHANNEL = "govgrid_events"  # the PostgreSQL LISTEN/NOTIFY channel of fan-out events
ORIGIN = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"  # this process: it delivers its own events without NOTIFY
NOTIFY_MAX_BYTES = 7900  # PostgreSQL refuses NOTIFY payloads of 8000 bytes or more
GRACE = timedelta(seconds=30)  # the publisher's own delivery window before the relay may take a row
LEASE = timedelta(seconds=60)  # a row claimed by a relay is not claimed again before this
MAX_ATTEMPTS = 12  # after this many failed deliveries a row waits for an operator (`failed_events`)
KEEP_DELIVERED = timedelta(days=7)  # delivered rows older than this are pruned by the relay


class OutboxEvent(Base):
    """One published event, written in the transaction of the change it reports."""

    __tablename__ = "core_outbox"
    __table_args__ = (
        Index("ix_core_outbox_pending", "available_at", "id",
              postgresql_where=text("delivered_at IS NULL"), sqlite_where=text("delivered_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(index=True)
    available_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


_OUTBOX = cast(Table, OutboxEvent.__table__)


@dataclass(frozen=True)
class DomainEvent:
    """Something that happened: a name like 'appeals.ticket_created', a JSON-able payload, its outbox id."""

    name: str
    payload: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


Handler = Callable[[DomainEvent], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)
_fanout: dict[str, list[Handler]] = defaultdict(list)


def subscribe(name: str, handler: Handler) -> None:
    """Register a durable handler for an event name ('*' for all): at least once, idempotent please."""
    if handler not in _handlers[name]:
        _handlers[name].append(handler)


def subscribe_fanout(name: str, handler: Handler) -> None:
    """Register a handler that every process runs for each committed event of that name (best effort)."""
    if handler not in _fanout[name]:
        _fanout[name].append(handler)


def _durable(name: str) -> list[Handler]:
    return [*_handlers.get(name, []), *_handlers.get("*", [])]


def has_fanout(name: str) -> bool:
    """True if some fan-out handler listens to this event name."""
    return bool(_fanout.get(name))


def publish(session: Session, name: str, **payload: Any) -> None:
    """Write the event to the outbox in the session's transaction; subscribers get it once it commits.

    On PostgreSQL an event with fan-out subscribers is also announced with `pg_notify` (sent on commit)."""
    now = utcnow()
    durable = bool(_durable(name))
    event_id = session.execute(  # the Core table: no autoflush of the caller's pending objects
        insert(_OUTBOX)
        .values(name=name, payload=payload, created_at=now, available_at=now + GRACE, attempts=0,
                delivered_at=None if durable else now)  # nothing to deliver durably: done at once
        .returning(_OUTBOX.c.id)
    ).scalar_one()
    session.info.setdefault("pending_events", []).append(DomainEvent(name, payload, event_id))
    if has_fanout(name) and session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(CHANNEL, notify_payload(event_id, name, payload))))


def notify_payload(event_id: int, name: str, payload: dict[str, Any]) -> str:
    """The NOTIFY text: id, name, origin, and the payload when it fits (else the listener reads the row)."""
    head = {"id": event_id, "name": name, "origin": ORIGIN}
    full = json.dumps({**head, "payload": payload}, ensure_ascii=False, default=str)
    if len(full.encode()) <= NOTIFY_MAX_BYTES:
        return full
    return json.dumps(head)


def _call(handlers: Iterable[Handler], ev: DomainEvent) -> str | None:
    """Run every handler (a failure does not stop the others); the first error's text, or None."""
    error = None
    for handler in handlers:
        try:
            handler(ev)
        except Exception as exc:  # a subscriber's failure must not undo a committed change
            log.exception("event handler failed for %s", ev.name, extra={"event_id": ev.id})
            error = error or f"{type(exc).__name__}: {exc}"[:2000]
    return error


def dispatch_fanout(ev: DomainEvent) -> None:
    """Run this process's fan-out handlers for an event (the notify listener calls this)."""
    _call([*_fanout.get(ev.name, [])], ev)


def deliver_committed(session: Session) -> None:
    """Hand committed events to their subscribers; called once the commit has fully returned.

    The commit hook only marks events as committed: delivering from inside the hook would let a
    subscriber open a new unit of work while the publisher's transaction is still being finalised on the
    same connection. Outcomes are written to the outbox in one more unit of work."""
    ready: list[DomainEvent] = session.info.pop("committed_events", [])
    if not ready:
        return
    delivered: list[int] = []
    failed: dict[int, str] = {}
    for ev in ready:
        dispatch_fanout(ev)
        durable = _durable(ev.name)
        if not durable:
            continue
        error = _call(durable, ev)
        if ev.id is None:
            continue
        if error is None:
            delivered.append(ev.id)
        else:
            failed[ev.id] = error
    if delivered or failed:
        _record_outcomes(delivered, failed)


def _record_outcomes(delivered: list[int], failed: dict[int, str]) -> None:
    from govgrid.core.db import session_scope

    try:
        with session_scope() as s:
            _mark(s, delivered, failed, utcnow())
    except Exception:  # the rows stay pending: the relay delivers them again after GRACE
        log.exception("outbox outcome not recorded", extra={"event_ids": [*delivered, *failed]})


def _mark(session: Session, delivered: list[int], failed: dict[int, str], now: datetime) -> None:
    if delivered:
        session.execute(
            update(OutboxEvent).where(OutboxEvent.id.in_(delivered)).values(delivered_at=now)
        )
    for event_id, error in failed.items():
        row = session.get(OutboxEvent, event_id)
        if row is None:
            continue
        row.attempts += 1
        row.last_error = error
        row.available_at = now + backoff(row.attempts)
        log.info("outbox event failed", extra={"event_id": event_id, "attempts": row.attempts})
    if delivered:
        log.info("outbox events delivered", extra={"event_ids": delivered})


def backoff(attempts: int) -> timedelta:
    """The wait before the next delivery after `attempts` failures: 10 s doubling, at most an hour."""
    return timedelta(seconds=min(3600, 10 * 2 ** max(0, attempts - 1)))


def deliver_pending(session: Session, *, limit: int = 100, now: datetime | None = None) -> int:
    """The relay: claim due undelivered rows, call their durable subscribers, mark them; the number delivered.

    The claim (`FOR UPDATE SKIP LOCKED` on PostgreSQL) moves each row's `available_at` a lease ahead and
    commits, so handlers run outside any transaction of the relay and two relays never take the same row;
    a relay that dies mid-way leaves its rows to be claimed again when the lease ends. The relay owns its
    session's transactions (it commits twice): give it a session of its own."""
    now = now or utcnow()
    rows = session.scalars(
        select(OutboxEvent)
        .where(_due(now))
        .order_by(OutboxEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return 0
    claimed = [DomainEvent(r.name, dict(r.payload), r.id) for r in rows]
    for r in rows:
        r.attempts += 1
        r.available_at = now + LEASE
    attempts = {r.id: r.attempts for r in rows}
    session.commit()
    delivered: list[int] = []
    failed: dict[int, str] = {}
    for ev in claimed:
        event_id = int(ev.id or 0)
        error = _call(_durable(ev.name), ev)
        if error is None:
            delivered.append(event_id)
        else:
            failed[event_id] = error
    done = utcnow()
    if delivered:
        session.execute(update(OutboxEvent).where(OutboxEvent.id.in_(delivered)).values(delivered_at=done))
    for event_id, error in failed.items():
        session.execute(
            update(OutboxEvent).where(OutboxEvent.id == event_id)
            .values(last_error=error, available_at=done + backoff(attempts[event_id]))
        )
        log.info("outbox event failed", extra={"event_id": event_id, "attempts": attempts[event_id]})
    if delivered:
        log.info("outbox events delivered", extra={"event_ids": delivered})
    session.commit()
    return len(delivered)


def failed_events(session: Session, *, limit: int = 100) -> list[OutboxEvent]:
    """Undelivered rows that failed at least once, newest first (for operators)."""
    return list(session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.delivered_at.is_(None), OutboxEvent.last_error.is_not(None))
        .order_by(OutboxEvent.id.desc())
        .limit(limit)
    ))


def prune_delivered(session: Session, *, older_than: timedelta = KEEP_DELIVERED) -> int:
    """Delete delivered rows created before `older_than` ago; how many."""
    cutoff = utcnow() - older_than
    result = session.execute(
        delete(OutboxEvent).where(
            OutboxEvent.delivered_at.is_not(None), OutboxEvent.created_at < cutoff
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _due(now: datetime) -> Any:
    return (OutboxEvent.delivered_at.is_(None)) & (OutboxEvent.available_at <= now) & (
        OutboxEvent.attempts < MAX_ATTEMPTS
    )


def relay_once() -> int:
    """The periodic relay job: deliver what is due (modules' subscribers loaded first), prune old rows.

    A read-only look first: on SQLite an idle relay never takes the write lock."""
    from govgrid.core.db import session_scope
    from govgrid.core.modules import module_specs

    module_specs()  # importing the modules registers their subscribers
    now = utcnow()
    with session_scope(readonly=True) as session:
        due = session.scalar(select(OutboxEvent.id).where(_due(now)).limit(1))
        old = session.scalar(
            select(OutboxEvent.id)
            .where(OutboxEvent.delivered_at.is_not(None), OutboxEvent.created_at < now - KEEP_DELIVERED)
            .limit(1)
        )
    count = 0
    if due is not None:
        with session_scope() as session:
            count = deliver_pending(session, now=now)
    if old is not None:
        with session_scope() as session:
            prune_delivered(session)
    return count


OUTBOX_RELAY = PeriodicJob(name="core.outbox_relay", every_seconds=10, func=relay_once)


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    session.info.setdefault("committed_events", []).extend(session.info.pop("pending_events", []))


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("pending_events", None)
