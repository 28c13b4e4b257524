"""City map JSON API under /api/v1/citymap: grid, parts, reports and ingest, the case loop, units, dispatch,
cameras, indicators, map layers and the live feed. Routes stay thin: the service holds the rules.

Every route is a plain `def` (run in the thread pool), uploads and the live feed included: the feed reads its scope
and snapshot in the route and returns a stream that only awaits its queue."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import Response, StreamingResponse

from govgrid.citymap import catalog, files, live
from govgrid.citymap import schemas as s
from govgrid.citymap import service as svc
from govgrid.citymap.enums import OPEN_STATES, STATE_ZH, CaseState
from govgrid.citymap.models import Case
from govgrid.core.db import utcnow
from govgrid.core.deps import CurrentPrincipal, PageDep, SessionDep
from govgrid.core.errors import ValidationFailed

router = APIRouter(prefix="/citymap", tags=["citymap"])

COUNTY = Annotated[str, Query(pattern=r"^\d{6}$")]
DIVISION = Annotated[str, Query(pattern=r"^\d{6,12}$")]
GEOJSON = "application/geo+json"


def case_read(case: Case) -> s.CaseRead:
    """Serialise a case with its class name, state name, overdue flag and response time."""
    out = s.CaseRead.model_validate(case)
    klass = catalog.get_class(case.kind, case.class_code)
    out.class_name = klass.name_zh if klass else None
    out.state_zh = STATE_ZH[CaseState(case.state)]
    out.overdue = (
        case.deadline_at is not None and case.state in svc.OPEN_VALUES and case.deadline_at < utcnow()
    )
    if case.arrived_at and case.dispatched_at:
        out.response_minutes = round((case.arrived_at - case.dispatched_at).total_seconds() / 60, 1)
    return out


@router.get("/classes", response_model=list[s.ClassRead], openapi_extra={"x-public": True})
def list_classes():
    """The GB/T 30428 part and event classes with deadlines (public reference data)."""
    return [s.ClassRead(**c.__dict__) for c in catalog.catalogue()]


# ---- grid ----------------------------------------------------------------------------------------------


@router.post("/grid/generate", response_model=s.ImportResult, status_code=201)
def generate_grid(body: s.GridGenerate, session: SessionDep, principal: CurrentPrincipal):
    """Lay ~cell_m x cell_m cells over a township (split by villages) or village."""
    cells = svc.generate_grid(
        session, actor=principal, division_code=body.division_code, cell_m=body.cell_m, within=body.within
    )
    return s.ImportResult(imported=len(cells), codes=[c.code for c in cells])


@router.post("/grid/import", response_model=s.ImportResult, status_code=201)
def import_grid(
    body: s.FeatureImport, division_code: DIVISION, session: SessionDep, principal: CurrentPrincipal
):
    """Import cells from a GeoJSON FeatureCollection (WGS 84); all or nothing."""
    cells, checked = svc.import_grid(
        session,
        actor=principal,
        division_code=division_code,
        features=body.features,
        crs=svc.geojson_crs(body.model_dump()),
    )
    return s.ImportResult(
        imported=len(cells), codes=[c.code for c in cells], gap_area_m2=round(checked.gap_area_m2, 1)
    )


@router.post("/grid/upload", response_model=s.ImportResult, status_code=201)
def upload_grid(
    division_code: DIVISION,
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile, File(description=".geojson, .gpkg or zipped Shapefile")],
):
    """Import cells from a file (GeoJSON, GeoPackage, zipped Shapefile); all or nothing."""
    svc.require_grid_admin(session, principal, division_code)  # before a byte of the file is parsed
    data = files.read_upload(file.filename or "", file.file, limits=files.GRID_LIMITS)
    cells, checked = svc.import_grid(
        session, actor=principal, division_code=division_code, features=data.features, crs=data.crs
    )
    return s.ImportResult(
        imported=len(cells), codes=[c.code for c in cells], gap_area_m2=round(checked.gap_area_m2, 1)
    )


@router.get("/grid/validate", response_model=s.GridValidation)
def validate_grid(division_code: DIVISION, session: SessionDep, principal: CurrentPrincipal):
    """Overlaps, gaps and cells outside the division for the stored grid (needs a role over the division)."""
    codes, p = svc.grid_validation(session, principal=principal, division_code=division_code)
    return s.GridValidation(
        ok=p.ok,
        cells=len(codes),
        invalid=[{"code": codes[i], "msg": m} for i, m in p.invalid],
        overlaps=[{"a": codes[i], "b": codes[j], "area_m2": round(a, 1)} for i, j, a in p.overlaps],
        outside=[{"code": codes[i], "area_m2": round(a, 1)} for i, a in p.outside],
        gap_area_m2=round(p.gap_area_m2, 1),
        region_area_m2=round(p.region_area_m2, 1),
    )


@router.delete("/grid", status_code=200)
def delete_grid(division_code: DIVISION, session: SessionDep, principal: CurrentPrincipal) -> dict[str, int]:
    """Delete the grid under a division (before regenerating or re-importing)."""
    return {"deleted": svc.delete_grid(session, actor=principal, division_code=division_code)}


# ---- parts -----------------------------------------------------------------------------------------------


@router.post("/parts/import", response_model=s.ImportResult, status_code=201)
def import_parts(
    body: s.FeatureImport, county_code: COUNTY, session: SessionDep, principal: CurrentPrincipal
):
    """Import city parts from GeoJSON points (properties: class_code, name, status); all or nothing."""
    parts = svc.import_parts(
        session,
        actor=principal,
        county_code=county_code,
        features=body.features,
        crs=svc.geojson_crs(body.model_dump()),
    )
    return s.ImportResult(imported=len(parts), codes=[p.code for p in parts])


@router.post("/parts/upload", response_model=s.ImportResult, status_code=201)
def upload_parts(
    county_code: COUNTY,
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile, File(description=".geojson, .gpkg or zipped Shapefile")],
):
    """Import city parts from a file; all or nothing."""
    svc.require_grid_admin(session, principal, county_code)  # before a byte of the file is parsed
    data = files.read_upload(file.filename or "", file.file, limits=files.PARTS_LIMITS)
    parts = svc.import_parts(
        session, actor=principal, county_code=county_code, features=data.features, crs=data.crs
    )
    return s.ImportResult(imported=len(parts), codes=[p.code for p in parts])


# ---- reports and ingest ------------------------------------------------------------------------------


@router.post("/photos/upload", status_code=201)
def upload_photo(
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile, File(description="JPEG, PNG or WebP, at most 8 MB")],
) -> dict[str, int]:
    """Upload a photo for a report or a feedback; returns its id."""
    data = file.file.read(svc.PHOTO_MAX_BYTES + 1)  # one byte more than allowed is enough to refuse it
    photo = svc.save_photo(session, actor=principal, content_type=file.content_type or "", data=data)
    return {"photo_id": photo.id}


@router.get("/photos/{photo_id}")
def get_photo(photo_id: int, session: SessionDep, principal: CurrentPrincipal):
    """A photo of a case in scope."""
    photo = svc.get_photo(session, principal=principal, photo_id=photo_id)
    return Response(photo.data, media_type=photo.content_type)


def _result(out: svc.ReportOutcome) -> s.ReportResult:
    c = out.case
    return s.ReportResult(
        case_id=c.id, case_code=c.code, duplicate=out.duplicate, state=c.state, cell_code=c.cell_code
    )


@router.post("/reports", response_model=s.ReportResult, status_code=201)
def report(body: s.ReportCreate, session: SessionDep, principal: CurrentPrincipal):
    """信息收集 by a grid inspector: class, point, description and photo."""
    out = svc.report_event(
        session,
        actor=principal,
        source="inspector",
        kind=body.kind,
        class_code=body.class_code,
        lon=body.lon,
        lat=body.lat,
        description=body.description,
        photo_id=body.photo_id,
        part_code=body.part_code,
        reported_at=body.reported_at,
    )
    return _result(out)


@router.post("/ingest", response_model=s.ReportResult, status_code=201)
def ingest(body: s.IngestItem, session: SessionDep, principal: CurrentPrincipal):
    """An event from video analytics or an IoT sensor (API key with the inspector role); repeats are merged."""
    return _result(_ingest_one(session, principal, body))


def _ingest_one(session, principal, item: s.IngestItem) -> svc.ReportOutcome:
    return svc.report_event(
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


@router.post("/ingest/batch", response_model=list[s.ReportResult], status_code=201)
def ingest_batch(body: s.IngestBatch, session: SessionDep, principal: CurrentPrincipal):
    """Several machine events in one transaction (all or nothing)."""
    out = []
    for i, item in enumerate(body.items):
        try:
            out.append(_result(_ingest_one(session, principal, item)))
        except ValidationFailed as exc:
            raise ValidationFailed(
                f"第 {i} 条: {exc.message} (item {i})",
                details=[{"loc": ["items", i, *d.get("loc", [])], "msg": d.get("msg")} for d in exc.details],
            ) from None
    return out


# ---- cases -----------------------------------------------------------------------------------------------


@router.get("/cases", response_model=s.CasePage)
def list_cases(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageDep,
    county_code: COUNTY | None = None,
    state: Annotated[CaseState | None, Query()] = None,
    cell_code: Annotated[str | None, Query(pattern=r"^\d{15}$")] = None,
    bbox: Annotated[str | None, Query(max_length=120)] = None,
    overdue: bool | None = None,
):
    """Cases in the caller's scope, newest first."""
    items, total = svc.list_cases(
        session,
        principal=principal,
        county_code=county_code,
        state=state.value if state else None,
        cell_code=cell_code,
        bbox=svc.check_bbox(bbox),
        overdue=overdue,
        limit=page.limit,
        offset=page.offset,
    )
    return s.CasePage(items=[case_read(c) for c in items], total=total, limit=page.limit, offset=page.offset)


