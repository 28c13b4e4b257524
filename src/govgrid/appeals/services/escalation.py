"""Clocks and escalation: deadlines on the working-day calendar, the escalation of overdue tickets to the
unit's superior and then to the discipline-inspection supervisor queue (下沉监督), the auto-close of answers
nobody rated, and the supervisors' own actions (comment, summons 约谈/吹哨, accountability 问责)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.appeals import categories
from govgrid.appeals.enums import (
    CLOCKED_STATES,
    ESCALATION_REASONS_ZH,
    EscalationLevel,
    EscalationReason,
    EventKind,
    SupervisionAction,
    TicketAction,
    TicketState,
    require_move,
)
from govgrid.appeals.models import Ticket
from govgrid.appeals.services import access, config, counters, history, queries, routing
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.departments.models import Department
from govgrid.core.errors import ValidationFailedError
from govgrid.core.workdays import default_calendar

log = logging.getLogger(__name__)

MAX_SUPERVISION_TEXT = 2000


def deadlines(
    session: Session, *, category_code: str, start: datetime, division_code: str | None = None
) -> tuple[datetime, datetime, datetime]:
    """(sign_due, contact_due, resolve_due) from the category's clocks on the working-day calendar (the
    county's own clocks first when `division_code` is given, e.g. installed from a solution pack)."""
    cat = categories.get_or_default(category_code)
    override = config.deadline_override(session, category_code=category_code, division_code=division_code)
    cal = default_calendar()
    sign = cal.add_working_hours(start, float(override.get("sign_hours", cat.sign_hours)))
    contact = cal.add_working_hours(start, float(override.get("contact_hours", cat.contact_hours)))
    resolve = cal.add_working_days(start, int(override.get("resolve_days", cat.resolve_days)))
    return sign, contact, resolve


def escalate(
    session: Session,
    *,
    ticket: Ticket,
    level: EscalationLevel,
    reason: EscalationReason,
    now: datetime,
    actor: Actor,
) -> None:
    """Raise a ticket to the unit's superior (level 1, with a grace period) or the supervisor queue."""
    cfg = config.escalation_config(session)
    from_level = ticket.escalation_level
    ticket.escalation_level = level
    ticket.escalated_at = now
    ticket.escalation_reason = reason
    if level == EscalationLevel.superior:
        dept = session.get(Department, ticket.department_id) if ticket.department_id else None
        ticket.escalated_department_id = routing.superior_of(session, dept=dept) if dept else None
        ticket.next_escalation_at = default_calendar().add_working_days(now, int(cfg["superior_grace_days"]))
        note = "升级至责任单位的上级督办"
        metric = "escalated_superior"
    else:
        ticket.next_escalation_at = None
        note = "转入纪检监察下沉监督 (supervisor queue)"
        metric = "escalated_supervisor"
    history.record_event(
        session,
        ticket=ticket,
        kind=EventKind.escalated,
        actor=actor,
        from_state=ticket.state,
        to_state=ticket.state,
        department_id=ticket.escalated_department_id,
        note=f"{note}：{ESCALATION_REASONS_ZH.get(reason, reason)}",
        at=now,
    )
    audit.record(
        session,
        actor=actor,
        action="appeals.ticket_escalate",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
        department_id=ticket.department_id,
        detail={"from": from_level, "to": int(level), "reason": str(reason)},
    )
    counters.bump_ticket(session, ticket=ticket, metrics=metric, at=now)
    log.info(
        "ticket escalated",
        extra={
            "ticket_id": ticket.id,
            "from_level": int(from_level),
            "to_level": int(level),
            "reason": str(reason),
            "escalated_department_id": ticket.escalated_department_id,
        },
    )


@dataclass
class EscalationRun:
    """What one escalation pass did (ticket numbers)."""

    to_superior: list[str] = field(default_factory=list)
    to_supervisor: list[str] = field(default_factory=list)
    auto_closed: list[str] = field(default_factory=list)


def _overdue_reason(ticket: Ticket, now: datetime) -> EscalationReason:
    """Which clock ran out first: sign-for, first contact, else resolution."""
    if ticket.state == TicketState.dispatched and ticket.sign_due and ticket.sign_due < now:
        return EscalationReason.sign_overdue
    if ticket.contacted_at is None and ticket.contact_due and ticket.contact_due < now:
        return EscalationReason.contact_overdue
    return EscalationReason.resolve_overdue


