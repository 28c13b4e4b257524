"""The demo simulator: field units move along plausible paths (towards their case, else patrolling their area),
arrive on site, and camera analytics now and then report an event, so the live map moves."""

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
from govgrid.citymap import service as svc
from govgrid.citymap.enums import CaseState, UnitStatus
from govgrid.citymap.models import Camera, Case, FieldUnit, GridCell, UnitPosition
from govgrid.config import get_settings
from govgrid.core.audit.service import SystemActor
from govgrid.core.db import session_scope, utcnow
from govgrid.core.errors import AppError
from govgrid.core.events import publish

log = logging.getLogger(__name__)
ACTOR = SystemActor("citymap-simulator")
PATROL_SPEED = 1.4  # m/s on foot
DRIVE_SPEED = 6.0  # m/s by e-bike or van in town
M_PER_DEG = 111_320.0
ON_SITE_S = 120.0  # simulated minutes on site before the unit reports back


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
    publish(session, svc.LIVE_EVENT, data=svc.unit_event(unit))


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
    units = list(
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
    for unit in units:
        case = tasks.get(unit.id)
        if case is not None and unit.status == UnitStatus.en_route.value:
            lon, lat, dist = _toward(unit.lon, unit.lat, case.lon, case.lat, DRIVE_SPEED * dt_s)
            move_unit(session, unit, lon, lat, now, DRIVE_SPEED)
            if dist <= DRIVE_SPEED * dt_s:
                unit.status = UnitStatus.on_site.value
                case.arrived_at = case.arrived_at or now
                arrived += 1
                svc._step(
                    session, case, actor=ACTOR, action="arrive", from_state=case.state, role="field_unit"
                )
        elif case is not None and unit.status == UnitStatus.on_site.value:
            if case.arrived_at is not None and (now - case.arrived_at).total_seconds() > ON_SITE_S:
                if case.state == CaseState.handling.value:  # the work is done: report back, free the unit
                    case.state, case.handled_at = CaseState.handled.value, now
                    case.result = "现场已处置（模拟）"
                    svc._step(
                        session,
                        case,
                        actor=ACTOR,
                        action="feedback",
                        from_state=CaseState.handling.value,
                        role="field_unit",
                    )
                unit.status = UnitStatus.available.value
                publish(session, svc.LIVE_EVENT, data=svc.unit_event(unit))
            continue
        elif case is None and unit.status in (UnitStatus.en_route.value, UnitStatus.on_site.value):
            unit.status = UnitStatus.available.value  # its task ended elsewhere
            continue
        elif unit.status == UnitStatus.available.value:
            heading = hash((unit.id, int(now.timestamp()) // 120)) % 360  # keep a heading for two minutes
            d = PATROL_SPEED * dt_s * rng.uniform(0.6, 1.4)
            lon = unit.lon + d * math.sin(math.radians(heading)) / (
                M_PER_DEG * math.cos(math.radians(unit.lat))
            )
            lat = unit.lat + d * math.cos(math.radians(heading)) / M_PER_DEG
            lon = min(max(lon, box[0]), box[2])
            lat = min(max(lat, box[1]), box[3])
            move_unit(session, unit, lon, lat, now, PATROL_SPEED)
        else:
            continue
        moved += 1
    reported = 0
    if rng.random() < new_event_p:
        cams = list(session.scalars(select(Camera).where(Camera.county_code == county).order_by(Camera.id)))
        if cams:
            cam = rng.choice(cams)
            klass = rng.choice(
                [
                    c
                    for c in catalog.catalogue()
                    if c.kind == "event" and c.skill in ("sanitation", "enforcement")
                ]
            )
            r = rng.uniform(10, cam.range_m * 0.8)
            ang = math.radians(cam.direction_deg + rng.uniform(-cam.fov_deg / 2, cam.fov_deg / 2))
            lon = cam.lon + r * math.sin(ang) / (M_PER_DEG * math.cos(math.radians(cam.lat)))
            lat = cam.lat + r * math.cos(ang) / M_PER_DEG
            try:
                svc.report_event(
                    session,
                    actor=ACTOR,
                    source="video",
                    kind="event",
                    class_code=klass.code,
                    lon=lon,
                    lat=lat,
                    description=f"视频智能识别: {klass.name_zh}",
                    external_ref=f"sim-{cam.code}-{now.timestamp():.0f}",
                    camera_code=cam.code,
                    check_roles=False,
                )
                reported += 1
            except AppError as exc:
                log.info("simulated event refused: %s", exc.message)
    session.flush()
    return {"moved": moved, "arrived": arrived, "reported": reported}


def run(
    county: str, *, seconds: float, interval: float = 3.0, seed: int = 7, stop: threading.Event | None = None
) -> int:
    """Run the simulator for `seconds` (or until `stop` is set); returns the number of ticks."""
    rng = random.Random(seed)
    ticks = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end and not (stop and stop.is_set()):
        try:
            with session_scope() as session:
                step(session, county, interval, rng)
        except Exception:  # a failed tick (e.g. the database is busy) must not end the demo
            log.exception("simulator tick failed")
        ticks += 1
        if stop is not None:
            stop.wait(interval)
        else:
            time.sleep(interval)
    return ticks


_stop = threading.Event()


def background_simulator() -> None:
    """Started with the server: in demo mode, keep the demo county's units moving."""
    if not get_settings().demo_mode:
        return
    with session_scope() as session:
        counties = list(session.scalars(select(FieldUnit.county_code).distinct()))
    for county in counties:
        threading.Thread(
            target=run,
            args=(county,),
            kwargs={"seconds": 10 * 365 * 86400, "stop": _stop},
            name=f"citymap-sim-{county}",
            daemon=True,
        ).start()