@router.get("/cases/{case_id}", response_model=s.CaseRead)
def get_case(case_id: int, session: SessionDep, principal: CurrentPrincipal):
    """One case in scope."""
    return case_read(svc.read_case(session, principal=principal, case_id=case_id))


@router.get("/cases/{case_id}/steps", response_model=list[s.CaseStepRead])
def case_steps(case_id: int, session: SessionDep, principal: CurrentPrincipal):
    """The time-stamped steps of a case."""
    return svc.case_steps(session, principal=principal, case_id=case_id)


@router.post("/cases/{case_id}/file", response_model=s.CaseRead)
def file_case(case_id: int, body: s.FileCase, session: SessionDep, principal: CurrentPrincipal):
    """案卷建立 (dispatcher)."""
    return case_read(
        svc.file_case(
            session, principal=principal, case_id=case_id, class_code=body.class_code, note=body.note
        )
    )


@router.post("/cases/{case_id}/reject", response_model=s.CaseRead)
def reject_case(case_id: int, body: s.RejectCase, session: SessionDep, principal: CurrentPrincipal):
    """不予立案 (dispatcher)."""
    return case_read(svc.reject_case(session, principal=principal, case_id=case_id, reason=body.reason))


@router.post("/cases/{case_id}/dispatch", response_model=s.CaseRead)
def dispatch_case(case_id: int, body: s.DispatchCase, session: SessionDep, principal: CurrentPrincipal):
    """任务派遣 (dispatcher): to a department and optionally a unit."""
    return case_read(
        svc.dispatch_case(
            session,
            principal=principal,
            case_id=case_id,
            department_code=body.department_code,
            unit_id=body.unit_id,
            note=body.note,
        )
    )


