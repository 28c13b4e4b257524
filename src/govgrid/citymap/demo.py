"""Pingding (平定县 140321) demo: a 100 m grid over the built-up area of 冠山镇, city parts, field units with
tracks, cameras and six months of cases through every state (some overdue, some reworked). Seeded; idempotent.

All of it is DEMO data: the township and village boundaries are core's Voronoi partitions, not real ones.
"""

from __future__ import annotations

import json
import math
import random
from datetime import datetime, timedelta
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from govgrid.citymap import catalog, spatial
from govgrid.citymap.enums import SHANGHAI, CaseAction, CaseKind, CaseState, UnitStatus
from govgrid.citymap.models import Camera, Case, CaseReport, CaseStep, FieldUnit, GridCell, UnitPosition
from govgrid.citymap.services import cameras as camera_service
from govgrid.citymap.services import grid as grid_service
from govgrid.citymap.services import parts as part_service
from govgrid.citymap.services import units as unit_service
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import SystemActor
from govgrid.core.db import utcnow
from govgrid.core.departments.models import Department
from govgrid.core.divisions import service as divisions
from govgrid.core.divisions.models import Division
from govgrid.core.identity import service as identity
from govgrid.core.identity.models import ApiKey, User
from govgrid.core.modules import DemoContext
from govgrid.core.workdays import default_calendar

ACTOR = SystemActor("demo-loader")
COUNTY = "140321"
TOWN = "140321100"  # 冠山镇 (the county seat)
AREA_W_M, AREA_H_M = 3000.0, 2400.0  # the built-up area the grid covers
DAYS = 180
CASES_PER_DAY = 13
SENSOR_KEY_NAME = "平定县视频与物联网接入 (demo)"

EVENT_WEIGHTS = {
    "0101": 14,
    "0103": 8,
    "0102": 4,
    "0106": 3,
    "0108": 2,
    "0109": 3,
    "0201": 8,
    "0202": 3,
    "0302": 3,
    "0303": 3,
    "0304": 2,
    "0404": 8,
    "0405": 9,
    "0406": 5,
    "0409": 10,
    "0501": 1,
    "0502": 1,
    "0504": 2,
    "0506": 1,
    "0699": 2,
}
PART_CASE_WEIGHTS = {"0102": 4, "0103": 3, "0115": 6, "0301": 5, "0109": 1, "0205": 1}
PART_COUNTS = {
    "0101": 60,
    "0102": 90,
    "0103": 80,
    "0104": 30,
    "0109": 40,
    "0115": 160,
    "0201": 12,
    "0205": 20,
    "0301": 110,
    "0302": 14,
    "0401": 120,
}
UNITS = [
    ("enforcement", "城管执法中队", 8, ["enforcement"], "urban_management"),
    ("sanitation", "环卫作业班组", 8, ["sanitation"], "urban_management"),
    ("repair", "市政维修组", 4, ["repair", "greening"], "housing"),
]


Person = tuple[int, str | None]  # user id (0: a machine or the public), name
Step = tuple[str, str, datetime, Person, str | None]  # action, state after, time, who, role


def _built_up_area(session: Session) -> Any:
    town = divisions.get(session, TOWN)
    boundary = shape(json.loads(session.scalar(select(Division.boundary).where(Division.code == TOWN))))
    proj = spatial.Projector.around(boundary)
    c = proj.to_metres(shapely.Point(town.center_lon, town.center_lat))
    rect = shapely.box(c.x - AREA_W_M / 2, c.y - AREA_H_M / 2, c.x + AREA_W_M / 2, c.y + AREA_H_M / 2)
    return proj.to_lonlat(rect).intersection(boundary)


