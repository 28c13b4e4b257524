"""In-process domain events, delivered after the transaction that raised them commits."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DomainEvent:
    """Something that happened: a name like 'appeals.ticket_created' and a JSON-able payload."""

    name: str
    payload: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[DomainEvent], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(name: str, handler: Handler) -> None:
    """Register a handler for an event name ('*' for all)."""
    if handler not in _handlers[name]:
        _handlers[name].append(handler)


def publish(session: Session, name: str, **payload: Any) -> None:
    """Queue an event on the session; it is delivered only after the session commits
    (see deliver_committed)."""
    session.info.setdefault("pending_events", []).append(DomainEvent(name, payload))


def deliver_committed(session: Session) -> None:
    """Hand committed events to their subscribers; called once the commit has fully returned.

    The commit hook only marks events as committed: delivering from inside the hook would let a
    subscriber open a new unit of work while the publisher's transaction is still being finalised on the
    same connection."""
    ready: list[DomainEvent] = session.info.pop("committed_events", [])
    for ev in ready:
        for handler in [*_handlers.get(ev.name, []), *_handlers.get("*", [])]:
            try:
                handler(ev)
            except Exception:  # a subscriber's failure must not undo a committed change
                log.exception("event handler failed for %s", ev.name)


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    session.info.setdefault("committed_events", []).extend(session.info.pop("pending_events", []))


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("pending_events", None)
