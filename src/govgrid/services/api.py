"""The services JSON API under /api/v1/services: workflows (BPMN upload), items, applications, tasks,
measures, ratings, certificate verification."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from fastapi.responses import Response

from govgrid.core.deps import CurrentPrincipal, SessionDep
from govgrid.core.errors import PayloadTooLargeError, ValidationFailedError
from govgrid.core.websec import attachment_headers
from govgrid.services import schemas as s
from govgrid.services.engine import MAX_BPMN_BYTES
from govgrid.services.models import Application
from govgrid.services.services import (
    applications,
    certificates,
    handling,
    items,
    materials,
    measures,
    processes,
)
from govgrid.services.services.prefill import masked

router = APIRouter(prefix="/services", tags=["services"])
IdPath = Annotated[int, Path(ge=1, le=2_147_483_647)]
NumberPath = Annotated[str, Path(max_length=64)]
PUBLIC = {"x-public": True}  # open to anonymous callers (tests/security/test_isolation_matrix.py)


def _read(upload: UploadFile, limit: int) -> bytes:
    """An uploaded file's bytes, refusing more than `limit` without reading it all (413)."""
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLargeError(f"文件不能超过 {limit // 1024} KB (file too large)")
    return data


def _files(codes: list[str], files: list[UploadFile]) -> list[materials.UploadIn]:
    if len(codes) != len(files):
        raise ValidationFailedError(
            "每个材料文件都要对应一个 material_codes 值 (one code per file)",
            details=[{"loc": ["material_codes"], "msg": "one code per file"}],
        )
    return [
        materials.UploadIn(code=c, filename=f.filename or c, content=_read(f, materials.MAX_MATERIAL_BYTES))
        for c, f in zip(codes, files, strict=True)
    ]


def _app_read(app: Application, detail: dict[str, Any] | None = None) -> s.ApplicationRead:
    cert = (detail or {}).get("certificate")
    return s.ApplicationRead(
        number=app.number,
        item_code=app.item.code,
        item_name=app.item.name,
        status=app.status,
        mode=app.mode,
        accepted_division_code=app.accepted_division_code,
        decided_division_code=app.decided_division_code,
        department_id=app.department_id,
        counter_department_id=app.counter_department_id,
        submitted_at=app.submitted_at,
        due_at=app.due_at,
        finished_at=app.finished_at,
        steps=app.steps,
        form={k: masked(k, v) for k, v in (app.form or {}).items()},
        prefilled=app.prefilled or [],
        timeline=[s.TimelineRead.model_validate(e) for e in (detail or {}).get("timeline", [])],
        tasks=[s.TaskRead.model_validate(t) for t in (detail or {}).get("tasks", [])],
        certificate_number=cert.number if cert is not None else None,
    )


@router.post(
    "/workflows",
    response_model=s.UploadResult,
    status_code=201,
    summary="Upload a BPMN 2.0 file (administrators)",
)
def upload_workflow(
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile, File(description="a BPMN 2.0 XML file")],
) -> s.UploadResult:
    """Validate and store the processes of a BPMN file: 201 with their ids, 422 listing every problem."""
    rows = processes.upload(session, actor=principal, data=_read(file, MAX_BPMN_BYTES))
    return s.UploadResult(
        process_ids=[r.process_id for r in rows], processes=[s.ProcessRead.model_validate(r) for r in rows]
    )


@router.get("/workflows", response_model=list[s.ProcessRead], summary="Stored process versions")
def list_workflows(session: SessionDep, principal: CurrentPrincipal) -> list[s.ProcessRead]:
    """Every stored process version (administrators)."""
    return [s.ProcessRead.model_validate(r) for r in processes.list_processes(session, actor=principal)]


@router.get(
    "/items",
    response_model=list[s.ItemRead],
    summary="The catalogue of items and bundles",
    openapi_extra=PUBLIC,
)
def list_items(
    session: SessionDep,
    division: Annotated[str | None, Query(max_length=12)] = None,
    kind: Annotated[str | None, Query(pattern="^(item|bundle)$")] = None,
) -> list[s.ItemRead]:
    """Public: items and bundles, optionally of one division."""
    return [
        s.ItemRead.model_validate(i) for i in items.list_items(session, division_code=division, kind=kind)
    ]


