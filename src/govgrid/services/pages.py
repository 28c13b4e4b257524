"""The services pages (zh-CN first): 办事指南, apply, my applications, an application with its timeline,
the department work list, the supervisor's overdue view, measures, certificate verification."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from govgrid.core.authz.principal import Principal
from govgrid.core.deps import OptionalPrincipal, SessionDep, get_locale
from govgrid.core.errors import AppError, PayloadTooLargeError
from govgrid.core.pages import PagePrincipal, register_messages, render
from govgrid.core.workdays import SHANGHAI
from govgrid.services.enums import MODE_EN, MODE_ZH, SATISFACTION_ZH, STATUS_EN, STATUS_ZH, HandlingMode
from govgrid.services.messages import MESSAGES
from govgrid.services.services import (
    applications,
    certificates,
    handling,
    items,
    materials,
    measures,
)

router = APIRouter(include_in_schema=False)
register_messages(MESSAGES)
DIVISIONS = {"410527": "内黄县", "430611": "君山区"}


def _labels(request: Request) -> dict[str, Any]:
    en = get_locale(request) == "en"
    return {
        "status_label": STATUS_EN if en else STATUS_ZH,
        "mode_label": MODE_EN if en else MODE_ZH,
        "satisfaction": SATISFACTION_ZH,
        "tz": SHANGHAI,
        "divisions": DIVISIONS,
    }


def _page(request: Request, template: str, ctx: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return render(request, f"services/{template}", {**_labels(request), **ctx}, status_code=status_code)


def _uploads(codes: list[str], files: list[UploadFile]) -> list[materials.UploadIn]:
    out = []
    for code, f in zip(codes, files, strict=False):
        data = f.file.read(materials.MAX_MATERIAL_BYTES + 1)
        if not f.filename and not data:
            continue  # an empty file input
        if len(data) > materials.MAX_MATERIAL_BYTES:
            raise PayloadTooLargeError("材料文件不能超过 5 MB，请压缩后重新上传 (file too large)")
        out.append(materials.UploadIn(code=code, filename=f.filename or code, content=data))
    return out


@router.get("/services")
def guide_list(request: Request, session: SessionDep, division: str = "") -> HTMLResponse:
    """办事指南: bundles and items (public)."""
    rows = items.list_items(session, division_code=division[:12] or None)
    return _page(request, "guide_list.html", {"rows": rows, "division": division})


@router.get("/services/items/{code}")
def guide(request: Request, session: SessionDep, code: str) -> HTMLResponse:
    """One item's guide (public)."""
    return _page(request, "guide.html", items.guide(session, code=code))


def _apply_page(
    request: Request,
    session: Session,
    principal: Principal,
    code: str,
    *,
    error: str = "",
    status_code: int = 200,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    info = items.guide(session, code=code)
    pre = applications.preview(session, actor=principal, item_code=code)
    filled = {name: value for src in pre.sources for name, value in src["fields"].items()}
    return _page(
        request,
        "apply.html",
        {
            **info,
            "sources": pre.sources,
            "filled": filled,
            "error": error,
            "form": form or {},
            "modes": [HandlingMode.online, HandlingMode.remote_collect],
        },
        status_code=status_code,
    )


@router.get("/services/apply/{code}")
def apply_page(request: Request, session: SessionDep, principal: PagePrincipal, code: str) -> HTMLResponse:
    """The apply page: the merged form pre-filled (masked, with sources), materials, handling mode."""
    return _apply_page(request, session, principal, code)


async def read_form(request: Request) -> FormData:
    """The submitted multipart form, read on the event loop (it touches no database)."""
    return await request.form()


@router.post("/services/apply/{code}")
def apply_submit(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    code: str,
    raw: Annotated[FormData, Depends(read_form)],
) -> Response:
    """Submit from the apply page (a worker thread: the work touches the database)."""
    fields = {
        k[2:]: v.strip() for k, v in raw.items() if isinstance(v, str) and k.startswith("f_") and v.strip()
    }
    codes = [str(v) for v in raw.getlist("material_codes")]
    files = [v for v in raw.getlist("files") if not isinstance(v, str)]
    mode = str(raw.get("mode") or HandlingMode.online)
    accepted = str(raw.get("accepted_division_code") or "") or None
    return _apply_sync(request, session, principal, code, fields, codes, files, mode, accepted)


def _apply_sync(
    request: Request,
    session: Session,
    principal: Principal,
    code: str,
    form: dict[str, str],
    codes: list[str],
    files: list[Any],
    mode: str,
    accepted: str | None,
) -> Response:
    try:
        with session.begin_nested():  # nothing half-created: a refusal rolls the whole submission back
            app = applications.submit(
                session,
                actor=principal,
                data=applications.SubmitIn(
                    item_code=code,
                    form=form,
                    mode=mode,
                    accepted_division_code=accepted,
                    files=_uploads(codes, files),
                ),
            )
    except AppError as exc:
        return _apply_page(
            request, session, principal, code, error=exc.message, status_code=exc.status, form=form
        )
    return RedirectResponse(f"/services/applications/{app.number}", status_code=303)


@router.get("/services/my")
def my_page(request: Request, session: SessionDep, principal: PagePrincipal) -> HTMLResponse:
    """My applications."""
    return _page(request, "my.html", {"rows": applications.list_mine(session, actor=principal)})


@router.get("/services/applications/{number}")
def application_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    number: str,
) -> HTMLResponse:
    """One application: envelope, masked form, pre-fill sources, timeline, tasks, the forms to act."""
    d = applications.detail(session, actor=principal, number=number)
    mine = {t.id for t, _a in handling.work_list(session, actor=principal)}
    return _page(
        request,
        "application.html",
        {
            **d,
            "my_tasks": mine,
            "is_applicant": principal.kind == "user" and principal.id == d["app"].applicant_user_id,
            "error": request.query_params.get("error", "")[:300],
        },
    )