def _users(session: Session, ctx: DemoContext) -> None:
    for username, display, dept, role, reach in [
        ("pd_inspector", "平定县城市管理监督员", f"{COUNTY}-urban_management", "inspector", "division"),
        ("pd_unit01", "平定县城管执法一中队", f"{COUNTY}-urban_management", "handler", "department"),
        # the keeper of the grid and the parts register: only the urban-management bureau's admin changes them
        ("pd_urban_admin", "平定县城市管理局管理员", f"{COUNTY}-urban_management", "admin", "department"),
    ]:
        identity.ensure_user_with_role(
            session,
            actor=ACTOR,
            username=username,
            password=ctx.password,
            display_name=display,
            department_code=dept,
            role=role,
            reach=reach,
            is_demo=True,
        )
        ctx.users[username] = f"{display} · {role} ({reach})"
    ctx.users.setdefault("pd_dispatcher", "平定县指挥中心派遣员 dispatcher")
    dept = session.scalar(select(Department).where(Department.code == f"{COUNTY}-urban_management"))
    if (
        session.scalar(select(ApiKey.id).where(ApiKey.name == SENSOR_KEY_NAME, ApiKey.revoked_at.is_(None)))
        is None
    ):
        _key, full = identity.create_api_key(
            session,
            actor=ACTOR,
            name=SENSOR_KEY_NAME,
            department_id=dept.id,
            role="inspector",
            reach="division",
        )
        ctx.printed.append(f"  城市管理视频/物联网接入 API 密钥 (citymap ingest key, shown once): {full}")


def load_demo(session: Session, ctx: DemoContext) -> None:
    """Load the Pingding city map demo (skips whatever is already there)."""
    if session.get(Division, TOWN) is None:
        return
    _users(session, ctx)
    if session.scalar(select(func.count()).select_from(GridCell).where(GridCell.county_code == COUNTY)):
        return
    rng = random.Random(140321)  # noqa: S311  (seeded demo data, not a secret)
    area = _built_up_area(session)
    cells = grid_service.generate_grid(
        session, actor=ACTOR, division_code=TOWN, cell_m=100.0, within=mapping(area)
    )
    centres = [(c.center_lon, c.center_lat) for c in cells]
    _parts(session, rng, centres)
    units = _units(session, rng, centres)
    cams = _cameras(session, rng, centres)
    n = _cases(session, rng, cells, units, cams)
    audit.record(
        session,
        actor=ACTOR,
        action="citymap.demo_load",
        entity_type="division",
        entity_id=COUNTY,
        division_code=COUNTY,
        detail={"cells": len(cells), "units": len(units), "cameras": len(cams), "cases": n},
    )
    ctx.printed.append(
        f"  城市管理一张图 (city map): {ctx.base_url}/citymap?county={COUNTY} — {len(cells)} 网格, {n} 案卷"
    )


def _jitter(rng: random.Random, lon: float, lat: float, metres: float) -> tuple[float, float]:
    dx, dy = rng.uniform(-metres, metres), rng.uniform(-metres, metres)
    return lon + dx / (111_320 * math.cos(math.radians(lat))), lat + dy / 111_320


def _parts(session: Session, rng: random.Random, centres: list[tuple[float, float]]) -> None:
    feats = []
    for cc, n in PART_COUNTS.items():
        name = catalog.class_or_other(CaseKind.part, cc).name_zh
        for _ in range(n):
            lon, lat = _jitter(rng, *rng.choice(centres), 40)
            feats.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": {
                        "class_code": cc,
                        "name": name,
                        "status": rng.choices(["intact", "damaged", "lost"], [94, 5, 1])[0],
                    },
                }
            )
    part_service.import_parts(session, actor=ACTOR, county_code=COUNTY, features=feats)


