"""The events outbox: the row is written with the change and only with it; delivered once; a failed
delivery is retried by the relay; fan-out events reach other processes through NOTIFY (PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.orm import Session

from govgrid.core import db as coredb
from govgrid.core import events, notify
from govgrid.core.db import session_scope, utcnow
from govgrid.core.divisions.models import Division
from govgrid.core.events import OutboxEvent


@pytest.fixture()
def quiet_outbox(db: Session) -> Session:
    """The test's session, with every row older than the test marked delivered (rolled back afterwards)."""
    db.execute(update(OutboxEvent).where(OutboxEvent.delivered_at.is_(None)).values(delivered_at=utcnow()))
    db.flush()
    return db


def _name() -> str:
    return f"test.outbox_{uuid.uuid4().hex[:8]}"


def _rows(db: Session, name: str) -> list[OutboxEvent]:
    db.expire_all()
    return list(db.scalars(select(OutboxEvent).where(OutboxEvent.name == name)))


def _later() -> datetime:
    return utcnow() + timedelta(hours=2)


def test_event_row_is_written_with_the_change_and_delivered_once(quiet_outbox):
    db, name, seen = quiet_outbox, _name(), []
    events.subscribe(name, lambda ev: seen.append((ev.id, ev.payload["n"])))
    with session_scope() as s:
        s.execute(update(Division).where(Division.code == "140321").values(name=Division.name))  # a change
        events.publish(s, name, n=1)
        assert seen == []
        assert len(_rows(s, name)) == 1, "the row is in the publisher's transaction"
    (row,) = _rows(db, name)
    assert row.payload == {"n": 1} and row.delivered_at is not None and row.attempts == 0
    assert seen == [(row.id, 1)]
    assert events.deliver_pending(session_scope_session(), now=_later()) == 0
    assert seen == [(row.id, 1)], "a delivered row is not delivered again"


def session_scope_session() -> Session:
    """A session of the test's connection (the relay commits: savepoints here)."""
    return coredb.session_factory()()


def test_rollback_leaves_no_outbox_row_and_delivers_nothing(quiet_outbox):
    db, name, seen = quiet_outbox, _name(), []
    events.subscribe(name, lambda ev: seen.append(ev))
    with pytest.raises(RuntimeError), session_scope() as s:
        events.publish(s, name, n=2)
        raise RuntimeError("boom")
    assert _rows(db, name) == [] and seen == []
    assert events.deliver_pending(session_scope_session(), now=_later()) == 0 and seen == []


def test_failed_delivery_is_retried_by_the_relay_until_it_succeeds(quiet_outbox):
    db, name = quiet_outbox, _name()
    calls: list[int] = []

    def flaky(ev: events.DomainEvent) -> None:
        calls.append(int(ev.payload["n"]))
        if len(calls) < 3:
            raise ValueError("下游暂时不可用")

    events.subscribe(name, flaky)
    with session_scope() as s:
        events.publish(s, name, n=7)
    (row,) = _rows(db, name)
    assert row.delivered_at is None and row.attempts == 1 and "ValueError" in (row.last_error or "")
    assert row.available_at > utcnow(), "the retry waits for its backoff"
    relay = session_scope_session()
    assert events.deliver_pending(relay) == 0 and calls == [7], "not before the backoff"
    assert events.deliver_pending(relay, now=_later()) == 0 and calls == [7, 7]
    (row,) = _rows(db, name)
    assert row.delivered_at is None and row.attempts == 2
    assert [e.id for e in events.failed_events(db)][:1] == [row.id], "operators see the failing row"
    assert events.deliver_pending(relay, now=utcnow() + timedelta(days=1)) == 1 and calls == [7, 7, 7]
    (row,) = _rows(db, name)
    assert row.delivered_at is not None and row.attempts == 3
    assert events.deliver_pending(relay, now=utcnow() + timedelta(days=2)) == 0 and len(calls) == 3


def test_a_row_whose_publisher_died_is_delivered_by_the_relay_after_the_grace(quiet_outbox):
    db, name, seen = quiet_outbox, _name(), []
    events.subscribe(name, lambda ev: seen.append(ev.payload))
    with session_scope() as s:
        events.publish(s, name, code="A-1")
        s.info.pop("pending_events")  # the process dies before its own delivery
    (row,) = _rows(db, name)
    assert row.delivered_at is None and seen == []
    relay = session_scope_session()
    assert events.deliver_pending(relay) == 0, "the publisher's grace is not over"
    assert events.deliver_pending(relay, now=utcnow() + events.GRACE + timedelta(seconds=1)) == 1
    assert seen == [{"code": "A-1"}]


