"""The case loop in pages: the work lists per role, one case with its timeline, photos and a form for every
step the caller may take now, and the form posts (each calls one service function)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from govgrid.citymap import catalog
from govgrid.citymap.enums import FINAL_STATES, SHANGHAI, CaseAction, CaseState
from govgrid.citymap.pages import common
from govgrid.citymap.services import cases, dispatch, photos, worklists
from govgrid.core.authz.principal import Principal
from govgrid.core.deps import SessionDep, get_locale
from govgrid.core.errors import AppError, NotFoundError, ValidationFailedError
from govgrid.core.pages import PagePrincipal, render, translate

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 30
# the step forms of the case page: every action but collect (a report has its own page)
PAGE_ACTIONS = tuple(a for a in CaseAction if a is not CaseAction.collect)


@router.get("/citymap/work")
def work_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    box: str | None = None,
    page: int = 1,
    done: str | None = None,
) -> HTMLResponse:
    """One work list (待立案, 待派遣, 我的待处置, 待核查, 待评价结案, 超期督办), the most urgent first."""
    mine = worklists.boxes_for(principal)
    chosen = next((b for b in mine if b.value == box), mine[0] if mine else None)
    page = max(1, min(page, 10_000))
    items: list[Any] = []
    total = 0
    if chosen is not None:
        found, total = worklists.box_cases(
            session, principal=principal, box=chosen, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        items = [cases.case_read(c) for c in found]
    return render(
        request,
        "citymap_work.html",
        {
            **common.page_context(request, session, principal),
            "box": chosen.value if chosen else None,
            "items": items,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "tz": SHANGHAI,
            "done": _done(request, done),
        },
    )


def _done(request: Request, action: str | None) -> str | None:
    """The confirmation of a step just taken (by its action name), or None."""
    if action in {a.value for a in PAGE_ACTIONS}:
        return translate(get_locale(request), f"citymap.done.{action}")
    return None


def _case_context(session: Session, principal: Principal, case_id: int, locale: str) -> dict[str, Any]:
    """What the case page shows: facts, photos before and after, timeline, the forms the caller may use."""
    row = cases.read_case(session, principal=principal, case_id=case_id)
    steps = cases.case_steps(session, principal=principal, case_id=case_id)
    actions = worklists.actions_for(session, principal=principal, case=row)
    wants_target = any(a in actions for a in (CaseAction.dispatch, CaseAction.redispatch))
    proposals = []
    if CaseAction.dispatch in actions:
        proposals = dispatch.propose_units(session, principal=principal, case_id=case_id, k=3)
    after = next((s.photo_id for s in reversed(steps) if s.photo_id), None)
    return {
        "case": cases.case_read(row),
        "row": row,
        "steps": steps,
        "actions": [a.value for a in actions],
        "final": CaseState(row.state) in FINAL_STATES,
        "proposals": proposals,
        "proposals_json": [
            {
                "id": p.unit.id,
                "n": i,
                "name": p.unit.name,
                "lat": p.unit.lat,
                "lon": p.unit.lon,
                "distance_m": p.distance_m,
            }
            for i, p in enumerate(proposals, start=1)
        ],
        "departments": worklists.department_choices(session, case=row) if wants_target else [],
        "units": worklists.unit_choices(session, case=row) if wants_target else [],
        "classes": [c for c in common.class_options(locale) if c["kind"] == row.kind],
        "photo_before": row.photo_id,
        "photo_after": after,
        "tz": SHANGHAI,
        "department_name": worklists.department_name(session, row.department_id),
        "unit_name": worklists.unit_name(session, row.unit_id),
        "class_names": {c.code: c.name_zh for c in catalog.catalogue() if c.kind == row.kind},
    }


def _render_case(
    request: Request,
    session: Session,
    principal: Principal,
    case_id: int,
    *,
    error: str | None = None,
    status_code: int = 200,
    done: str | None = None,
) -> HTMLResponse:
    locale = get_locale(request)
    context = _case_context(session, principal, case_id, locale)
    return render(
        request,
        "citymap_case.html",
        {
            **common.page_context(request, session, principal),
            **context,
            "error": error,
            "done": _done(request, done),
            "score_range": range(5, 0, -1),
        },
        status_code=status_code,
    )


@router.get("/citymap/cases/{case_id}")
def case_page(
    case_id: int, request: Request, session: SessionDep, principal: PagePrincipal, done: str | None = None
) -> HTMLResponse:
    """One case: facts, photos before and after, the timeline, a form for each step the caller may take."""
    return _render_case(request, session, principal, case_id, done=done)


def _photo_id(session: Session, principal: Principal, photo: UploadFile | None) -> int | None:
    """The id of a photo sent with a form (None when no file was chosen)."""
    if photo is None or not photo.filename:
        return None
    data = photo.file.read(photos.PHOTO_MAX_BYTES + 1)
    if not data:
        return None
    return photos.save_photo(session, actor=principal, content_type=photo.content_type or "", data=data).id


def _take_step(
    session: Session, principal: Principal, case_id: int, action: CaseAction, form: dict[str, Any]
) -> None:
    """Call the one service function of the step with the form's fields."""
    text = (form.get("note") or "").strip() or None
    if action is CaseAction.file:
        cases.file_case(
            session, principal=principal, case_id=case_id, class_code=form["class_code"] or None, note=text
        )
    elif action is CaseAction.reject:
        cases.reject_case(session, principal=principal, case_id=case_id, reason=_required(form["reason"]))
    elif action in (CaseAction.dispatch, CaseAction.redispatch):
        unit_id = int(form["unit_id"]) if (form["unit_id"] or "").isdigit() else None
        dept = form["department_code"] or None
        if action is CaseAction.dispatch:
            cases.dispatch_case(
                session,
                principal=principal,
                case_id=case_id,
                department_code=dept,
                unit_id=unit_id,
                note=text,
            )
        else:
            cases.redispatch_case(
                session,
                principal=principal,
                case_id=case_id,
                department_code=dept,
                unit_id=unit_id,
                reason=form["reason"],
            )
    elif action is CaseAction.acknowledge:
        cases.acknowledge_case(session, principal=principal, case_id=case_id, note=text)
    elif action is CaseAction.arrive:
        cases.arrive_case(session, principal=principal, case_id=case_id)
    elif action is CaseAction.feedback:
        photo_id = _photo_id(session, principal, form["photo"])
        cases.feedback_case(
            session, principal=principal, case_id=case_id, result=form["result"], photo_id=photo_id
        )
    elif action is CaseAction.send_back:
        cases.send_back_case(session, principal=principal, case_id=case_id, reason=form["reason"])
    elif action in (CaseAction.verify_pass, CaseAction.verify_fail):
        cases.verify_case(
            session, principal=principal, case_id=case_id, passed=action is CaseAction.verify_pass, note=text
        )
    elif action is CaseAction.evaluate:
        score = int(form["score"]) if (form["score"] or "").isdigit() else 0
        cases.evaluate_case(session, principal=principal, case_id=case_id, score=score, note=text)


