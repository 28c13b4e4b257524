"""Carbon registry JSON API under /api/v1/carbon. Routes stay thin: parse, call the service, serialise."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Path, Query, Response, UploadFile

from govgrid.carbon import schemas as s
from govgrid.carbon.models import (
    AlertTask,
    CarbonAccount,
    CarbonProject,
    CreditBlock,
    Issuance,
    MonitoringReport,
)
from govgrid.carbon.serials import serial_label
from govgrid.carbon.services import (
    accounts,
    alerts,
    buffer,
    corrections,
    credits,
    exports,
    mrv,
    projects,
    public,
    reports,
)
from govgrid.core.deps import CurrentPrincipal, PageDep, SessionDep
from govgrid.core.websec import attachment_headers

router = APIRouter(prefix="/carbon", tags=["carbon"])
GENERATED_REPORT_CSP = (
    "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)

FILE = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,120}$")]


def project_read(p: CarbonProject) -> s.ProjectRead:
    """Serialise a project."""
    return s.ProjectRead(
        id=p.id,
        code=p.code,
        name=p.name,
        description=p.description,
        division_code=p.division_code,
        department_id=p.department_id,
        department_code=p.department.code,
        department_name=p.department.name,
        methodology=p.methodology,
        wetland_type=p.wetland_type,
        tidal=p.tidal,
        soil=p.soil,
        area_ha=p.area_ha,
        bbox=[p.min_lon, p.min_lat, p.max_lon, p.max_lat],
        crediting_start=p.crediting_start,
        crediting_end=p.crediting_end,
        is_demo=p.is_demo,
        created_at=p.created_at,
        risk_rating=p.risk_rating,
        area_crs=p.area_crs,
    )


def report_read(r: MonitoringReport, files: list[str] | None = None) -> s.ReportRead:
    """Serialise a monitoring report."""
    return s.ReportRead(
        id=r.id,
        project_id=r.project_id,
        project_code=r.project.code,
        vintage_start=r.vintage_start,
        vintage_end=r.vintage_end,
        methodology=r.methodology,
        net_creditable_tco2e=r.net_creditable_tco2e,
        area_ha=r.area_ha,
        input_hashes=r.input_hashes,
        summary=r.summary,
        status=r.status,
        submitted_by=r.submitted_by,
        submitted_at=r.submitted_at,
        verifier_name=r.verifier_name,
        verification_statement=r.verification_statement,
        verified_at=r.verified_at,
        files=files or [],
        verification_opinion=r.verification_opinion,
        verification_findings=r.verification_findings or [],
    )


def issuance_read(i: Issuance) -> s.IssuanceRead:
    """Serialise an issuance with its printed serial block."""
    return s.IssuanceRead(
        id=i.id,
        project_id=i.project_id,
        project_code=i.project.code,
        report_id=i.report_id,
        vintage_start=i.vintage_start,
        vintage_end=i.vintage_end,
        quantity=i.quantity,
        serial_start=i.serial_start,
        serial_end=i.serial_end,
        account_id=i.account_id,
        serial=serial_label(i.project.code, i.vintage_start, i.vintage_end, i.serial_start, i.serial_end),
        issued_at=i.issued_at,
        buffer_quantity=i.buffer_quantity,
    )


def block_read(b: CreditBlock) -> s.BlockRead:
    """Serialise a credit block."""
    return s.BlockRead(
        id=b.id,
        issuance_id=b.issuance_id,
        project_id=b.project_id,
        project_code=b.project.code,
        vintage_start=b.vintage_start,
        vintage_end=b.vintage_end,
        serial_start=b.serial_start,
        serial_end=b.serial_end,
        quantity=b.quantity,
        account_id=b.account_id,
        status=b.status,
        beneficiary=b.beneficiary,
        retirement_reason=b.retirement_reason,
        retired_at=b.retired_at,
        serial=serial_label(b.project.code, b.vintage_start, b.vintage_end, b.serial_start, b.serial_end),
        cancellation_reason=b.cancellation_reason,
    )


def account_read(a: CarbonAccount, balance: int, retired: int) -> s.AccountRead:
    """Serialise an account with its balances."""
    return s.AccountRead(
        id=a.id,
        number=a.number,
        holder_name=a.holder_name,
        kind=a.kind,
        department_id=a.department_id,
        division_code=a.division_code,
        balance=balance,
        retired=retired,
    )


def task_read(t: AlertTask) -> s.AlertTaskRead:
    """Serialise an alert task with its alert."""
    a = t.alert
    return s.AlertTaskRead(
        id=t.id,
        alert_id=a.id,
        department_id=t.department_id,
        department_name=t.department.name,
        status=t.status,
        note=t.note,
        project_id=a.project_id,
        project_code=a.project.code,
        project_name=a.project.name,
        epoch_from=a.epoch_from,
        epoch_to=a.epoch_to,
        lost_ha=a.lost_ha,
        threshold_ha=a.threshold_ha,
        transitions=a.transitions,
        created_at=a.created_at,
    )


# ---------------------------------------------------------------- projects


@router.post("/projects", response_model=s.ProjectRead, status_code=201, summary="Register a carbon project")
def create_project(body: s.ProjectCreate, session: SessionDep, principal: CurrentPrincipal) -> s.ProjectRead:
    """The proponent department's operator/admin registers a project inside its division."""
    p = projects.create_project(session, actor=principal, **body.model_dump())
    return project_read(p)


