"""Scoping rules. Every module asks here; nothing else decides visibility.

A role assignment sees:
- reach=department: its own department;
- reach=line: departments of the same line in its division and every division below it;
- reach=division: every department in its division and every division below it.
Anything else is visible only through an explicit grant (see `register_grant_checker`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true
from sqlalchemy.orm import Session

from govgrid.core.authz.principal import Assignment, Principal
from govgrid.core.departments.models import Department
from govgrid.core.divisions.models import Division
from govgrid.core.divisions.service import in_subtree
from govgrid.core.errors import ForbiddenError

READ_ROLES = (
    "admin", "operator", "supervisor", "viewer", "dispatcher", "handler", "inspector", "verifier", "approver"
)


def _assignment_clause(a: Assignment) -> ColumnElement[bool]:
    if a.reach == "division":
        return in_subtree(Division.path, a.division_path)
    if a.reach == "line":
        return and_(Department.line_code == a.line_code, in_subtree(Division.path, a.division_path))
    return Department.id == a.department_id


def department_clause(principal: Principal | None, roles: Iterable[str] | None = None) -> ColumnElement[bool]:
    """Predicate over Department joined to its Division: the departments the principal may act on."""
    if principal is None:
        return false()
    if principal.is_superuser:
        return true()
    wanted = tuple(roles) if roles else None
    parts = [_assignment_clause(a) for a in principal.assignments if wanted is None or a.role in wanted]
    return or_(*parts) if parts else false()


def visible_department_ids(principal: Principal | None, roles: Iterable[str] | None = None) -> Select[Any]:
    """A subquery of department ids in scope, for use as `column.in_(...)` inside any query."""
    return select(Department.id).join(Division, Department.division_code == Division.code).where(
        department_clause(principal, roles)
    )


def scope(
    column: Any, principal: Principal | None, roles: Iterable[str] | None = None
) -> ColumnElement[bool]:
    """Predicate: `column` (a department id) is in the principal's scope."""
    if principal is not None and principal.is_superuser:
        return true()
    return column.in_(visible_department_ids(principal, roles))


def division_clause(principal: Principal | None, path_column: Any, roles: Iterable[str] | None = None,
                    *, reaches: tuple[str, ...] = ("division",)) -> ColumnElement[bool]:
    """Predicate over a division path column: the territory the principal oversees as a whole.

    Only assignments with reach=division oversee a territory: everything recorded against a division (tickets,
    cases, audit records without a department) in it and below it. A line-reach assignment oversees its own
    line only and a department-reach one its own department: those see department-owned records through
    `scope` and territory-wide records through their own department's rules, never through this clause. A
    module whose rule is that a line covers a territory for its own work (a carbon verifier of the ecology
    line) says so with `reaches=("division", "line")`; "department" is never accepted."""
    if "department" in reaches:
        raise ValueError("a department-reach assignment oversees no territory")
    if principal is None:
        return false()
    if principal.is_superuser:
        return true()
    wanted = tuple(roles) if roles else None
    parts = [
        in_subtree(path_column, a.division_path)
        for a in principal.assignments
        if a.reach in reaches and (wanted is None or a.role in wanted)
    ]
    return or_(*parts) if parts else false()


def can_act(
    session: Session, principal: Principal | None, department_id: int, roles: Iterable[str] | None = None
) -> bool:
    """True if the department is in scope for one of the roles."""
    if principal is None:
        return False
    if principal.is_superuser:
        return True
    stmt = visible_department_ids(principal, roles).where(Department.id == department_id).limit(1)
    return session.scalar(stmt) is not None


def require(
    session: Session,
    principal: Principal | None,
    department_id: int,
    roles: Iterable[str] | None = None,
    *,
    what: str = "该部门的数据 (this department's data)",
) -> None:
    """Raise ForbiddenError unless the department is in scope for one of the roles."""
    if not can_act(session, principal, department_id, roles):
        need = "/".join(roles) if roles else "any role"
        raise ForbiddenError(f"无权访问{what}；需要在该部门或其上级拥有 {need} 角色 (not in your scope)")


def require_role(principal: Principal | None, *roles: str) -> None:
    """Raise ForbiddenError unless the principal holds one of the roles somewhere."""
    if principal is None or not principal.has_role(*roles):
        raise ForbiddenError(f"需要以下角色之一: {', '.join(roles)} (requires one of these roles)")


# The grant hook: the exchange module registers a checker so that shared data becomes visible.
GrantChecker = Callable[[Session, Principal, str, str, str], Any]
_grant_checkers: dict[str, GrantChecker] = {}


def register_grant_checker(resource_kind: str, checker: GrantChecker) -> None:
    """Install the function that decides explicit grants for a kind of resource."""
    _grant_checkers[resource_kind] = checker


def find_grant(
    session: Session, principal: Principal | None, resource_kind: str, resource_id: str, action: str = "read"
) -> Any:
    """The grant that lets the principal act on a resource outside its scope, or None (deny by default)."""
    if principal is None:
        return None
    checker = _grant_checkers.get(resource_kind)
    return checker(session, principal, resource_kind, resource_id, action) if checker else None
