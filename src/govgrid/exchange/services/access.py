"""Who sees what of the exchange: catalog visibility, the territory a caller oversees, the provider's own
scope.

Every other service builds on these clauses; they are SQL predicates, applied inside queries.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, false, func, or_, select, true
from sqlalchemy.orm import Session

from govgrid.core.audit.service import Actor
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Assignment, Principal
from govgrid.core.divisions.service import in_subtree
from govgrid.core.errors import NotFoundError
from govgrid.exchange.enums import OpenType, SharingType
from govgrid.exchange.models import Resource

# The audit entity type of a catalog entry, and the grant kind registered with core's policy.
KIND = "exchange.resource"
BUREAU_LINE = "data_management"  # 数据管理局: supervises sharing in its territory, answers 不予共享 requests
WRITE_ROLES = ("admin", "operator")
APPROVE_ROLES = ("admin", "operator", "approver")
REQUEST_ROLES = (
    "admin",
    "operator",
    "approver",
    "handler",
    "dispatcher",
    "inspector",
    "verifier",
    "supervisor",
)


def bureau_assignments(principal: Principal) -> list[Assignment]:
    """The caller's roles in a data management bureau (any role there oversees sharing in its territory)."""
    return [a for a in principal.assignments if a.line_code == BUREAU_LINE]


def oversight_clause(principal: Principal | None, path_column: Any) -> Any:
    """Predicate over a division path column: the territory the caller oversees for data sharing.

    A division-reach role oversees its division and below (core's `policy.division_clause`), and so does the
    data management bureau (数据管理局, any of its roles), which supervises sharing in its territory.
    Department- and line-reach roles oversee no territory: they see requests and flows of their own
    departments only."""
    if principal is None:
        return false()
    parts = [policy.division_clause(principal, path_column)]
    parts += [in_subtree(path_column, a.division_path) for a in bureau_assignments(principal)]
    return or_(*parts)


def catalog_clause(principal: Principal | None) -> Any:
    """Predicate over Resource: the catalog entries whose metadata the caller may see.

    Anonymous: open (无条件开放) entries only. Government users: every 无条件/有条件 entry (you must see an
    entry to request it); 不予共享 entries only in the provider's scope and for the data management bureau
    line below it."""
    if principal is None:
        return Resource.open_type == OpenType.open
    if principal.is_superuser:
        return true()
    parts = [
        Resource.sharing_type != SharingType.none,
        policy.scope(Resource.provider_department_id, principal),
    ]
    parts += [Resource.division_path.like(a.division_path + "%") for a in bureau_assignments(principal)]
    if not principal.assignments:
        return Resource.open_type == OpenType.open
    return or_(*parts)


def visible_query(principal: Principal | None) -> Select[Any]:
    """SELECT of the catalog entries the caller may see (add your own WHERE and ORDER BY)."""
    return select(Resource).where(catalog_clause(principal))


def is_visible(session: Session, *, actor: Principal | None, resource_id: int) -> bool:
    """True if the caller may see the catalog entry."""
    stmt = select(Resource.id).where(Resource.id == resource_id, catalog_clause(actor))
    return session.scalar(stmt) is not None


def find_visible(
    session: Session, *, actor: Principal | None, code: str, ignore_case: bool = False
) -> Resource | None:
    """A visible catalog entry by code, or None (ignore_case: CKAN's lowercased package names)."""
    if ignore_case:
        stmt = visible_query(actor).where(func.upper(Resource.code) == code.upper())
    else:
        stmt = visible_query(actor).where(Resource.code == code)
    return session.scalar(stmt)


def get_resource(session: Session, *, actor: Principal | None, code: str) -> Resource:
    """One visible catalog entry by code (invisible entries are 404, as if absent)."""
    res = find_visible(session, actor=actor, code=code)
    if res is None:
        raise NotFoundError(f"目录资源 {code} 不存在或不可见 (no catalog entry {code} visible to you)")
    return res


def find_resource(session: Session, *, code: str) -> Resource:
    """A catalog entry by code whoever asks (the callers check visibility or rights themselves)."""
    res = session.scalar(select(Resource).where(Resource.code == code))
    if res is None:
        raise NotFoundError(f"目录资源 {code} 不存在 (no catalog entry {code})")
    return res


def in_provider_scope(
    session: Session, *, actor: Principal | None, resource: Any, roles: Iterable[str] | None = None
) -> bool:
    """True if the caller's own scope covers the provider department (no grant needed)."""
    if (
        actor is not None
        and not actor.is_superuser
        and all(a.reach == "department" for a in actor.assignments)
    ):
        # Department-only reach is decided without a query (the common case on the gateway's hot path).
        wanted = set(roles) if roles else None
        return any(
            a.department_id == resource.provider_department_id and (wanted is None or a.role in wanted)
            for a in actor.assignments
        )
    return policy.can_act(session, actor, resource.provider_department_id, roles)


def actor_name(actor: Actor) -> str:
    """The name kept in `changed_by`, `requested_by`, `decided_by`: the user name or the actor's id."""
    return actor.audit_identity[2] or actor.audit_identity[0]
