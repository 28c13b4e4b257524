"""The registry operated in pages (登记簿业务页面): each action is a form for the role that does it.

- the proponent (county forestry bureau operator): registers a project with its boundary file, runs an
  assessment (progress shown while the engine runs) or submits an engine result, transfers and retires;
- the third-party verifier: signs a report off with an opinion and findings;
- the registry administrator (provincial ecology-environment admin): issues (with the buffer share),
  corrects an issued report, records a reversal;
- anyone: the public registry and the retirement certificates.

Every refused action comes back to its page with the reason (zh-CN), and nothing of it is kept.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from govgrid.carbon.enums import BUFFER_SHARE, RiskRating
from govgrid.carbon.messages_registry import MESSAGES
from govgrid.carbon.models import AssessmentRun
from govgrid.carbon.serials import serial_label
from govgrid.carbon.services import (
    access,
    accounts,
    assessments,
    buffer,
    corrections,
    credits,
    mrv,
    projects,
    public,
    reports,
)
from govgrid.core.authz.principal import Principal
from govgrid.core.deps import SessionDep
from govgrid.core.errors import AppError, NotFoundError, ValidationFailedError
from govgrid.core.pages import PagePrincipal, register_messages, render

router = APIRouter(include_in_schema=False)
register_messages(MESSAGES)

MAX_BOUNDARY_BYTES = 20 * 1024 * 1024
MAX_RESULT_BYTES = 5 * 1024 * 1024


def _back(url: str, *, error: str | None = None, ok: str | None = None) -> RedirectResponse:
    """Back to a page with a message for the person (shown as text)."""
    if error:
        url += ("&" if "?" in url else "?") + "error=" + quote(error[:400])
    if ok:
        url += ("&" if "?" in url else "?") + "ok=" + quote(ok[:400])
    return RedirectResponse(url, status_code=303)


def _message(exc: AppError) -> str:
    """The person-facing text of a refusal: the message and the first problems."""
    details = "；".join(str(d.get("msg", "")) for d in (exc.details or [])[:3] if d.get("msg"))
    return exc.message + (f"：{details}" if details else "")


def _int(value: str, loc: str) -> int:
    """A whole number from a form field; 422 naming the field otherwise."""
    try:
        return int(value.strip())
    except ValueError:
        raise ValidationFailedError(
            "请填写整数 (a whole number is required)", details=[{"loc": [loc], "msg": "整数"}]
        ) from None


def _float(value: str, loc: str) -> float:
    """A number from a form field; 422 naming the field otherwise."""
    try:
        return float(value.strip())
    except ValueError:
        raise ValidationFailedError(
            "请填写数字 (a number is required)", details=[{"loc": [loc], "msg": "数字"}]
        ) from None


def _proponent_departments(principal: Principal) -> list[tuple[str, str]]:
    """(code, name) of the departments where the principal may register projects (operator/admin)."""
    seen = {}
    for a in principal.assignments:
        if a.role in access.PROPONENT_ROLES:
            seen[f"{a.division_code}-{a.line_code}"] = a.department_name
    return sorted(seen.items())


def run_read(run: AssessmentRun) -> dict[str, Any]:
    """A run as the progress page shows it (and polls it)."""
    return {
        "id": run.id,
        "status": run.status,
        "stage": run.stage,
        "label": assessments.stage_label(run.stage),
        "progress": run.progress,
        "message": run.message,
        "report_id": run.report_id,
        "created_at": run.created_at.isoformat(),
    }


# ---------------------------------------------------------------- project registration


def _new_form(request: Request, principal: Principal, form: dict[str, Any], **extra: Any) -> HTMLResponse:
    """The registration form, with what was typed, a parsed boundary to show, and the problems."""
    context = {
        "form": form,
        "departments": _proponent_departments(principal),
        "risks": [(r.value, int(BUFFER_SHARE[r] * 100)) for r in RiskRating],
        "errors": extra.pop("errors", []),
        "preview": extra.pop("preview", None),
    }
    return render(request, "carbon/project_new.html", context, status_code=extra.pop("status_code", 200))


@router.get("/carbon/projects/new")
def project_new(request: Request, principal: PagePrincipal) -> HTMLResponse:
    """The proponent's registration form."""
    return _new_form(
        request,
        principal,
        {"risk_rating": "medium", "crediting_start": "2018-01-01", "crediting_end": "2037-12-31"},
    )


@router.get("/carbon/projects/new/sample-boundary.geojson")
def sample_boundary() -> Response:
    """The example scene's outline (示例边界): register with it to run the example assessment."""
    body = json.dumps(assessments.sample_boundary(), ensure_ascii=False)
    return Response(
        body,
        media_type="application/geo+json",
        headers={"Content-Disposition": 'attachment; filename="sample-boundary.geojson"'},
    )


