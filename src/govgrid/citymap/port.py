"""The declared port: citizens' events forwarded by another module (CITY_EVENT_REPORTED) become cases here.

The handler only queues the event; one worker thread files it in its own unit of work. Delivery can happen while
the publisher still holds the database (core delivers on a savepoint's release too, and SQLite has one writer),
so filing inline could wait on a lock the publishing thread itself holds. The worker retries while the database
is busy. `drain()` waits for the queue to empty (tests, CLI).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

from sqlalchemy.exc import OperationalError

from govgrid.citymap import service
from govgrid.core.audit.service import SystemActor
from govgrid.core.db import session_scope
from govgrid.core.errors import AppError
from govgrid.core.events import DomainEvent, subscribe
from govgrid.core.ports import CITY_EVENT_REPORTED

log = logging.getLogger(__name__)
ACTOR = SystemActor("citymap-port")
MAX_ATTEMPTS = 12

_queue: queue.Queue[dict[str, Any]] = queue.Queue()
_worker: threading.Thread | None = None
_lock = threading.Lock()


def file_event(payload: dict[str, Any]) -> int | None:
    """File (or merge) a case from another module's report; the case id, or None if refused."""
    p = payload
    try:
        with session_scope() as session:
            out = service.file_from_port(
                session,
                actor=ACTOR,
                source=str(p["source"]),
                external_ref=str(p["external_ref"]),
                category=str(p.get("category") or ""),
                description=str(p.get("description") or ""),
                lon=float(p["lon"]),
                lat=float(p["lat"]),
                reported_at=p.get("reported_at"),
            )
            case_id = out.case.id
        log.info(
            "city event %s/%s -> case %s (duplicate=%s)",
            p["source"],
            p["external_ref"],
            case_id,
            out.duplicate,
        )
        return case_id
    except (AppError, KeyError, TypeError, ValueError) as exc:
        # The source keeps its ticket; nothing comes back, and it can handle the matter itself.
        log.warning(
            "city event %s/%s refused: %s",
            p.get("source"),
            p.get("external_ref"),
            getattr(exc, "message", exc),
        )
        return None


def _run() -> None:
    while True:
        payload = _queue.get()
        try:
            for attempt in range(MAX_ATTEMPTS):
                try:
                    file_event(payload)
                    break
                except OperationalError:
                    time.sleep(
                        min(30.0, 0.5 * 2**attempt)
                    )  # the database is busy (the publisher may still hold it)
            else:
                log.error(
                    "city event %s/%s dropped: database busy",
                    payload.get("source"),
                    payload.get("external_ref"),
                )
        except Exception:  # a bad event must not stop the worker
            log.exception("city event handling failed")
        finally:
            _queue.task_done()


def _ensure_worker() -> None:
    global _worker
    with _lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_run, name="citymap-port", daemon=True)
            _worker.start()


def on_city_event(ev: DomainEvent) -> None:
    """Queue a forwarded city event for the worker."""
    _ensure_worker()
    _queue.put(dict(ev.payload))


def drain(timeout: float = 30.0) -> bool:
    """Wait until every queued event has been handled; False on timeout."""
    end = time.monotonic() + timeout
    while _queue.unfinished_tasks:
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


subscribe(CITY_EVENT_REPORTED, on_city_event)