def _units(session: Session, rng: random.Random, centres: list[tuple[float, float]]) -> list[FieldUnit]:
    user_id = session.scalar(select(User.id).where(User.username == "pd_unit01"))
    now = utcnow()
    units = []
    serial = 0
    for kind, label, count, skills, line in UNITS:
        for i in range(count):
            serial += 1
            lon, lat = rng.choice(centres)
            unit = unit_service.create_unit(
                session,
                actor=ACTOR,
                code=f"PD-{kind[:3].upper()}-{i + 1:02d}",
                name=f"{label}{i + 1}组",
                kind=kind,
                department_code=f"{COUNTY}-{line}",
                skills=skills,
                user_id=user_id if serial == 1 else None,
                lon=lon,
                lat=lat,
            )
            if rng.random() < 0.1:
                unit.status = UnitStatus.off_duty.value
            units.append(unit)
    rows = []
    for unit in units:  # a 30-minute track of each unit
        lon, lat = unit.lon or 0.0, unit.lat or 0.0
        heading = rng.uniform(0, 360)
        for k in range(30, 0, -1):
            heading += rng.uniform(-35, 35)
            lon += 80 * math.sin(math.radians(heading)) / (111_320 * math.cos(math.radians(lat)))
            lat += 80 * math.cos(math.radians(heading)) / 111_320
            rows.append(
                {
                    "unit_id": unit.id,
                    "lon": lon,
                    "lat": lat,
                    "at": now - timedelta(minutes=k),
                    "speed_mps": 1.3,
                }
            )
        unit.lon, unit.lat, unit.last_seen_at = lon, lat, now - timedelta(minutes=1)
    session.execute(insert(UnitPosition), rows)
    session.flush()
    return units


def _cameras(session: Session, rng: random.Random, centres: list[tuple[float, float]]) -> list[Camera]:
    cams = []
    for i in range(16):
        lon, lat = rng.choice(centres)
        cams.append(
            camera_service.create_camera(
                session,
                actor=ACTOR,
                code=f"PD-CAM-{i + 1:03d}",
                name=f"冠山镇{i + 1}号路口监控",
                lon=lon,
                lat=lat,
                direction_deg=rng.choice([0, 45, 90, 135, 180, 225, 270, 315]),
                fov_deg=70,
                range_m=150,
                stream_url=f"rtsp://video.demo.invalid/pd/cam{i + 1:03d}",
            )
        )
    return cams


def _working_moment(rng: random.Random, day: datetime) -> datetime:
    local = day.astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    hour = rng.choices(range(6, 22), [2, 5, 8, 9, 8, 6, 5, 6, 8, 8, 7, 6, 5, 4, 3, 2])[0]
    return (local + timedelta(hours=hour, minutes=rng.randint(0, 59))).astimezone(day.tzinfo)


