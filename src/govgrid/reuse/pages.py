"""Pages of the reuse module (zh-CN first): the pack catalogue with export, install preview (the diff first),
install and uninstall for a division admin; the case library with submit, review, promote and rate."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from govgrid.core import ports
from govgrid.core.deps import SessionDep
from govgrid.core.errors import AppError, ValidationFailedError
from govgrid.core.pages import PagePrincipal, register_messages, render
from govgrid.reuse.enums import CASE_LIFECYCLE, CaseState
from govgrid.reuse.messages import MESSAGES
from govgrid.reuse.services import access, cases, packs

router = APIRouter(prefix="/reuse", include_in_schema=False)
ID = Annotated[int, Path(ge=1, le=2_147_483_647)]
register_messages(MESSAGES)
EXAMPLE_MAPPING = '{\n  "lines": {},\n  "deadlines": {}\n}'


def _fail(request: Request, session: Session, exc: AppError, back: str) -> HTMLResponse:
    """A page saying what went wrong and how to go back; nothing of the failed action is kept."""
    session.rollback()
    return render(
        request, "reuse/error.html", {"message": exc.message, "details": exc.details, "back": back},
        status_code=exc.status,
    )


@router.get("")
def reuse_home() -> RedirectResponse:
    """The module's entry: the pack catalogue."""
    return RedirectResponse("/reuse/packs", status_code=303)


@router.get("/packs")
def packs_page(
    request: Request, session: SessionDep, principal: PagePrincipal, done: str = ""
) -> HTMLResponse:
    """The catalogue, the packs installed in the caller's divisions and the export form."""
    rows = packs.list_packs(session, actor=principal)
    installs = packs.list_installations(session, actor=principal)
    return render(request, "reuse/packs.html", {
        "packs": rows,
        "adopters": packs.adopter_counts(session),
        "installs": installs,
        "admin": access.admin_divisions(principal),
        "modules": _modules(),
        "done": done if done in ("installed", "uninstalled") else "",
    })


def _modules() -> list[str]:
    """The modules a pack can be exported from, and the services + catalog pack when both are offered."""
    names = sorted({s.module for s in ports.pack_sections()})
    return names + (["services,exchange"] if {"services", "exchange"} <= set(names) else [])


