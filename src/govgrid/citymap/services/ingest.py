"""信息收集: reports from grid inspectors, video analytics and IoT sensors, and citizens' events forwarded by
another module through the declared port. A repeat joins the open case it repeats (same kind and class within
50 m and 24 h, or the same source reference); otherwise a new case starts the loop."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govgrid.citymap import catalog, spatial
from govgrid.citymap.enums import CASE_LOOP, OPEN_VALUES, SHANGHAI, CaseAction, CaseKind, CaseSource
from govgrid.citymap.models import Camera, Case, CaseReport, Part
from govgrid.citymap.schemas import IngestItem
from govgrid.citymap.services import access, cases
from govgrid.citymap.services.common import Actor, who
from govgrid.citymap.services.places import locate_point
from govgrid.core.audit import service as audit
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.errors import ConflictError, ValidationFailedError

log = logging.getLogger(__name__)

DEDUP_RADIUS_M = 50.0
DEDUP_WINDOW = timedelta(hours=24)


@dataclass
class ReportOutcome:
    """The case a report filed or joined, and whether it was a repeat of an open case."""

    case: Case
    duplicate: bool


def next_case_code(session: Session, county: str, at: datetime) -> str:
    """county 6 + local date 8 + daily serial 5."""
    day = at.astimezone(SHANGHAI).strftime("%Y%m%d")
    prefix = f"{county}{day}"
    if session.get_bind().dialect.name == "postgresql":
        _serial_turn(session, prefix)
    top = session.scalar(select(func.max(Case.code)).where(Case.code.like(prefix + "%")))
    return f"{prefix}{(int(top[-5:]) + 1) if top else 1:05d}"


def _serial_turn(session: Session, prefix: str, wait_s: float = 5.0) -> None:
    """PostgreSQL: wait (bounded) for this county and day's serial lock, held until the transaction ends.

    Reports of one county and day then take their serials one after the other: the next reporter reads the top
    serial after this one's case is committed instead of colliding on it and retrying while every writer
    queues (409s under load on 4 workers). A try-lock polled for at most `wait_s`, never a blocking wait: a
    transaction that already holds the audit head (a machine batch over several counties) must not wait on a
    reporter who waits on that head; past the wait the collision retry below still applies. SQLite needs none
    (one writer at a time)."""
    digest = hashlib.blake2b(f"citymap.case_code:{prefix}".encode(), digest_size=8).digest()
    lock = select(func.pg_try_advisory_xact_lock(int.from_bytes(digest, "big", signed=True)))
    deadline = time.monotonic() + wait_s
    while not session.scalar(lock) and time.monotonic() < deadline:
        time.sleep(0.02)


def _insert_with_free_code(session: Session, case: Case, at: datetime, attempts: int = 8) -> None:
    """Insert the case under the next free daily serial: two reports committed at once (several workers on
    PostgreSQL) may read the same top serial, so a taken code is retried in a savepoint with the next one."""
    for attempt in range(attempts):
        try:
            with session.begin_nested():
                session.add(case)
                session.flush()
            return
        except IntegrityError:
            if attempt == attempts - 1:
                raise ConflictError(
                    "案件编号繁忙，请稍后重试 (case numbering is busy; retry in a moment)"
                ) from None
            case.code = next_case_code(session, case.county_code, at)  # the winner has committed: read again


def _check_reported_at(at: datetime | None) -> datetime:
    now = utcnow()
    if at is None:
        return now
    if at.tzinfo is None:
        raise ValidationFailedError(
            "时间须带时区 (timestamps need a timezone, e.g. 2024-05-01T08:00:00+08:00)",
            details=[{"loc": ["reported_at"], "msg": "naive datetime"}],
        )
    if at > now + timedelta(minutes=5):
        raise ValidationFailedError(
            "上报时间在未来 (report time lies in the future)",
            details=[{"loc": ["reported_at"], "msg": at.isoformat()}],
        )
    if at < now - timedelta(days=30):
        raise ValidationFailedError(
            "上报时间早于 30 天前 (report older than 30 days)",
            details=[{"loc": ["reported_at"], "msg": at.isoformat()}],
        )
    return at


def _find_open_twin(
    session: Session, kind: str, class_code: str, lon: float, lat: float, at: datetime
) -> Case | None:
    """The nearest open case of the same kind and class within DEDUP_RADIUS_M reported in the window."""
    dlat = DEDUP_RADIUS_M / 111_000
    dlon = dlat / max(0.1, math.cos(math.radians(lat)))
    rows = list(
        session.scalars(
            select(Case).where(
                Case.kind == kind,
                Case.class_code == class_code,
                Case.state.in_(OPEN_VALUES),
                Case.lon.between(lon - dlon, lon + dlon),
                Case.lat.between(lat - dlat, lat + dlat),
                Case.reported_at >= at - DEDUP_WINDOW,
            )
        )
    )
    best, best_d = None, DEDUP_RADIUS_M
    for c in rows:
        d = float(spatial.haversine_m(lon, lat, c.lon, c.lat))
        if d <= best_d:
            best, best_d = c, d
    return best


def report_event(
    session: Session,
    *,
    actor: Actor,
    source: str,
    kind: str,
    class_code: str,
    lon: float,
    lat: float,
    description: str = "",
    external_ref: str | None = None,
    camera_code: str | None = None,
    photo_id: int | None = None,
    part_code: str | None = None,
    reported_at: datetime | None = None,
    check_roles: bool = True,
) -> ReportOutcome:
    """信息收集: a report from an inspector, a sensor or camera, or another module; repeats of an open case of
    the same class within 50 m and 24 h join that case (as do repeats of the same source reference)."""
    if catalog.get_class(kind, class_code) is None:
        raise ValidationFailedError(
            f"未知的{'部件' if kind == CaseKind.part else '事件'}类别 {class_code} (unknown {kind} class)",
            details=[{"loc": ["class_code"], "msg": class_code}],
        )
    at = _check_reported_at(reported_at)
    place = locate_point(session, lon, lat)
    # a person's or a key's report is checked; the platform's own (simulator, port) is not
    reporter = actor if check_roles and isinstance(actor, Principal) else None
    role = None
    if reporter is not None:  # before anything about existing cases is looked up or told
        access.require_territory(session, reporter, place.division_code, access.COLLECT_ROLES, "信息采集")
        role = access.role_used(reporter, access.COLLECT_ROLES)
    if external_ref:
        prior = session.scalar(
            select(CaseReport.case_id).where(
                CaseReport.source == source, CaseReport.external_ref == external_ref
            )
        )
        if prior is not None:
            stmt = select(Case).where(Case.id == prior)
            if reporter is not None:
                stmt = stmt.where(access.cases_clause(reporter))
            known = session.scalar(stmt)
            if known is None:
                log.warning("source reference in use outside the reporter's scope", extra={"source": source})
                raise ConflictError(
                    "该来源编号已被其他案卷使用 "
                    "(this source reference is already used by a case outside your scope)",
                    details=[{"loc": ["external_ref"], "msg": "in use"}],
                )
            return ReportOutcome(known, True)
    camera = None
    if camera_code:
        camera = session.scalar(select(Camera).where(Camera.code == camera_code))
        if camera is None:
            raise ValidationFailedError(
                f"摄像头 {camera_code} 未登记 (unknown camera)",
                details=[{"loc": ["camera_code"], "msg": camera_code}],
            )
    if part_code and session.scalar(select(Part.id).where(Part.code == part_code)) is None:
        raise ValidationFailedError(
            f"部件 {part_code} 不存在 (unknown part)", details=[{"loc": ["part_code"], "msg": part_code}]
        )
    kind_, rid, rname = who(actor)
    twin = _find_open_twin(session, kind, class_code, lon, lat, at)

    def add_report(case_id: int, duplicate: bool) -> None:
        session.add(
            CaseReport(
                case_id=case_id,
                source=source,
                external_ref=external_ref,
                reporter_type=kind_,
                reporter_id=rid,
                description=description,
                lon=lon,
                lat=lat,
                camera_id=camera.id if camera else None,
                duplicate=duplicate,
                reported_at=at,
            )
        )

    if twin is not None:
        twin.report_count += 1
        add_report(twin.id, True)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="citymap.case_duplicate_report",
            entity_type="citymap_case",
            entity_id=twin.id,
            division_code=twin.division_code,
            detail={"source": source},
        )
        log.info("report merged", extra={"case_id": twin.id, "source": source, "reports": twin.report_count})
        return ReportOutcome(twin, True)
    case = Case(
        code=next_case_code(session, place.county_code, at),
        source=source,
        external_ref=external_ref,
        kind=kind,
        class_code=class_code,
        description=description,
        lon=lon,
        lat=lat,
        cell_code=place.cell_code,
        county_code=place.county_code,
        division_code=place.division_code,
        division_path=place.division_path,
        part_code=part_code,
        camera_id=camera.id if camera else None,
        photo_id=photo_id,
        reporter_type=kind_,
        reporter_id=rid,
        reporter_name=rname,
        state=CASE_LOOP[CaseAction.collect].target.value,
        reported_at=at,
    )
    _insert_with_free_code(session, case, at)
    add_report(case.id, False)
    cases.record_step(
        session, case, actor=actor, action=CaseAction.collect, from_state=None, role=role, at=at
    )
    return ReportOutcome(case, False)


def inspector_report(
    session: Session,
    *,
    principal: Principal,
    kind: str,
    class_code: str,
    lon: float,
    lat: float,
    description: str = "",
    photo_id: int | None = None,
    part_code: str | None = None,
    reported_at: datetime | None = None,
) -> ReportOutcome:
    """信息收集 by a grid inspector (the inspector role over the point): class, point, description, photo."""
    return report_event(
        session,
        actor=principal,
        source=CaseSource.inspector.value,
        kind=kind,
        class_code=class_code,
        lon=lon,
        lat=lat,
        description=description,
        photo_id=photo_id,
        part_code=part_code,
        reported_at=reported_at,
    )


def machine_report(session: Session, *, principal: Principal, item: IngestItem) -> ReportOutcome:
    """An event from video analytics or an IoT sensor (a key or user with the inspector role)."""
    return report_event(
        session,
        actor=principal,
        source=item.source,
        kind=item.kind,
        class_code=item.class_code,
        lon=item.lon,
        lat=item.lat,
        description=item.description,
        external_ref=item.external_ref,
        camera_code=item.camera_code,
        part_code=item.part_code,
        reported_at=item.observed_at,
    )


def machine_batch(session: Session, *, principal: Principal, items: list[IngestItem]) -> list[ReportOutcome]:
    """Several machine events in the caller's transaction, all or nothing; a refusal names the item."""
    out = []
    for i, item in enumerate(items):
        try:
            out.append(machine_report(session, principal=principal, item=item))
        except ValidationFailedError as exc:
            raise ValidationFailedError(
                f"第 {i} 条: {exc.message} (item {i})",
                details=[{"loc": ["items", i, *d.get("loc", [])], "msg": d.get("msg")} for d in exc.details],
            ) from None
    return out


def file_from_port(
    session: Session,
    *,
    actor: Actor,
    source: str,
    external_ref: str,
    category: str,
    description: str,
    lon: float,
    lat: float,
    reported_at: str | None,
) -> ReportOutcome:
    """A citizen's event forwarded by another module (CITY_EVENT_REPORTED): mapped to a GB/T 30428 class."""
    klass = catalog.map_source_category(category, description)
    at = None
    if reported_at:
        try:
            at = datetime.fromisoformat(reported_at)
        except ValueError:
            at = None
    if at is not None and (at.tzinfo is None or at < utcnow() - timedelta(days=30) or at > utcnow()):
        at = None  # the forwarding time counts when the source's own stamp is unusable
    return report_event(
        session,
        actor=actor,
        source=source,
        kind=klass.kind,
        class_code=klass.code,
        lon=lon,
        lat=lat,
        description=description,
        external_ref=external_ref,
        reported_at=at,
        check_roles=False,
    )
