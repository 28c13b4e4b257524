"""The ticket lifecycle after intake (enums.TRANSITIONS): dispatch to the responsible unit, sign for it,
contact the reporter, answer, return a ticket that is not the unit's business, merge duplicates. Ratings,
surveys and reopening are in `ratings`. Every step is checked against the transition table, kept in the
history, audited and counted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from govgrid.appeals import categories
from govgrid.appeals.enums import CategorySource, EventKind, TicketAction, TicketState, require_move
from govgrid.appeals.models import Ticket
from govgrid.appeals.services import access, counters, escalation, history, routing
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.departments.models import Department
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ConflictError, ValidationFailedError

MAX_TEXT = 4000
MAX_NOTE = 2000


def _department(session: Session, dept_id: int) -> Department:
    """A department by id, or ValidationFailedError naming the field."""
    d = session.get(Department, dept_id)
    if d is None:
        raise ValidationFailedError(
            f"部门 {dept_id} 不存在 (no such department)",
            details=[{"loc": ["department_id"], "msg": "unknown department"}],
        )
    return d


def _recategorise(session: Session, ticket: Ticket, actor: Actor, category_code: str, now: datetime) -> None:
    """A dispatcher corrects the category: the history keeps it and the intake counter follows it."""
    old_cat = ticket.category_code
    ticket.category_code = category_code
    ticket.category_source = CategorySource.dispatcher
    history.record_event(
        session,
        ticket=ticket,
        kind=EventKind.recategorised,
        actor=actor,
        from_state=ticket.state,
        to_state=ticket.state,
        public=False,
        note=f"{old_cat} → {category_code}",
        at=now,
    )
    counters.recount_intake(session, ticket=ticket, old_division=ticket.division_code, old_category=old_cat)


def dispatch(
    session: Session,
    *,
    actor: Principal,
    ticket: Ticket,
    department_id: int | None = None,
    category_code: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    """A dispatcher confirms or changes the proposed unit (and category); every change is kept."""
    now = now or utcnow()
    before, after = ticket.state, require_move(TicketAction.dispatch, ticket.state)
    access.require_dispatcher(
        actor,
        [ticket],
        message="只有该辖区的派遣员可以派遣 (only a dispatcher of this territory may dispatch)",
    )
    if category_code is not None and categories.get(category_code) is None:
        raise ValidationFailedError(
            f"未知的诉求类别 {category_code} (unknown category)",
            details=[{"loc": ["category_code"], "msg": "unknown category"}],
        )
    new_category = category_code if category_code and category_code != ticket.category_code else None
    proposed = ticket.proposed_department_id
    if new_category is not None and department_id is None:
        division = session.get(Division, ticket.division_code)
        if division is not None:
            proposed = routing.propose_unit(session, division=division, category_code=new_category)
    target = department_id or proposed
    if target is None:
        raise ValidationFailedError(
            "没有可派遣的责任单位，请指定部门 (no proposed unit: choose a department)",
            details=[{"loc": ["department_id"], "msg": "required"}],
        )
    dept = _department(session, target)
    county = routing.county_of(session, division_code=ticket.division_code)
    if not dept.division_code.startswith(county[:6]) and not actor.is_superuser:
        raise ValidationFailedError(
            "只能派遣给本县（区）的单位 (dispatch only to units of the ticket's county)",
            details=[{"loc": ["department_id"], "msg": "outside the county"}],
        )
    # every check passed: now write
    if new_category is not None:
        _recategorise(session, ticket, actor, new_category, now)
        ticket.proposed_department_id = proposed
    ticket.category_confirmed = True
    overridden = dept.id != ticket.proposed_department_id
    ticket.department_id = dept.id
    ticket.state = after
    ticket.dispatched_at = now
    ticket.updated_at = now
    ticket.sign_due, ticket.contact_due, ticket.resolve_due = escalation.deadlines(
        session, category_code=ticket.category_code, start=now, division_code=ticket.division_code
    )
    history.record_event(
        session,
        ticket=ticket,
        kind=EventKind.dispatched,
        actor=actor,
        from_state=before,
        to_state=after,
        department_id=dept.id,
        note=(
            f"派遣至{dept.name}"
            + (f"（改派，原建议单位 {ticket.proposed_department_id}）" if overridden else "")
            + (f"：{note}" if note else "")
        ),
        at=now,
    )
    audit.record(
        session,
        actor=actor,
        action="appeals.ticket_dispatch",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
        department_id=dept.id,
        detail={
            "proposed": ticket.proposed_department_id,
            "chosen": dept.id,
            "overridden": overridden,
            "category": ticket.category_code,
        },
    )
    metrics = ["dispatched", "overridden"] if overridden else ["dispatched"]
    counters.bump_ticket(session, ticket=ticket, metrics=metrics, at=now)
    return ticket


def _dispatch_metrics(ticket: Ticket) -> list[str]:
    """The metrics the ticket's current dispatch counted (to take back when the dispatch is withdrawn)."""
    overridden = ticket.department_id != ticket.proposed_department_id  # as `dispatch` decided it
    return ["dispatched", "overridden"] if overridden else ["dispatched"]