@router.post("/cases/{case_id}/acknowledge", response_model=s.CaseRead)
def acknowledge_case(case_id: int, body: s.NoteBody, session: SessionDep, principal: CurrentPrincipal):
    """任务处理: the handler or unit signs for the task."""
    return case_read(svc.acknowledge_case(session, principal=principal, case_id=case_id, note=body.note))


@router.post("/cases/{case_id}/arrive", response_model=s.CaseRead)
def arrive_case(case_id: int, session: SessionDep, principal: CurrentPrincipal):
    """The unit is on site (response time measured from dispatch)."""
    return case_read(svc.arrive_case(session, principal=principal, case_id=case_id))


@router.post("/cases/{case_id}/feedback", response_model=s.CaseRead)
def feedback_case(case_id: int, body: s.FeedbackCase, session: SessionDep, principal: CurrentPrincipal):
    """处理反馈 (handler or unit)."""
    return case_read(
        svc.feedback_case(
            session, principal=principal, case_id=case_id, result=body.result, photo_id=body.photo_id
        )
    )


@router.post("/cases/{case_id}/verify", response_model=s.CaseRead)
def verify_case(case_id: int, body: s.VerifyCase, session: SessionDep, principal: CurrentPrincipal):
    """核查结案 (inspector/supervisor): passed closes, failed sends back to handling (返工)."""
    return case_read(
        svc.verify_case(session, principal=principal, case_id=case_id, passed=body.passed, note=body.note)
    )


@router.post("/cases/{case_id}/evaluate", response_model=s.CaseRead)
def evaluate_case(case_id: int, body: s.EvaluateCase, session: SessionDep, principal: CurrentPrincipal):
    """综合评价 (supervisor)."""
    return case_read(
        svc.evaluate_case(session, principal=principal, case_id=case_id, score=body.score, note=body.note)
    )


