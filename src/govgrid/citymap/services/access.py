"""Who sees and acts where on the city map. Every rule is built on `govgrid.core.authz.policy`:

- **Territory** (`policy.division_clause`, reach=division): an assignment with division reach oversees its
  division and everything below it: the county's grid inspectors (pd_inspector), the command centre's
  dispatchers, the supervision centre. The roles of each step of the case loop are checked over the case's
  division this way.
- **Department** (`policy.scope`): records owned by a department (a case dispatched to it, a field unit) are
  seen by whoever has the department in scope, as everywhere in the platform.
- City-map rules on top, each one named here:
  - *the grid keeper*: an `admin` of an urban-management (城管) department whose division is the target or
    above it keeps the unit grid, the parts register and the cameras, whatever the reach of the assignment
    (`may_manage_grid`); only the platform administrator shares it;
  - *the register's readers*: parts and cameras belong to the county's urban-management bureau, so everyone
    with that bureau in scope reads them, besides the territory's overseers (`assets_clause`);
  - *the unit's own account*: a field unit's user account sees and handles the cases dispatched to its unit.

A department- or line-reach assignment no longer oversees its division's whole map (a county tax bureau's
operator saw every camera and case in the county before): it sees its own department's records through
`policy.scope`.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from govgrid.citymap.models import Camera, Case, FieldUnit, Part
from govgrid.citymap.services.common import Actor
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.departments.models import Department
from govgrid.core.divisions import service as divisions
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ForbiddenError

log = logging.getLogger(__name__)

ADMIN_ROLES = ("admin", "operator")
DISPATCH_ROLES = ("dispatcher",)
COLLECT_ROLES = ("inspector",)
HANDLER_ROLES = ("handler",)
VERIFY_ROLES = ("inspector", "supervisor", "verifier")
EVALUATE_ROLES = ("supervisor",)
INDICATOR_ROLES = ("admin", "operator", "supervisor", "dispatcher", "viewer", "inspector", "verifier")
UNIT_ROLES = ("handler", "operator", "dispatcher", "admin")  # who may report a unit's position or status
GRID_LINE = "urban_management"  # the bureau that keeps the unit grid and the city parts register (城管局)


def in_territory(
    session: Session, principal: Principal | None, division_code: str, roles: tuple[str, ...]
) -> bool:
    """True if the principal oversees the division (its own or an ancestor, reach=division) in one of the
    roles (any role when `roles` is empty)."""
    if principal is None:
        return False
    if principal.is_superuser:
        return True
    stmt = select(Division.code).where(
        Division.code == division_code, policy.division_clause(principal, Division.path, roles)
    )
    return session.scalar(stmt) is not None


def require_territory(
    session: Session, principal: Principal, division_code: str, roles: tuple[str, ...], what: str
) -> None:
    """403 unless the principal oversees the division in one of the roles."""
    if not in_territory(session, principal, division_code, roles):
        log.info(
            "citymap refused: role over division",
            extra={"principal_id": principal.id, "division_code": division_code, "need": ",".join(roles)},
        )
        raise ForbiddenError(
            f"{what}需要在该区域拥有以下角色之一: {', '.join(roles)} "
            f"(requires one of these roles over division {division_code}: {', '.join(roles)})"
        )


def require_role(principal: Principal, roles: tuple[str, ...], what: str) -> None:
    """403 unless the principal holds one of the roles somewhere: checked before a case is looked up, so a
    caller without the role learns nothing about the case."""
    if principal.is_superuser or principal.has_role(*roles):
        return
    log.info("citymap refused: role", extra={"principal_id": principal.id, "need": ",".join(roles)})
    raise ForbiddenError(
        f"{what}需要以下角色之一: {', '.join(roles)} (requires one of these roles: {', '.join(roles)})"
    )


def role_used(principal: Principal, roles: tuple[str, ...]) -> str | None:
    """The role the principal acts in: its first assignment's role among `roles` (admin for superusers)."""
    if principal.is_superuser:
        return "admin"
    return next((a.role for a in principal.assignments if a.role in roles), None)


def may_manage_grid(principal: Principal, division: Division) -> bool:
    """True for the platform administrator and for an administrator of an urban-management department whose
    division is this one or an ancestor of it: the county bureau keeps the county's grid and parts. No other
    bureau, role or reach may import, generate or delete cells or import parts."""
    if principal.is_superuser:
        return True
    return any(
        a.role == "admin" and a.line_code == GRID_LINE and division.path.startswith(a.division_path)
        for a in principal.assignments
    )


