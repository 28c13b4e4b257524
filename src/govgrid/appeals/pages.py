"""Pages: resident report and tracking, hotline intake, dispatcher inbox, handler work list, supervisor board,
ticket detail with actions, and the public statistics page (charts and map)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from govgrid.appeals import categories, service, stats, views
from govgrid.appeals.messages import MESSAGES
from govgrid.core.audit.service import PublicActor
from govgrid.core.db import utcnow
from govgrid.core.deps import SessionDep
from govgrid.core.errors import AppError, ValidationFailed
from govgrid.core.pages import PagePrincipal, register_messages, render
from govgrid.core.workdays import SHANGHAI

router = APIRouter(prefix="/appeals", include_in_schema=False)

VIEWS = ("inbox", "work", "superior", "supervision", "overdue", "all")


def register() -> None:
    """UI strings (called once at app start)."""
    register_messages(MESSAGES)


register()


def _render(request: Request, name: str, ctx: dict, status_code: int = 200):
    ctx["tz"] = SHANGHAI
    return render(request, name, ctx, status_code=status_code)


def _float(raw: str | None, key: str) -> float | None:
    if raw is None or not raw.strip():
        return None
    try:
        return float(raw)
    except ValueError:
        raise ValidationFailed(
            f"{key} 须为数字 ({key} must be a number)", details=[{"loc": [key], "msg": "number"}]
        ) from None


def _errors(exc: AppError) -> list[str]:
    return [exc.message] + [
        f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg', '')}" for d in exc.details
    ]


@router.get("/report")
def report_form(request: Request):
    """The resident's report form (mobile-friendly; no login)."""
    return _render(
        request, "appeals/report.html", {"categories": categories.CATEGORIES, "errors": [], "form": {}}
    )


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
):
    """Create the ticket and show the number and the tracking code."""
    form = dict(
        description=description,
        category_code=category_code,
        address=address,
        lon=lon,
        lat=lat,
        reporter_name=reporter_name,
        reporter_phone=reporter_phone,
    )
    try:
        default = stats.get_config(session, "open311", {}).get("default_jurisdiction")
        data = service.TicketInput(
            channel="mobile" if channel == "mobile" else "web",
            description=description,
            category_code=category_code or None,
            address=address or None,
            lon=_float(lon, "lon"),
            lat=_float(lat, "lat"),
            default_division_code=default,
            reporter_name=reporter_name or None,
            reporter_phone=reporter_phone or None,
        )
        t = service.create_ticket(session, actor=PublicActor(data.channel), data=data)
    except AppError as exc:
        session.rollback()
        return _render(
            request,
            "appeals/report.html",
            {"categories": categories.CATEGORIES, "errors": _errors(exc), "form": form},
            status_code=exc.status,
        )
    return _render(request, "appeals/report_done.html", {"ticket": t})


@router.get("/track")
def track(request: Request, session: SessionDep, code: str | None = None):
    """Follow a ticket with the tracking code; rate it once answered."""
    ticket, error = None, None
    if code:
        try:
            ticket = views.public_ticket(session, service.by_tracking_code(session, code))
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
):
    """The reporter's rating from the tracking page."""
    try:
        with session.begin_nested():
            t = service.by_tracking_code(session, code)
            service.rate(
                session,
                actor=PublicActor("tracking"),
                ticket=t,
                rating=rating,
                resolved=resolved == "yes",
                comment=comment or None,
                source="citizen",
            )
    except AppError as exc:
        return _render(
            request,
            "appeals/track.html",
            {"ticket": None, "code": code, "error": exc.message},
            status_code=exc.status,
        )
    return RedirectResponse(f"/appeals/track?code={t.tracking_code}", status_code=303)


