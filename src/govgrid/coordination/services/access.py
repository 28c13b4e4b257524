"""Who may see and do what in coordination (统筹), built only on ``core.authz.policy``.

- a level's figures, tenants, targets and tasks are read by those overseeing its territory (a division-reach
  role there or above: ``policy.division_clause``); a county sees its own subtree, never a sibling's;
- onboarding a tenant, setting targets and assigning tasks need an ``admin``/``operator`` role with division
  reach over the level that does it; a division reports progress on its own part with the same roles there;
- assets and systems are kept by their department's ``operator``/``admin`` (``policy.can_act``) and read by
  the department's scope or whoever oversees the division;
- compute pools are a shared registry every signed-in official may read; a job may be placed for data of a
  division the caller oversees (division or line reach).
"""

from __future__ import annotations

import logging

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from govgrid.core.audit.service import Actor
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.departments import service as departments
from govgrid.core.departments.models import Department
from govgrid.core.divisions import service as divisions
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ForbiddenError, NotFoundError, UnauthorizedError

log = logging.getLogger(__name__)

WRITE_ROLES = ("admin", "operator")


def principal_of(actor: Actor) -> Principal | None:
    """The actor as a principal, or None for a system actor (the demo loader, a CLI run)."""
    return actor if isinstance(actor, Principal) else None


def is_system(actor: Actor) -> bool:
    """True for the platform itself (demo loader, CLI)."""
    return principal_of(actor) is None and actor.audit_identity[0] == "system"


def actor_name(actor: Actor) -> str:
    """The name an actor leaves on the rows it writes."""
    return actor.audit_identity[2] or "system"


def require_login(actor: Actor | None) -> Actor:
    """The actor, or 401 for an anonymous caller."""
    if actor is None:
        raise UnauthorizedError("请先登录 (sign in first)")
    return actor


def division(session: Session, code: str) -> Division:
    """A division by code, 404 with the code when unknown."""
    try:
        return divisions.get(session, code)
    except NotFoundError:
        raise NotFoundError(f"行政区划 {code} 不存在 (no such division)") from None


def oversees(
    session: Session,
    actor: Actor,
    code: str,
    roles: tuple[str, ...] | None = None,
    reaches: tuple[str, ...] = ("division",),
) -> bool:
    """True if the actor oversees the division `code` (a role with the reach there or above)."""
    if is_system(actor):
        return True
    clause = policy.division_clause(principal_of(actor), Division.path, roles, reaches=reaches)
    return session.scalar(select(Division.code).where(Division.code == code, clause).limit(1)) is not None


def require_oversee(
    session: Session,
    *,
    actor: Actor,
    code: str,
    roles: tuple[str, ...] | None = None,
    reaches: tuple[str, ...] = ("division",),
    what: str = "该区划",
) -> Division:
    """The division, if the actor oversees it (403 otherwise, 404 if unknown)."""
    div = division(session, code)
    if not oversees(session, actor, code, roles, reaches):
        log.info("coordination refused", extra={"division_code": code})
        need = "/".join(roles) if roles else "任一"
        raise ForbiddenError(
            f"无权操作{what} {div.name}：需要在该区划或其上级拥有 {need} 角色 (not in your territory)"
        )
    return div


def territory(actor: Actor | None, path_column: object) -> ColumnElement[bool]:
    """Predicate over a division path column: what the actor oversees (everything for the system)."""
    if actor is None:
        return false()
    if is_system(actor):
        return true()
    return policy.division_clause(principal_of(actor), path_column)


def department_for_write(session: Session, *, actor: Actor, department_code: str) -> Department:
    """The department, if the actor may keep its records (403 otherwise, 404 if unknown)."""
    try:
        dept = departments.get_by_code(session, department_code)
    except NotFoundError:
        raise NotFoundError(f"部门 {department_code} 不存在 (no such department)") from None
    if is_system(actor):
        return dept
    if not policy.can_act(session, principal_of(actor), dept.id, WRITE_ROLES):
        log.info("coordination write refused", extra={"department_id": dept.id})
        raise ForbiddenError(f"无权以 {dept.name} 的名义登记；需要 operator/admin 角色 (not in your scope)")
    return dept


def records_clause(
    actor: Actor | None, department_column: object, path_column: object
) -> ColumnElement[bool]:
    """Predicate: a department-kept record in the actor's scope or in a territory it oversees."""
    if actor is None:
        return false()
    if is_system(actor):
        return true()
    p = principal_of(actor)
    return or_(policy.scope(department_column, p), policy.division_clause(p, path_column))