def _auto_close(session: Session, ticket: Ticket, now: datetime, actor: Actor) -> None:
    """Close an answer the reporter never rated."""
    from_state = ticket.state
    ticket.state = require_move(TicketAction.close, from_state)
    ticket.closed_at = now
    ticket.updated_at = now
    history.record_event(
        session,
        ticket=ticket,
        kind=EventKind.closed,
        actor=actor,
        from_state=from_state,
        to_state=ticket.state,
        note="答复后未评价，自动办结",
        at=now,
    )
    audit.record(
        session,
        actor=actor,
        action="appeals.ticket_autoclose",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
        department_id=ticket.department_id,
    )
    counters.bump_dispatch(session, ticket=ticket, metrics="closed")


def run_escalations(session: Session, *, now: datetime, actor: Actor | None = None) -> EscalationRun:
    """One pass (pure on `now`): overdue to the superior, then the supervisor queue; stale answers close."""
    actor = actor or audit.SystemActor("appeals-escalation")
    run = EscalationRun()
    level0 = session.scalars(
        select(Ticket)
        .where(Ticket.escalation_level == EscalationLevel.none, queries.overdue_clause(now=now))
        .order_by(Ticket.id)
    )
    for t in level0:
        reason = _overdue_reason(t, now)
        escalate(session, ticket=t, level=EscalationLevel.superior, reason=reason, now=now, actor=actor)
        run.to_superior.append(t.number or "")
    level1 = session.scalars(
        select(Ticket)
        .where(
            Ticket.escalation_level == EscalationLevel.superior,
            Ticket.state.in_(CLOCKED_STATES),
            Ticket.next_escalation_at < now,
            queries.overdue_clause(now=now),  # signed meanwhile and back within its clocks: it stays
        )
        .order_by(Ticket.id)
    )
    for t in level1:
        escalate(
            session,
            ticket=t,
            level=EscalationLevel.supervisor,
            reason=EscalationReason.superior_deadline_passed,
            now=now,
            actor=actor,
        )
        run.to_supervisor.append(t.number or "")
    auto_close_days = int(config.escalation_config(session)["auto_close_days"])
    cal = default_calendar()
    stale = session.scalars(
        select(Ticket)
        .where(Ticket.state == TicketState.answered, Ticket.answered_at < now)
        .order_by(Ticket.id)
    )
    for t in stale:
        if t.answered_at is not None and cal.add_working_days(t.answered_at, auto_close_days) < now:
            _auto_close(session, t, now, actor)
            run.auto_closed.append(t.number or "")
    session.flush()
    return run


def supervise(
    session: Session,
    *,
    actor: Principal,
    ticket: Ticket,
    action: str,
    text: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    """A supervisor comments, summons the unit (约谈/吹哨) or marks accountability (问责)."""
    now = now or utcnow()
    access.require_supervisor(actor, ticket)
    text = (text or "").strip()
    if action not in tuple(SupervisionAction):
        raise ValidationFailedError(
            "未知的监督动作 (unknown action)",
            details=[{"loc": ["action"], "msg": "comment | summon | accountability"}],
        )
    act = SupervisionAction(action)
    if act in (SupervisionAction.comment, SupervisionAction.accountability) and not text:
        raise ValidationFailedError(
            "请填写内容 (text is required)", details=[{"loc": ["text"], "msg": "required"}]
        )
    if len(text) > MAX_SUPERVISION_TEXT:
        raise ValidationFailedError(
            "内容不能超过 2000 字 (at most 2000 characters)", details=[{"loc": ["text"], "msg": "too long"}]
        )
    if act == SupervisionAction.summon:
        ticket.summoned = True
        note = "纪检监察监督员约谈责任单位" + (f"：{text}" if text else "")
    elif act == SupervisionAction.accountability:
        ticket.accountability = text
        note = f"问责：{text}"
    else:
        note = text
    ticket.updated_at = now
    history.record_event(
        session,
        ticket=ticket,
        kind=EventKind(f"supervision_{act}"),
        actor=actor,
        department_id=ticket.department_id,
        note=note,
        public=act != SupervisionAction.comment,
        at=now,
    )
    audit.record(
        session,
        actor=actor,
        action=f"appeals.supervision_{act}",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
        department_id=ticket.department_id,
    )
    log.info("ticket supervised", extra={"ticket_id": ticket.id, "action": str(act)})
    return ticket
