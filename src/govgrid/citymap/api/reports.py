"""信息收集: photos, grid inspectors' reports and machine ingest (video analytics, IoT sensors)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import Response

from govgrid.citymap import schemas as s
from govgrid.citymap.services import ingest as ingestion
from govgrid.citymap.services import photos
from govgrid.core.deps import CurrentPrincipal, SessionDep

router = APIRouter()


@router.post("/photos/upload", status_code=201)
def upload_photo(
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile, File(description="JPEG, PNG or WebP, at most 8 MB")],
) -> dict[str, int]:
    """Upload a photo for a report or a feedback; returns its id."""
    data = file.file.read(photos.PHOTO_MAX_BYTES + 1)  # one byte more than allowed is enough to refuse it
    photo = photos.save_photo(session, actor=principal, content_type=file.content_type or "", data=data)
    return {"photo_id": photo.id}


@router.get("/photos/{photo_id}")
def get_photo(photo_id: int, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """A photo of a case in scope."""
    photo = photos.get_photo(session, principal=principal, photo_id=photo_id)
    return Response(photos.photo_bytes(photo), media_type=photo.content_type)


def _result(out: ingestion.ReportOutcome) -> s.ReportResult:
    c = out.case
    return s.ReportResult(
        case_id=c.id, case_code=c.code, duplicate=out.duplicate, state=c.state, cell_code=c.cell_code
    )


@router.post("/reports", response_model=s.ReportResult, status_code=201)
def report(body: s.ReportCreate, session: SessionDep, principal: CurrentPrincipal) -> s.ReportResult:
    """信息收集 by a grid inspector: class, point, description and photo."""
    out = ingestion.inspector_report(
        session,
        principal=principal,
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
def ingest(body: s.IngestItem, session: SessionDep, principal: CurrentPrincipal) -> s.ReportResult:
    """An event from video analytics or an IoT sensor (API key with the inspector role); repeats are merged."""  # noqa: E501  (the published OpenAPI text)
    return _result(ingestion.machine_report(session, principal=principal, item=body))


@router.post("/ingest/batch", response_model=list[s.ReportResult], status_code=201)
def ingest_batch(
    body: s.IngestBatch, session: SessionDep, principal: CurrentPrincipal
) -> list[s.ReportResult]:
    """Several machine events in one transaction (all or nothing)."""
    return [_result(out) for out in ingestion.machine_batch(session, principal=principal, items=body.items)]