@router.get("/desk")
def desk(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    view: str | None = None,
    state: str | None = None,
    category: str | None = None,
    page: int = 1,
):
    """Work lists: dispatcher inbox, handler work list, superior list, supervisor board, overdue."""
    if view is None:
        roles = {a.role for a in principal.assignments}
        view = (
            "inbox"
            if "dispatcher" in roles
            else "supervision"
            if "supervisor" in roles
            else "work"
            if roles & {"handler", "operator"}
            else "all"
        )
    if view not in VIEWS:
        view = "all"
    limit = 50
    page = max(page, 1)
    items, total = service.list_tickets(
        session,
        principal=principal,
        view=view,
        state=state or None,
        category=category or None,
        limit=limit,
        offset=(page - 1) * limit,
    )
    names = service.department_names(
        session,
        {
            x
            for t in items
            for x in (t.department_id, t.proposed_department_id, t.escalated_department_id)
            if x
        },
    )
    counts = {
        v: service.list_tickets(session, principal=principal, view=v, limit=1)[1]
        for v in ("inbox", "work", "superior", "supervision", "overdue")
    }
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
def hotline_form(request: Request, principal: PagePrincipal):
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
):
    """Record a call as a ticket."""
    form = dict(
        description=description,
        category_code=category_code,
        address=address,
        lon=lon,
        lat=lat,
        reporter_name=reporter_name,
        reporter_phone=reporter_phone,
        call_ref=call_ref,
    )
    try:
        data = service.TicketInput(
            channel="hotline",
            channel_ref=call_ref or None,
            description=description,
            category_code=category_code or None,
            address=address or None,
            lon=_float(lon, "lon"),
            lat=_float(lat, "lat"),
            reporter_name=reporter_name or None,
            reporter_phone=reporter_phone or None,
        )
        t = service.create_hotline_ticket(session, actor=principal, data=data)
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
):
    """One ticket with its history and the actions the caller may take."""
    t = service.get_visible(session, principal=principal, ticket_id=ticket_id)
    data = views.read(session, principal, t)
    candidates = service.candidate_units(session, t)
    names = service.department_names(
        session, {x for x in (t.proposed_department_id, t.escalated_department_id) if x}
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
            "can": {
                "dispatch": t.state == "pending" and service._dispatcher_for(principal, t),
                "handle": t.department_id is not None and service.can_handle(session, principal, t),
                "survey": t.state in ("answered", "closed") and service.can_survey(principal, t),
                "supervise": service._is_supervisor_of(principal, t),
            },
        },
    )


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
):
    """Every action button on the ticket page posts here."""
    try:
        t = service.get_visible(session, principal=principal, ticket_id=ticket_id)
        if action == "dispatch":
            service.dispatch(
                session,
                actor=principal,
                ticket=t,
                department_id=int(department_id) if department_id else None,
                category_code=category_code or None,
                note=text or None,
            )
        elif action == "sign":
            service.sign(session, actor=principal, ticket=t)
        elif action == "contact":
            service.contact(session, actor=principal, ticket=t, note=text or None)
        elif action == "answer":
            service.answer(session, actor=principal, ticket=t, text=text)
        elif action == "return":
            service.return_ticket(session, actor=principal, ticket=t, reason=text)
        elif action == "survey":
            if not service.can_survey(principal, t):
                raise ValidationFailed("无权回访 (you may not survey this ticket)")
            service.rate(
                session,
                actor=principal,
                ticket=t,
                rating=rating,
                resolved=resolved == "yes",
                comment=text or None,
                source="survey",
            )
        elif action == "merge":
            target = service.by_number(session, into.strip())
            if target is None:
                raise ValidationFailed("目标工单号不存在 (no ticket with that number)")
            service.merge(
                session,
                actor=principal,
                ticket=t,
                into=service.get_visible(session, principal=principal, ticket_id=target.id),
            )
        elif action in ("comment", "summon", "accountability"):
            service.supervise(session, actor=principal, ticket=t, action=action, text=text)
        else:
            raise ValidationFailed(f"未知操作 {action} (unknown action)")
    except (AppError, ValueError) as exc:
        session.rollback()  # nothing half-done survives a refused action
        msg = exc.message if isinstance(exc, AppError) else str(exc)
        return RedirectResponse(f"/appeals/tickets/{ticket_id}?error={quote(msg[:300])}", status_code=303)
    return RedirectResponse(f"/appeals/tickets/{ticket_id}", status_code=303)


@router.get("/stats")
def stats_page(request: Request, session: SessionDep, division: str | None = None):
    """Public statistics: 三率, trend, rankings, hot spots and a map (no personal data)."""
    root = views.stats_root(session, division)
    return _render(request, "appeals/stats.html", {"root": root})


@router.get("/stats/monthly")
def monthly_page(
    request: Request, session: SessionDep, month: str | None = None, division: str | None = None
):
    """The monthly report (public; no personal data)."""
    today = utcnow().astimezone(SHANGHAI).date()
    if not month:
        prev = today.replace(day=1) - timedelta(days=1)
        month = prev.strftime("%Y-%m")
    if len(month) != 7 or month[4] != "-" or not (month[:4] + month[5:]).isdigit():
        raise ValidationFailed(
            "月份格式应为 YYYY-MM (month must be YYYY-MM)", details=[{"loc": ["month"], "msg": "YYYY-MM"}]
        )
    report = views.monthly_report(session, division=division, month=month)
    return _render(request, "appeals/monthly.html", {"r": report, "cat": categories.BY_CODE})