@router.post("/packs/export")
def export_submit(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    division_code: Annotated[str, Form(max_length=12)] = "",
    module: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Export the division's configuration and show the new pack."""
    try:
        pack = packs.export_pack(session, actor=principal, division_code=division_code, module=module)
    except AppError as exc:
        return _fail(request, session, exc, "/reuse/packs")
    return RedirectResponse(f"/reuse/packs/{pack.id}", status_code=303)


def _pack_context(session: Session, principal: Any, pack_row_id: int) -> dict[str, Any]:
    pack = packs.get_pack(session, actor=principal, pack_row_id=pack_row_id)
    rows = packs.list_installations(session, actor=principal, pack_id=pack.pack_id)
    installed = {i.division_code: i for i in rows if i.state == "installed"}
    return {
        "pack": pack,
        "manifest": pack.document.get("manifest", {}),
        "admin": access.admin_divisions(principal),
        "installed": installed,
        "mapping": EXAMPLE_MAPPING,
        "division_code": "",
        "plans": None,
    }


@router.get("/packs/{pack_row_id}")
def pack_page(
    request: Request, session: SessionDep, principal: PagePrincipal, pack_row_id: ID, done: str = ""
) -> Response:
    """One pack: its manifest, where it is installed, and the preview form."""
    ctx = _pack_context(session, principal, pack_row_id)  # a missing or foreign pack: the site's error page
    ctx["done"] = done if done in ("installed", "uninstalled") else ""
    return render(request, "reuse/pack.html", ctx)


def _mapping(text: str) -> dict[str, Any]:
    """The mapping typed in the form (a 422 naming the problem when it is not a JSON object)."""
    try:
        value = json.loads(text or "{}")
    except ValueError as exc:
        raise ValidationFailedError(
            f"参数映射不是有效的 JSON：第 {exc.lineno} 行附近有误 (the mapping is not valid JSON)"
            if hasattr(exc, "lineno") else "参数映射不是有效的 JSON (the mapping is not valid JSON)",
            details=[{"loc": ["form", "mapping"], "msg": str(exc)[:200]}],
        ) from None
    if not isinstance(value, dict):
        raise ValidationFailedError("参数映射应为 JSON 对象 (the mapping must be an object)")
    return value


@router.post("/packs/{pack_row_id}/preview")
def preview_submit(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    pack_row_id: ID,
    division_code: Annotated[str, Form(max_length=12)] = "",
    mapping: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    """The diff installing the pack would make in the division (nothing written)."""
    back = f"/reuse/packs/{pack_row_id}"
    try:
        ctx = _pack_context(session, principal, pack_row_id)
        ctx["plans"] = packs.preview(session, actor=principal, pack=ctx["pack"], division_code=division_code,
                                     mapping=_mapping(mapping))
    except AppError as exc:
        return _fail(request, session, exc, back)
    ctx.update({"mapping": mapping, "division_code": division_code, "done": ""})
    return render(request, "reuse/pack.html", ctx)


@router.post("/packs/{pack_row_id}/install")
def install_submit(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    pack_row_id: ID,
    division_code: Annotated[str, Form(max_length=12)] = "",
    mapping: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    """Install the pack with the mapping previewed (all or nothing)."""
    back = f"/reuse/packs/{pack_row_id}"
    try:
        pack = packs.get_pack(session, actor=principal, pack_row_id=pack_row_id)
        packs.install(session, actor=principal, pack=pack, division_code=division_code,
                      mapping=_mapping(mapping))
    except AppError as exc:
        return _fail(request, session, exc, back)
    return RedirectResponse(f"{back}?done=installed", status_code=303)


@router.post("/installations/{installation_id}/uninstall")
def uninstall_submit(
    request: Request, session: SessionDep, principal: PagePrincipal, installation_id: ID
) -> Response:
    """Uninstall and restore the division's previous settings."""
    try:
        row = packs.get_installation(session, actor=principal, installation_id=installation_id)
        packs.uninstall(session, actor=principal, pack_id=row.pack_id, division_code=row.division_code)
    except AppError as exc:
        return _fail(request, session, exc, "/reuse/packs")
    return RedirectResponse(f"/reuse/packs/{row.pack_row_id}?done=uninstalled", status_code=303)


def _figures(text: str, field: str) -> dict[str, float]:
    """Figures typed one "name=value" per line."""
    out: dict[str, float] = {}
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.replace("\uff1d", "=").partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError(line)
            out[name.strip()] = float(value.strip().rstrip("%"))
        except ValueError:
            raise ValidationFailedError(
                f"第 {n} 行应为“指标=数值”，例如“按期办结率=96.5” (line {n}: name=value)",
                details=[{"loc": ["form", field, n], "msg": line[:80]}],
            ) from None
    return out


@router.get("/cases")
def cases_page(request: Request, session: SessionDep, principal: PagePrincipal, state: str = "") -> Response:
    """The case library and the submit form."""
    wanted = state if state in {s.value for s in CaseState} else None
    rows = cases.list_cases(session, actor=principal, state=wanted)
    pack_ids = sorted({p.pack_id for p in packs.list_packs(session, actor=principal)})
    return render(request, "reuse/cases.html", {
        "cases": rows, "state": wanted or "", "states": [s.value for s in CaseState],
        "admin": access.admin_divisions(principal), "pack_ids": pack_ids,
    })


@router.post("/cases")
def case_submit(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    division_code: Annotated[str, Form(max_length=12)] = "",
    title: Annotated[str, Form(max_length=200)] = "",
    summary: Annotated[str, Form(max_length=4000)] = "",
    pack_id: Annotated[str, Form(max_length=80)] = "",
    measures_before: Annotated[str, Form(max_length=2000)] = "",
    measures_after: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Submit (or nominate) a case."""
    try:
        case = cases.submit(
            session, actor=principal, division_code=division_code, title=title, summary=summary,
            pack_id=pack_id or None, measures_before=_figures(measures_before, "measures_before"),
            measures_after=_figures(measures_after, "measures_after"),
        )
    except AppError as exc:
        return _fail(request, session, exc, "/reuse/cases")
    return RedirectResponse(f"/reuse/cases/{case.id}", status_code=303)


@router.get("/cases/{case_id}")
def case_page(request: Request, session: SessionDep, principal: PagePrincipal, case_id: ID) -> Response:
    """One case: figures before and after, its pack, and the actions that lead on."""
    case = cases.get_case(session, actor=principal, case_id=case_id)  # 404/403: the site's error page
    names = list(dict.fromkeys([*case.measures_before, *case.measures_after]))
    return render(request, "reuse/case.html", {
        "case": case, "names": names, "next": {str(s) for s in CASE_LIFECYCLE.next_states(case.state)},
        "current": cases.current_measures(session, actor=principal, case_id=case.id),
        "effects": cases.adoption_effects(session, actor=principal, case_id=case.id),
        "published": case.state in ("accepted", "recommended_provincial", "recommended_national"),
    })


@router.post("/cases/{case_id}/action")
def case_action(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    case_id: ID,
    action: Annotated[str, Form(max_length=32)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    score: Annotated[str, Form(max_length=2)] = "",
) -> Response:
    """Review, accept, reject, promote, resubmit or rate a case (the service decides who may)."""
    back = f"/reuse/cases/{case_id}"
    try:
        if action == "review":
            cases.start_review(session, actor=principal, case_id=case_id)
        elif action in ("accept", "reject"):
            cases.decide(session, actor=principal, case_id=case_id, accept=action == "accept", note=note)
        elif action in ("provincial", "national"):
            cases.promote(session, actor=principal, case_id=case_id, level=action)
        elif action == "resubmit":
            cases.resubmit(session, actor=principal, case_id=case_id)
        elif action == "rate":
            if not score.isdigit():
                raise ValidationFailedError("请选择 1-5 分 (choose a score 1-5)",
                                            details=[{"loc": ["form", "score"], "msg": score[:2]}])
            cases.rate(session, actor=principal, case_id=case_id, score=int(score), comment=note)
        else:
            raise ValidationFailedError(f"未知的操作 {action[:32]} (unknown action)")
    except AppError as exc:
        return _fail(request, session, exc, back)
    return RedirectResponse(back, status_code=303)
