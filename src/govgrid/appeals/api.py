"""JSON API under /api/v1/appeals: resident intake and tracking, work lists, transitions, statistics."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response
from sqlalchemy.orm import Session

from govgrid.appeals import categories, idempotent, service, stats, views
from govgrid.appeals import schemas as s
from govgrid.appeals.models import Ticket
from govgrid.core.audit.service import PublicActor
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.deps import CurrentPrincipal, PageDep, SessionDep
from govgrid.core.errors import Forbidden, ValidationFailed

router = APIRouter(prefix="/appeals", tags=["appeals"])
PUBLIC = {"x-public": True}  # residents and the public statistics need no login


def _created(session: Session, t: Ticket) -> s.TicketCreated:
    names = service.department_names(
        session, {t.proposed_department_id} if t.proposed_department_id else set()
    )
    return s.TicketCreated(
        number=t.number,
        tracking_code=t.tracking_code,
        state=t.state,
        category_code=t.category_code,
        proposed_department=names.get(t.proposed_department_id),
    )


def _input(body: s.TicketCreate, channel: str, ref: str | None = None) -> service.TicketInput:
    return service.TicketInput(
        channel=channel,
        channel_ref=ref,
        description=body.description,
        category_code=body.category_code,
        lon=body.lon,
        lat=body.lat,
        address=body.address,
        default_division_code=body.division_code,
        reporter_name=body.reporter_name,
        reporter_phone=body.reporter_phone,
    )


@router.get("/categories", openapi_extra=PUBLIC)
def list_categories() -> list[dict[str, Any]]:
    """The appeal categories, their responsible line and clocks (public)."""
    return [
        {
            "code": c.code,
            "name_zh": c.name_zh,
            "name_en": c.name_en,
            "line": c.line,
            "sign_hours": c.sign_hours,
            "contact_hours": c.contact_hours,
            "resolve_days": c.resolve_days,
            "city_event": c.city_event,
        }
        for c in categories.CATEGORIES
    ]


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=idempotent.HEADER,
        description="optional: a retry with the same key returns the first ticket (header Idempotent-Replayed: true)",
    ),
]


def _answer(response: Response, answer: dict[str, Any], replayed: bool) -> s.TicketCreated:
    if replayed:
        response.headers[idempotent.REPLAYED_HEADER] = "true"
    return s.TicketCreated(**answer)


@router.post("/tickets", response_model=s.TicketCreated, status_code=201, openapi_extra=PUBLIC)
def report(
    body: s.TicketCreate, session: SessionDep, response: Response, key: IdempotencyKey = None
) -> s.TicketCreated:
    """A resident reports a concern (web form or mobile page; no login needed)."""
    content = body.model_dump(mode="json")

    def create() -> tuple[Ticket, dict[str, Any]]:
        if not body.division_code and body.lon is None:
            body.division_code = stats.get_config(session, "open311", {}).get("default_jurisdiction")
        t = service.create_ticket(session, actor=PublicActor(body.channel), data=_input(body, body.channel))
        return t, _created(session, t).model_dump(mode="json")

    answer, replayed = idempotent.once(
        session, key=key, scope=idempotent.scope("ticket"), content=content, create=create
    )
    return _answer(response, answer, replayed)


@router.post("/hotline", response_model=s.TicketCreated, status_code=201)
def hotline(
    body: s.HotlineCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    key: IdempotencyKey = None,
) -> s.TicketCreated:
    """A call-taker records a hotline call (only into its own territory)."""

    def create() -> tuple[Ticket, dict[str, Any]]:
        data = _input(body, "hotline", body.call_ref)
        t = service.create_hotline_ticket(session, actor=principal, data=data)
        return t, _created(session, t).model_dump(mode="json")

    answer, replayed = idempotent.once(
        session,
        key=key,
        scope=idempotent.scope("hotline", principal),
        content=body.model_dump(mode="json"),
        create=create,
    )
    return _answer(response, answer, replayed)


@router.get("/track/{tracking_code}", response_model=s.PublicTicket, openapi_extra=PUBLIC)
def track(tracking_code: str, session: SessionDep) -> s.PublicTicket:
    """The reporter follows a ticket with the tracking code (no personal data shown)."""
    return views.public_ticket(session, service.by_tracking_code(session, tracking_code))


@router.post("/track/{tracking_code}/rating", response_model=s.PublicTicket, openapi_extra=PUBLIC)
def rate(tracking_code: str, body: s.RatingRequest, session: SessionDep) -> s.PublicTicket:
    """The reporter rates the answer; 'not resolved' reopens and escalates the ticket."""
    t = service.by_tracking_code(session, tracking_code)
    service.rate(
        session,
        actor=PublicActor("tracking"),
        ticket=t,
        rating=body.rating,
        resolved=body.resolved,
        comment=body.comment,
        source="citizen",
    )
    return views.public_ticket(session, t)


@router.get("/tickets", response_model=s.TicketPage)
def list_tickets(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageDep,
    view: Literal["inbox", "work", "superior", "supervision", "overdue", "all"] = "all",
    state: str | None = None,
    category: str | None = None,
    division: str | None = None,
    q: str | None = None,
) -> s.TicketPage:
    """Work lists in the caller's scope: inbox (dispatcher), work (handler), superior, supervision, overdue."""
    items, total = service.list_tickets(
        session,
        principal=principal,
        view=view,
        state=state,
        category=category,
        division=division,
        q=q,
        limit=page.limit,
        offset=page.offset,
    )
    return s.TicketPage(
        items=[views.summary(t) for t in items], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/tickets/{ticket_id}", response_model=s.TicketRead)
def get_ticket(ticket_id: int, session: SessionDep, principal: CurrentPrincipal) -> s.TicketRead:
    """One ticket in scope with its history; the reporter only for the handling unit and supervisors."""
    return views.read(
        session, principal, service.get_visible(session, principal=principal, ticket_id=ticket_id)
    )


def _act(session: Session, principal: Principal, ticket_id: int) -> Ticket:
    return service.get_visible(session, principal=principal, ticket_id=ticket_id)


@router.post("/tickets/{ticket_id}/dispatch", response_model=s.TicketRead)
def dispatch(
    ticket_id: int, body: s.DispatchRequest, session: SessionDep, principal: CurrentPrincipal
) -> s.TicketRead:
    """Confirm or change the proposed unit (and category)."""
    t = service.dispatch(
        session,
        actor=principal,
        ticket=_act(session, principal, ticket_id),
        department_id=body.department_id,
        category_code=body.category_code,
        note=body.note,
    )
    return views.read(session, principal, t)


@router.post("/tickets/{ticket_id}/sign", response_model=s.TicketRead)
def sign(ticket_id: int, session: SessionDep, principal: CurrentPrincipal) -> s.TicketRead:
    """The responsible unit signs for the ticket."""
    return views.read(
        session, principal, service.sign(session, actor=principal, ticket=_act(session, principal, ticket_id))
    )


@router.post("/tickets/{ticket_id}/contact", response_model=s.TicketRead)
def contact(
    ticket_id: int, body: s.TextRequest, session: SessionDep, principal: CurrentPrincipal
) -> s.TicketRead:
    """Record the first contact with the reporter."""
    t = service.contact(
        session, actor=principal, ticket=_act(session, principal, ticket_id), note=body.text or None
    )
    return views.read(session, principal, t)


@router.post("/tickets/{ticket_id}/answer", response_model=s.TicketRead)
def answer(
    ticket_id: int, body: s.TextRequest, session: SessionDep, principal: CurrentPrincipal
) -> s.TicketRead:
    """Answer the reporter with what was done."""
    t = service.answer(session, actor=principal, ticket=_act(session, principal, ticket_id), text=body.text)
    return views.read(session, principal, t)


@router.post("/tickets/{ticket_id}/return", response_model=s.TicketRead)
def return_ticket(
    ticket_id: int, body: s.TextRequest, session: SessionDep, principal: CurrentPrincipal
) -> s.TicketRead:
    """Return a ticket that is not the unit's business to the dispatcher."""
    t = service.return_ticket(
        session, actor=principal, ticket=_act(session, principal, ticket_id), reason=body.text
    )
    return views.read(session, principal, t)


@router.post("/tickets/{ticket_id}/survey", response_model=s.TicketRead)
def survey(
    ticket_id: int, body: s.RatingRequest, session: SessionDep, principal: CurrentPrincipal
) -> s.TicketRead:
    """An operator records a callback survey (回访)."""
    policy.require_role(principal, "operator", "dispatcher", "admin")
    t = _act(session, principal, ticket_id)
    if not service.can_survey(principal, t):
        raise Forbidden(
            "只有该辖区 12345 热线的话务员/派遣员可以回访 (only this territory's hotline staff may survey)"
        )
    service.rate(
        session,
        actor=principal,
        ticket=t,
        rating=body.rating,
        resolved=body.resolved,
        comment=body.comment,
        source="survey",
    )
    return views.read(session, principal, t)


@router.post("/tickets/{ticket_id}/merge", response_model=s.TicketRead)
def merge(
    ticket_id: int, body: s.MergeRequest, session: SessionDep, principal: CurrentPrincipal
) -> s.TicketRead:
    """Merge a duplicate into another ticket (the reporters are kept)."""
    t = _act(session, principal, ticket_id)
    into = _act(session, principal, body.into_id)
    return views.read(session, principal, service.merge(session, actor=principal, ticket=t, into=into))


@router.post("/tickets/{ticket_id}/supervise", response_model=s.TicketRead)
def supervise(
    ticket_id: int, body: s.SuperviseRequest, session: SessionDep, principal: CurrentPrincipal
) -> s.TicketRead:
    """Supervisor: comment, summon the unit, or mark accountability."""
    t = service.supervise(
        session,
        actor=principal,
        ticket=_act(session, principal, ticket_id),
        action=body.action,
        text=body.text,
    )
    return views.read(session, principal, t)


@router.post("/escalations/run", response_model=s.EscalationReport)
def run_escalations(session: SessionDep, principal: CurrentPrincipal) -> s.EscalationReport:
    """Run one escalation pass now (the scheduler does this every minute)."""
    if not principal.is_superuser:
        raise Forbidden("仅平台管理员 (platform administrators only)")
    from govgrid.core.db import utcnow

    run = service.run_escalations(session, utcnow(), actor=principal)
    return s.EscalationReport(
        to_superior=run.to_superior, to_supervisor=run.to_supervisor, auto_closed=run.auto_closed
    )


# --------------------------------------------------------------------------------------------- statistics (public)


def _period(start: date | None, end: date | None) -> tuple[date | None, date | None]:
    if start and end and start > end:
        raise ValidationFailed(
            "开始日期晚于结束日期 (start is after end)", details=[{"loc": ["start"], "msg": "after end"}]
        )
    return start, end


@router.get("/stats", openapi_extra=PUBLIC)
def statistics(
    session: SessionDep, division: str | None = None, start: date | None = None, end: date | None = None
) -> dict[str, Any]:
    """Public figures: 三率, monthly trend, rankings, hot spots (pre-aggregated; no personal data)."""
    start, end = _period(start, end)
    return views.statistics(session, division=division, start=start, end=end)


@router.get("/stats/rankings", openapi_extra=PUBLIC)
def rankings(
    session: SessionDep,
    by: Annotated[Literal["township", "village", "department"], Query()] = "township",
    division: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> list[dict[str, Any]]:
    """Townships, villages or departments ranked by the composite 三率 score."""
    start, end = _period(start, end)
    root = views.stats_root(session, division)
    return stats.rankings(session, root=root, start=start, end=end, by=by)


@router.get("/stats/map", openapi_extra=PUBLIC)
def stats_map(
    session: SessionDep, division: str | None = None, start: date | None = None, end: date | None = None
) -> dict[str, Any]:
    """Village boundaries with concern counts (GeoJSON; never a reporter's point)."""
    start, end = _period(start, end)
    return views.map_features(session, division=division, start=start, end=end)


@router.get("/stats/monthly-report", openapi_extra=PUBLIC)
def monthly_report(
    session: SessionDep, month: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$")], division: str | None = None
) -> dict[str, Any]:
    """The monthly report: volumes, 三率, rankings, hot spots for one month."""
    return views.monthly_report(session, division=division, month=month)


@router.get("/config/rates", response_model=s.RatesConfig, openapi_extra=PUBLIC)
def get_rates_config(session: SessionDep) -> s.RatesConfig:
    """The 三率 formulas and weights in force (public: the figures are public)."""
    return s.RatesConfig(**stats.get_config(session, "rates", stats.DEFAULT_RATES))


@router.put("/config/rates", response_model=s.RatesConfig)
def put_rates_config(body: s.RatesConfig, session: SessionDep, principal: CurrentPrincipal) -> s.RatesConfig:
    """Change the platform-wide 三率 formulas and weights (the platform administrator only)."""
    if not principal.is_superuser:
        raise Forbidden(
            "三率计分规则是全平台设置，只有平台管理员可以修改 "
            "(the 三率 scoring is a platform-wide setting: only the platform administrator may change it)"
        )
    value = stats.validate_rates_config(body.model_dump())
    service.set_config(session, actor=principal, key="rates", value=value)
    return s.RatesConfig(**value)