@router.get("/cases/{case_id}/proposals", response_model=list[s.ProposalRead])
def proposals(
    case_id: int, session: SessionDep, principal: CurrentPrincipal, k: Annotated[int, Query(ge=1, le=10)] = 3
):
    """The nearest available qualified units for a case."""
    return [
        s.ProposalRead(
            case_id=p.case_id,
            unit=s.UnitRead.model_validate(p.unit),
            distance_m=round(p.distance_m, 1),
            eta_min=round(p.eta_min, 1),
        )
        for p in svc.propose_units(session, principal=principal, case_id=case_id, k=k)
    ]


@router.post("/dispatch/batch", response_model=s.BatchProposalRead)
def batch_dispatch(body: s.BatchProposeBody, session: SessionDep, principal: CurrentPrincipal):
    """Proposals for many waiting cases at once (least total distance); the dispatcher confirms each."""
    props, left, total, greedy = svc.batch_propose(
        session, principal=principal, county_code=body.county_code, case_ids=body.case_ids
    )
    return s.BatchProposalRead(
        proposals=[
            s.ProposalRead(
                case_id=p.case_id,
                unit=s.UnitRead.model_validate(p.unit),
                distance_m=round(p.distance_m, 1),
                eta_min=round(p.eta_min, 1),
            )
            for p in props
        ],
        unassigned=left,
        total_distance_m=round(total, 1),
        greedy_distance_m=round(greedy, 1),
    )


# ---- units -----------------------------------------------------------------------------------------------


@router.get("/units", response_model=list[s.UnitRead])
def list_units(
    session: SessionDep,
    principal: CurrentPrincipal,
    county_code: COUNTY | None = None,
    status: Annotated[str | None, Query(pattern="^(available|en_route|on_site|off_duty)$")] = None,
):
    """Field units in scope with last-seen positions."""
    return svc.list_units(session, principal=principal, county_code=county_code, status=status)


@router.post("/units", response_model=s.UnitRead, status_code=201)
def create_unit(body: s.UnitCreate, session: SessionDep, principal: CurrentPrincipal):
    """Register a field unit (admin or dispatcher of its department)."""
    return svc.create_unit(
        session,
        actor=principal,
        code=body.code,
        name=body.name,
        kind=body.kind,
        department_code=body.department_code,
        skills=body.skills,
        lon=body.lon,
        lat=body.lat,
    )


@router.get("/units/{unit_id}", response_model=s.UnitRead)
def get_unit(unit_id: int, session: SessionDep, principal: CurrentPrincipal):
    """One unit."""
    return svc.get_unit(session, principal=principal, unit_id=unit_id)


@router.post("/units/{unit_id}/positions", response_model=s.UnitRead)
def report_positions(unit_id: int, body: s.PositionBatch, session: SessionDep, principal: CurrentPrincipal):
    """Position reports from the unit's phone or a GPS gateway."""
    return svc.report_positions(
        session,
        actor=principal,
        unit_id=unit_id,
        points=[(p.lon, p.lat, p.at, p.speed_mps) for p in body.positions],
    )


@router.get("/units/{unit_id}/track", response_model=list[s.PositionRead])
def unit_track(unit_id: int, session: SessionDep, principal: CurrentPrincipal, since: datetime | None = None):
    """The unit's positions (last 24 h unless `since`)."""
    return svc.unit_track(session, principal=principal, unit_id=unit_id, since=since)


@router.post("/units/{unit_id}/status", response_model=s.UnitRead)
def unit_status(unit_id: int, body: s.UnitStatusBody, session: SessionDep, principal: CurrentPrincipal):
    """Set a unit's status."""
    return svc.set_unit_status(session, principal=principal, unit_id=unit_id, status=body.status)


# ---- cameras ---------------------------------------------------------------------------------------------


@router.get("/cameras", response_model=list[s.CameraRead])
def list_cameras(session: SessionDep, principal: CurrentPrincipal, county_code: COUNTY | None = None):
    """Cameras in scope."""
    return svc.list_cameras(session, principal=principal, county_code=county_code)


@router.post("/cameras", response_model=s.CameraRead, status_code=201)
def create_camera(body: s.CameraCreate, session: SessionDep, principal: CurrentPrincipal):
    """Register a camera (admin/operator of the area)."""
    return svc.create_camera(session, actor=principal, **body.model_dump())


