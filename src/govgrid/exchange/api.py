"""Exchange JSON API under /api/v1/exchange: catalog, uploads, requests, grants, gateway, flow metrics."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from govgrid.core.deps import CurrentPrincipal, PageDep, SessionDep
from govgrid.core.errors import ValidationFailedError
from govgrid.exchange import schemas as s
from govgrid.exchange.models import Grant, Resource, SharingRequest
from govgrid.exchange.services import (
    access,
    catalog,
    deadlines,
    gateway,
    grants,
    metrics,
    search,
    sharing,
    uploads,
)

router = APIRouter(prefix="/exchange", tags=["exchange"])
RESERVED_PARAMS = {"limit", "offset", "after", "count", "purpose", "fields", "lang"}


def resource_read(res: Resource, *, score: float | None = None, upload: Any = None) -> s.ResourceRead:
    """API view of a catalog entry."""
    return s.ResourceRead(
        code=res.code,
        class_code=res.class_code,
        name=res.name,
        abstract=res.abstract,
        format=res.format,
        kind=res.kind,
        api_url=res.api_url,
        provider_department_id=res.provider_department_id,
        provider_department_code=res.provider.code,
        provider_name=res.provider.name,
        line_code=res.line_code,
        division_code=res.division_code,
        sharing_type=res.sharing_type,
        sharing_conditions=res.sharing_conditions,
        sharing_method=res.sharing_method,
        open_type=res.open_type,
        update_cycle=res.update_cycle,
        publish_date=res.publish_date,
        related_codes=list(res.related_codes or []),
        grade=res.grade,
        version=res.version,
        updated_at=res.updated_at,
        items=[s.DataItemRead.model_validate(i) for i in res.items],
        records_version=upload.version if upload else None,
        records_count=upload.row_count if upload else None,
        score=score,
    )


def request_read(session: Session, req: SharingRequest) -> s.RequestRead:
    """API view of a sharing request."""
    grant = grants.grant_for_request(session, request_id=req.id)
    return s.RequestRead(
        id=req.id,
        resource_code=req.resource.code,
        resource_name=req.resource.name,
        sharing_type=req.resource.sharing_type,
        consumer_department_id=req.consumer_department_id,
        provider_department_id=req.provider_department_id,
        handler_department_id=req.handler_department_id,
        requested_by=req.requested_by,
        purpose=req.purpose,
        legal_basis=req.legal_basis,
        fields=list(req.fields or []),
        row_filter_division=req.row_filter_division,
        mode=req.mode,
        days=req.days,
        route=req.route,
        status=req.status,
        overdue=deadlines.is_overdue(req),
        compliance=req.compliance or {},
        submitted_at=req.submitted_at,
        check_due_at=req.check_due_at,
        answer_due_at=req.answer_due_at,
        decided_at=req.decided_at,
        decided_by=req.decided_by,
        reason=req.reason,
        grant_id=grant.id if grant else None,
    )


def grant_read(g: Grant) -> s.GrantRead:
    """API view of a grant."""
    return s.GrantRead(
        id=g.id,
        request_id=g.request_id,
        resource_code=g.resource.code,
        resource_name=g.resource.name,
        consumer_department_id=g.consumer_department_id,
        mode=g.mode,
        fields=g.fields,
        clear_fields=list(g.clear_fields or []),
        row_filter_division=g.row_filter_division,
        rate_limit_per_minute=g.rate_limit_per_minute,
        purpose=g.purpose,
        granted_at=g.granted_at,
        expires_at=g.expires_at,
        revoked_at=g.revoked_at,
        revoke_reason=g.revoke_reason,
        status=grants.grant_status(g),
    )


@router.get(
    "/resources", response_model=s.ResourcePage, summary="Search the catalog (jieba full text + filters)"
)
def list_resources(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    line: Annotated[str | None, Query(max_length=32)] = None,
    division: Annotated[str | None, Query(max_length=12)] = None,
    sharing_type: s.SharingType | None = None,
    grade: s.Grade | None = None,
    open_type: s.OpenType | None = None,
    mine: Annotated[
        bool, Query(description="my catalog: entries of departments in my scope (roll-up)")
    ] = False,
    sort: Annotated[str, Query(pattern="^(score|name|modified)$")] = "score",
) -> s.ResourcePage:
    rows, total = search.search_resources(
        session,
        actor=principal,
        q=q,
        line=line,
        division=division,
        sharing_type=sharing_type,
        grade=grade,
        open_type=open_type,
        mine=mine,
        sort=sort,
        limit=page.limit,
        offset=page.offset,
    )
    return s.ResourcePage(
        items=[resource_read(r, score=sc if q else None) for r, sc in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("/resources", response_model=s.ResourceRead, status_code=201, summary="Add a catalog entry")
def create_resource(
    session: SessionDep, principal: CurrentPrincipal, body: s.ResourceCreate
) -> s.ResourceRead:
    res = catalog.create_resource(session, actor=principal, principal=principal, data=body)
    return resource_read(res)


@router.get("/resources/{code}", response_model=s.ResourceRead)
def get_resource(session: SessionDep, principal: CurrentPrincipal, code: str) -> s.ResourceRead:
    res = access.get_resource(session, actor=principal, code=code)
    return resource_read(res, upload=uploads.active_upload(session, resource=res))


@router.patch("/resources/{code}", response_model=s.ResourceRead, summary="Change an entry (new version)")
def update_resource(
    session: SessionDep, principal: CurrentPrincipal, code: str, body: s.ResourceUpdate
) -> s.ResourceRead:
    res = catalog.update_resource(session, actor=principal, code=code, data=body)
    return resource_read(res, upload=uploads.active_upload(session, resource=res))


@router.get("/resources/{code}/versions", response_model=list[s.VersionRead])
def resource_versions(session: SessionDep, principal: CurrentPrincipal, code: str) -> list[s.VersionRead]:
    return [s.VersionRead.model_validate(v) for v in catalog.versions(session, actor=principal, code=code)]


@router.post(
    "/resources/{code}/upload",
    response_model=s.UploadRead,
    status_code=201,
    summary="Upload records (CSV or JSON), validated whole against the data items",
)
def upload_records(
    session: SessionDep,
    principal: CurrentPrincipal,
    code: str,
    file: Annotated[UploadFile, File(description="CSV with a header of item names, or JSON array")],
    format: Annotated[str | None, Form(pattern="^(csv|json)$")] = None,
) -> s.UploadRead:
    # A plain `def`: reading, parsing and validating the file and storing its rows run in a worker thread, so
    # a big upload never stalls the event loop (the body size is capped by GOVGRID_UPLOAD_MAX_BYTES, rows by
    # the service).
    content = file.file.read()
    up = uploads.upload_records(
        session,
        actor=principal,
        principal=principal,
        code=code,
        content=content,
        filename=file.filename or "",
        fmt=format,
    )
    return s.UploadRead.model_validate(up)


@router.get("/resources/{code}/uploads", response_model=list[s.UploadRead])
def list_uploads(session: SessionDep, principal: CurrentPrincipal, code: str) -> list[s.UploadRead]:
    return [s.UploadRead.model_validate(u) for u in uploads.uploads(session, actor=principal, code=code)]


@router.get(
    "/resources/{code}/records",
    response_model=s.RecordsPage,
    summary="Read records through your grant (field scope, row filter, masking, audit)",
    description="Any other query parameter named after a granted data item filters by equality, "
    "e.g. `?village_code=410527100200`. Items the grant masks cannot be filtered on (422).",
)
def read_records(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    code: str,
    page: PageDep,
    after: Annotated[int | None, Query(ge=0, description="keyset paging: id after which to continue")] = None,
    count: Annotated[bool, Query(description="also count matching rows")] = False,
    purpose: Annotated[str, Query(max_length=200)] = "",
    fields: Annotated[str | None, Query(max_length=2000, description="comma-separated subset")] = None,
) -> Response:
    filters = {k: v for k, v in request.query_params.items() if k not in RESERVED_PARAMS}
    wanted = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
    page_data = gateway.read_records(
        session,
        actor=principal,
        code=code,
        filters=filters,
        limit=page.limit,
        offset=page.offset,
        after=after,
        count=count,
        purpose=purpose,
        fields=wanted,
    )
    return Response(gateway.page_body(page_data), media_type="application/json")


@router.post(
    "/resources/{code}/verify",
    response_model=s.VerifyRead,
    summary="Verify-only: consistent / not consistent, without returning data",
)
def verify(session: SessionDep, principal: CurrentPrincipal, code: str, body: s.VerifyIn) -> dict[str, Any]:
    return gateway.verify(session, actor=principal, code=code, values=body.values, purpose=body.purpose)


@router.post(
    "/requests", response_model=s.RequestRead, status_code=201, summary="Request another department's data"
)
def submit_request(session: SessionDep, principal: CurrentPrincipal, body: s.RequestCreate) -> s.RequestRead:
    return request_read(session, sharing.submit_request(session, actor=principal, data=body))


@router.get("/requests", response_model=s.RequestPage)
def list_requests(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageDep,
    box: Annotated[str, Query(pattern="^(mine|inbox|overdue|all)$")] = "mine",
    status: Annotated[str | None, Query(max_length=20)] = None,
) -> s.RequestPage:
    items, total = sharing.list_requests(
        session, actor=principal, box=box, status=status, limit=page.limit, offset=page.offset
    )
    return s.RequestPage(
        items=[request_read(session, r) for r in items], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/requests/{request_id}", response_model=s.RequestRead)
def get_request(session: SessionDep, principal: CurrentPrincipal, request_id: int) -> s.RequestRead:
    return request_read(session, sharing.get_request(session, actor=principal, request_id=request_id))


@router.post(
    "/requests/{request_id}/decision",
    response_model=s.RequestRead,
    summary="Accept for review, approve (creates the grant) or refuse with reasons",
)
def decide(
    session: SessionDep, principal: CurrentPrincipal, request_id: int, body: s.DecisionIn
) -> s.RequestRead:
    req = sharing.decide(
        session,
        actor=principal,
        request_id=request_id,
        action=body.action,
        reason=body.reason,
        clear_fields=body.clear_fields,
        days=body.days,
        rate_limit_per_minute=body.rate_limit_per_minute,
    )
    return request_read(session, req)


@router.post("/requests/{request_id}/withdraw", response_model=s.RequestRead)
def withdraw(session: SessionDep, principal: CurrentPrincipal, request_id: int) -> s.RequestRead:
    return request_read(session, sharing.withdraw(session, actor=principal, request_id=request_id))


@router.get("/grants", response_model=list[s.GrantRead])
def list_grants(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageDep,
    side: Annotated[str, Query(pattern="^(consumer|provider)$")] = "consumer",
) -> list[s.GrantRead]:
    items, _ = grants.list_grants(session, actor=principal, side=side, limit=page.limit, offset=page.offset)
    return [grant_read(g) for g in items]


@router.post("/grants/{grant_id}/revoke", response_model=s.GrantRead)
def revoke_grant(
    session: SessionDep, principal: CurrentPrincipal, grant_id: int, body: s.RevokeIn
) -> s.GrantRead:
    return grant_read(grants.revoke_grant(session, actor=principal, grant_id=grant_id, reason=body.reason))


@router.get(
    "/metrics/flow", response_model=s.FlowMatrix, summary="The 条×块 flow matrix for a division and period"
)
def flow(
    session: SessionDep,
    principal: CurrentPrincipal,
    division: Annotated[str | None, Query(max_length=12)] = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, Any]:
    for name, value in (("start", start), ("end", end)):
        if value is not None and value.tzinfo is None:
            raise ValidationFailedError(
                "时间须带时区 (timestamps need a timezone, e.g. 2026-01-01T00:00:00+08:00)",
                details=[{"loc": ["query", name], "msg": "naive datetime"}],
            )
    data = metrics.flow_matrix(session, actor=principal, division_code=division, start=start, end=end)
    data["stuck"] = [request_read(session, r) for r in data["stuck"]]
    return data
