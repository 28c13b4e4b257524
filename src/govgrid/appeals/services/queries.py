"""Reading tickets: the work lists, lookups by number, tracking code or channel message, overdue clocks,
likely duplicates, merged reporters, department and line names, open work per department."""

from __future__ import annotations

import difflib
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from govgrid.appeals.enums import CLOCKED_STATES, OPEN_STATES, EscalationLevel, TicketState, WorkView
from govgrid.appeals.models import Ticket
from govgrid.appeals.services import access, config
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.departments.models import Department, Line
from govgrid.core.errors import NotFoundError, ValidationFailedError

METRES_PER_DEGREE_LON = 96_000  # near 36°N
METRES_PER_DEGREE_LAT = 111_000


def overdue_clause(*, now: datetime) -> ColumnElement[bool]:
    """SQL predicate: an open clock has run out."""
    return or_(
        and_(Ticket.state == TicketState.dispatched, Ticket.sign_due < now),
        and_(
            Ticket.state.in_(CLOCKED_STATES),
            Ticket.contacted_at.is_(None),
            Ticket.contact_due < now,
        ),
        and_(Ticket.state.in_(CLOCKED_STATES), Ticket.resolve_due < now),
    )


def is_overdue(ticket: Ticket, *, now: datetime) -> bool:
    """Python twin of overdue_clause for one loaded ticket."""
    if ticket.state == TicketState.dispatched and ticket.sign_due and ticket.sign_due < now:
        return True
    if ticket.state in CLOCKED_STATES:
        if ticket.contacted_at is None and ticket.contact_due and ticket.contact_due < now:
            return True
        if ticket.resolve_due and ticket.resolve_due < now:
            return True
    return False


def _view_clause(principal: Principal, view: str, now: datetime) -> ColumnElement[bool] | None:
    """The extra predicate of one work list (None: all visible tickets)."""
    if view == WorkView.inbox:
        return and_(
            Ticket.state == TicketState.pending,
            policy.division_clause(principal, Ticket.division_path, access.DISPATCH_ROLES),
        )
    if view == WorkView.work:
        return and_(
            Ticket.state.in_((TicketState.dispatched, TicketState.signed, TicketState.answered)),
            policy.scope(Ticket.department_id, principal, access.HANDLER_ROLES),
        )
    if view == WorkView.superior:
        return and_(
            Ticket.escalation_level >= EscalationLevel.superior,
            Ticket.state.in_(OPEN_STATES),
            policy.scope(Ticket.escalated_department_id, principal),
        )
    if view == WorkView.supervision:
        return and_(
            Ticket.escalation_level >= EscalationLevel.supervisor,
            Ticket.state.in_(OPEN_STATES),
            policy.division_clause(principal, Ticket.division_path, access.SUPERVISOR_ROLES),
        )
    if view == WorkView.overdue:
        return overdue_clause(now=now)
    if view == WorkView.all:
        return None
    raise ValidationFailedError(
        "未知的列表 (unknown view)",
        details=[{"loc": ["view"], "msg": "inbox | work | superior | supervision | overdue | all"}],
    )