def _cases(
    session: Session, rng: random.Random, cells: list[GridCell], units: list[FieldUnit], cams: list[Camera]
) -> int:
    now = utcnow()
    cal = default_calendar()
    hot = rng.sample(cells, 6)  # hot spots: a market, a school gate, a bus station...
    dept_ids = dict(
        session.execute(
            select(Department.code, Department.id).where(Department.code.like(f"{COUNTY}-%"))
        ).all()
    )
    index = spatial.CellIndex([c.code for c in cells], [shape(json.loads(c.geometry)) for c in cells])
    by_code = {c.code: c for c in cells}
    inspectors = session.execute(
        select(User.id, User.display_name).where(User.username == "pd_inspector")
    ).one()
    dispatcher = session.execute(
        select(User.id, User.display_name).where(User.username == "pd_dispatcher")
    ).one()
    handler = session.execute(select(User.id, User.display_name).where(User.username == "pd_handler")).one()
    supervisor = session.execute(
        select(User.id, User.display_name).where(User.username == "pd_supervisor")
    ).one()
    ev_codes, ev_w = list(EVENT_WEIGHTS), list(EVENT_WEIGHTS.values())
    pt_codes, pt_w = list(PART_CASE_WEIGHTS), list(PART_CASE_WEIGHTS.values())
    day_serial: dict[str, int] = {}
    cases: list[Case] = []
    timelines: list[list[Step]] = []
    busy_units: set[int] = set()
    for d in range(DAYS, -1, -1):
        day = now - timedelta(days=d)
        n = rng.randint(CASES_PER_DAY - 4, CASES_PER_DAY + 4)
        for _ in range(n):
            t0 = _working_moment(rng, day)
            if t0 > now - timedelta(minutes=5):
                continue
            if rng.random() < 0.55:
                base = rng.choice(hot)
                lon, lat = _jitter(rng, base.center_lon, base.center_lat, 220)
            else:
                c = rng.choice(cells)
                lon, lat = _jitter(rng, c.center_lon, c.center_lat, 45)
            cell = index.assign_codes([lon], [lat])[0]
            if cell is None:
                continue
            kind = CaseKind.part if rng.random() < 0.18 else CaseKind.event
            cc = rng.choices(pt_codes, pt_w)[0] if kind == CaseKind.part else rng.choices(ev_codes, ev_w)[0]
            klass = catalog.class_or_other(kind, cc)
            source = rng.choices(["inspector", "video", "iot", "citizen"], [60, 15, 5, 20])[0]
            cam = rng.choice(cams) if source == "video" else None
            if cam is not None:
                lon, lat = _jitter(rng, cam.lon, cam.lat, 60)
                cell = index.assign_codes([lon], [lat])[0] or cam.cell_code or cell
            key = t0.astimezone(SHANGHAI).strftime("%Y%m%d")
            day_serial[key] = day_serial.get(key, 0) + 1
            reporter = inspectors if source == "inspector" else None
            case = Case(
                code=f"{COUNTY}{key}{day_serial[key]:05d}",
                source=source,
                external_ref=None,
                kind=kind.value,
                class_code=cc,
                description=f"{klass.name_zh}（演示数据）",
                lon=lon,
                lat=lat,
                cell_code=cell,
                county_code=COUNTY,
                division_code=by_code[cell].division_code,
                division_path=by_code[cell].division_path,
                camera_id=cam.id if cam else None,
                reporter_type="user" if reporter else ("system" if source in ("video", "iot") else "public"),
                reporter_id=str(reporter[0]) if reporter else None,
                reporter_name=reporter[1]
                if reporter
                else {"video": "视频智能分析", "iot": "物联网感知", "citizen": "市民"}[source],
                state=CaseState.collected.value,
                reported_at=t0,
                rework_count=0,
                report_count=1 + (rng.random() < 0.12) + (rng.random() < 0.04),
            )
            first: Person = (reporter[0], reporter[1]) if reporter else (0, case.reporter_name)
            role = "inspector" if reporter else None
            steps: list[Step] = [(CaseAction.collect.value, CaseState.collected.value, t0, first, role)]
            _life(rng, cal, case, klass, steps, now, dispatcher, handler, supervisor, inspectors, dept_ids)
            cases.append(case)
            timelines.append(steps)
    # field units on open dispatched/handling cases: the simulator drives them there
    for case in cases:
        if case.state in (CaseState.dispatched.value, CaseState.handling.value) and case.arrived_at is None:
            klass = catalog.class_or_other(case.kind, case.class_code)
            free = [
                u
                for u in units
                if u.id not in busy_units
                and u.status != UnitStatus.off_duty.value
                and klass.skill in u.skills
            ]
            if free:
                unit = min(
                    free, key=lambda u: ((u.lon or 0.0) - case.lon) ** 2 + ((u.lat or 0.0) - case.lat) ** 2
                )
                case.unit_id = unit.id
                case.department_id = unit.department_id
                busy_units.add(unit.id)
                if case.state == CaseState.handling.value:
                    unit.status = UnitStatus.en_route.value
    session.add_all(cases)
    session.flush()
    step_rows, report_rows = [], []
    for case, steps in zip(cases, timelines, strict=True):
        prev = None
        for action, to_state, at, (uid, uname), role in steps:
            step_rows.append(
                {
                    "case_id": case.id,
                    "action": action,
                    "from_state": prev,
                    "to_state": to_state,
                    "actor_type": "user" if uid else "system",
                    "actor_id": str(uid) if uid else None,
                    "actor_name": uname,
                    "role": role,
                    "note": None,
                    "at": at,
                }
            )
            prev = to_state
        for k in range(case.report_count):
            report_rows.append(
                {
                    "case_id": case.id,
                    "source": case.source,
                    "external_ref": None,
                    "reporter_type": case.reporter_type,
                    "reporter_id": case.reporter_id,
                    "description": case.description,
                    "lon": case.lon,
                    "lat": case.lat,
                    "camera_id": case.camera_id,
                    "duplicate": k > 0,
                    "reported_at": case.reported_at + timedelta(minutes=7 * k),
                }
            )
    session.execute(insert(CaseStep), step_rows)
    session.execute(insert(CaseReport), report_rows)
    session.flush()
    return len(cases)


