"""Who may see and do what in economic monitoring, built only on ``core.authz.policy``.

- a figure (observation) belongs to its reporting department: that department's roles see it
  (``policy.scope``, so a city tax line sees its counties' tax figures), and so does anyone overseeing the
  division as a whole (reach ``division``: the county government office);
- an alert is seen the same way through its task department, and worked by that department's operator,
  admin or handler (or a division-wide admin above it);
- figures are uploaded by the operator/admin of the department that reports the indicator (its line in that
  division) or by a division-wide admin/operator above it;
- a scan is run by a division- or line-wide admin/operator covering the division, the division's own
  statistics bureau, or the scheduler (system);
- the registry of indicators is read by any signed-in user and changed by the superuser or an admin of the
  statistics line (统计部门).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from govgrid.core.audit.service import Actor
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ForbiddenError, NotFoundError
from govgrid.economy.models import Alert, Observation

log = logging.getLogger(__name__)

UPLOAD_ROLES = ("operator", "admin")
TASK_ROLES = ("operator", "admin", "handler")
SCAN_ROLES = ("operator", "admin")
REGISTRY_LINE = "statistics"


def principal_of(actor: Actor) -> Principal | None:
    """The actor as a principal, or None for the scheduler or the demo loader."""
    return actor if isinstance(actor, Principal) else None


def actor_name(actor: Actor) -> str:
    """The name an actor leaves on rows it writes."""
    return actor.audit_identity[2] or "system"


def division(session: Session, code: str) -> Division:
    """A division by code; 404 with a readable message when there is none."""
    div = session.get(Division, code)
    if div is None:
        raise NotFoundError(f"行政区划 {code} 不存在 (no division {code})")
    return div


def may_open_division(principal: Principal, div: Division) -> bool:
    """True if some role of the principal lies at or above the division (what it shows is filtered
    further)."""
    if principal.is_superuser:
        return True
    return any(div.path.startswith(a.division_path) for a in principal.assignments)


def require_division(session: Session, principal: Principal, code: str) -> Division:
    """The division if the principal works in it or above it; 403 otherwise (404 if it does not exist)."""
    div = division(session, code)
    if not may_open_division(principal, div):
        log.info("economy division refused", extra={"division": code, "principal_id": principal.id})
        raise ForbiddenError(
            f"{div.name}不在您的辖区内，无权查看其经济运行数据 (this division is outside your territory)"
        )
    return div


def visible_observations(principal: Principal | None) -> ColumnElement[bool]:
    """Predicate over Observation joined to its Division: the reporting department in scope or the territory
    overseen."""
    return or_(
        policy.scope(Observation.department_id, principal),
        policy.division_clause(principal, Division.path),
    )


def observation_query() -> Select[Any]:
    """SELECT of observations joined to their division (for ``visible_observations``)."""
    return select(Observation).join(Division, Division.code == Observation.division_code)


def visible_alerts(principal: Principal | None) -> ColumnElement[bool]:
    """Predicate over Alert joined to its Division: the task department in scope or the territory overseen."""
    return or_(policy.scope(Alert.department_id, principal), policy.division_clause(principal, Division.path))


def require_scan(session: Session, actor: Actor, div: Division) -> None:
    """Refuse (403) a scan by anyone but the scheduler or an admin/operator covering the division."""
    p = principal_of(actor)
    if p is None or p.is_superuser:
        return
    for a in p.assignments:
        if a.role not in SCAN_ROLES or not div.path.startswith(a.division_path):
            continue
        # a division- or line-wide role above, or the statistics bureau of the division itself
        if a.reach in ("division", "line") or (a.line_code == REGISTRY_LINE and a.division_code == div.code):
            return
    log.info("economy scan refused", extra={"division": div.code, "principal_id": p.id})
    raise ForbiddenError("需要该区划或上级的 operator/admin 角色才能运行监测 (requires operator/admin here)")


def require_registry_admin(actor: Actor) -> None:
    """Refuse (403) registry changes by anyone but the superuser or a statistics-line admin."""
    p = principal_of(actor)
    if p is None or p.is_superuser:
        return
    if any(a.role == "admin" and a.line_code == REGISTRY_LINE for a in p.assignments):
        return
    raise ForbiddenError("只有统计部门管理员可以维护指标目录 (only a statistics admin edits the registry)")


def may_upload(session: Session, actor: Actor, department_id: int) -> bool:
    """True if the actor may report figures for the department."""
    p = principal_of(actor)
    if p is None:
        return True
    return policy.can_act(session, p, department_id, UPLOAD_ROLES)


def require_task(session: Session, principal: Principal, department_id: int) -> None:
    """Refuse (403) anyone who may not work the department's alert task."""
    policy.require(session, principal, department_id, TASK_ROLES, what="该预警任务 (this alert task)")
