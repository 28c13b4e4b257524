"""Ratings and what follows them: the reporter's rating, the callback survey by hotline staff (回访), closing
a resolved ticket, and reopening an unresolved one with a new resolution clock and one level of escalation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from govgrid.appeals.enums import (
    RATING_LABELS_ZH,
    EscalationLevel,
    EscalationReason,
    EventKind,
    Rating,
    RatingSource,
    TicketAction,
    TicketState,
    require_move,
)
from govgrid.appeals.models import Ticket
from govgrid.appeals.services import access, counters, escalation, history
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.errors import ValidationFailedError

MAX_COMMENT = 2000


def rate(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    rating: str,
    resolved: bool | None = None,
    comment: str | None = None,
    source: str = RatingSource.citizen,
    now: datetime | None = None,
) -> Ticket:
    """The citizen's rating or a callback survey: close, or reopen and escalate when not fixed."""
    now = now or utcnow()
    if rating not in tuple(Rating):
        raise ValidationFailedError(
            "评价须为 satisfied / basic / unsatisfied (满意/基本满意/不满意)",
            details=[{"loc": ["rating"], "msg": "satisfied | basic | unsatisfied"}],
        )
    citizen = source == RatingSource.citizen
    before = ticket.state
    after = require_move(TicketAction.rate if citizen else TicketAction.survey, before)
    if resolved is None:
        resolved = rating != Rating.unsatisfied
    if comment is not None and len(comment) > MAX_COMMENT:
        raise ValidationFailedError(
            "评价说明不能超过 2000 字 (comment: at most 2000 characters)",
            details=[{"loc": ["comment"], "msg": "at most 2000 characters"}],
        )
    ticket.rating = rating
    ticket.rating_resolved = resolved
    ticket.rating_source = source
    ticket.rated_at = now
    ticket.updated_at = now
    history.record_event(
        session,
        ticket=ticket,
        kind=EventKind.rated if citizen else EventKind.surveyed,
        actor=actor,
        from_state=before,
        to_state=before,
        note=f"{RATING_LABELS_ZH[rating]}；{'已解决' if resolved else '未解决'}"
        + (f"：{comment}" if comment else ""),
        at=now,
    )
    audit.record(
        session,
        actor=actor,
        action="appeals.ticket_rate",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
        department_id=ticket.department_id,
        detail={"rating": str(rating), "resolved": resolved, "source": str(source)},
    )
    metrics = ["rated", f"rated_{rating}"] + (["rated_resolved"] if resolved else [])
    counters.bump_ticket(session, ticket=ticket, metrics=metrics, at=now)
    if resolved and rating != Rating.unsatisfied:
        if ticket.state != after:
            ticket.state = after
            ticket.closed_at = now
            history.record_event(
                session,
                ticket=ticket,
                kind=EventKind.closed,
                actor=actor,
                from_state=before,
                to_state=after,
                note="诉求已办结",
                at=now,
            )
            counters.bump_dispatch(session, ticket=ticket, metrics="closed")
        return ticket
    reopen(
        session,
        actor=actor,
        ticket=ticket,
        reason="诉求人反映问题未解决" if citizen else "回访未解决",
        now=now,
    )
    return ticket


def survey(
    session: Session,
    *,
    actor: Principal,
    ticket: Ticket,
    rating: str,
    resolved: bool | None = None,
    comment: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    """A callback survey (回访) by the territory's hotline staff: closes, or reopens when not fixed."""
    access.require_surveyor(actor, ticket)
    return rate(
        session,
        actor=actor,
        ticket=ticket,
        rating=rating,
        resolved=resolved,
        comment=comment,
        source=RatingSource.survey,
        now=now,
    )


def reopen(
    session: Session, *, actor: Actor, ticket: Ticket, reason: str, now: datetime | None = None
) -> Ticket:
    """Back to the responsible unit with a new resolution clock; a rejected ticket escalates one level."""
    now = now or utcnow()
    before, after = ticket.state, require_move(TicketAction.reopen, ticket.state)
    # The dispatch's answer (and close) are taken back: it is answered and closed again at most once.
    undone = ["answered"]
    answered_at, due = ticket.answered_at, ticket.resolve_due
    if answered_at is not None and (due is None or answered_at <= due):
        undone.append("answered_on_time")
    if before == TicketState.closed:
        undone.append("closed")
    counters.bump_dispatch(session, ticket=ticket, metrics=undone, n=-1)
    ticket.state = after
    ticket.reopen_count += 1
    ticket.answered_at = None
    ticket.closed_at = None
    ticket.updated_at = now
    _sign, _contact, ticket.resolve_due = escalation.deadlines(
        session, category_code=ticket.category_code, start=now, division_code=ticket.division_code
    )
    history.record_event(
        session,
        ticket=ticket,
        kind=EventKind.reopened,
        actor=actor,
        from_state=before,
        to_state=after,
        note=reason,
        at=now,
    )
    audit.record(
        session,
        actor=actor,
        action="appeals.ticket_reopen",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
        department_id=ticket.department_id,
        detail={"reason": reason},
    )
    counters.bump_ticket(session, ticket=ticket, metrics="reopened", at=now)
    escalation.escalate(
        session,
        ticket=ticket,
        level=EscalationLevel(min(ticket.escalation_level + 1, EscalationLevel.supervisor)),
        reason=EscalationReason.citizen_rejected,
        now=now,
        actor=actor,
    )
    return ticket
