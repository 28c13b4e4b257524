"""City-management classes per county (本县类别设置): a county may run a GB/T 30428 class with its own
deadline (working hours) and handling line (条); a county without settings runs the standard catalogue.

The case loop reads a class through `for_county` (deadline, handling line); the county's settings are kept by
the urban-management bureau's administrator or an administrator overseeing the county, and written by the
city-map section of a solution pack (`citymap/packs.py`), whose uninstall restores them exactly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from govgrid.citymap import catalog
from govgrid.citymap.models import ClassOverride
from govgrid.citymap.services import access
from govgrid.citymap.services.common import Actor
from govgrid.core.audit import service as audit
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.departments.catalogue import LINES
from govgrid.core.departments.models import Department
from govgrid.core.divisions import service as divisions
from govgrid.core.divisions.models import Division
from govgrid.core.divisions.service import in_subtree
from govgrid.core.errors import ForbiddenError, NotFoundError, ValidationFailedError

log = logging.getLogger(__name__)
LINE_NAMES = {code: zh for code, zh, _en in LINES}
COLUMNS = ("deadline_hours", "line", "active")
MAX_COUNTIES = 200  # the county picker of a provincial or platform administrator


@dataclass(frozen=True)
class CountyClass:
    """A class as a county runs it, the standard it departs from, and the county's own row (if any)."""

    klass: catalog.CaseClass
    standard: catalog.CaseClass
    override: ClassOverride | None


def _active(session: Session, county_code: str, kind: str, code: str) -> ClassOverride | None:
    """The county's active setting for a class, or None."""
    return session.scalar(
        select(ClassOverride).where(
            ClassOverride.county_code == county_code,
            ClassOverride.kind == kind,
            ClassOverride.class_code == code,
            ClassOverride.active.is_(True),
        )
    )


def for_county(session: Session, *, county_code: str, kind: str, code: str) -> catalog.CaseClass:
    """The class a case of the county runs under (0699 其他事件 for an unknown code): the county's active
    deadline and line where it set them, the standard's otherwise."""
    klass = catalog.class_or_other(kind, code)
    row = _active(session, county_code, klass.kind, klass.code)
    if row is None:
        return klass
    return catalog.with_county_settings(klass, deadline_hours=row.deadline_hours, line=row.line)


def rows(session: Session, *, county_code: str) -> dict[str, ClassOverride]:
    """Every setting row of the county (active or not), by class key (``event-0101``)."""
    found = session.scalars(select(ClassOverride).where(ClassOverride.county_code == county_code))
    return {catalog.class_key(r.kind, r.class_code): r for r in found}


def row_state(row: ClassOverride | None) -> dict[str, Any] | None:
    """A row's settings and time as JSON (None for no row): what an undo record keeps."""
    if row is None:
        return None
    return {**{c: getattr(row, c) for c in COLUMNS}, "updated_at": row.updated_at.isoformat()}


def county(session: Session, county_code: str) -> Division:
    """The county division (404 for an unknown code, 422 for a division that is not a county)."""
    div = divisions.get(session, county_code)
    if div.level != "county":
        raise ValidationFailedError(
            f"城市管理类别按县（市、区）设置，{div.name} 不是县级区划 (classes are set per county)",
            details=[{"loc": ["county_code"], "msg": county_code}],
        )
    return div


def may_change(session: Session, actor: Actor, div: Division) -> bool:
    """True if the actor may change the county's class settings: the urban-management bureau's administrator
    or an administrator overseeing the county (system actors may)."""
    return not isinstance(actor, Principal) or (
        access.may_manage_grid(actor, div) or access.in_territory(session, actor, div.code, ("admin",))
    )


def may_change_some(principal: Principal) -> bool:
    """True if the principal may change some county's class settings (the pages show the settings tab): the
    platform administrator, an urban-management administrator, or an administrator with a territory's reach
    (`may_change` decides per county)."""
    return principal.is_superuser or any(
        a.role == "admin" and (a.line_code == access.GRID_LINE or a.reach == "division")
        for a in principal.assignments
    )


def require_class_admin(session: Session, actor: Actor, county_code: str) -> Division:
    """The county, if the actor may change its class settings (`may_change`; 403 otherwise)."""
    div = county(session, county_code)
    if isinstance(actor, Principal) and not may_change(session, actor, div):
        log.info(
            "citymap refused: class settings", extra={"principal_id": actor.id, "division_code": div.code}
        )
        raise ForbiddenError(
            f"只有城市管理部门或本县的管理员可以修改 {div.name} 的城市管理类别设置 "
            f"(only an administrator of {div.code} may change its class settings)"
        )
    return div


def visible_counties(session: Session, principal: Principal) -> list[Division]:
    """The counties whose class settings the caller may see (its territory, or the grid it keeps), by code."""
    keeps = [
        in_subtree(Division.path, a.division_path)
        for a in principal.assignments
        if a.role == "admin" and a.line_code == access.GRID_LINE
    ]
    stmt = (
        select(Division)
        .where(Division.level == "county", or_(policy.division_clause(principal, Division.path, ()), *keeps))
        .order_by(Division.code)
        .limit(MAX_COUNTIES)
    )
    return list(session.scalars(stmt))