@router.post("/carbon/projects/new")
def project_create(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    name: Annotated[str, Form()] = "",
    department_code: Annotated[str, Form()] = "",
    wetland_type: Annotated[str, Form()] = "lake",
    risk_rating: Annotated[str, Form()] = "medium",
    crediting_start: Annotated[str, Form()] = "",
    crediting_end: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    boundary_geojson: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "register",
    boundary_file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Check the boundary file (shown on the map with its area), or register the project."""
    form = {
        "name": name,
        "department_code": department_code,
        "wetland_type": wetland_type,
        "risk_rating": risk_rating,
        "crediting_start": crediting_start,
        "crediting_end": crediting_end,
        "description": description,
        "boundary_geojson": boundary_geojson,
    }
    try:
        if boundary_file is not None and boundary_file.filename:
            data = boundary_file.file.read(MAX_BOUNDARY_BYTES + 1)
            if len(data) > MAX_BOUNDARY_BYTES:
                raise ValidationFailedError(
                    "边界文件超过 20 MB (the boundary file is larger than 20 MB)",
                    details=[{"loc": ["boundary_file"], "msg": "<= 20 MB"}],
                )
            form["boundary_geojson"] = json.dumps(projects.boundary_from_file(boundary_file.filename, data))
        if not form["boundary_geojson"]:
            raise ValidationFailedError(
                "请上传项目边界文件（GeoJSON 或打包的 Shapefile）(upload the boundary file)",
                details=[{"loc": ["boundary_file"], "msg": "必填"}],
            )
        geometry = json.loads(form["boundary_geojson"])
        preview = projects.preview_boundary(session, geometry=geometry)
        if action == "preview":
            return _new_form(request, principal, form, preview=preview)
        project = projects.create_project(
            session,
            actor=principal,
            name=name.strip(),
            department_code=department_code,
            methodology="ipcc_inland_wetland",
            wetland_type=wetland_type,
            tidal=False,
            soil="mineral",
            boundary=geometry,
            crediting_start=projects.parse_date(crediting_start, "crediting_start"),
            crediting_end=projects.parse_date(crediting_end, "crediting_end"),
            description=description.strip(),
            risk_rating=risk_rating,
        )
    except (AppError, json.JSONDecodeError) as exc:
        session.rollback()
        if isinstance(exc, AppError):
            errors = [exc.message] + [str(d.get("msg")) for d in exc.details or []]
            status = exc.status
        else:
            errors, status = ["边界数据无效，请重新上传文件 (invalid boundary data)"], 422
        return _new_form(request, principal, form, errors=errors, status_code=status)
    return _back(f"/carbon/projects/{project.id}", ok=f"项目 {project.code} 已登记")


# ---------------------------------------------------------------- assessment runs


@router.get("/carbon/projects/{project_id}/assess")
def assess_page(
    project_id: int, request: Request, session: SessionDep, principal: PagePrincipal
) -> HTMLResponse:
    """Run the engine for a project (progress on the run's page), or submit an engine result."""
    project = projects.get_project(session, principal=principal, project_id=project_id)
    return render(
        request,
        "carbon/assess.html",
        {
            "project": project,
            "runs": [run_read(r) for r in assessments.project_runs(session, project_id=project.id)],
            "can": access.project_actions(session, principal, project),
        },
    )


@router.post("/carbon/projects/{project_id}/runs")
def run_start(project_id: int, session: SessionDep, principal: PagePrincipal) -> RedirectResponse:
    """Queue an engine run and open its progress page (the engine starts after this request commits)."""
    try:
        run = assessments.start_run(session, actor=principal, project_id=project_id)
        session.commit()
    except AppError as exc:
        session.rollback()
        return _back(f"/carbon/projects/{project_id}/assess", error=_message(exc))
    assessments.launch(run.id)
    return RedirectResponse(f"/carbon/runs/{run.id}", status_code=303)


@router.get("/carbon/runs/{run_id}")
def run_page(run_id: int, request: Request, session: SessionDep, principal: PagePrincipal) -> HTMLResponse:
    """An engine run's progress (the page polls the run's status)."""
    run = assessments.get_run(session, principal=principal, run_id=run_id)
    return render(request, "carbon/run.html", {"run": run_read(run), "project": run.project})


@router.get("/carbon/runs/{run_id}/status")
def run_status(run_id: int, session: SessionDep, principal: PagePrincipal) -> JSONResponse:
    """The run's stage, percent and report (polled by its page)."""
    return JSONResponse(run_read(assessments.get_run(session, principal=principal, run_id=run_id)))


@router.post("/carbon/projects/{project_id}/results")
def result_submit(
    project_id: int,
    session: SessionDep,
    principal: PagePrincipal,
    result_file: Annotated[UploadFile | None, File()] = None,
) -> RedirectResponse:
    """Submit the result.json of an engine run made where the survey data lives."""
    try:
        if result_file is None or not result_file.filename:
            raise ValidationFailedError(
                "请选择 result.json 文件 (choose the result.json file)",
                details=[{"loc": ["result_file"], "msg": "必填"}],
            )
        data = result_file.file.read(MAX_RESULT_BYTES + 1)
        if len(data) > MAX_RESULT_BYTES:
            raise ValidationFailedError(
                "文件超过 5 MB (the file is larger than 5 MB)",
                details=[{"loc": ["result_file"], "msg": "5 MB"}],
            )
        report = assessments.submit_result(session, actor=principal, project_id=project_id, data=data)
    except AppError as exc:
        session.rollback()
        return _back(f"/carbon/projects/{project_id}/assess", error=_message(exc))
    return _back(f"/carbon/reports/{report.id}", ok="监测报告已提交，等待第三方核查")


# ---------------------------------------------------------------- reports: verification, issuance, correction


@router.get("/carbon/reports/{report_id}")
def report_page(
    report_id: int, request: Request, session: SessionDep, principal: PagePrincipal
) -> HTMLResponse:
    """A monitoring report with the forms of whoever acts on it next."""
    report = reports.get_report(session, principal=principal, report_id=report_id)
    iss = credits.report_issuance(session, report_id=report.id)
    return render(
        request,
        "carbon/report.html",
        {
            "report": report,
            "project": report.project,
            "issuance": iss,
            "serial": serial_label,
            "can": access.project_actions(session, principal, report.project),
            "buffer_share": int(BUFFER_SHARE[RiskRating(report.project.risk_rating)] * 100),
            "issuable": credits.issuable_quantity(report),
        },
    )


def _findings(text: str) -> list[dict[str, str]]:
    """Findings typed one per line as 'finding | resolution'."""
    out = []
    for line in text.splitlines():
        finding, _, resolution = line.partition("|")
        if finding.strip():
            out.append({"finding": finding.strip(), "resolution": resolution.strip()})
    return out


@router.post("/carbon/reports/{report_id}/verify")
def report_verify(
    report_id: int,
    session: SessionDep,
    principal: PagePrincipal,
    opinion: Annotated[str, Form()] = "",
    statement: Annotated[str, Form()] = "",
    findings: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """The verifier's sign-off: opinion, statement, findings."""
    try:
        reports.verify_report(
            session,
            actor=principal,
            report_id=report_id,
            approve=opinion != "adverse",
            statement=statement.strip(),
            opinion=opinion or None,
            findings=_findings(findings),
        )
    except AppError as exc:
        session.rollback()
        return _back(f"/carbon/reports/{report_id}", error=_message(exc))
    return _back(f"/carbon/reports/{report_id}", ok="核查结论已签署")


@router.post("/carbon/reports/{report_id}/issue")
def report_issue(
    report_id: int, session: SessionDep, principal: PagePrincipal, quantity: Annotated[str, Form()] = ""
) -> RedirectResponse:
    """The registry administrator issues the verified tonnes (the buffer share goes to the pool)."""
    try:
        qty = _int(quantity, "quantity") if quantity.strip() else None
        iss = credits.issue(session, actor=principal, report_id=report_id, quantity=qty)
    except AppError as exc:
        session.rollback()
        return _back(f"/carbon/reports/{report_id}", error=_message(exc))
    return _back(
        f"/carbon/reports/{report_id}",
        ok=f"已签发 {iss.quantity} 吨，其中 {iss.buffer_quantity} 吨存入缓冲池",
    )


@router.post("/carbon/reports/{report_id}/correct")
def report_correct(
    report_id: int,
    session: SessionDep,
    principal: PagePrincipal,
    corrected_tco2e: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """A correction of an issued report: a compensating entry cancels the excess."""
    try:
        adj = corrections.correct_report(
            session,
            actor=principal,
            report_id=report_id,
            corrected_tco2e=_float(corrected_tco2e, "corrected_tco2e"),
            reason=reason,
        )
    except AppError as exc:
        session.rollback()
        return _back(f"/carbon/reports/{report_id}", error=_message(exc))
    return _back(f"/carbon/reports/{report_id}", ok=f"已登记更正，作废 {adj.quantity - adj.uncovered} 吨")


@router.post("/carbon/projects/{project_id}/reversal")
def project_reversal(
    project_id: int,
    session: SessionDep,
    principal: PagePrincipal,
    quantity: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """The registry administrator records a reversal: buffer credits are cancelled first."""
    try:
        adj = buffer.record_reversal(
            session,
            actor=principal,
            project_id=project_id,
            quantity=_int(quantity, "quantity"),
            reason=reason,
        )
    except AppError as exc:
        session.rollback()
        return _back(f"/carbon/projects/{project_id}", error=_message(exc))
    return _back(
        f"/carbon/projects/{project_id}",
        ok=f"已登记逆转：缓冲池作废 {adj.from_buffer} 吨，项目作废 {adj.from_project} 吨，"
        f"未覆盖 {adj.uncovered} 吨",
    )


# ---------------------------------------------------------------- the MRV report


@router.get("/carbon/reports/{report_id}/mrv")
def mrv_page(report_id: int, request: Request, session: SessionDep, principal: PagePrincipal) -> HTMLResponse:
    """The MRV report for people (zh-CN), with its PDF."""
    doc = mrv.report_document(session, principal=principal, report_id=report_id)
    return render(request, "carbon/mrv.html", {"doc": doc})


@router.get("/carbon/reports/{report_id}/mrv/{name}.png")
def mrv_figure(report_id: int, name: str, session: SessionDep, principal: PagePrincipal) -> Response:
    """One figure of the MRV report: the project map or the land-cover change."""
    png = mrv.figure(session, principal=principal, report_id=report_id, name=name)
    if png is None:
        raise NotFoundError(f"报告没有图件 {name[:20]} (no such figure)")
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


# ---------------------------------------------------------------- accounts: transfer and retirement


@router.get("/carbon/accounts")
def accounts_page(request: Request, session: SessionDep, principal: PagePrincipal) -> HTMLResponse:
    """The accounts the caller holds or oversees, with balances."""
    return render(
        request, "carbon/accounts.html", {"rows": accounts.list_accounts(session, principal=principal)}
    )


@router.get("/carbon/accounts/{account_id}")
def account_page(
    account_id: int, request: Request, session: SessionDep, principal: PagePrincipal
) -> HTMLResponse:
    """An account's serial blocks, with the transfer and retirement forms."""
    acc = accounts.get_account(session, principal=principal, account_id=account_id)
    blocks = accounts.list_blocks(session, principal=principal, account_id=account_id)
    active, retired = accounts.balances(session, account_id=acc.id)
    return render(
        request,
        "carbon/account.html",
        {"account": acc, "blocks": blocks, "active": active, "retired": retired, "serial": serial_label},
    )


@router.post("/carbon/accounts/{account_id}/transfer")
def account_transfer(
    account_id: int,
    session: SessionDep,
    principal: PagePrincipal,
    to_account: Annotated[str, Form()] = "",
    quantity: Annotated[str, Form()] = "",
    block_id: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Transfer credits to another account by its number."""
    try:
        moved = credits.transfer(
            session,
            actor=principal,
            from_account_id=account_id,
            to_account_id=accounts.account_id_by_number(session, number=to_account, loc="to_account"),
            quantity=_int(quantity, "quantity"),
            block_id=_int(block_id, "block_id") if block_id.strip() else None,
        )
    except AppError as exc:
        session.rollback()
        return _back(f"/carbon/accounts/{account_id}", error=_message(exc))
    return _back(f"/carbon/accounts/{account_id}", ok=f"已转让 {sum(b.quantity for b in moved)} 吨")


@router.post("/carbon/accounts/{account_id}/retire")
def account_retire(
    account_id: int,
    session: SessionDep,
    principal: PagePrincipal,
    quantity: Annotated[str, Form()] = "",
    beneficiary: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    block_id: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Retire credits for a beneficiary and purpose; the certificate is public."""
    try:
        blocks = credits.retire(
            session,
            actor=principal,
            account_id=account_id,
            quantity=_int(quantity, "quantity"),
            beneficiary=beneficiary,
            reason=reason,
            block_id=_int(block_id, "block_id") if block_id.strip() else None,
        )
    except AppError as exc:
        session.rollback()
        return _back(f"/carbon/accounts/{account_id}", error=_message(exc))
    return _back(f"/carbon/registry/certificates/{blocks[0].id}", ok="注销完成，以下为注销证明")


# ---------------------------------------------------------------- public certificates


@router.get("/carbon/registry/certificates/{block_id}")
def certificate_page(block_id: int, request: Request, session: SessionDep) -> HTMLResponse:
    """A retirement certificate (注销证明), public."""
    return render(request, "carbon/certificate.html", {"c": public.certificate(session, block_id=block_id)})
