"""Exchange pages of a provider department: register a catalog entry (资源登记), edit it (a new version each
time), and upload its data with a preview and the problems of each row (nothing imported unless all pass)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from govgrid.core.deps import SessionDep
from govgrid.core.errors import AppError
from govgrid.core.pages import PagePrincipal, render
from govgrid.exchange import enums
from govgrid.exchange.pages.common import labels, notice_url, router
from govgrid.exchange.schemas import DataItemIn, ResourceCreate, ResourceUpdate
from govgrid.exchange.services import access, catalog, uploads

MAX_UPLOAD = 20 * 1024 * 1024
YES = frozenset({"是", "yes", "y", "true", "1"})
ENTRY_FIELDS = (
    "name",
    "abstract",
    "sharing_type",
    "sharing_conditions",
    "open_type",
    "update_cycle",
    "grade",
)


def items_text(items: list[Any]) -> str:
    """Data items as the editable lines of the form (key,label,type,personal,sensitive,mask)."""
    return "\n".join(
        ",".join(
            [
                i.name,
                i.label,
                str(i.type),
                "是" if i.personal else "否",
                "是" if i.sensitive else "否",
                str(i.mask),
            ]
        )
        for i in items
    )


def parse_items(text: str) -> tuple[list[DataItemIn], list[str]]:
    """The form's item lines as data items, and a message per line that is not one (line numbers from 1)."""
    items: list[DataItemIn] = []
    errors: list[str] = []
    for n, line in enumerate(text.splitlines(), 1):
        parts = [p.strip() for p in line.replace("，", ",").split(",")]
        if not any(parts):
            continue
        parts += [""] * (6 - len(parts))
        name, label, typ, personal, sensitive, mask = parts[:6]
        try:
            items.append(
                DataItemIn.model_validate(
                    {
                        "name": name,
                        "label": label,
                        "type": typ or "string",
                        "personal": personal.lower() in YES,
                        "sensitive": sensitive.lower() in YES,
                        "mask": mask or None,
                    }
                )
            )
        except ValidationError as exc:
            problems = "；".join(str(e["loc"][0]) for e in exc.errors() if e.get("loc"))
            errors.append(f"信息项第 {n} 行有误（{problems}）")
    if not items and not errors:
        errors.append("请至少登记一个信息项")
    return items, errors


def _provider_choices(principal: PagePrincipal) -> list[tuple[str, str]]:
    """The departments the user may register for: (department code, name)."""
    seen: dict[str, str] = {}
    for a in principal.assignments_with(*access.WRITE_ROLES):
        seen.setdefault(f"{a.division_code}-{a.line_code}", a.department_name)
    return sorted(seen.items())


def _entry_page(
    request: Request,
    principal: PagePrincipal,
    *,
    form: dict[str, Any],
    errors: list[str],
    res: Any = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "exchange_entry.html",
        {
            "form": form,
            "errors": errors,
            "res": res,
            "providers": _provider_choices(principal),
            "labels": labels(),
            "choices": {
                "sharing": list(enums.SharingType),
                "open": list(enums.OpenType),
                "grade": list(enums.Grade),
                "cycle": list(enums.UpdateCycle),
            },
        },
        status_code=status_code,
    )


def _app_errors(exc: AppError) -> list[str]:
    return [exc.message] + [str(d.get("msg", "")) for d in exc.details if d.get("msg")]


@router.get("/register")
def register_form(request: Request, principal: PagePrincipal) -> Response:
    """The form to register a new catalog entry."""
    form = {
        "sharing_type": "conditional",
        "open_type": "not_open",
        "update_cycle": "monthly",
        "grade": "general",
        "items": "",
    }
    return _entry_page(request, principal, form=form, errors=[])