@router.get("/cameras/{camera_id}/cases", response_model=s.CameraCases)
def camera_cases(camera_id: int, session: SessionDep, principal: CurrentPrincipal, open_only: bool = True):
    """The cases in a camera's range and those its analytics reported."""
    cam, cases = svc.camera_cases(session, principal=principal, camera_id=camera_id, open_only=open_only)
    return s.CameraCases(camera=s.CameraRead.model_validate(cam), cases=[case_read(c) for c in cases])


# ---- indicators ------------------------------------------------------------------------------------------


@router.get("/indicators")
def indicators(
    division_code: DIVISION,
    session: SessionDep,
    principal: CurrentPrincipal,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict:
    """结案率, 按期结案率, 返工率, 超期数 and department and inspector indices for cases reported in [start, end)
    (default: the 90 days before `end`, which defaults to now)."""
    return svc.indicators(session, principal=principal, division_code=division_code, start=start, end=end)


# ---- map layers --------------------------------------------------------------------------------------------


@router.get("/map/grid", openapi_extra={"x-public": True})
def map_grid(county_code: COUNTY, session: SessionDep, division_code: DIVISION | None = None):
    """Grid cells with open and overdue counts (public: the grid is the map)."""
    return Response(
        svc.grid_layer(session, county_code=county_code, division_code=division_code), media_type=GEOJSON
    )


@router.get("/map/cases")
def map_cases(
    session: SessionDep,
    principal: CurrentPrincipal,
    county_code: COUNTY | None = None,
    bbox: Annotated[str | None, Query(max_length=120)] = None,
    state: Annotated[list[CaseState] | None, Query()] = None,
    open_only: bool = False,
    class_code: Annotated[str | None, Query(pattern=r"^\d{4}$")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
):
    """Cases in scope as GeoJSON points (filter by bbox, states, class and period)."""
    states = [x.value for x in state] if state else ([x.value for x in OPEN_STATES] if open_only else None)
    body = svc.cases_layer(
        session,
        principal=principal,
        bbox=svc.check_bbox(bbox),
        county_code=county_code,
        states=states,
        class_code=class_code,
        since=since,
        until=until,
    )
    return Response(body, media_type=GEOJSON)


@router.get("/map/parts")
def map_parts(county_code: COUNTY, session: SessionDep, principal: CurrentPrincipal):
    """City parts in scope as GeoJSON."""
    return svc.parts_layer(session, principal=principal, county_code=county_code)


@router.get("/map/units")
def map_units(county_code: COUNTY, session: SessionDep, principal: CurrentPrincipal):
    """Field units in scope as GeoJSON."""
    return svc.point_layer(
        [svc.unit_marker(u) for u in svc.list_units(session, principal=principal, county_code=county_code)]
    )


@router.get("/map/cameras")
def map_cameras(county_code: COUNTY, session: SessionDep, principal: CurrentPrincipal):
    """Cameras in scope as GeoJSON."""
    return svc.cameras_layer(session, principal=principal, county_code=county_code)


@router.get("/map/heat")
def map_heat(
    county_code: COUNTY,
    session: SessionDep,
    principal: CurrentPrincipal,
    class_code: Annotated[str | None, Query(pattern=r"^\d{4}$")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[list[float]]:
    """Case density per grid cell for a class and period: [lat, lon, count]."""
    return svc.heat_points(
        session, principal=principal, county_code=county_code, class_code=class_code, since=since, until=until
    )


@router.get("/live")
def live_feed(
    request: Request,
    county_code: COUNTY,
    session: SessionDep,
    principal: CurrentPrincipal,
    max_events: Annotated[int | None, Query(ge=1, le=100000)] = None,
    heartbeat_s: Annotated[float, Query(ge=0.05, le=60)] = 15.0,
):
    """Server-sent events: a snapshot of the units in scope, then each unit move and case change in scope
    (403 for a county outside the caller's scope). The scope and the snapshot are read here, in the thread pool;
    the stream itself only awaits its queue and checks each event against the scope in memory."""
    scope, units = live.open_feed(session, principal=principal, county_code=county_code)

    async def stream():
        listener = live.broadcaster.add(scope.county)  # registered once streaming starts: never leaked
        sent = 0
        try:
            yield live.sse("snapshot", {"units": units, "at": utcnow().isoformat()})
            sent += 1
            while max_events is None or sent < max_events:
                if await request.is_disconnected():
                    break
                try:
                    payload = await asyncio.wait_for(listener.queue.get(), timeout=heartbeat_s)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if not scope.allows(payload):  # the snapshot's rule, checked in memory
                    continue
                yield live.sse(payload.get("channel", "message"), live.public(payload))
                sent += 1
        finally:
            live.broadcaster.remove(listener)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