def _back(number: str, exc: AppError | None = None) -> RedirectResponse:
    from urllib.parse import quote

    suffix = f"?error={quote(exc.message[:300])}" if exc else ""
    return RedirectResponse(f"/services/applications/{number}{suffix}", status_code=303)


@router.post("/services/tasks/{task_id}/decide")
def decide(
    session: SessionDep,
    principal: PagePrincipal,
    task_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    number: Annotated[str, Form()],
    decision: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """A department's decision from the application page."""
    try:
        with session.begin_nested():
            handling.decide(session, actor=principal, task_id=task_id, decision=decision, note=note)
    except AppError as exc:
        return _back(number, exc)
    return _back(number)


@router.post("/services/applications/{number}/supplement")
def supplement(
    session: SessionDep,
    principal: PagePrincipal,
    number: str,
    material_codes: Annotated[list[str] | None, Form()] = None,
    files: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    """The applicant's 补正 from the application page."""
    try:
        with session.begin_nested():
            applications.supplement(
                session, actor=principal, number=number, files=_uploads(material_codes or [], files or [])
            )
    except AppError as exc:
        return _back(number, exc)
    return _back(number)


@router.post("/services/applications/{number}/rate")
def rate(
    session: SessionDep,
    principal: PagePrincipal,
    number: str,
    score: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    """好差评 from the application page."""
    try:
        with session.begin_nested():
            measures.rate(session, actor=principal, number=number, score=score, comment=comment)
    except AppError as exc:
        return _back(number, exc)
    return _back(number)


@router.post("/services/applications/{number}/withdraw")
def withdraw(session: SessionDep, principal: PagePrincipal, number: str) -> Response:
    """The applicant withdraws from the application page."""
    try:
        with session.begin_nested():
            applications.withdraw(session, actor=principal, number=number)
    except AppError as exc:
        return _back(number, exc)
    return _back(number)


@router.get("/services/work")
def work_page(request: Request, session: SessionDep, principal: PagePrincipal) -> HTMLResponse:
    """The department work list."""
    return _page(request, "work.html", {"rows": handling.work_list(session, actor=principal)})


@router.get("/services/supervisor")
def supervisor_page(request: Request, session: SessionDep, principal: PagePrincipal) -> HTMLResponse:
    """Overdue applications and bad ratings to follow up in the supervisor's territory."""
    return _page(
        request,
        "supervisor.html",
        {
            "overdue": handling.overdue(session, actor=principal),
            "bad": measures.bad_ratings(session, actor=principal),
            "error": request.query_params.get("error", "")[:300],
        },
    )


@router.post("/services/ratings/{rating_id}/follow-up")
def follow_up(
    session: SessionDep,
    principal: PagePrincipal,
    rating_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    note: Annotated[str, Form()] = "",
) -> Response:
    """A supervisor's follow-up of a bad rating."""
    from urllib.parse import quote

    try:
        with session.begin_nested():
            measures.follow_up(session, actor=principal, rating_id=rating_id, note=note)
    except AppError as exc:
        return RedirectResponse(f"/services/supervisor?error={quote(exc.message[:300])}", status_code=303)
    return RedirectResponse("/services/supervisor", status_code=303)


@router.get("/services/measures")
def measures_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    division: str = "",
) -> HTMLResponse:
    """Measures per department (line × division) and item."""
    data = measures.measures(session, actor=principal, division_code=division[:12] or None)
    return _page(request, "measures.html", {"m": data, "division": division})


@router.get("/services/certificates/{number}")
def certificate_page(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    number: str,
) -> HTMLResponse:
    """Public verification of an e-certificate."""
    return _page(request, "certificate.html", {"v": certificates.verify(session, number=number)})
