"""The live map's feed: committed unit moves and case changes fan out to server-sent-event listeners.

Services publish `live.LIVE_EVENT` on the session (delivered only after commit); this module subscribes to it
as a fan-out event (`core.events.subscribe_fanout`: the publishing process hands it over after its commit, and
on PostgreSQL every other web process hears it through `LISTEN/NOTIFY`, see `core.notify`) and puts the
payload on every listener's asyncio queue in this process, thread-safely (sync endpoints run in a thread
pool). Each
subscriber gets only what its snapshot would show (`FeedScope`): the scope is read from the database once, in
a worker thread, when the feed opens; each event is then checked against it in Python, without touching the
database.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from govgrid.citymap.services import live, units
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.divisions import service as divisions
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ForbiddenError
from govgrid.core.events import DomainEvent, subscribe_fanout

log = logging.getLogger(__name__)

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
        """How many streams are open."""
        return len(self._listeners)

    def send(self, payload: dict[str, Any]) -> None:
        """Deliver to every listener of the payload's county (a full queue drops that listener's event)."""
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
            if lis.dropped == 1 or lis.dropped % 100 == 0:
                log.warning(
                    "live feed listener too slow", extra={"county_code": lis.county, "dropped": lis.dropped}
                )


broadcaster = Broadcaster()


def on_live(ev: DomainEvent) -> None:
    """The committed `LIVE_EVENT` handler (in every web process): hand the payload to the listeners of its
    county in this process."""
    broadcaster.send(dict(ev.payload["data"]))


subscribe_fanout(live.LIVE_EVENT, on_live)


@dataclass(frozen=True)
class FeedScope:
    """What one subscriber may receive: the rule of its snapshot (`access.units_clause`, and for cases
    `access.cases_clause`): a record under a division it oversees, or owned by a department in its scope."""

    county: str
    everything: bool = False
    paths: tuple[str, ...] = ()
    departments: frozenset[int] = frozenset()

    def allows(self, payload: dict[str, Any]) -> bool:
        """True if the event is in the subscriber's county and scope (an event without scope: root only)."""
        if payload.get("county") != self.county:
            return False
        if self.everything:
            return True
        where = payload.get("scope")
        if not isinstance(where, dict):
            return False
        path, dept = where.get("path"), where.get("department_id")
        if isinstance(path, str) and self.paths and path.startswith(self.paths):
            return True
        return isinstance(dept, int) and dept in self.departments


def open_feed(
    session: Session, *, principal: Principal, county_code: str
) -> tuple[FeedScope, list[dict[str, Any]]]:
    """The subscriber's scope in a county and the snapshot of its units there; 403 for a county outside its
    scope. Database work: call it from a worker thread, never on the event loop."""
    county = divisions.get(session, county_code)
    if principal.is_superuser:
        scope = FeedScope(county.code, everything=True)
    else:
        # the territory of `policy.division_clause`: division-reach assignments only
        paths = tuple(sorted({a.division_path for a in principal.assignments if a.reach == "division"}))
        in_county = policy.visible_department_ids(principal).where(Division.path.like(county.path + "%"))
        scope = FeedScope(county.code, paths=paths, departments=frozenset(session.scalars(in_county)))
        overlaps = any(p.startswith(county.path) or county.path.startswith(p) for p in paths)
        if not overlaps and not scope.departments:
            log.info(
                "citymap refused: live feed", extra={"principal_id": principal.id, "county_code": county.code}
            )
            raise ForbiddenError(
                f"无权查看 {county.name} 的实时动态 (the live feed of {county.code} is outside your scope)"
            )
    snapshot = [
        live.unit_marker(u) for u in units.list_units(session, principal=principal, county_code=county.code)
    ]
    return scope, snapshot


def public(payload: dict[str, Any]) -> dict[str, Any]:
    """The event as the browser gets it (without the scoping fields)."""
    return {k: v for k, v in payload.items() if k != "scope"}


def sse(event: str, data: Any) -> str:
    """One server-sent event frame."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"
