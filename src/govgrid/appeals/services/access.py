"""Who may see and do what with a ticket: visibility (inside the query), dispatchers, handlers, supervisors,
hotline call-takers, callback surveys, the reporter's identity. Checks answer True/False; `require_*`
raise."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from govgrid.appeals.enums import TicketAction, TicketState, may
from govgrid.appeals.models import Ticket
from govgrid.core.audit import service as audit
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Assignment, Principal
from govgrid.core.errors import ForbiddenError, NotFoundError

log = logging.getLogger(__name__)

HANDLER_ROLES = ("handler", "operator", "admin")
DISPATCH_ROLES = ("dispatcher", "admin")
SUPERVISOR_ROLES = ("supervisor",)
VIEWER_ROLES = ("dispatcher", "supervisor", "admin", "viewer")
HOTLINE_ROLES = ("operator", "dispatcher", "admin")
SURVEY_ROLES = ("operator", "dispatcher", "admin")
HOTLINE_LINE = "hotline_12345"
TERRITORY_REACH = ("division", "line")


def get_ticket(session: Session, *, ticket_id: int) -> Ticket:
    """One ticket by id, or NotFoundError (no scope check: for the system and for merges already checked)."""
    t = session.get(Ticket, ticket_id)
    if t is None:
        raise NotFoundError(f"工单 {ticket_id} 不存在 (no such ticket)")
    return t


def visible_clause(principal: Principal) -> ColumnElement[bool]:
    """SQL predicate: tickets the principal may see (unit, superior, dispatcher/supervisor territory)."""
    return or_(
        policy.scope(Ticket.department_id, principal),
        policy.scope(Ticket.escalated_department_id, principal),
        policy.division_clause(principal, Ticket.division_path, VIEWER_ROLES),
    )


def get_visible(session: Session, *, principal: Principal, ticket_id: int) -> Ticket:
    """A ticket the principal may see (404 for anything outside their scope: no existence leak)."""
    t = session.scalar(select(Ticket).where(Ticket.id == ticket_id, visible_clause(principal)))
    if t is None:
        raise NotFoundError(f"工单 {ticket_id} 不存在或不在您的范围内 (no such ticket in your scope)")
    return t


def _covers(a: Assignment, ticket: Ticket) -> bool:
    """An assignment with territory reach whose division contains the ticket."""
    return a.reach in TERRITORY_REACH and ticket.division_path.startswith(a.division_path)


def is_dispatcher_for(principal: Principal, ticket: Ticket) -> bool:
    """True if the principal dispatches in the ticket's territory (dispatcher/admin, territory reach)."""
    return principal.is_superuser or any(
        a.role in DISPATCH_ROLES and _covers(a, ticket) for a in principal.assignments
    )


def is_supervisor_of(principal: Principal, ticket: Ticket) -> bool:
    """True if the principal is a discipline-inspection supervisor of the ticket's territory."""
    return principal.is_superuser or any(
        a.role in SUPERVISOR_ROLES
        and ticket.division_path.startswith(a.division_path)
        and (a.reach in TERRITORY_REACH or ticket.division_path == a.division_path)
        for a in principal.assignments
    )


def can_handle(session: Session, *, principal: Principal, ticket: Ticket) -> bool:
    """True if the principal works in (or above, by reach) the responsible unit."""
    return ticket.department_id is not None and policy.can_act(
        session, principal, ticket.department_id, HANDLER_ROLES
    )


def can_survey(principal: Principal, ticket: Ticket) -> bool:
    """Callback surveys: hotline staff (operator/dispatcher) whose territory covers the ticket."""
    return principal.is_superuser or any(
        a.role in SURVEY_ROLES and _covers(a, ticket) for a in principal.assignments
    )


def can_see_reporter(session: Session, *, principal: Principal, ticket: Ticket) -> bool:
    """Reporter identity: the handling unit and supervisors only."""
    if principal.is_superuser or is_supervisor_of(principal, ticket):
        return True
    return can_handle(session, principal=principal, ticket=ticket)