@router.get("/projects", response_model=s.ProjectPage)
def list_projects(session: SessionDep, principal: CurrentPrincipal, page: PageDep) -> s.ProjectPage:
    """Projects in the caller's scope."""
    rows, total = projects.list_projects(session, principal=principal, limit=page.limit, offset=page.offset)
    return s.ProjectPage(
        items=[project_read(p) for p in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/projects/{project_id}", response_model=s.ProjectRead)
def get_project(project_id: int, session: SessionDep, principal: CurrentPrincipal) -> s.ProjectRead:
    """One project."""
    return project_read(projects.get_project(session, principal=principal, project_id=project_id))


@router.get("/projects/{project_id}/boundary", summary="Project boundary as a GeoJSON Feature")
def project_boundary(project_id: int, session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """The boundary polygon (WGS 84)."""
    return projects.project_boundary(
        projects.get_project(session, principal=principal, project_id=project_id)
    )


@router.get("/projects/{project_id}/reports", response_model=list[s.ReportRead])
def list_reports(project_id: int, session: SessionDep, principal: CurrentPrincipal) -> list[s.ReportRead]:
    """Monitoring reports of a project."""
    return [
        report_read(r, reports.report_file_names(session, report_id=r.id))
        for r in reports.list_reports(session, principal=principal, project_id=project_id)
    ]


@router.post("/projects/{project_id}/reports", response_model=s.ReportRead, status_code=201)
def submit_report(
    project_id: int, body: s.ReportCreate, session: SessionDep, principal: CurrentPrincipal
) -> s.ReportRead:
    """Submit a monitoring report (the figures and input hashes of an engine run)."""
    return report_read(
        reports.submit_report(session, actor=principal, project_id=project_id, **body.model_dump())
    )


@router.get("/projects/{project_id}/issuances", response_model=list[s.IssuanceRead])
def list_issuances(project_id: int, session: SessionDep, principal: CurrentPrincipal) -> list[s.IssuanceRead]:
    """Issuances of a project."""
    projects.get_project(session, principal=principal, project_id=project_id)
    return [issuance_read(i) for i in credits.project_issuances(session, project_id=project_id)]


# ---------------------------------------------------------------- reports


@router.get("/reports/{report_id}", response_model=s.ReportRead)
def get_report(report_id: int, session: SessionDep, principal: CurrentPrincipal) -> s.ReportRead:
    """One monitoring report with its file names."""
    r = reports.get_report(session, principal=principal, report_id=report_id)
    return report_read(r, reports.report_file_names(session, report_id=r.id))


@router.post("/reports/{report_id}/uploads", response_model=s.ReportRead, status_code=201)
def upload_files(
    report_id: int,
    session: SessionDep,
    principal: CurrentPrincipal,
    files: Annotated[list[UploadFile], File(description="engine outputs")],
) -> s.ReportRead:
    """Attach engine outputs (report.html, fig_*.png, landcover_<year>.tif, result.json, report.pdf)."""
    # A plain def: FastAPI runs it in the thread pool, so reading the spooled files never blocks the event
    # loop.
    for f in files:
        # one byte past the limit is enough for the service to refuse the file (413)
        content = f.file.read(reports.MAX_FILE_BYTES + 1)
        reports.add_report_file(
            session, actor=principal, report_id=report_id, name=f.filename or "", content=content
        )
    r = reports.get_report(session, principal=principal, report_id=report_id)
    return report_read(r, reports.report_file_names(session, report_id=r.id))


@router.get(
    "/reports/{report_id}/files/{name}", summary="An attached engine output (HTML report, figure, raster)"
)
def get_file(report_id: int, name: FILE, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """Serve one attached file: an upload always as a download; the server's own HTML report as a page."""
    f = reports.get_report_file(session, principal=principal, report_id=report_id, name=name)
    if f.generated and f.media_type.startswith("text/html"):
        # written by the server's engine run: shown as a page whose figures (beside it) load, and nothing runs
        headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": GENERATED_REPORT_CSP}
    else:
        headers = attachment_headers(f.name)
    return Response(
        content=reports.file_bytes(f),
        media_type=f.media_type,
        headers={"X-Content-SHA256": f.sha256, **headers},
    )


@router.post("/reports/{report_id}/verify", response_model=s.ReportRead)
def verify_report(
    report_id: int, body: s.VerifyRequest, session: SessionDep, principal: CurrentPrincipal
) -> s.ReportRead:
    """A third-party verifier signs the report off (or rejects it)."""
    r = reports.verify_report(
        session,
        actor=principal,
        report_id=report_id,
        approve=body.approve,
        statement=body.statement,
        opinion=body.opinion,
        findings=[f.model_dump() for f in body.findings],
    )
    return report_read(r, reports.report_file_names(session, report_id=r.id))


@router.post("/reports/{report_id}/landcover-check", response_model=s.AlertRead)
def landcover_check(
    report_id: int, body: s.LandcoverCheck, session: SessionDep, principal: CurrentPrincipal
) -> s.AlertRead:
    """Compare the report's two land-cover rasters inside the project; over the threshold an alert is raised."""  # noqa: E501 (the OpenAPI description, unchanged)
    loss, alert = alerts.check_report_landcover(
        session, actor=principal, report_id=report_id, threshold_ha=body.threshold_ha
    )
    r = reports.get_report(session, principal=principal, report_id=report_id)
    return s.AlertRead(
        id=alert.id if alert else None,
        project_id=r.project_id,
        epoch_from=r.vintage_start,
        epoch_to=r.vintage_end,
        lost_ha=loss.lost_ha,
        threshold_ha=body.threshold_ha,
        transitions=loss.transitions,
        raised=alert is not None,
    )


# ---------------------------------------------------------------- issuance, accounts, movements


@router.post("/issuances", response_model=s.IssuanceRead, status_code=201)
def issue(body: s.IssueRequest, session: SessionDep, principal: CurrentPrincipal) -> s.IssuanceRead:
    """The registry administrator issues credits for a verified report (409 on double issuance)."""
    return issuance_read(
        credits.issue(session, actor=principal, report_id=body.report_id, quantity=body.quantity)
    )


@router.get("/accounts", response_model=list[s.AccountRead])
def list_accounts(session: SessionDep, principal: CurrentPrincipal) -> list[s.AccountRead]:
    """Accounts the caller may see, with balances."""
    return [account_read(a, bal, ret) for a, bal, ret in accounts.list_accounts(session, principal=principal)]


@router.post("/accounts", response_model=s.AccountRead, status_code=201)
def create_account(body: s.AccountCreate, session: SessionDep, principal: CurrentPrincipal) -> s.AccountRead:
    """Open a department account (its operator/admin) or an external holder's (registry administrator)."""
    a = accounts.create_account(
        session,
        actor=principal,
        holder_name=body.holder_name,
        department_code=body.department_code,
        division_code=body.division_code,
    )
    return account_read(a, 0, 0)


@router.get("/accounts/{account_id}/blocks", response_model=list[s.BlockRead])
def account_blocks(account_id: int, session: SessionDep, principal: CurrentPrincipal) -> list[s.BlockRead]:
    """Serial blocks held (and retired) by an account."""
    return [block_read(b) for b in accounts.list_blocks(session, principal=principal, account_id=account_id)]


@router.post("/transfers", response_model=list[s.BlockRead], status_code=201)
def transfer(body: s.TransferRequest, session: SessionDep, principal: CurrentPrincipal) -> list[s.BlockRead]:
    """Transfer credits to another account (the holder acts)."""
    return [block_read(b) for b in credits.transfer(session, actor=principal, **body.model_dump())]


@router.post("/retirements", response_model=list[s.BlockRead], status_code=201)
def retire(body: s.RetireRequest, session: SessionDep, principal: CurrentPrincipal) -> list[s.BlockRead]:
    """Retire credits for a beneficiary (published in the public registry)."""
    return [block_read(b) for b in credits.retire(session, actor=principal, **body.model_dump())]


@router.post("/reversals", response_model=s.AdjustmentRead, status_code=201)
def reversal(body: s.ReversalRequest, session: SessionDep, principal: CurrentPrincipal) -> s.AdjustmentRead:
    """The registry administrator records a reversal: buffer credits are cancelled first."""
    adj = buffer.record_reversal(session, actor=principal, **body.model_dump())
    return s.AdjustmentRead.model_validate(adj)


@router.post("/reports/{report_id}/corrections", response_model=s.AdjustmentRead, status_code=201)
def correction(
    report_id: int, body: s.CorrectionRequest, session: SessionDep, principal: CurrentPrincipal
) -> s.AdjustmentRead:
    """Correct an issued report downwards: a compensating entry cancels the excess (the report stays)."""
    adj = corrections.correct_report(
        session,
        actor=principal,
        report_id=report_id,
        corrected_tco2e=body.corrected_tco2e,
        reason=body.reason,
    )
    return s.AdjustmentRead.model_validate(adj)


@router.get("/reports/{report_id}/mrv.pdf", summary="The MRV report for people, as a PDF (zh-CN)")
def mrv_pdf(report_id: int, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """The MRV report (监测报告) as a PDF with tables, the project map and the land-cover change."""
    content, name = mrv.report_pdf(session, principal=principal, report_id=report_id)
    return Response(content=content, media_type="application/pdf", headers=attachment_headers(name))


# ---------------------------------------------------------------- alerts


@router.get(
    "/alerts",
    response_model=list[s.AlertTaskRead],
    summary="Protection-alert inbox of the caller's departments",
)
def alert_inbox(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageDep,
    status: Annotated[str | None, Query(pattern="^(open|done)$")] = None,
) -> list[s.AlertTaskRead]:
    """Alert tasks of departments in the caller's scope."""
    rows, _ = alerts.list_alert_tasks(
        session, principal=principal, status=status, limit=page.limit, offset=page.offset
    )
    return [task_read(t) for t in rows]


@router.patch("/alerts/tasks/{task_id}", response_model=s.AlertTaskRead)
def update_task(
    task_id: int, body: s.AlertTaskUpdate, session: SessionDep, principal: CurrentPrincipal
) -> s.AlertTaskRead:
    """Close (or reopen) an alert task with a note."""
    return task_read(
        alerts.update_alert_task(
            session, actor=principal, task_id=task_id, status=body.status, note=body.note
        )
    )


# ---------------------------------------------------------------- public


@router.get(
    "/public/registry",
    response_model=s.PublicRegistry,
    summary="Public registry: projects, issuances, retirements",
    openapi_extra={"x-public": True},
)
def public_registry(session: SessionDep) -> dict[str, Any]:
    """Open to everyone: no accounts, holders or personal data."""
    return public.public_registry(session)


@router.get(
    "/public/registry.csv",
    summary="Public registry as CSV: one row per serial block (UTF-8 with BOM)",
    openapi_extra={"x-public": True},
    response_class=Response,
)
def public_registry_csv(session: SessionDep) -> Response:
    """Serial range, vintage, project, methodology, status, retirement beneficiary and reason, per block."""
    return Response(
        content=exports.registry_csv(session),
        media_type="text/csv; charset=utf-8",
        headers=attachment_headers("carbon-registry.csv"),
    )


@router.get(
    "/public/registry.json",
    summary="Public registry as JSON: one record per serial block",
    openapi_extra={"x-public": True},
)
def public_registry_json(session: SessionDep) -> dict[str, Any]:
    """The same records as the CSV export, with the field list and the export time."""
    return exports.registry_json(session)
