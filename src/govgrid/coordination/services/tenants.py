"""Hosting lower levels (托管): onboarding a county as a tenant of a province or city deployment, roll-ups.

Onboarding is one transactional operation, not a new installation: the county's standard departments
(条 lines), its admin user (division reach, so the county sees its own subtree and nothing beside it), and the
``coordination.tenant_onboarded`` event through which modules seed their starting data (catalog, items).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.coordination.models import Tenant
from govgrid.coordination.services import access, targets
from govgrid.core import ports
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.departments import service as departments
from govgrid.core.departments.models import Department, Line
from govgrid.core.divisions import service as divisions
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ConflictError, ValidationFailedError
from govgrid.core.events import publish
from govgrid.core.identity import service as identity
from govgrid.core.identity.models import RoleAssignment

log = logging.getLogger(__name__)

# The standard 条 lines of a county government (the departments every hosted county starts with).
STANDARD_LINES = (
    "government",
    "development_reform",
    "finance",
    "tax",
    "audit",
    "statistics",
    "market_regulation",
    "education",
    "health",
    "human_resources",
    "civil_affairs",
    "administrative_approval",
    "urban_management",
    "ecology_environment",
    "natural_resources",
    "forestry",
    "water_resources",
    "agriculture",
    "housing",
    "transport",
    "public_security",
    "emergency",
    "discipline_inspection",
    "data_management",
    "petition",
    "hotline_12345",
)
TENANT_LEVELS = ("county", "township")


def onboard(
    session: Session,
    *,
    actor: Actor,
    division_code: str,
    admin_password: str,
    admin_username: str | None = None,
    is_demo: bool = False,
) -> Tenant:
    """Onboard a county (or township) as a tenant: departments, an admin with division reach, the event."""
    div = access.division(session, division_code)
    if div.level not in TENANT_LEVELS or div.parent_code is None:
        raise ValidationFailedError(
            f"{div.name} 不是县级或乡镇级区划，无法托管 (only counties and townships are hosted)",
            details=[{"loc": ["division_code"], "msg": "county or township only"}],
        )
    access.require_oversee(session, actor=actor, code=div.parent_code, roles=("admin",), what="上级区划")
    if session.scalar(select(Tenant.id).where(Tenant.division_code == div.code)) is not None:
        raise ConflictError(f"{div.name} 已经托管在本平台 (already a tenant)")
    username = admin_username or f"t{div.code}_admin"
    made = standard_departments(session, div)
    gov = next(d for d in made if d.line_code == "government")
    user = identity.create_user(
        session,
        actor=actor,
        username=username,
        password=admin_password,
        display_name=f"{div.name}管理员",
        is_demo=is_demo,
        home_department_id=gov.id,
    )
    identity.assign_role(session, actor=actor, user=user, department=gov, role="admin", reach="division")
    host = next((a for a in divisions.ancestors(session, div) if a.level == "province"), None)
    tenant = Tenant(
        division_code=div.code,
        division_path=div.path,
        host_division_code=(host or div).code,
        admin_username=username,
        department_codes=[d.code for d in made],
        onboarded_by=access.actor_name(actor),
        is_demo=is_demo,
    )
    session.add(tenant)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="coordination.tenant_onboard",
        entity_type="tenant",
        entity_id=tenant.id,
        division_code=div.code,
        detail={"departments": len(made)},
    )
    publish(
        session,
        ports.TENANT_ONBOARDED,
        division_code=div.code,
        department_codes=tenant.department_codes,
        admin_username=username,
        by=access.actor_name(actor),
    )
    log.info("tenant onboarded", extra={"tenant_id": tenant.id, "division_code": div.code})
    return tenant


def standard_departments(session: Session, div: Division) -> list[Department]:
    """The division's department of every standard line, created where missing in one pass.

    The same rule as ``departments.create`` (parent: the nearest same-line department up the tree; same-line
    departments below that skipped this level move under the new one), with a handful of queries for all
    lines instead of several per line: onboarding a whole province stays quick."""
    have = {
        d.line_code: d
        for d in session.scalars(
            select(Department).where(
                Department.division_code == div.code, Department.line_code.in_(STANDARD_LINES)
            )
        )
    }
    missing = [code for code in STANDARD_LINES if code not in have]
    if missing:
        upper = [c for c in div.path.strip("/").split("/") if c != div.code]
        depth = {c: i for i, c in enumerate(upper)}
        parents: dict[str, Department] = {}
        for d in session.scalars(
            select(Department).where(Department.line_code.in_(missing), Department.division_code.in_(upper))
        ):
            best = parents.get(d.line_code)
            if best is None or depth[d.division_code] > depth[best.division_code]:
                parents[d.line_code] = d
        lines = {ln.code: ln for ln in session.scalars(select(Line).where(Line.code.in_(missing)))}
        new = {
            code: Department(
                code=f"{div.code}-{code}",
                name=departments.default_name(div.name, lines[code]),
                line_code=code,
                division_code=div.code,
                parent_id=parents[code].id if code in parents else None,
            )
            for code in missing
            if code in lines
        }
        session.add_all(new.values())
        session.flush()
        below = session.scalars(
            select(Department)
            .join(Division, Division.code == Department.division_code)
            .where(
                Department.line_code.in_(list(new)),
                Department.division_code != div.code,
                divisions.in_subtree(Division.path, div.path),
            )
        )
        for other in below:
            old_parent = parents.get(other.line_code)
            if other.parent_id == (old_parent.id if old_parent else None):
                other.parent_id = new[other.line_code].id
        session.flush()
        have.update(new)
    return [have[code] for code in STANDARD_LINES if code in have]


def list_tenants(session: Session, *, actor: Actor, division_code: str | None = None) -> list[Tenant]:
    """Tenants in the actor's territory (below `division_code` when given)."""
    stmt = select(Tenant).where(access.territory(actor, Tenant.division_path))
    if division_code:
        div = access.require_oversee(session, actor=actor, code=division_code)
        stmt = stmt.where(divisions.in_subtree(Tenant.division_path, div.path))
    rows = list(session.scalars(stmt.order_by(Tenant.division_code)))
    audit.record(
        session,
        actor=actor,
        action="coordination.tenants_read",
        entity_type="tenant",
        division_code=division_code,
        detail={"count": len(rows)},
    )
    return rows


