"""Who may see and do what in market supervision, built only on ``core.authz.policy``.

- the registry (entities, inspectors) is kept by the registering department's ``operator``/``admin`` (or
anyone holding those roles above it in the line, or over the territory);
- it is read by anyone whose scope covers the registrar department (``policy.scope``) or who oversees the
  entity's division (``policy.division_clause``);
- plans are made, committed and drawn by the lead department's ``operator``/``admin``; results are recorded
  by its ``operator``/``admin``/``inspector``;
- a shared case is seen by the sending and the receiving departments (their scopes) and by those overseeing
  either division; only the receiving department accepts and closes it;
- draws and published results are public (一公开): no login, no personal data.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import ColumnElement, Select, false, or_, select
from sqlalchemy.orm import Session, aliased

from govgrid.core.audit.service import Actor
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.departments import service as departments
from govgrid.core.departments.models import Department
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ForbiddenError, NotFoundError
from govgrid.market.models import InspectionPlan, Inspector, MarketEntity, SharedCase

log = logging.getLogger(__name__)

WRITE_ROLES = ("operator", "admin")
RECORD_ROLES = ("operator", "admin", "inspector")


def principal_of(actor: Actor) -> Principal | None:
    """The actor as a principal, or None for a system actor (the demo loader, a job)."""
    return actor if isinstance(actor, Principal) else None


def actor_name(actor: Actor) -> str:
    """The name an actor leaves on the rows it writes."""
    return actor.audit_identity[2] or "system"


def require_department(
    session: Session, *, actor: Actor, department_code: str, roles: tuple[str, ...] = WRITE_ROLES
) -> Department:
    """The department, if the actor may act for it with one of ``roles`` (403 otherwise, 404 if unknown)."""
    try:
        dept = departments.get_by_code(session, department_code)
    except NotFoundError:
        raise NotFoundError(f"部门 {department_code} 不存在 (no such department)") from None
    p = principal_of(actor)
    if p is None and actor.audit_identity[0] == "system":
        return dept
    if not policy.can_act(session, p, dept.id, roles):
        log.info("market write refused", extra={"department_id": dept.id})
        raise ForbiddenError(
            f"无权以 {dept.name} 的名义操作；需要该部门或其上级的 {'/'.join(roles)} 角色 (not in your scope)"
        )
    return dept


def require_department_id(
    session: Session, *, actor: Actor, department_id: int, roles: tuple[str, ...] = WRITE_ROLES
) -> None:
    """Refuse (403) an actor who may not act for the department."""
    p = principal_of(actor)
    if p is None and actor.audit_identity[0] == "system":
        return
    if not policy.can_act(session, p, department_id, roles):
        log.info("market write refused", extra={"department_id": department_id})
        raise ForbiddenError(f"无权操作该部门的数据；需要 {'/'.join(roles)} 角色 (not in your scope)")


def visible_entities(principal: Principal | None) -> ColumnElement[bool]:
    """Predicate over MarketEntity joined to Division: the registrar's scope or an overseen territory."""
    if principal is None:
        return false()
    return or_(
        policy.scope(MarketEntity.department_id, principal), policy.division_clause(principal, Division.path)
    )


def entity_query() -> Select[Any]:
    """SELECT of entities joined to their division (for ``visible_entities``)."""
    return select(MarketEntity).join(Division, Division.code == MarketEntity.division_code)


def visible_inspectors(principal: Principal | None) -> ColumnElement[bool]:
    """Predicate over Inspector joined to Division: their department's scope or an overseen territory."""
    if principal is None:
        return false()
    return or_(
        policy.scope(Inspector.department_id, principal), policy.division_clause(principal, Division.path)
    )


def inspector_query() -> Select[Any]:
    """SELECT of inspectors joined to their division."""
    return select(Inspector).join(Division, Division.code == Inspector.division_code)


def visible_plans(principal: Principal | None) -> ColumnElement[bool]:
    """Predicate over InspectionPlan joined to Division: the lead department's scope or the territory."""
    if principal is None:
        return false()
    return or_(
        policy.scope(InspectionPlan.department_id, principal),
        policy.division_clause(principal, Division.path),
    )


def plan_query() -> Select[Any]:
    """SELECT of plans joined to their division."""
    return select(InspectionPlan).join(Division, Division.code == InspectionPlan.division_code)


TO_DIVISION = aliased(Division)


def visible_cases(principal: Principal | None) -> ColumnElement[bool]:
    """Predicate over SharedCase joined to both divisions: either department's scope or either territory."""
    if principal is None:
        return false()
    return or_(
        policy.scope(SharedCase.from_department_id, principal),
        policy.scope(SharedCase.to_department_id, principal),
        policy.division_clause(principal, Division.path),
        policy.division_clause(principal, TO_DIVISION.path),
    )


def case_query() -> Select[Any]:
    """SELECT of shared cases joined to the sender's and the receiver's divisions."""
    return (
        select(SharedCase)
        .join(Division, Division.code == SharedCase.division_code)
        .join(TO_DIVISION, TO_DIVISION.code == SharedCase.to_division_code)
    )