def sign(session: Session, *, actor: Principal, ticket: Ticket, now: datetime | None = None) -> Ticket:
    """The responsible unit signs for the ticket (签收)."""
    now = now or utcnow()
    before, after = ticket.state, require_move(TicketAction.sign, ticket.state)
    access.require_handler(session, principal=actor, ticket=ticket)
    ticket.state = after
    ticket.signed_at = now
    ticket.updated_at = now
    history.record_event(
        session,
        ticket=ticket,
        kind=EventKind.signed,
        actor=actor,
        from_state=before,
        to_state=after,
        department_id=ticket.department_id,
        note="责任单位已签收",
        at=now,
    )
    audit.record(
        session,
        actor=actor,
        action="appeals.ticket_sign",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
        department_id=ticket.department_id,
    )
    on_time = ticket.sign_due is None or now <= ticket.sign_due
    counters.bump_dispatch(
        session, ticket=ticket, metrics=["signed", "signed_on_time"] if on_time else ["signed"]
    )
    return ticket


def contact(
    session: Session,
    *,
    actor: Principal,
    ticket: Ticket,
    note: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Record the first contact with the reporter (先行联系)."""
    now = now or utcnow()
    require_move(TicketAction.contact, ticket.state)
    access.require_handler(session, principal=actor, ticket=ticket)
    if ticket.contacted_at is not None:
        raise ConflictError("已记录过首次联系 (first contact already recorded)")
    ticket.contacted_at = now
    ticket.updated_at = now
    history.record_event(
        session,
        ticket=ticket,
        kind=EventKind.contacted,
        actor=actor,
        from_state=ticket.state,
        to_state=ticket.state,
        note="已与诉求人联系",
        at=now,
    )
    if note:
        history.record_event(
            session,
            ticket=ticket,
            kind=EventKind.contact_note,
            actor=actor,
            note=note[:MAX_NOTE],
            public=False,
            at=now,
        )
    audit.record(
        session,
        actor=actor,
        action="appeals.ticket_contact",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
        department_id=ticket.department_id,
    )
    contact_ok = ticket.contact_due is None or now <= ticket.contact_due
    metrics = ["contacted"] + (["contacted_on_time"] if contact_ok else [])
    if (
        contact_ok
        and ticket.signed_at is not None
        and (ticket.sign_due is None or ticket.signed_at <= ticket.sign_due)
    ):
        metrics.append("responded_on_time")
    counters.bump_dispatch(session, ticket=ticket, metrics=metrics)
    return ticket


def answer(
    session: Session, *, actor: Principal, ticket: Ticket, text: str, now: datetime | None = None
) -> Ticket:
    """The unit answers the reporter with what was done (办结答复)."""
    now = now or utcnow()
    before, after = ticket.state, require_move(TicketAction.answer, ticket.state)
    access.require_handler(session, principal=actor, ticket=ticket)
    text = (text or "").strip()
    if not text or len(text) > MAX_TEXT:
        raise ValidationFailedError(
            "答复内容须为 1-4000 字 (the answer must be 1-4000 characters)",
            details=[{"loc": ["text"], "msg": "1..4000 characters"}],
        )
    if ticket.contacted_at is None:
        contact(session, actor=actor, ticket=ticket, now=now)
    ticket.state = after
    ticket.answer = text
    ticket.answered_at = now
    ticket.updated_at = now
    history.record_event(
        session,
        ticket=ticket,
        kind=EventKind.answered,
        actor=actor,
        from_state=before,
        to_state=after,
        note=text,
        at=now,
    )
    audit.record(
        session,
        actor=actor,
        action="appeals.ticket_answer",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
        department_id=ticket.department_id,
    )
    on_time = ticket.resolve_due is None or now <= ticket.resolve_due
    counters.bump_dispatch(
        session, ticket=ticket, metrics=["answered", "answered_on_time"] if on_time else ["answered"]
    )
    return ticket


def return_ticket(
    session: Session, *, actor: Principal, ticket: Ticket, reason: str, now: datetime | None = None
) -> Ticket:
    """The unit returns a ticket that is not its business (退回) to the dispatcher's inbox."""
    now = now or utcnow()
    before, after = ticket.state, require_move(TicketAction.return_, ticket.state)
    access.require_handler(session, principal=actor, ticket=ticket)
    if not (reason or "").strip():
        raise ValidationFailedError(
            "退回须说明理由 (give a reason)", details=[{"loc": ["reason"], "msg": "required"}]
        )
    old = ticket.department_id
    # A returned dispatch was not the unit's business: it leaves the unit's denominator (nothing was signed).
    counters.bump_dispatch(session, ticket=ticket, metrics=_dispatch_metrics(ticket), n=-1)
    ticket.state = after
    ticket.department_id = None
    ticket.sign_due = ticket.contact_due = ticket.resolve_due = None
    ticket.updated_at = now
    history.record_event(
        session,
        ticket=ticket,
        kind=EventKind.returned,
        actor=actor,
        from_state=before,
        to_state=after,
        department_id=old,
        note=reason[:MAX_NOTE],
        at=now,
    )
    audit.record(
        session,
        actor=actor,
        action="appeals.ticket_return",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
        department_id=old,
        detail={"reason": reason[:500]},
    )
    return ticket


def merge(
    session: Session, *, actor: Principal, ticket: Ticket, into: Ticket, now: datetime | None = None
) -> Ticket:
    """Merge a duplicate into the surviving ticket; its reporter is kept and follows the survivor."""
    now = now or utcnow()
    if ticket.id == into.id:
        raise ValidationFailedError(
            "不能合并到自身 (cannot merge a ticket into itself)",
            details=[{"loc": ["into_id"], "msg": "same ticket"}],
        )
    before, after = ticket.state, require_move(TicketAction.merge, ticket.state)
    if into.state == TicketState.merged:
        raise ConflictError("目标工单已被合并 (the target was itself merged)")
    access.require_dispatcher(
        actor,
        [ticket, into],
        message="只有该辖区的派遣员可以合并工单 (only a dispatcher of this territory may merge)",
    )
    if before == TicketState.dispatched:
        # A duplicate withdrawn while waiting to be signed leaves its unit's denominator.
        counters.bump_dispatch(session, ticket=ticket, metrics=_dispatch_metrics(ticket), n=-1)
    ticket.state = after
    ticket.merged_into_id = into.id
    ticket.updated_at = now
    history.record_event(
        session,
        ticket=ticket,
        kind=EventKind.merged,
        actor=actor,
        from_state=before,
        to_state=after,
        note=f"与工单 {into.number} 合并办理",
        at=now,
    )
    history.record_event(
        session,
        ticket=into,
        kind=EventKind.duplicate_added,
        actor=actor,
        note=f"合并重复诉求 {ticket.number}",
        public=False,
        at=now,
    )
    audit.record(
        session,
        actor=actor,
        action="appeals.ticket_merge",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
        detail={"into": into.id},
    )
    counters.bump_ticket(session, ticket=ticket, metrics="merged", at=now)
    return ticket
