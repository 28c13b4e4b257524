"""Pages: resident report and tracking, hotline intake, dispatcher inbox, handler work list, supervisor board,
ticket detail with actions, and the public statistics page (charts and map)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from govgrid.appeals import categories
from govgrid.appeals.enums import Channel, SupervisionAction, TicketAction, WorkView
from govgrid.appeals.messages import MESSAGES
from govgrid.appeals.models import Ticket
from govgrid.appeals.services import (
    access,
    config,
    escalation,
    intake,
    public,
    queries,
    ratings,
    reports,
    routing,
    views,
    workflow,
)
from govgrid.core.audit.service import PublicActor
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.deps import SessionDep
from govgrid.core.errors import AppError, ValidationFailedError
from govgrid.core.pages import PagePrincipal, register_messages, render
from govgrid.core.workdays import SHANGHAI

router = APIRouter(prefix="/appeals", include_in_schema=False)

VIEWS = tuple(WorkView)
PAGE_SIZE = 50


def register() -> None:
    """UI strings (called once at app start)."""
    register_messages(MESSAGES)


register()


def _render(request: Request, name: str, ctx: dict[str, Any], status_code: int = 200) -> Response:
    """Render an appeals template (times shown in Asia/Shanghai)."""
    ctx["tz"] = SHANGHAI
    return render(request, name, ctx, status_code=status_code)


def _float(raw: str | None, key: str) -> float | None:
    """A form field as a number (empty: None), or 422 naming the field."""
    if raw is None or not raw.strip():
        return None
    try:
        return float(raw)
    except ValueError:
        raise ValidationFailedError(
            f"{key} 须为数字 ({key} must be a number)", details=[{"loc": [key], "msg": "number"}]
        ) from None


def _errors(exc: AppError) -> list[str]:
    """The lines a form shows for a refused submission."""
    return [exc.message] + [
        f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg', '')}" for d in exc.details
    ]


def _report_ctx(session: Session, form: dict[str, Any], errors: list[str]) -> dict[str, Any]:
    """The report form's context: categories, the counties and townships to choose from, the place so far."""
    place = None
    if not errors and (form.get("address") or form.get("county_code") or form.get("township_code")):
        div = routing.resolve_place(
            session,
            address=form.get("address"),
            county_code=form.get("county_code") or None,
            township_code=form.get("township_code") or None,
        )
        place = routing.place_label(session, code=div.code) if div is not None else None
    return {
        "categories": categories.CATEGORIES,
        "counties": routing.served_counties(session),
        "errors": errors,
        "form": form,
        "place": place,
    }


@router.get("/report")
def report_form(request: Request, session: SessionDep) -> Response:
    """The resident's report form (mobile-friendly; no login)."""
    return _render(request, "appeals/report.html", _report_ctx(session, {}, []))


@router.get("/report/place")
def report_place(
    session: SessionDep, address: str = "", county_code: str = "", township_code: str = ""
) -> dict[str, Any]:
    """Where a report would land (county, township, village), shown in the form before it is submitted."""
    div = routing.resolve_place(
        session,
        address=address[: intake.MAX_ADDRESS],
        county_code=county_code or None,
        township_code=township_code or None,
    )
    if div is None:
        default = config.default_jurisdiction(session)
        return {"place": routing.place_label(session, code=default), "resolved": False}
    return {"place": routing.place_label(session, code=div.code), "resolved": True}


@router.post("/report")
def report_submit(
    request: Request,
    session: SessionDep,
    description: Annotated[str, Form()] = "",
    category_code: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
    lon: Annotated[str, Form()] = "",
    lat: Annotated[str, Form()] = "",
    reporter_name: Annotated[str, Form()] = "",
    reporter_phone: Annotated[str, Form()] = "",
    channel: Annotated[str, Form()] = "web",
    county_code: Annotated[str, Form()] = "",
    township_code: Annotated[str, Form()] = "",
    step: Annotated[str, Form()] = "submit",
) -> Response:
    """Create the ticket and show its number and tracking code (`step=check`: show where it would land)."""
    form = {
        "description": description,
        "category_code": category_code,
        "county_code": county_code,
        "township_code": township_code,
        "address": address,
        "lon": lon,
        "lat": lat,
        "reporter_name": reporter_name,
        "reporter_phone": reporter_phone,
    }
    try:
        if step == "check":
            return _render(request, "appeals/report.html", _report_ctx(session, form, []))
        default = config.default_jurisdiction(session)
        data = intake.TicketInput(
            channel=Channel.mobile if channel == Channel.mobile else Channel.web,
            description=description,
            category_code=category_code or None,
            address=address or None,
            lon=_float(lon, "lon"),
            lat=_float(lat, "lat"),
            default_division_code=default,
            county_code=county_code or None,
            township_code=township_code or None,
            reporter_name=reporter_name or None,
            reporter_phone=reporter_phone or None,
        )
        t = intake.create_ticket(session, actor=PublicActor(data.channel), data=data)
    except AppError as exc:
        session.rollback()
        return _render(
            request,
            "appeals/report.html",
            _report_ctx(session, form, _errors(exc)),
            status_code=exc.status,
        )
    place = routing.place_label(session, code=t.division_code)
    return _render(request, "appeals/report_done.html", {"ticket": t, "place": place})