@router.get(
    "/items/{code}", response_model=s.ItemRead, summary="One item (the guide's data)", openapi_extra=PUBLIC
)
def get_item(session: SessionDep, code: NumberPath) -> s.ItemRead:
    """Public: one item or bundle by code."""
    return s.ItemRead.model_validate(items.get_item(session, code=code))


@router.get("/items/{code}/prefill", summary="What the form would be pre-filled with (masked)")
def prefill_preview(session: SessionDep, principal: CurrentPrincipal, code: NumberPath) -> dict[str, Any]:
    """The caller's pre-fill for an item: per source, the masked values and where they came from."""
    pre = applications.preview(session, actor=principal, item_code=code)
    return {"sources": pre.sources}


@router.post("/applications", response_model=s.ApplicationRead, status_code=201, summary="Apply")
def submit(
    session: SessionDep,
    principal: CurrentPrincipal,
    item_code: Annotated[str, Form(max_length=64)],
    form: Annotated[str, Form(description="the form fields as a JSON object")] = "{}",
    mode: Annotated[str, Form(max_length=32)] = "online",
    accepted_division_code: Annotated[str | None, Form(max_length=12)] = None,
    material_codes: Annotated[list[str] | None, Form()] = None,
    files: Annotated[list[UploadFile] | None, File()] = None,
) -> s.ApplicationRead:
    """Submit an application with its materials (one `material_codes` value per file)."""
    try:
        fields = json.loads(form or "{}")
    except json.JSONDecodeError:
        fields = None
    if not isinstance(fields, dict):
        raise ValidationFailedError(
            "form 须为 JSON 对象 (form must be a JSON object)",
            details=[{"loc": ["form"], "msg": "JSON object"}],
        )
    data = applications.SubmitIn(
        item_code=item_code,
        form={str(k): str(v) for k, v in fields.items()},
        mode=mode,
        accepted_division_code=accepted_division_code,
        files=_files(material_codes or [], files or []),
    )
    app = applications.submit(session, actor=principal, data=data)
    return _app_read(app, applications.detail(session, actor=principal, number=app.number))


