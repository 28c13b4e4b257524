"""A ticket's history: one row per step (state changes, reassignments, notes, escalations), and one log line
per state change."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.appeals.enums import CHANNEL_LABELS_ZH, EventKind
from govgrid.appeals.models import Ticket, TicketEvent
from govgrid.core.audit.service import Actor
from govgrid.core.db import utcnow

log = logging.getLogger(__name__)


def actor_name(actor: Actor) -> str:
    """A short name for the history (never a citizen's name)."""
    kind, _id, name = actor.audit_identity
    return f"{kind}:{name}" if kind != "user" else (getattr(actor, "display_name", None) or name or "user")


def channel_label(channel: str) -> str:
    """The Chinese name of an intake channel."""
    return CHANNEL_LABELS_ZH.get(channel, channel)


def record_event(
    session: Session,
    *,
    ticket: Ticket,
    kind: EventKind,
    actor: Actor,
    from_state: str | None = None,
    to_state: str | None = None,
    note: str | None = None,
    department_id: int | None = None,
    public: bool = True,
    at: datetime | None = None,
) -> TicketEvent:
    """Add one step to a ticket's history; a change of state also logs one line (ids only)."""
    event = TicketEvent(
        ticket_id=ticket.id,
        at=at or utcnow(),
        kind=kind,
        actor=actor_name(actor),
        from_state=from_state,
        to_state=to_state,
        department_id=department_id,
        note=note,
        public=public,
    )
    session.add(event)
    if from_state is not None and to_state is not None and from_state != to_state:
        log.info(
            "ticket moved",
            extra={
                "ticket_id": ticket.id,
                "event": str(kind),
                "from": str(from_state),
                "to": str(to_state),
                "department_id": department_id,
            },
        )
    return event


def events(session: Session, *, ticket: Ticket, public_only: bool = False) -> list[TicketEvent]:
    """A ticket's history, oldest first."""
    stmt = select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
    if public_only:
        stmt = stmt.where(TicketEvent.public.is_(True))
    return list(session.scalars(stmt.order_by(TicketEvent.at, TicketEvent.id)))