@router.get("/track")
def track(request: Request, session: SessionDep, code: str | None = None) -> Response:
    """Follow a ticket with the tracking code; rate it once answered."""
    ticket, error = None, None
    if code:
        try:
            ticket = public.track(session, code=code)
        except AppError as exc:
            error = exc.message
    return _render(
        request,
        "appeals/track.html",
        {"ticket": ticket, "code": code or "", "error": error},
        status_code=404 if error else 200,
    )


@router.post("/track")
def track_rate(
    request: Request,
    session: SessionDep,
    code: Annotated[str, Form()] = "",
    rating: Annotated[str, Form()] = "",
    resolved: Annotated[str, Form()] = "yes",
    comment: Annotated[str, Form()] = "",
) -> Response:
    """The reporter's rating from the tracking page."""
    try:
        with session.begin_nested():
            t = public.rate_by_tracking_code(
                session, code=code, rating=rating, resolved=resolved == "yes", comment=comment or None
            )
    except AppError as exc:
        return _render(
            request,
            "appeals/track.html",
            {"ticket": None, "code": code, "error": exc.message},
            status_code=exc.status,
        )
    return RedirectResponse(f"/appeals/track?code={t.tracking_code}", status_code=303)


def _default_view(principal: Principal) -> WorkView:
    """The list a user lands on: dispatchers their inbox, supervisors their board, handlers work."""
    roles = {a.role for a in principal.assignments}
    if "dispatcher" in roles:
        return WorkView.inbox
    if "supervisor" in roles:
        return WorkView.supervision
    if roles & {"handler", "operator"}:
        return WorkView.work
    return WorkView.all