def list_tickets(
    session: Session,
    *,
    principal: Principal,
    view: str = WorkView.all,
    state: str | None = None,
    category: str | None = None,
    division: str | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> tuple[list[Ticket], int]:
    """Tickets in scope for one of the work lists: inbox, work, superior, supervision, overdue, all."""
    now = now or utcnow()
    stmt = select(Ticket).where(access.visible_clause(principal))
    clause = _view_clause(principal, view, now)
    if clause is not None:
        stmt = stmt.where(clause)
    if state:
        stmt = stmt.where(Ticket.state == state)
    if category:
        stmt = stmt.where(Ticket.category_code == category)
    if division:
        stmt = stmt.where(Ticket.division_code.like(division + "%"))
    if q:
        stmt = stmt.where(or_(Ticket.number == q, Ticket.title.contains(q, autoescape=True)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = list(
        session.scalars(stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit).offset(offset))
    )
    return items, total


def work_counts(session: Session, *, principal: Principal) -> dict[str, int]:
    """How many tickets each work list (inbox, work, superior, supervision, overdue) holds."""
    views = (WorkView.inbox, WorkView.work, WorkView.superior, WorkView.supervision, WorkView.overdue)
    return {str(v): list_tickets(session, principal=principal, view=v, limit=1)[1] for v in views}


def find_by_channel_ref(session: Session, *, channel: str, ref: str) -> Ticket | None:
    """The ticket a channel message already made (idempotent intake)."""
    return session.scalar(select(Ticket).where(Ticket.channel == channel, Ticket.channel_ref == ref))


def by_tracking_code(session: Session, *, code: str) -> Ticket:
    """The ticket for a reporter's tracking code, or NotFoundError."""
    t = session.scalar(select(Ticket).where(Ticket.tracking_code == (code or "").strip().upper()))
    if t is None:
        raise NotFoundError("查询码不存在，请核对 (no ticket with this tracking code)")
    return t


def by_number(session: Session, *, number: str, root_path: str | None = None) -> Ticket | None:
    """A ticket by its public number (optionally only under a division path)."""
    stmt = select(Ticket).where(Ticket.number == number)
    if root_path is not None:
        stmt = stmt.where(Ticket.division_path.like(root_path + "%"))
    return session.scalar(stmt)


def recent_ticket_without_point(
    session: Session, *, channel: str, openid: str, since: datetime
) -> Ticket | None:
    """The sender's latest ticket on a channel still lacking a point (a location message completes it)."""
    return session.scalar(
        select(Ticket)
        .where(
            Ticket.channel == channel,
            Ticket.reporter_openid == openid,
            Ticket.lon.is_(None),
            Ticket.created_at >= since,
            Ticket.state == TicketState.pending,
        )
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(1)
    )


def merged_reporters(session: Session, *, ticket: Ticket) -> list[Ticket]:
    """Tickets merged into this one (their reporters are kept on them)."""
    return list(session.scalars(select(Ticket).where(Ticket.merged_into_id == ticket.id).order_by(Ticket.id)))


def _similar(a: str, b: str) -> float:
    """Text similarity in 0..1."""
    return difflib.SequenceMatcher(None, a, b).ratio()


def duplicate_candidates(session: Session, *, ticket: Ticket, limit: int = 5) -> list[tuple[Ticket, float]]:
    """Likely duplicates: same village, same category, within the window, similar text (or within ~300 m)."""
    cfg = config.escalation_config(session)
    window = timedelta(hours=float(cfg["duplicate_hours"]))
    rows = session.scalars(
        select(Ticket)
        .where(
            Ticket.id != ticket.id,
            Ticket.division_code == ticket.division_code,
            Ticket.category_code == ticket.category_code,
            Ticket.created_at >= ticket.created_at - window,
            Ticket.created_at <= ticket.created_at + window,
            Ticket.state != TicketState.merged,
        )
        .order_by(Ticket.created_at.desc())
        .limit(50)
    )
    out = []
    for other in rows:
        score = _similar(ticket.description, other.description)
        near = False
        if (
            ticket.lon is not None
            and other.lon is not None
            and ticket.lat is not None
            and other.lat is not None
        ):
            dx = (ticket.lon - other.lon) * METRES_PER_DEGREE_LON
            dy = (ticket.lat - other.lat) * METRES_PER_DEGREE_LAT
            near = (dx * dx + dy * dy) ** 0.5 <= float(cfg["duplicate_meters"])
        if score >= float(cfg["duplicate_similarity"]) or (near and score >= 0.3):
            out.append((other, round(score, 3)))
    return sorted(out, key=lambda x: -x[1])[:limit]


def department_names(session: Session, *, ids: set[int]) -> dict[int, str]:
    """Department names by id."""
    if not ids:
        return {}
    rows = session.execute(select(Department.id, Department.name).where(Department.id.in_(ids))).all()
    return {r[0]: r[1] for r in rows}


def line_names(session: Session) -> dict[str, str]:
    """Chinese line names by code."""
    return {r[0]: r[1] for r in session.execute(select(Line.code, Line.name_zh)).all()}


def open_work(session: Session, department_ids: list[int]) -> dict[int, int]:
    """Open tickets (pending, dispatched, signed) per department (the core's WorkCounter calls this)."""
    rows = session.execute(
        select(Ticket.department_id, func.count())
        .where(Ticket.department_id.in_(department_ids), Ticket.state.in_(OPEN_STATES))
        .group_by(Ticket.department_id)
    ).all()
    return {d: n for d, n in rows if d is not None}