def _required(text: str) -> str:
    """A reason that must not be empty (422 otherwise)."""
    if not (text or "").strip():
        raise ValidationFailedError(
            "请填写原因 (give the reason)", details=[{"loc": ["reason"], "msg": "empty"}]
        )
    return text.strip()


@router.post("/citymap/cases/{case_id}/{action}")
def take_step(
    case_id: int,
    action: str,
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    note: Annotated[str, Form(max_length=2000)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    result: Annotated[str, Form(max_length=4000)] = "",
    class_code: Annotated[str, Form(max_length=4)] = "",
    department_code: Annotated[str, Form(max_length=64)] = "",
    unit_id: Annotated[str, Form(max_length=12)] = "",
    score: Annotated[str, Form(max_length=2)] = "",
    photo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """A step of the loop from its form; back to the case (or the work list once it has left the caller's
    hands), or the case page again with the reason a person can act on (4xx, nothing written)."""
    step = next((a for a in PAGE_ACTIONS if a.value == action), None)
    if step is None:
        raise NotFoundError(f"没有这个办理环节: {action[:40]} (no such step)")
    form = {
        "note": note,
        "reason": reason,
        "result": result,
        "class_code": class_code,
        "department_code": department_code,
        "unit_id": unit_id,
        "score": score,
        "photo": photo,
    }
    locale = get_locale(request)
    try:
        with session.begin_nested():
            _take_step(session, principal, case_id, step, form)
    except AppError as exc:
        if isinstance(exc, NotFoundError):
            raise
        try:
            return _render_case(
                request,
                session,
                principal,
                case_id,
                error=common.in_language(exc.message, locale),
                status_code=exc.status,
            )
        except NotFoundError:
            raise exc from None
    if not worklists.is_visible(session, principal=principal, case_id=case_id):
        return RedirectResponse(f"/citymap/work?done={step.value}", status_code=303)
    return RedirectResponse(f"/citymap/cases/{case_id}?done={step.value}", status_code=303)