def test_claimed_rows_are_leased_to_one_relay(quiet_outbox):
    db, name = quiet_outbox, _name()
    events.subscribe(name, lambda ev: None)
    with session_scope() as s:
        events.publish(s, name)
        s.info.pop("pending_events")
    now = utcnow() + timedelta(minutes=5)
    db.execute(update(OutboxEvent).where(OutboxEvent.name == name).values(available_at=now + events.LEASE))
    assert events.deliver_pending(session_scope_session(), now=now) == 0, "still leased to another relay"


def test_fanout_handlers_run_after_commit_and_an_event_without_durable_subscribers_is_done(quiet_outbox):
    db, name, seen = quiet_outbox, _name(), []
    events.subscribe_fanout(name, lambda ev: seen.append(ev.payload["x"]))
    with session_scope() as s:
        events.publish(s, name, x="移动")
        assert seen == []
    assert seen == ["移动"]
    (row,) = _rows(db, name)
    assert row.delivered_at is not None, "nothing durable to deliver: no relay work"


def test_prune_deletes_only_old_delivered_rows(quiet_outbox):
    db, name = quiet_outbox, _name()
    events.subscribe_fanout(name, lambda ev: None)
    with session_scope() as s:
        events.publish(s, name)
    db.execute(update(OutboxEvent).where(OutboxEvent.name == name)
               .values(created_at=utcnow() - timedelta(days=30)))
    events.prune_delivered(db)
    assert _rows(db, name) == []


def test_notify_payload_carries_small_payloads_and_only_the_id_for_large_ones():
    small = json.loads(events.notify_payload(5, "x.y", {"a": "单元"}))
    assert small == {"id": 5, "name": "x.y", "origin": events.ORIGIN, "payload": {"a": "单元"}}
    big = json.loads(events.notify_payload(6, "x.y", {"a": "字" * 5000}))
    assert big == {"id": 6, "name": "x.y", "origin": events.ORIGIN}


def test_listener_skips_its_own_events_and_reads_the_row_of_an_id_only_notice(quiet_outbox):
    db, name, seen = quiet_outbox, _name(), []
    events.subscribe_fanout(name, lambda ev: seen.append(ev.payload))
    own = events.notify_payload(1, name, {"a": 1})
    assert asyncio.run(notify.handle(own)) is None and seen == []
    with session_scope() as s:
        events.publish(s, name, big="字" * 5000)
    seen.clear()
    (row,) = _rows(db, name)
    notice = json.dumps({"id": row.id, "name": name, "origin": "another-process"})
    ev = asyncio.run(notify.handle(notice))
    assert ev is not None and ev.id == row.id and seen == [{"big": "字" * 5000}]
    assert asyncio.run(notify.handle("not json")) is None


def test_the_listener_does_nothing_on_sqlite():
    stop = asyncio.run(notify.start("sqlite:///x.db"))
    asyncio.run(stop())


def test_libpq_dsn_drops_the_driver_name():
    assert notify.libpq_dsn("postgresql+psycopg://u:p@h:5/db") == "postgresql://u:p@h:5/db"


def test_pg_notify_reaches_a_listener_only_on_commit(database_url, monkeypatch):
    if not database_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's (SQLite has one process to notify); "
                    "CI's PostgreSQL leg runs it")
    name, heard = _name(), []
    events.subscribe_fanout(name, lambda ev: heard.append(ev.payload["n"]))
    engine = create_engine(database_url)

    async def scenario() -> None:
        ready = asyncio.Event()
        task = asyncio.create_task(notify.listen(database_url, ready))
        await asyncio.wait_for(ready.wait(), 5)
        monkeypatch.setattr(events, "ORIGIN", "another-process")  # as if a second worker published
        with Session(engine) as s:
            events.publish(s, name, n=1)
            s.rollback()
        with Session(engine) as s:
            events.publish(s, name, n=2)
            s.commit()
        for _ in range(50):
            if heard:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)
        task.cancel()

    try:
        asyncio.run(scenario())
        assert heard == [2], "the rolled-back event is never announced; the committed one is"
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM core_outbox WHERE name = :n"), {"n": name})
        engine.dispose()


def test_the_periodic_relay_job_delivers_due_rows_and_is_registered(quiet_outbox):
    from govgrid.core.jobs.registry import find_periodic

    db, name, seen = quiet_outbox, _name(), []
    events.subscribe(name, lambda ev: seen.append(ev.id))
    with session_scope() as s:
        events.publish(s, name)
        s.info.pop("pending_events")
    assert events.relay_once() == 0 and seen == [], "an idle relay finds nothing due"
    db.execute(update(OutboxEvent).where(OutboxEvent.name == name)
               .values(available_at=utcnow() - timedelta(seconds=1)))
    assert events.relay_once() == 1 and len(seen) == 1
    assert find_periodic("core.outbox_relay") is events.OUTBOX_RELAY