def require_grid_admin(session: Session, actor: Actor, division_code: str) -> Division:
    """The division, if the actor may change its grid and parts (403 otherwise; system actors may)."""
    div = divisions.get(session, division_code)
    if isinstance(actor, Principal) and not may_manage_grid(actor, div):
        log.warning(
            "citymap refused: grid change", extra={"principal_id": actor.id, "division_code": div.code}
        )
        raise ForbiddenError(
            f"只有城市管理部门的管理员可以修改 {div.name} 的网格和部件 "
            f"(only an administrator of the urban management bureau over {div.code} "
            "may change its grid and parts)"
        )
    return div


def may_read_grid(session: Session, principal: Principal, division: Division) -> bool:
    """True if the principal oversees the division (any role) or keeps its grid."""
    return in_territory(session, principal, division.code, ()) or may_manage_grid(principal, division)


def require_camera_admin(session: Session, actor: Actor, division_code: str) -> None:
    """403 unless the actor may register a camera there: an admin or operator overseeing the division, or the
    grid keeper (system actors may)."""
    if not isinstance(actor, Principal):
        return
    if may_manage_grid(actor, divisions.get(session, division_code)):
        return
    require_territory(session, actor, division_code, ADMIN_ROLES, "管理网格和部件")


def cases_clause(principal: Principal | None) -> ColumnElement[bool]:
    """Cases the principal may read: under a division it oversees, assigned to a department in its scope, or
    dispatched to the field unit whose account it is."""
    parts = [
        policy.division_clause(principal, Case.division_path),
        policy.scope(Case.department_id, principal),
    ]
    if principal is not None and principal.kind == "user":
        parts.append(Case.unit_id.in_(select(FieldUnit.id).where(FieldUnit.user_id == principal.id)))
    return or_(*parts)


def units_clause(principal: Principal | None) -> ColumnElement[bool]:
    """Field units the principal may see: under a division it oversees, or of a department in its scope."""
    return or_(
        policy.division_clause(principal, FieldUnit.division_path),
        policy.scope(FieldUnit.department_id, principal),
    )


def assets_clause(principal: Principal | None, path_column: Any, county_column: Any) -> ColumnElement[bool]:
    """Parts and cameras the principal may see: under a division it oversees, or in a county whose
    urban-management bureau (the keeper of the register) is in its scope."""
    keepers = select(Department.division_code).where(
        Department.line_code == GRID_LINE, Department.id.in_(policy.visible_department_ids(principal))
    )
    return or_(policy.division_clause(principal, path_column), county_column.in_(keepers))


def parts_clause(principal: Principal | None) -> ColumnElement[bool]:
    """City parts the principal may see (see `assets_clause`)."""
    return assets_clause(principal, Part.division_path, Part.county_code)


def cameras_clause(principal: Principal | None) -> ColumnElement[bool]:
    """Cameras the principal may see (see `assets_clause`)."""
    return assets_clause(principal, Camera.division_path, Camera.county_code)


def is_unit_account(session: Session, principal: Principal, case: Case) -> bool:
    """True if the principal is the user account of the field unit the case is dispatched to."""
    if case.unit_id is None or principal.kind != "user":
        return False
    unit = session.get(FieldUnit, case.unit_id)
    return unit is not None and unit.user_id == principal.id


def may_handle(session: Session, principal: Principal, case: Case) -> bool:
    """True for the dispatched unit's own account and the assigned department's handlers."""
    if is_unit_account(session, principal, case):
        return True
    return case.department_id is not None and policy.can_act(
        session, principal, case.department_id, HANDLER_ROLES
    )


def handler_role(session: Session, principal: Principal, case: Case) -> str:
    """The role in which the principal handles the case: the dispatched unit's own account ("field_unit") or a
    handler of the assigned department; 403 for anyone else."""
    if is_unit_account(session, principal, case):
        return "field_unit"
    if not may_handle(session, principal, case):
        log.info("citymap refused: handler", extra={"principal_id": principal.id, "case_id": case.id})
        raise ForbiddenError(
            "只有承办部门的处置人员或派遣的处置力量可以处理此案卷 "
            "(only a handler of the assigned department or the dispatched unit may handle this case)"
        )
    return role_used(principal, HANDLER_ROLES) or "handler"


def may_move_unit(session: Session, principal: Principal, unit: FieldUnit) -> bool:
    """True for the unit's own account and its department's handlers, operators, dispatchers and admins."""
    if principal.kind == "user" and unit.user_id == principal.id:
        return True
    return policy.can_act(session, principal, unit.department_id, UNIT_ROLES)