@router.get("/applications", response_model=list[s.ApplicationRead], summary="Applications in scope")
def list_applications(
    session: SessionDep,
    principal: CurrentPrincipal,
    mine: bool = False,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> list[s.ApplicationRead]:
    """The caller's own applications (`mine=true`) or those in the caller's scope."""
    rows = (
        applications.list_mine(session, actor=principal)
        if mine
        else applications.list_visible(session, actor=principal, status=status)
    )
    return [_app_read(a) for a in rows]


@router.get("/applications/{number}", response_model=s.ApplicationRead, summary="One application")
def get_application(
    session: SessionDep, principal: CurrentPrincipal, number: NumberPath
) -> s.ApplicationRead:
    """One application with its timeline and tasks (both divisions of the envelope see the same)."""
    d = applications.detail(session, actor=principal, number=number)
    return _app_read(d["app"], d)


@router.get("/applications/{number}/materials/{material_id}", summary="Download a material")
def get_material(
    session: SessionDep, principal: CurrentPrincipal, number: NumberPath, material_id: IdPath
) -> Response:
    """An uploaded material as an attachment (audited)."""
    mat = applications.material_content(session, actor=principal, number=number, material_id=material_id)
    return Response(
        materials.material_bytes(mat), media_type=mat.content_type, headers=attachment_headers(mat.filename)
    )


@router.post("/applications/{number}/supplement", response_model=s.ApplicationRead, summary="Answer 补正")
def supplement(
    session: SessionDep,
    principal: CurrentPrincipal,
    number: NumberPath,
    material_codes: Annotated[list[str] | None, Form()] = None,
    files: Annotated[list[UploadFile] | None, File()] = None,
) -> s.ApplicationRead:
    """The applicant's supplement: materials; the clock runs again."""
    app = applications.supplement(
        session, actor=principal, number=number, files=_files(material_codes or [], files or [])
    )
    return _app_read(app)


@router.post("/applications/{number}/withdraw", response_model=s.ApplicationRead, summary="Withdraw")
def withdraw(session: SessionDep, principal: CurrentPrincipal, number: NumberPath) -> s.ApplicationRead:
    """The applicant withdraws an open application."""
    return _app_read(applications.withdraw(session, actor=principal, number=number))


@router.post("/applications/{number}/rating", status_code=201, summary="好差评")
def rate(
    session: SessionDep, principal: CurrentPrincipal, number: NumberPath, body: s.RatingIn
) -> dict[str, Any]:
    """The applicant rates a finished application."""
    r = measures.rate(session, actor=principal, number=number, score=body.score, comment=body.comment)
    return {"id": r.id, "score": r.score}


@router.get("/tasks", summary="The department work list")
def work_list(session: SessionDep, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    """Open tasks the caller's department roles may do."""
    return [
        {
            **s.TaskRead.model_validate(t).model_dump(mode="json"),
            "application": a.number,
            "item": a.item.name,
            "due_at": a.due_at.isoformat() if a.due_at else None,
            "status": a.status,
        }
        for t, a in handling.work_list(session, actor=principal)
    ]


@router.post("/tasks/{task_id}/decision", response_model=s.ApplicationRead, summary="Decide a task")
def decide(
    session: SessionDep,
    principal: CurrentPrincipal,
    task_id: IdPath,
    body: s.DecisionIn,
) -> s.ApplicationRead:
    """同意 (the process moves on), 不予许可 (the application ends) or 要求补正 (the clock pauses)."""
    app = handling.decide(session, actor=principal, task_id=task_id, decision=body.decision, note=body.note)
    return _app_read(app)


@router.get("/overdue", summary="Overdue applications (supervisors)")
def overdue(session: SessionDep, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    """Open applications past their promised limit in the caller's supervised territory."""
    return [
        {
            "number": o["app"].number,
            "item": o["app"].item.name,
            "due_at": o["app"].due_at.isoformat() if o["app"].due_at else None,
            "late_working_days": o["late_days"],
            "waiting": [t.name for t in o["waiting"]],
        }
        for o in handling.overdue(session, actor=principal)
    ]


@router.get("/measures", summary="Measures per department and item")
def get_measures(
    session: SessionDep,
    principal: CurrentPrincipal,
    division: Annotated[str | None, Query(max_length=12)] = None,
) -> dict[str, Any]:
    """跑动次数, 即办件率, 承诺时限压缩比, 网上可办率, on-time rate, 好差评."""
    return measures.measures(session, actor=principal, division_code=division)


@router.get("/ratings/bad", summary="Bad ratings to follow up (supervisors)")
def bad_ratings(session: SessionDep, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    """差评 in the caller's supervised territory."""
    return [
        {
            "id": r.id,
            "application": a.number,
            "score": r.score,
            "comment": r.comment,
            "follow_up": r.follow_up,
        }
        for r, a in measures.bad_ratings(session, actor=principal)
    ]


@router.post("/ratings/{rating_id}/follow-up", summary="Follow up a bad rating")
def follow_up(
    session: SessionDep,
    principal: CurrentPrincipal,
    rating_id: IdPath,
    body: s.FollowUpIn,
) -> dict[str, Any]:
    """A supervisor's follow-up of a bad rating."""
    r = measures.follow_up(session, actor=principal, rating_id=rating_id, note=body.note)
    return {"id": r.id, "follow_up": r.follow_up}


@router.get(
    "/certificates/{number}/verify",
    summary="Verify an e-certificate by number (public)",
    openapi_extra=PUBLIC,
)
def verify_certificate(session: SessionDep, number: NumberPath) -> dict[str, Any]:
    """Whether the stored certificate matches its signature, with the (masked) document."""
    return certificates.verify(session, number=number)


@router.post(
    "/certificates/verify", summary="Verify a presented e-certificate document (public)", openapi_extra=PUBLIC
)
def verify_document(body: s.VerifyIn) -> dict[str, Any]:
    """Whether a presented document and signature match."""
    return {
        "valid": certificates.verify_document(body.document, body.signature),
        "algorithm": certificates.ALGORITHM,
    }


@router.get(
    "/certificates/{number}/credential",
    summary="The e-certificate as a W3C Verifiable Credential",
    openapi_extra=PUBLIC,
)
def credential(session: SessionDep, number: NumberPath) -> dict[str, Any]:
    """The public verification record exported as a W3C VC (data model 2.0)."""
    found = certificates.verify(session, number=number)
    return certificates.verifiable_credential_of(found)