def allowed_actions(session: Session, *, principal: Principal, ticket: Ticket) -> dict[str, bool]:
    """Which groups of actions the ticket page offers the principal: dispatch, handle, survey, supervise."""
    return {
        "dispatch": may(TicketAction.dispatch, ticket.state) and is_dispatcher_for(principal, ticket),
        "handle": ticket.department_id is not None
        and can_handle(session, principal=principal, ticket=ticket),
        "survey": ticket.state in (TicketState.answered, TicketState.closed)
        and can_survey(principal, ticket),
        "supervise": is_supervisor_of(principal, ticket),
    }


def require_dispatcher(principal: Principal, tickets: list[Ticket], *, message: str) -> None:
    """ForbiddenError unless the principal dispatches in the territory of every ticket."""
    if not all(is_dispatcher_for(principal, t) for t in tickets):
        log.info("ticket action refused", extra={"ticket_id": tickets[0].id, "reason": "not_dispatcher"})
        raise ForbiddenError(message)


def require_handler(session: Session, *, principal: Principal, ticket: Ticket) -> None:
    """ForbiddenError unless the principal handles tickets for the responsible unit."""
    if not can_handle(session, principal=principal, ticket=ticket):
        log.info("ticket action refused", extra={"ticket_id": ticket.id, "reason": "not_handler"})
        raise ForbiddenError(
            "只有责任单位的办理人员可以办理 (only the responsible unit's handlers may do this)"
        )


def require_supervisor(principal: Principal, ticket: Ticket) -> None:
    """ForbiddenError unless the principal supervises the ticket's territory."""
    if not is_supervisor_of(principal, ticket):
        log.info("ticket action refused", extra={"ticket_id": ticket.id, "reason": "not_supervisor"})
        raise ForbiddenError(
            "只有本辖区纪检监察监督员可以监督工单 (only a supervisor of this territory may do this)"
        )


def require_surveyor(principal: Principal, ticket: Ticket) -> None:
    """ForbiddenError unless the principal is hotline staff of the ticket's territory."""
    if not can_survey(principal, ticket):
        log.info("ticket action refused", extra={"ticket_id": ticket.id, "reason": "not_surveyor"})
        raise ForbiddenError(
            "只有该辖区 12345 热线的话务员/派遣员可以回访 (only this territory's hotline staff may survey)"
        )


def require_platform_admin(principal: Principal) -> None:
    """ForbiddenError unless the principal is a platform administrator."""
    if not principal.is_superuser:
        raise ForbiddenError("仅平台管理员 (platform administrators only)")


def hotline_assignments(principal: Principal) -> list[Assignment]:
    """Assignments that let a call-taker file hotline tickets: operator, dispatcher or admin, either with
    reach division (the territory's own staff) or in the 12345 hotline line; their divisions are the
    territory."""
    return [
        a
        for a in principal.assignments
        if a.role in HOTLINE_ROLES and (a.reach == "division" or a.line_code == HOTLINE_LINE)
    ]


def reveal_reporter(session: Session, *, principal: Principal, ticket: Ticket) -> dict[str, Any] | None:
    """The reporter's identity for someone allowed to see it (the read is audited), else None."""
    if not can_see_reporter(session, principal=principal, ticket=ticket):
        return None
    audit.record(
        session,
        actor=principal,
        action="appeals.reporter_read",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
        department_id=ticket.department_id,
        purpose="handling",
    )
    return {
        "name": ticket.reporter_name,
        "phone": ticket.reporter_phone,
        "email": ticket.reporter_email,
        "address": ticket.address,
    }


def load_principal(session: Session, *, username: str) -> Principal:
    """A user's principal by username (CLI, demo and scheduled work acting as a named person)."""
    from govgrid.core.identity import service as identity
    from govgrid.core.identity.models import User

    uid = session.scalar(select(User.id).where(User.username == username))
    if uid is None:
        raise NotFoundError(f"用户 {username} 不存在 (no such user)")
    principal = identity.load_user_principal(session, uid)
    if principal is None:
        raise NotFoundError(f"用户 {username} 不可用 (user disabled)")
    return principal