@dataclass
class RollupRow:
    """One child division's figures in a roll-up."""

    division: Division
    tenant: bool
    departments: int
    users: int
    measures: dict[str, float | None]
    lagging: list[str]


def rollup(
    session: Session, *, actor: Actor, division_code: str, start: datetime, end: datetime
) -> tuple[Division, list[RollupRow], dict[str, float]]:
    """The division's children side by side: measures, departments, users, lagging against targets."""
    if end <= start:
        raise ValidationFailedError(
            "结束时间应晚于开始时间 (end must be after start)",
            details=[{"loc": ["query", "end"], "msg": "end <= start"}],
        )
    div = access.require_oversee(session, actor=actor, code=division_code)
    effective = targets.effective(session, division=div)
    tenant_codes = set(
        session.scalars(
            select(Tenant.division_code).where(divisions.in_subtree(Tenant.division_path, div.path))
        )
    )
    rows = []
    for child in divisions.children(session, div.code):
        dept_count = (
            session.scalar(
                select(func.count(Department.id))
                .join(Division, Division.code == Department.division_code)
                .where(divisions.in_subtree(Division.path, child.path))
            )
            or 0
        )
        user_count = (
            session.scalar(
                select(func.count(func.distinct(RoleAssignment.user_id)))
                .join(Department, Department.id == RoleAssignment.department_id)
                .join(Division, Division.code == Department.division_code)
                .where(divisions.in_subtree(Division.path, child.path))
            )
            or 0
        )
        values = ports.measures(session, child.code, start, end)
        rows.append(
            RollupRow(
                child,
                child.code in tenant_codes,
                dept_count,
                user_count,
                values,
                targets.lagging(values, effective),
            )
        )
    audit.record(
        session,
        actor=actor,
        action="coordination.rollup_read",
        entity_type="division",
        entity_id=div.code,
        division_code=div.code,
        detail={"rows": len(rows)},
    )
    return div, rows, {k: t.threshold for k, t in effective.items()}