@router.post("/register")
def register_submit(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    class_code: Annotated[str, Form(max_length=16)] = "",
    provider_department_code: Annotated[str, Form(max_length=64)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    abstract: Annotated[str, Form(max_length=4000)] = "",
    sharing_type: Annotated[str, Form(max_length=16)] = "conditional",
    sharing_conditions: Annotated[str, Form(max_length=2000)] = "",
    open_type: Annotated[str, Form(max_length=32)] = "not_open",
    update_cycle: Annotated[str, Form(max_length=16)] = "monthly",
    grade: Annotated[str, Form(max_length=16)] = "general",
    items: Annotated[str, Form(max_length=40000)] = "",
) -> Response:
    """Register the entry; a refused form comes back with every problem and nothing saved."""
    form = {
        "class_code": class_code,
        "provider_department_code": provider_department_code,
        "name": name,
        "abstract": abstract,
        "sharing_type": sharing_type,
        "sharing_conditions": sharing_conditions,
        "open_type": open_type,
        "update_cycle": update_cycle,
        "grade": grade,
        "items": items,
    }
    parsed, errors = parse_items(items)
    if not errors:
        try:
            data = ResourceCreate.model_validate({**form, "items": parsed})
        except ValidationError as exc:
            errors = [f"{'.'.join(map(str, e['loc']))}: 填写有误" for e in exc.errors()]
    if errors:
        return _entry_page(request, principal, form=form, errors=errors, status_code=422)
    try:
        res = catalog.create_resource(session, actor=principal, data=data, principal=principal)
    except AppError as exc:
        session.rollback()
        return _entry_page(request, principal, form=form, errors=_app_errors(exc), status_code=exc.status)
    return RedirectResponse(notice_url(f"/exchange/resources/{res.code}", "created", code=res.code), 303)


@router.get("/resources/{code}/edit")
def edit_form(request: Request, session: SessionDep, principal: PagePrincipal, code: str) -> Response:
    """The entry's edit form (provider departments only)."""
    res = access.get_resource(session, actor=principal, code=code)
    catalog.require_writer(session, actor=principal, resource=res)
    form = {f: getattr(res, f) for f in ENTRY_FIELDS} | {"items": items_text(res.items)}
    return _entry_page(request, principal, form=form, errors=[], res=res)


@router.post("/resources/{code}/edit")
def edit_submit(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    code: str,
    name: Annotated[str, Form(max_length=200)] = "",
    abstract: Annotated[str, Form(max_length=4000)] = "",
    sharing_type: Annotated[str, Form(max_length=16)] = "conditional",
    sharing_conditions: Annotated[str, Form(max_length=2000)] = "",
    open_type: Annotated[str, Form(max_length=32)] = "not_open",
    update_cycle: Annotated[str, Form(max_length=16)] = "monthly",
    grade: Annotated[str, Form(max_length=16)] = "general",
    items: Annotated[str, Form(max_length=40000)] = "",
) -> Response:
    """Save the edit as the entry's next version."""
    res = access.get_resource(session, actor=principal, code=code)
    form = {
        "name": name,
        "abstract": abstract,
        "sharing_type": sharing_type,
        "sharing_conditions": sharing_conditions,
        "open_type": open_type,
        "update_cycle": update_cycle,
        "grade": grade,
        "items": items,
    }
    parsed, errors = parse_items(items)
    if not errors:
        try:
            data = ResourceUpdate.model_validate({**form, "items": parsed})
        except ValidationError as exc:
            errors = [f"{'.'.join(map(str, e['loc']))}: 填写有误" for e in exc.errors()]
    if errors:
        return _entry_page(request, principal, form=form, errors=errors, res=res, status_code=422)
    try:
        saved = catalog.update_resource(session, actor=principal, code=code, data=data)
    except AppError as exc:
        session.rollback()
        res = access.get_resource(session, actor=principal, code=code)
        return _entry_page(
            request, principal, form=form, errors=_app_errors(exc), res=res, status_code=exc.status
        )
    return RedirectResponse(notice_url(f"/exchange/resources/{code}", "saved", v=saved.version), 303)


@router.get("/resources/{code}/upload")
def upload_form(request: Request, session: SessionDep, principal: PagePrincipal, code: str) -> Response:
    """The upload form (provider departments only)."""
    res = access.get_resource(session, actor=principal, code=code)
    catalog.require_writer(session, actor=principal, resource=res)
    return render(request, "exchange_upload.html", {"res": res, "preview": None, "errors": None})


@router.post("/resources/{code}/upload")
def upload_submit(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    code: str,
    file: Annotated[UploadFile, File()],
    action: Annotated[str, Form(pattern="^(preview|import)$")] = "preview",
) -> Response:
    """Check the file (preview, nothing stored) or import it as the next version (all rows or none)."""
    content = file.file.read(MAX_UPLOAD + 1)
    res = access.get_resource(session, actor=principal, code=code)
    if len(content) > MAX_UPLOAD:
        ctx = {"res": res, "preview": None, "errors": {"message": "文件超过 20 MB", "rows": []}}
        return render(request, "exchange_upload.html", ctx, status_code=413)
    filename = file.filename or ""
    preview = uploads.preview_upload(session, actor=principal, code=code, content=content, filename=filename)
    if action == "preview" or preview["error_count"] or not preview["total"]:
        status = 422 if action == "import" else 200
        return render(
            request, "exchange_upload.html", {"res": res, "preview": preview, "errors": None}, status
        )
    up = uploads.upload_records(
        session, actor=principal, principal=principal, code=code, content=content, filename=filename
    )
    return RedirectResponse(
        notice_url(f"/exchange/resources/{code}", "imported", v=up.version, n=up.row_count), 303
    )
