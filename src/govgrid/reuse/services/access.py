"""Who may see and do what in the reuse module, built only on ``core.authz.policy``.

- the pack catalogue is shared: every signed-in user reads it (packs hold configuration, no personal data);
- exporting a division's configuration and installing or uninstalling a pack there needs the ``admin`` role
  over that division's territory (a county admin for the county; the platform administrator anywhere);
- installations are seen by those overseeing the adopter's territory or in scope of the installing department;
- a case is seen by its own territory and those above it while in review; once in the library (accepted or
  recommended) by every signed-in user; it is submitted by an admin over the division (自主申报, or 上级推荐
  by an admin above it); reviewed by an admin above the division; promoted to the provincial list by a
  province-level admin, to the national list by the platform administrator; rated by anyone outside the
  division once it is in the library.
"""

from __future__ import annotations

import logging

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session

from govgrid.core.audit.service import Actor
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Assignment, Principal
from govgrid.core.divisions import service as divisions
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ForbiddenError
from govgrid.reuse.enums import PUBLISHED_STATES
from govgrid.reuse.models import Case, Installation

log = logging.getLogger(__name__)

ADMIN = ("admin",)


def principal_of(actor: Actor) -> Principal | None:
    """The actor as a principal, or None for a system actor (CLI, demo loader)."""
    return actor if isinstance(actor, Principal) else None


def actor_name(actor: Actor) -> str:
    """The name an actor leaves on the rows it writes."""
    return actor.audit_identity[2] or "system"


def is_system(actor: Actor) -> bool:
    """True for the platform itself (the CLI run by the operator, the demo loader)."""
    return principal_of(actor) is None and actor.audit_identity[0] == "system"


def oversees(session: Session, *, actor: Actor, division_code: str) -> bool:
    """True if the actor holds ``admin`` over the division's territory (or is the platform itself)."""
    if is_system(actor):
        return True
    p = principal_of(actor)
    stmt = select(Division.code).where(
        Division.code == division_code, policy.division_clause(p, Division.path, ADMIN)
    )
    return session.scalar(stmt) is not None


def require_division_admin(session: Session, *, actor: Actor, division_code: str, what: str) -> Division:
    """The division, if the actor administers its territory (403 otherwise, 404 if unknown)."""
    division = divisions.get(session, division_code)
    if not oversees(session, actor=actor, division_code=division_code):
        log.info("reuse action refused", extra={"division_code": division_code, "reason": "not_admin"})
        raise ForbiddenError(
            f"无权为 {division.name} {what}：需要该地区或其上级的管理员（admin）角色 "
            f"(only an admin over {division_code} may do this)"
        )
    return division


def admin_divisions(principal: Principal | None) -> list[Assignment]:
    """The principal's admin assignments over a territory (the divisions it may install packs in)."""
    if principal is None:
        return []
    return [a for a in principal.assignments if a.role in ADMIN and a.reach == "division"]


def visible_installations(principal: Principal | None) -> ColumnElement[bool]:
    """Predicate over Installation joined to Division: the adopter's territory or the installer's scope."""
    if principal is None:
        return false()
    return or_(
        policy.division_clause(principal, Division.path), policy.scope(Installation.department_id, principal)
    )


def visible_cases(principal: Principal | None) -> ColumnElement[bool]:
    """Predicate over Case joined to Division: in the library, or the case's territory, or in scope."""
    if principal is None:
        return false()
    return or_(
        Case.state.in_([s.value for s in PUBLISHED_STATES]),
        policy.division_clause(principal, Division.path, reaches=("division", "line")),
        policy.scope(Case.department_id, principal),
    )


def upper_admin(session: Session, *, actor: Actor, division_code: str) -> Assignment | None:
    """The actor's admin assignment strictly above the division (an upper level), if any."""
    p = principal_of(actor)
    if p is None:
        return None
    division = divisions.get(session, division_code)
    for a in p.assignments:
        if a.role in ADMIN and a.division_code != division_code and division.path.startswith(a.division_path):
            return a
    return None


def require_submitter(session: Session, *, actor: Actor, division_code: str) -> Division:
    """The division, if the actor may declare its case (admin over it) or nominate it (an admin above it)."""
    division = divisions.get(session, division_code)
    if oversees(session, actor=actor, division_code=division_code):
        return division
    if upper_admin(session, actor=actor, division_code=division_code) is None:
        log.info("reuse case refused", extra={"division_code": division_code, "reason": "not_admin"})
        raise ForbiddenError(
            f"无权为 {division.name} 申报或推荐案例：需要该地区或其上级的管理员（admin）角色 "
            f"(only an admin of {division_code} or above may submit its case)"
        )
    return division


def require_reviewer(session: Session, *, actor: Actor, case: Case) -> None:
    """Refuse (403) anyone but an admin above the case's division or the platform administrator."""
    p = principal_of(actor)
    if is_system(actor) or (p is not None and p.is_superuser):
        return
    if upper_admin(session, actor=actor, division_code=case.division_code) is None:
        log.info("reuse review refused", extra={"case_id": case.id, "reason": "not_upper_level"})
        raise ForbiddenError(
            "只有上级管理员可以评审或推荐本案例（本地不能评审自己的案例） "
            "(only an admin of an upper level may review or promote this case)"
        )


def require_provincial(session: Session, *, actor: Actor, case: Case) -> None:
    """Refuse (403) anyone but a province-level admin above the case, or the platform administrator."""
    p = principal_of(actor)
    if is_system(actor) or (p is not None and p.is_superuser):
        return
    found = upper_admin(session, actor=actor, division_code=case.division_code)
    if found is None or not found.division_code.endswith("0000"):
        raise ForbiddenError("只有省级管理员可以推荐为省级典型案例 (only a province-level admin may promote)")


def require_national(*, actor: Actor) -> None:
    """Refuse (403) anyone but the platform administrator (the national list)."""
    p = principal_of(actor)
    if is_system(actor) or (p is not None and p.is_superuser):
        return
    raise ForbiddenError("只有平台管理员可以推荐为国家级典型案例 (platform administrator only)")
