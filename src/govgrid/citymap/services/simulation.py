"""The demo simulator: field units move along plausible paths (towards their case, else patrolling their
area), arrive on site and report back, and camera analytics now and then report an event, so the live map
moves.

`step` is one tick in the caller's transaction; `run` ticks in its own transactions until its time is up or it
is stopped (`jobs.background_simulator` in demo mode, `govgrid citymap simulate` on the command line).
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.citymap import catalog
from govgrid.citymap.enums import CASE_LOOP, CaseAction, CaseKind, CaseSource, CaseState, UnitStatus, can_take
from govgrid.citymap.models import Camera, Case, FieldUnit, GridCell, UnitPosition
from govgrid.citymap.services import cases, ingest, live
from govgrid.core.audit.service import SystemActor
from govgrid.core.db import session_scope, utcnow
from govgrid.core.errors import AppError

log = logging.getLogger(__name__)
ACTOR = SystemActor("citymap-simulator")
PATROL_SPEED = 1.4  # m/s on foot
DRIVE_SPEED = 6.0  # m/s by e-bike or van in town
M_PER_DEG = 111_320.0
ON_SITE_S = 120.0  # simulated minutes on site before the unit reports back
UNIT_ROLE = "field_unit"  # the role recorded for the simulated unit's own steps


def _toward(lon: float, lat: float, tlon: float, tlat: float, metres: float) -> tuple[float, float, float]:
    dx = (tlon - lon) * M_PER_DEG * math.cos(math.radians(lat))
    dy = (tlat - lat) * M_PER_DEG
    dist = math.hypot(dx, dy)
    if dist <= metres or dist == 0:
        return tlon, tlat, dist
    f = metres / dist
    return lon + (tlon - lon) * f, lat + (tlat - lat) * f, dist


def move_unit(
    session: Session, unit: FieldUnit, lon: float, lat: float, at: datetime, speed: float | None
) -> None:
    """Record a simulated position (the same rows a phone's position report makes) and tell the live map."""
    session.add(UnitPosition(unit_id=unit.id, lon=lon, lat=lat, at=at, speed_mps=speed))
    unit.lon, unit.lat, unit.last_seen_at = lon, lat, at
    live.publish_unit(session, unit)


def _on_site(session: Session, unit: FieldUnit, case: Case, now: datetime) -> None:
    """After ON_SITE_S on site the work is done: the case reported back (if in handling), the unit freed."""
    if case.arrived_at is None or (now - case.arrived_at).total_seconds() <= ON_SITE_S:
        return
    if can_take(CaseAction.feedback, case.state):
        before = case.state
        case.state, case.handled_at = CASE_LOOP[CaseAction.feedback].target.value, now
        case.result = "现场已处置（模拟）"
        cases.record_step(
            session, case, actor=ACTOR, action=CaseAction.feedback, from_state=before, role=UNIT_ROLE
        )
    unit.status = UnitStatus.available.value
    live.publish_unit(session, unit)


def _patrol(
    session: Session, unit: FieldUnit, box: tuple[float, ...], dt_s: float, rng: random.Random, now: datetime
) -> None:
    """An available unit walks on, keeping its heading for two minutes, inside the grid's bounding box."""
    lon0, lat0 = unit.lon or 0.0, unit.lat or 0.0
    heading = hash((unit.id, int(now.timestamp()) // 120)) % 360  # keep a heading for two minutes
    d = PATROL_SPEED * dt_s * rng.uniform(0.6, 1.4)
    lon = lon0 + d * math.sin(math.radians(heading)) / (M_PER_DEG * math.cos(math.radians(lat0)))
    lat = lat0 + d * math.cos(math.radians(heading)) / M_PER_DEG
    lon = min(max(lon, box[0]), box[2])
    lat = min(max(lat, box[1]), box[3])
    move_unit(session, unit, lon, lat, now, PATROL_SPEED)


def _camera_event(session: Session, county: str, rng: random.Random, now: datetime) -> int:
    """A camera of the county reports a sanitation or enforcement event in its view; 1 if it was filed."""
    cams = list(session.scalars(select(Camera).where(Camera.county_code == county).order_by(Camera.id)))
    if not cams:
        return 0
    cam = rng.choice(cams)
    klass = rng.choice(
        [
            c
            for c in catalog.catalogue()
            if c.kind == CaseKind.event and c.skill in ("sanitation", "enforcement")
        ]
    )
    r = rng.uniform(10, cam.range_m * 0.8)
    ang = math.radians(cam.direction_deg + rng.uniform(-cam.fov_deg / 2, cam.fov_deg / 2))
    lon = cam.lon + r * math.sin(ang) / (M_PER_DEG * math.cos(math.radians(cam.lat)))
    lat = cam.lat + r * math.cos(ang) / M_PER_DEG
    try:
        ingest.report_event(
            session,
            actor=ACTOR,
            source=CaseSource.video.value,
            kind=CaseKind.event.value,
            class_code=klass.code,
            lon=lon,
            lat=lat,
            description=f"视频智能识别: {klass.name_zh}",
            external_ref=f"sim-{cam.code}-{now.timestamp():.0f}",
            camera_code=cam.code,
            check_roles=False,
        )
    except AppError as exc:
        log.info("simulated event refused", extra={"camera_code": cam.code, "code": exc.code})
        return 0
    return 1


def step(
    session: Session, county: str, dt_s: float, rng: random.Random, *, new_event_p: float = 0.05
) -> dict[str, int]:
    """Advance the county's units by dt_s seconds; returns what happened."""
    now = utcnow()
    box = session.execute(
        select(
            func.min(GridCell.min_lon),
            func.min(GridCell.min_lat),
            func.max(GridCell.max_lon),
            func.max(GridCell.max_lat),
        ).where(GridCell.county_code == county)
    ).one()
    if box[0] is None:
        return {"moved": 0, "arrived": 0, "reported": 0}
    moving = list(
        session.scalars(
            select(FieldUnit)
            .where(
                FieldUnit.county_code == county,
                FieldUnit.status != UnitStatus.off_duty.value,
                FieldUnit.lon.is_not(None),
            )
            .order_by(FieldUnit.id)
        )
    )
    tasks = {
        c.unit_id: c
        for c in session.scalars(
            select(Case).where(
                Case.county_code == county,
                Case.unit_id.is_not(None),
                Case.state.in_([CaseState.dispatched.value, CaseState.handling.value]),
            )
        )
    }
    moved = arrived = 0
    for unit in moving:
        case = tasks.get(unit.id)
        if case is not None and unit.status == UnitStatus.en_route:
            lon, lat, dist = _toward(unit.lon or 0.0, unit.lat or 0.0, case.lon, case.lat, DRIVE_SPEED * dt_s)
            move_unit(session, unit, lon, lat, now, DRIVE_SPEED)
            if dist <= DRIVE_SPEED * dt_s:
                unit.status = UnitStatus.on_site.value
                case.arrived_at = case.arrived_at or now
                arrived += 1
                cases.record_step(
                    session,
                    case,
                    actor=ACTOR,
                    action=CaseAction.arrive,
                    from_state=case.state,
                    role=UNIT_ROLE,
                )
        elif case is not None and unit.status == UnitStatus.on_site:
            _on_site(session, unit, case, now)
            continue
        elif case is None and unit.status in (UnitStatus.en_route, UnitStatus.on_site):
            unit.status = UnitStatus.available.value  # its task ended elsewhere
            continue
        elif unit.status == UnitStatus.available:
            _patrol(session, unit, tuple(box), dt_s, rng, now)
        else:
            continue
        moved += 1
    reported = _camera_event(session, county, rng, now) if rng.random() < new_event_p else 0
    session.flush()
    return {"moved": moved, "arrived": arrived, "reported": reported}


def run(
    county: str, *, seconds: float, interval: float = 3.0, seed: int = 7, stop: threading.Event | None = None
) -> int:
    """Run the simulator for `seconds` (or until `stop` is set); returns the number of ticks."""
    rng = random.Random(seed)  # noqa: S311  (a reproducible demo, not a secret)
    ticks = 0
    end = time.monotonic() + seconds
    log.info("simulator started", extra={"county_code": county, "seconds": seconds, "interval": interval})
    while time.monotonic() < end and not (stop and stop.is_set()):
        try:
            with session_scope() as session:
                step(session, county, interval, rng)
        except Exception:  # a failed tick (e.g. the database is busy) must not end the demo
            log.exception("simulator tick failed", extra={"county_code": county})
        ticks += 1
        if stop is not None:
            stop.wait(interval)
        else:
            time.sleep(interval)
    log.info("simulator stopped", extra={"county_code": county, "ticks": ticks})
    return ticks
