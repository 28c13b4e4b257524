"""Who may see and do what in the institutions module (数据制度), built only on ``core.authz.policy``.

- a division's ledger, register and incidents are read by those overseeing its territory (a division-reach
  role there or above) and, for their own rows, by the provider departments in scope (a department or its
  line 条 down the tree: ``policy.scope``); anyone else gets 403, anonymous callers 401;
- a division's scoring rule is set by an ``admin`` with division reach there or above;
- a register entry is reviewed, and an incident handled, by an ``admin``/``operator`` of the provider
  department (``policy.can_act``) or by an ``admin``/``operator`` overseeing the division.
"""

from __future__ import annotations

import logging

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from govgrid.core.audit.service import Actor
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.departments.models import Department
from govgrid.core.divisions import service as divisions
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ForbiddenError, NotFoundError, UnauthorizedError

log = logging.getLogger(__name__)

WRITE_ROLES = ("admin", "operator")


def principal_of(actor: Actor) -> Principal | None:
    """The actor as a principal, or None for a system actor (the demo loader)."""
    return actor if isinstance(actor, Principal) else None


def is_system(actor: Actor) -> bool:
    """True for the platform itself."""
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
    """A division by code, 404 naming the code when unknown."""
    try:
        return divisions.get(session, code)
    except NotFoundError:
        raise NotFoundError(f"行政区划 {code[:32]} 不存在 (no such division)") from None


def oversees(session: Session, actor: Actor, code: str, roles: tuple[str, ...] | None = None) -> bool:
    """True if the actor oversees the division `code` (a division-reach role there or above)."""
    if is_system(actor):
        return True
    clause = policy.division_clause(principal_of(actor), Division.path, roles)
    return session.scalar(select(Division.code).where(Division.code == code, clause).limit(1)) is not None


def rows_clause(actor: Actor | None, department_column: object, path_column: object) -> ColumnElement[bool]:
    """Predicate: a row of a provider department in the actor's scope or of a territory it oversees."""
    if actor is None:
        return false()
    if is_system(actor):
        return true()
    p = principal_of(actor)
    return or_(policy.scope(department_column, p), policy.division_clause(p, path_column))


def require_view(session: Session, *, actor: Actor | None, code: str) -> Division:
    """The division, if the actor oversees it or holds a department in scope inside it (else 403)."""
    who = require_login(actor)
    div = division(session, code)
    if oversees(session, who, code):
        return div
    inside = session.scalar(
        select(Department.id)
        .join(Division, Division.code == Department.division_code)
        .where(divisions.in_subtree(Division.path, div.path), policy.scope(Department.id, principal_of(who)))
        .limit(1)
    )
    if inside is None:
        log.info("institutions read refused", extra={"division_code": code})
        raise ForbiddenError(f"无权查看 {div.name} 的数据制度台账：不在您的管辖范围 (not in your territory)")
    return div


def visible_departments(session: Session, *, actor: Actor, ids: set[int]) -> set[int]:
    """Which of the provider departments `ids` the actor may see (decided in SQL)."""
    if not ids:
        return set()
    stmt = (
        select(Department.id)
        .join(Division, Division.code == Department.division_code)
        .where(Department.id.in_(ids), rows_clause(actor, Department.id, Division.path))
    )
    return set(session.scalars(stmt))


def require_rule_admin(session: Session, *, actor: Actor | None, code: str) -> Division:
    """The division, if the actor may set its scoring rule (admin overseeing it; 403 otherwise)."""
    who = require_login(actor)
    div = division(session, code)
    if not oversees(session, who, code, ("admin",)):
        log.info("institutions rule refused", extra={"division_code": code})
        raise ForbiddenError(
            f"无权设定 {div.name} 的贡献计分规则：需要在该区划或其上级拥有 admin 角色 "
            "(admin of the division needed)"
        )
    return div


def require_sync(session: Session, *, actor: Actor | None, code: str) -> Division:
    """The division, if the actor may bring its whole register up to date (an admin/operator over it)."""
    who = require_login(actor)
    div = division(session, code)
    if is_system(who) or oversees(session, who, code, WRITE_ROLES):
        return div
    log.info("institutions sync refused", extra={"division_code": code})
    raise ForbiddenError(
        f"无权同步 {div.name} 的分级台账：需要在该区划或其上级拥有 operator/admin 角色 "
        "(not in your territory)"
    )


def require_keeper(session: Session, *, actor: Actor | None, department_id: int, division_code: str) -> Actor:
    """The actor, if it may review or handle records of the department (403 otherwise)."""
    who = require_login(actor)
    if is_system(who) or policy.can_act(session, principal_of(who), department_id, WRITE_ROLES):
        return who
    if oversees(session, who, division_code, WRITE_ROLES):
        return who
    log.info("institutions write refused", extra={"department_id": department_id})
    raise ForbiddenError(
        "无权处理该资源的安全治理事项：需要提供部门或本级的 operator/admin 角色 (not in your scope)"
    )
