"""The live map's feed: committed unit moves and case changes fan out to server-sent-event listeners.

Services publish `LIVE_EVENT` on the session (delivered only after commit); this module subscribes and puts the
payload on every listener's asyncio queue, thread-safely (sync endpoints run in a thread pool).
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from govgrid.citymap.service import LIVE_EVENT
from govgrid.core.events import DomainEvent, subscribe

MAX_QUEUE = 1000


@dataclass(eq=False)
class Listener:
    """One open event stream: the loop it runs in, its queue, and the county it watches."""

    loop: asyncio.AbstractEventLoop
    county: str
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(MAX_QUEUE))
    dropped: int = 0


class Broadcaster:
    """Fan-out of live events to listeners by county."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: set[Listener] = set()

    def add(self, county: str) -> Listener:
        """Register a listener in the running loop."""
        listener = Listener(asyncio.get_running_loop(), county)
        with self._lock:
            self._listeners.add(listener)
        return listener

    def remove(self, listener: Listener) -> None:
        """Forget a listener (stream closed)."""
        with self._lock:
            self._listeners.discard(listener)

    @property
    def count(self) -> int:
        return len(self._listeners)

    def send(self, payload: dict[str, Any]) -> None:
        """Deliver to every listener of the payload's county (a full queue drops the oldest slow listener's event)."""
        with self._lock:
            targets = [lis for lis in self._listeners if lis.county == payload.get("county")]
        for lis in targets:
            try:
                lis.loop.call_soon_threadsafe(self._put, lis, payload)
            except RuntimeError:  # the loop has closed: the stream is gone
                self.remove(lis)

    @staticmethod
    def _put(lis: Listener, payload: dict[str, Any]) -> None:
        try:
            lis.queue.put_nowait(payload)
        except asyncio.QueueFull:
            lis.dropped += 1


broadcaster = Broadcaster()


def _on_live(ev: DomainEvent) -> None:
    broadcaster.send(dict(ev.payload["data"]))


subscribe(LIVE_EVENT, _on_live)


def sse(event: str, data: Any) -> str:
    """One server-sent event frame."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"