def _life(
    rng: random.Random,
    cal: Any,
    case: Case,
    klass: catalog.CaseClass,
    steps: list[Step],
    now: datetime,
    dispatcher: Any,
    handler: Any,
    supervisor: Any,
    inspector: Any,
    dept_ids: dict[str, int],
) -> None:
    """Walk one demo case through the loop up to `now`, recording each step's time."""

    def at_or_stop(t: datetime) -> bool:
        return t <= now

    t = case.reported_at + timedelta(minutes=rng.randint(5, 50))
    recent = case.reported_at > now - timedelta(days=45)
    if not at_or_stop(t) or (recent and rng.random() < 0.01):
        return  # still waiting for the command centre
    if rng.random() < 0.05:
        case.state = CaseState.rejected.value
        case.result = "非城市管理事项，不予立案（演示）"
        steps.append((CaseAction.reject.value, case.state, t, dispatcher, "dispatcher"))
        return
    case.state, case.filed_at = CaseState.filed.value, t
    case.deadline_at = cal.add_working_hours(t, klass.deadline_hours)
    steps.append((CaseAction.file.value, case.state, t, dispatcher, "dispatcher"))
    t += timedelta(minutes=rng.randint(3, 40))
    if not at_or_stop(t):
        return
    if recent and rng.random() < 0.02:
        return  # left waiting for dispatch (超期 once its deadline passes)
    case.state, case.dispatched_at = CaseState.dispatched.value, t
    case.department_id = dept_ids.get(f"{COUNTY}-{klass.line}") or dept_ids[f"{COUNTY}-urban_management"]
    steps.append((CaseAction.dispatch.value, case.state, t, dispatcher, "dispatcher"))
    t += timedelta(minutes=rng.randint(3, 30))
    if not at_or_stop(t) or (recent and rng.random() < 0.015):
        return  # not yet signed for by the department
    case.state, case.acknowledged_at = CaseState.handling.value, t
    steps.append((CaseAction.acknowledge.value, case.state, t, handler, "handler"))
    arrive = t + timedelta(minutes=rng.randint(8, 45))
    if not at_or_stop(arrive):
        return
    case.arrived_at = arrive
    steps.append((CaseAction.arrive.value, case.state, arrive, handler, "handler"))
    if recent and rng.random() < 0.06:
        return  # still being handled: a backlog, overdue where the deadline has passed
    budget = max(0.5, (case.deadline_at - case.filed_at).total_seconds() / 3600)
    late = rng.random() < 0.13
    for attempt in range(3):
        span = budget * (rng.uniform(1.05, 2.5) if late else rng.uniform(0.2, 0.8)) / (attempt + 1)
        t = max(arrive, t) + timedelta(hours=span if klass.deadline_hours >= 8 else min(span, 6))
        if not at_or_stop(t):
            return
        case.state, case.handled_at = CaseState.handled.value, t
        case.result = "已处置完毕，现场恢复（演示）"
        steps.append((CaseAction.feedback.value, case.state, t, handler, "handler"))
        t += timedelta(minutes=rng.randint(20, 240))
        if not at_or_stop(t) or (recent and rng.random() < 0.015):
            return  # waiting for the supervision centre's check
        if attempt == 0 and rng.random() < 0.07:
            case.state, case.handled_at = CaseState.handling.value, None
            case.rework_count += 1
            steps.append((CaseAction.verify_fail.value, case.state, t, inspector, "inspector"))
            continue
        case.state, case.closed_at = CaseState.closed.value, t
        case.closed_on_time = t <= case.deadline_at
        case.verifier_id = str(inspector[0])
        steps.append((CaseAction.verify_pass.value, case.state, t, inspector, "inspector"))
        break
    else:
        return
    t += timedelta(days=rng.uniform(1, 6))
    if at_or_stop(t) and rng.random() < 0.8:
        case.state, case.evaluated_at = CaseState.evaluated.value, t
        case.evaluation_score = rng.choices([5, 4, 3, 2], [55, 30, 10, 5])[0]
        steps.append((CaseAction.evaluate.value, case.state, t, supervisor, "supervisor"))
