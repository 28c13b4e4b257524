"""Fan-out of committed events to every web process on PostgreSQL: `LISTEN govgrid_events`.

`core.events.publish` sends `pg_notify` in the publisher's transaction, so the notification leaves only on
commit. Each web process runs one listener (started with the app's lifespan, PostgreSQL only) on its own
psycopg 3 async connection; it skips its own process's events (the publisher already ran them after commit)
and runs the fan-out handlers (`core.events.subscribe_fanout`) for the others. A payload too large for
NOTIFY carries only the id: the listener reads the outbox row. Delivery is best effort: events sent while a
listener reconnects are not replayed (the live map's clients get a fresh snapshot when they reconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
from sqlalchemy.engine import make_url

from govgrid.core.events import CHANNEL, ORIGIN, DomainEvent, OutboxEvent, dispatch_fanout

log = logging.getLogger(__name__)

RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)


def libpq_dsn(database_url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as a libpq connection string (psycopg's own)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def _row_event(event_id: int) -> DomainEvent | None:
    from govgrid.core.db import session_scope

    with session_scope(readonly=True) as session:
        row = session.get(OutboxEvent, event_id)
        return None if row is None else DomainEvent(row.name, dict(row.payload), row.id)


async def handle(text: str) -> DomainEvent | None:
    """Run the fan-out handlers for one notification's text; the event, or None if skipped."""
    try:
        note: dict[str, Any] = json.loads(text)
        event_id, name, origin = int(note["id"]), str(note["name"]), note.get("origin")
    except (ValueError, KeyError, TypeError):
        log.warning("unreadable event notification ignored")
        return None
    if origin == ORIGIN:  # ours: delivered in this process right after the commit
        return None
    payload = note.get("payload")
    if isinstance(payload, dict):
        ev: DomainEvent | None = DomainEvent(name, payload, event_id)
    else:
        ev = await anyio.to_thread.run_sync(_row_event, event_id)
    if ev is not None:
        dispatch_fanout(ev)
    return ev


async def listen(database_url: str, ready: asyncio.Event | None = None) -> None:
    """Listen until cancelled, reconnecting after a lost connection."""
    import psycopg

    failures = 0
    while True:
        try:
            dsn = libpq_dsn(database_url)
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                failures = 0
                log.info("event listener started", extra={"channel": CHANNEL})
                if ready is not None:
                    ready.set()
                async for note in conn.notifies():
                    await handle(note.payload)
        except asyncio.CancelledError:
            raise
        except Exception:
            delay = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
            failures += 1
            log.warning("event listener lost its connection; reconnecting in %.1f s", delay, exc_info=True)
            await asyncio.sleep(delay)


async def start(database_url: str) -> Callable[[], Awaitable[None]]:
    """Start this process's listener on PostgreSQL (nothing on SQLite); returns the coroutine stopping it."""

    async def nothing() -> None:
        return None

    if not database_url.startswith("postgresql"):
        return nothing
    ready = asyncio.Event()
    task = asyncio.create_task(listen(database_url, ready), name="govgrid-event-listener")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(ready.wait(), timeout=5)  # listening before the first request is served

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return stop