@router.get("/desk")
def desk(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    view: str | None = None,
    state: str | None = None,
    category: str | None = None,
    page: int = 1,
) -> Response:
    """Work lists: dispatcher inbox, handler work list, superior list, supervisor board, overdue."""
    if view is None:
        view = _default_view(principal)
    if view not in VIEWS:
        view = WorkView.all
    limit = PAGE_SIZE
    page = max(page, 1)
    items, total = queries.list_tickets(
        session,
        principal=principal,
        view=view,
        state=state or None,
        category=category or None,
        limit=limit,
        offset=(page - 1) * limit,
    )
    names = queries.department_names(
        session,
        ids={
            x
            for t in items
            for x in (t.department_id, t.proposed_department_id, t.escalated_department_id)
            if x
        },
    )
    counts = queries.work_counts(session, principal=principal)
    return _render(
        request,
        "appeals/desk.html",
        {
            "view": view,
            "items": [(t, views.summary(t)) for t in items],
            "total": total,
            "page": page,
            "pages": max(1, -(-total // limit)),
            "names": names,
            "counts": counts,
            "categories": categories.BY_CODE,
            "state": state or "",
            "category": category or "",
        },
    )


@router.get("/hotline")
def hotline_form(request: Request, principal: PagePrincipal) -> Response:
    """The call-taker's form."""
    return _render(
        request,
        "appeals/hotline.html",
        {"categories": categories.CATEGORIES, "errors": [], "form": {}, "created": None},
    )


@router.post("/hotline")
def hotline_submit(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    description: Annotated[str, Form()] = "",
    category_code: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
    lon: Annotated[str, Form()] = "",
    lat: Annotated[str, Form()] = "",
    reporter_name: Annotated[str, Form()] = "",
    reporter_phone: Annotated[str, Form()] = "",
    call_ref: Annotated[str, Form()] = "",
) -> Response:
    """Record a call as a ticket."""
    form = {
        "description": description,
        "category_code": category_code,
        "address": address,
        "lon": lon,
        "lat": lat,
        "reporter_name": reporter_name,
        "reporter_phone": reporter_phone,
        "call_ref": call_ref,
    }
    try:
        data = intake.TicketInput(
            channel=Channel.hotline,
            channel_ref=call_ref or None,
            description=description,
            category_code=category_code or None,
            address=address or None,
            lon=_float(lon, "lon"),
            lat=_float(lat, "lat"),
            reporter_name=reporter_name or None,
            reporter_phone=reporter_phone or None,
        )
        t = intake.create_hotline_ticket(session, actor=principal, data=data)
    except AppError as exc:
        session.rollback()
        return _render(
            request,
            "appeals/hotline.html",
            {"categories": categories.CATEGORIES, "errors": _errors(exc), "form": form, "created": None},
            status_code=exc.status,
        )
    return _render(
        request,
        "appeals/hotline.html",
        {"categories": categories.CATEGORIES, "errors": [], "form": {}, "created": t},
    )


@router.get("/tickets/{ticket_id}")
def ticket_page(
    request: Request, ticket_id: int, session: SessionDep, principal: PagePrincipal, error: str | None = None
) -> Response:
    """One ticket with its history and the actions the caller may take."""
    t = access.get_visible(session, principal=principal, ticket_id=ticket_id)
    data = views.read(session, principal=principal, ticket=t)
    candidates = routing.candidate_units(session, division_code=t.division_code)
    names = queries.department_names(
        session, ids={x for x in (t.proposed_department_id, t.escalated_department_id) if x}
    )
    return _render(
        request,
        "appeals/ticket.html",
        {
            "tk": data,
            "names": names,
            "units": candidates,
            "categories": categories.CATEGORIES,
            "cat": categories.BY_CODE,
            "error": error,
            "can": access.allowed_actions(session, principal=principal, ticket=t),
        },
    )


@dataclass
class _ActForm:
    """The fields of the ticket page's action form."""

    action: str
    text: str
    department_id: str
    category_code: str
    rating: str
    resolved: str
    into: str


def _apply(session: Session, principal: Principal, t: Ticket, f: _ActForm) -> None:
    """Run one action button's service call (refusals raise)."""
    if f.action == TicketAction.dispatch:
        workflow.dispatch(
            session,
            actor=principal,
            ticket=t,
            department_id=int(f.department_id) if f.department_id else None,
            category_code=f.category_code or None,
            note=f.text or None,
        )
    elif f.action == TicketAction.sign:
        workflow.sign(session, actor=principal, ticket=t)
    elif f.action == TicketAction.contact:
        workflow.contact(session, actor=principal, ticket=t, note=f.text or None)
    elif f.action == TicketAction.answer:
        workflow.answer(session, actor=principal, ticket=t, text=f.text)
    elif f.action == TicketAction.return_:
        workflow.return_ticket(session, actor=principal, ticket=t, reason=f.text)
    elif f.action == TicketAction.survey:
        if not access.can_survey(principal, t):
            raise ValidationFailedError("无权回访 (you may not survey this ticket)")
        ratings.survey(
            session,
            actor=principal,
            ticket=t,
            rating=f.rating,
            resolved=f.resolved == "yes",
            comment=f.text or None,
        )
    elif f.action == TicketAction.merge:
        target = queries.by_number(session, number=f.into.strip())
        if target is None:
            raise ValidationFailedError("目标工单号不存在 (no ticket with that number)")
        into = access.get_visible(session, principal=principal, ticket_id=target.id)
        workflow.merge(session, actor=principal, ticket=t, into=into)
    elif f.action in tuple(SupervisionAction):
        escalation.supervise(session, actor=principal, ticket=t, action=f.action, text=f.text)
    else:
        raise ValidationFailedError(f"未知操作 {f.action} (unknown action)")


@router.post("/tickets/{ticket_id}/act")
def ticket_act(
    request: Request,
    ticket_id: int,
    session: SessionDep,
    principal: PagePrincipal,
    action: Annotated[str, Form()],
    text: Annotated[str, Form()] = "",
    department_id: Annotated[str, Form()] = "",
    category_code: Annotated[str, Form()] = "",
    rating: Annotated[str, Form()] = "",
    resolved: Annotated[str, Form()] = "yes",
    into: Annotated[str, Form()] = "",
) -> Response:
    """Every action button on the ticket page posts here."""
    form = _ActForm(action, text, department_id, category_code, rating, resolved, into)
    try:
        t = access.get_visible(session, principal=principal, ticket_id=ticket_id)
        _apply(session, principal, t, form)
    except (AppError, ValueError) as exc:
        session.rollback()  # nothing half-done survives a refused action
        msg = exc.message if isinstance(exc, AppError) else str(exc)
        return RedirectResponse(f"/appeals/tickets/{ticket_id}?error={quote(msg[:300])}", status_code=303)
    return RedirectResponse(f"/appeals/tickets/{ticket_id}", status_code=303)


@router.get("/stats")
def stats_page(request: Request, session: SessionDep, division: str | None = None) -> Response:
    """Public statistics: 三率, trend, rankings, hot spots and a map (no personal data)."""
    root = reports.stats_root(session, code=division)
    return _render(request, "appeals/stats.html", {"root": root})


@router.get("/stats/monthly")
def monthly_page(
    request: Request, session: SessionDep, month: str | None = None, division: str | None = None
) -> Response:
    """The monthly report (public; no personal data)."""
    today = utcnow().astimezone(SHANGHAI).date()
    if not month:
        prev = today.replace(day=1) - timedelta(days=1)
        month = prev.strftime("%Y-%m")
    if len(month) != 7 or month[4] != "-" or not (month[:4] + month[5:]).isdigit():
        raise ValidationFailedError(
            "月份格式应为 YYYY-MM (month must be YYYY-MM)", details=[{"loc": ["month"], "msg": "YYYY-MM"}]
        )
    report = reports.monthly_report(session, division=division, month=month)
    return _render(request, "appeals/monthly.html", {"r": report, "cat": categories.BY_CODE})