def county_lines(session: Session, county_code: str) -> set[str]:
    """The lines (条) with a department in the county: those a class of the county may be handled by."""
    return set(session.scalars(select(Department.line_code).where(Department.division_code == county_code)))


def county_catalogue(session: Session, *, principal: Principal, county_code: str) -> list[CountyClass]:
    """Every class as the county runs it, with the standard beside it (403 outside the caller's territory)."""
    div = county(session, county_code)
    if not access.may_read_grid(session, principal, div):
        raise ForbiddenError(f"无权查看 {div.name} 的城市管理类别设置 (the county is outside your territory)")
    own = rows(session, county_code=div.code)
    out = []
    for std in catalog.catalogue():
        row = own.get(catalog.class_key(std.kind, std.code))
        klass = std
        if row is not None and row.active:
            klass = catalog.with_county_settings(std, deadline_hours=row.deadline_hours, line=row.line)
        out.append(CountyClass(klass, std, row))
    return out


def problems(
    session: Session, *, county_code: str, key: str, deadline_hours: Any, line: Any, loc: list[str]
) -> list[dict[str, Any]]:
    """What is wrong with a setting for a class in the county (empty when it can be written)."""
    out: list[dict[str, Any]] = []
    if catalog.parse_key(key) is None:
        return [{"loc": loc, "msg": f"本平台没有城市管理类别 {key}（格式如 event-0101、part-0115）"}]
    if deadline_hours is None and line is None:
        # a row that changes nothing would still show as the county's own setting
        return [{"loc": loc, "msg": "请填写处置时限或处置条线，或恢复标准设置 (give a deadline or a line)"}]
    lo, hi = catalog.DEADLINE_HOURS
    if deadline_hours is not None and (
        isinstance(deadline_hours, bool)
        or not isinstance(deadline_hours, int | float)
        or not lo <= deadline_hours <= hi
    ):
        out.append({"loc": [*loc, "deadline_hours"], "msg": f"处置时限应在 {lo:g}-{hi:g} 个工作小时之间"})
    if line is not None:
        dept = session.scalar(select(Department.id).where(Department.code == f"{county_code}-{line}"))
        if not isinstance(line, str) or line not in LINE_NAMES or dept is None:
            out.append(
                {
                    "loc": [*loc, "line"],
                    "msg": f"本县没有“{LINE_NAMES.get(str(line), line)}”部门（{county_code}-{line}），"
                    "请改为本县已有的条线部门",
                }
            )
    return out


def set_override(
    session: Session,
    *,
    actor: Actor,
    county_code: str,
    kind: str,
    code: str,
    deadline_hours: float | None,
    line: str | None,
    active: bool = True,
) -> ClassOverride:
    """Set the county's own deadline and line for a class (None keeps the standard's)."""
    div = require_class_admin(session, actor, county_code)
    key = catalog.class_key(kind, code)
    found = problems(
        session, county_code=div.code, key=key, deadline_hours=deadline_hours, line=line, loc=["body"]
    )
    if found:
        raise ValidationFailedError(
            "城市管理类别设置有误，请按提示修改 (the class setting is not valid)", details=found
        )
    state = {"deadline_hours": deadline_hours, "line": line, "active": active}
    write(session, actor=actor, county_code=div.code, key=key, state=state)
    return rows(session, county_code=div.code)[key]


def clear_override(session: Session, *, actor: Actor, county_code: str, kind: str, code: str) -> None:
    """Remove the county's setting for a class: its cases run under the standard again."""
    div = require_class_admin(session, actor, county_code)
    key = catalog.class_key(kind, code)
    if key not in rows(session, county_code=div.code):
        raise NotFoundError(f"本县没有类别 {key} 的设置 (no setting for this class)")
    write(session, actor=actor, county_code=div.code, key=key, state=None)


def write(
    session: Session, *, actor: Actor, county_code: str, key: str, state: dict[str, Any] | None
) -> ClassOverride | None:
    """Make the county's row for a class hold `state` (None: no row); checked by the caller."""
    parsed = catalog.parse_key(key)
    if parsed is None:
        raise ValidationFailedError(f"本平台没有城市管理类别 {key} (unknown class)")
    kind, code = parsed
    row = session.scalar(
        select(ClassOverride).where(
            ClassOverride.county_code == county_code,
            ClassOverride.kind == kind,
            ClassOverride.class_code == code,
        )
    )
    if state is None:
        if row is not None:
            session.delete(row)
    else:
        if row is None:
            row = ClassOverride(county_code=county_code, kind=kind, class_code=code)
            session.add(row)
        for column in COLUMNS:
            setattr(row, column, state.get(column, True if column == "active" else None))
        if state.get("updated_at"):  # a restore puts the row back as it was, its time included
            row.updated_at = datetime.fromisoformat(state["updated_at"])
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="citymap.class_setting_cleared" if state is None else "citymap.class_setting_set",
        entity_type="citymap_class_override",
        entity_id=key,
        division_code=county_code,
    )
    log.info("citymap class setting changed", extra={"division_code": county_code, "class": key})
    return None if state is None else row
