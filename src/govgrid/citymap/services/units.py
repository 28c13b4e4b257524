"""Field units (执法队员, 环卫班组, 维修组): registration, position reports and track, status."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.citymap import catalog
from govgrid.citymap.enums import UnitStatus, can_move_unit
from govgrid.citymap.models import FieldUnit, UnitPosition
from govgrid.citymap.services import access, live
from govgrid.citymap.services.common import Actor, check_instant, county_of
from govgrid.core.audit import service as audit
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.departments.models import Department
from govgrid.core.divisions import service as divisions
from govgrid.core.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError

log = logging.getLogger(__name__)

Position = tuple[float, float, datetime | None, float | None]  # lon, lat, time (now if None), speed m/s
MAX_SPEED_MPS = 70.0
MAX_POSITION_AGE = timedelta(days=7)


def create_unit(
    session: Session,
    *,
    actor: Actor,
    code: str,
    name: str,
    kind: str,
    department_code: str,
    skills: list[str],
    user_id: int | None = None,
    lon: float | None = None,
    lat: float | None = None,
) -> FieldUnit:
    """Register a field unit of a department (an admin, operator or dispatcher of the department)."""
    dept = session.scalar(select(Department).where(Department.code == department_code))
    if dept is None:
        raise ValidationFailedError(
            f"部门 {department_code} 不存在 (unknown department)",
            details=[{"loc": ["department_code"], "msg": department_code}],
        )
    if isinstance(actor, Principal):
        policy.require(
            session,
            actor,
            dept.id,
            access.ADMIN_ROLES + access.DISPATCH_ROLES,
            what="该部门的处置力量 (this department's units)",
        )
    bad = [s for s in skills if s not in catalog.SKILLS]
    if bad or not skills:
        raise ValidationFailedError(
            f"技能须为 {', '.join(catalog.SKILLS)} 之一 (unknown skill)",
            details=[{"loc": ["skills"], "msg": ", ".join(bad) or "empty"}],
        )
    if session.scalar(select(FieldUnit.id).where(FieldUnit.code == code)) is not None:
        raise ConflictError(f"处置力量编号 {code} 已存在 (unit code exists)")
    div = divisions.get(session, dept.division_code)
    unit = FieldUnit(
        code=code,
        name=name,
        kind=kind,
        county_code=county_of(div.code),
        division_path=div.path,
        department_id=dept.id,
        user_id=user_id,
        skills=skills,
        lon=lon,
        lat=lat,
        status=UnitStatus.available.value,
        last_seen_at=utcnow() if lon is not None else None,
    )
    session.add(unit)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="citymap.unit_create",
        entity_type="citymap_unit",
        entity_id=unit.id,
        department_id=dept.id,
        division_code=div.code,
        detail={"code": code},
    )
    return unit


def get_unit(session: Session, *, principal: Principal, unit_id: int) -> FieldUnit:
    """One unit in scope (404 otherwise)."""
    unit = session.scalar(select(FieldUnit).where(FieldUnit.id == unit_id, access.units_clause(principal)))
    if unit is None:
        raise NotFoundError(f"处置力量 {unit_id} 不存在或不在您的范围内 (no such unit in your scope)")
    return unit


def list_units(
    session: Session, *, principal: Principal, county_code: str | None = None, status: str | None = None
) -> list[FieldUnit]:
    """Units in scope."""
    stmt = select(FieldUnit).where(access.units_clause(principal))
    if county_code:
        stmt = stmt.where(FieldUnit.county_code == county_code)
    if status:
        stmt = stmt.where(FieldUnit.status == status)
    return list(session.scalars(stmt.order_by(FieldUnit.code)))


def _movable(session: Session, principal: Principal, unit_id: int, refusal: str) -> FieldUnit:
    """The unit, if the principal may report for it (404 if there is none, 403 with `refusal` otherwise)."""
    unit = session.get(FieldUnit, unit_id)
    if unit is None:
        raise NotFoundError(f"处置力量 {unit_id} 不存在 (no such unit)")
    if not access.may_move_unit(session, principal, unit):
        log.info("citymap refused: unit report", extra={"principal_id": principal.id, "unit_id": unit.id})
        raise ForbiddenError(refusal)
    return unit


def _position_problems(lon: float, lat: float, at: datetime, speed: float | None, now: datetime) -> list[str]:
    problems = []
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        problems.append("坐标须为 WGS 84 经纬度 (WGS 84 lon/lat)")
    if at.tzinfo is None:
        problems.append("时间须带时区 (timestamp needs a timezone)")
    elif at > now + timedelta(minutes=5):
        problems.append("时间在未来 (timestamp in the future)")
    elif at < now - MAX_POSITION_AGE:
        problems.append("时间早于 7 天前 (older than 7 days)")
    if speed is not None and not (0 <= speed <= MAX_SPEED_MPS):
        problems.append("速度须在 0..70 米/秒 (speed must be 0..70 m/s)")
    return problems


def report_positions(
    session: Session, *, actor: Principal, unit_id: int, points: list[Position]
) -> FieldUnit:
    """Position reports (the unit's phone or a GPS gateway key): the track grows, last-seen moves on; one bad
    report refuses them all (422, nothing written)."""
    unit = _movable(
        session,
        actor,
        unit_id,
        "只能上报本单位处置力量的位置 (you may report positions of your own units only)",
    )
    if not points:
        raise ValidationFailedError(
            "没有位置 (no positions)", details=[{"loc": ["positions"], "msg": "empty"}]
        )
    now = utcnow()
    rows = []
    for i, (lon, lat, at, speed) in enumerate(points):
        when = at or now
        problems = _position_problems(lon, lat, when, speed, now)
        if problems:
            raise ValidationFailedError(
                "位置报告无效，未写入 (invalid position report: nothing written)",
                details=[{"loc": ["positions", i], "msg": "; ".join(problems)}],
            )
        rows.append(UnitPosition(unit_id=unit.id, lon=lon, lat=lat, at=when, speed_mps=speed))
    session.add_all(rows)
    latest = max(rows, key=lambda r: r.at)
    if unit.last_seen_at is None or latest.at >= unit.last_seen_at:
        unit.lon, unit.lat, unit.last_seen_at = latest.lon, latest.lat, latest.at
    session.flush()
    live.publish_unit(session, unit)
    return unit


def set_unit_status(session: Session, *, principal: Principal, unit_id: int, status: str) -> FieldUnit:
    """The unit's own status (available, en route, on site, off duty)."""
    unit = _movable(
        session, principal, unit_id, "只能修改本单位处置力量的状态 (you may change your own units only)"
    )
    try:
        new = UnitStatus(status)
    except ValueError:
        raise ValidationFailedError(
            f"未知状态 {status} (unknown status)", details=[{"loc": ["status"], "msg": status}]
        ) from None
    before = unit.status
    if not can_move_unit(before, new):  # the table allows every move today: a unit knows where it is
        raise ConflictError(f"{unit.name} 的状态不能由 {before} 改为 {new.value} (status cannot move so)")
    unit.status = new.value
    session.flush()
    audit.record(
        session,
        actor=principal,
        action="citymap.unit_status",
        entity_type="citymap_unit",
        entity_id=unit.id,
        department_id=unit.department_id,
        detail={"status": status},
    )
    log.info("unit status", extra={"unit_id": unit.id, "from": before, "to": new.value})
    live.publish_unit(session, unit)
    return unit


def unit_track(
    session: Session, *, principal: Principal, unit_id: int, since: datetime | None = None, limit: int = 500
) -> list[UnitPosition]:
    """A unit's recent positions (the last 24 h unless `since`), oldest first."""
    since = check_instant(since, "since")
    unit = get_unit(session, principal=principal, unit_id=unit_id)
    since = since or utcnow() - timedelta(hours=24)
    rows = list(
        session.scalars(
            select(UnitPosition)
            .where(UnitPosition.unit_id == unit.id, UnitPosition.at >= since)
            .order_by(UnitPosition.at.desc())
            .limit(limit)
        )
    )
    return rows[::-1]
