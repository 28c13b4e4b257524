"""JSON API under /api/v1/appeals: resident intake and tracking, work lists, transitions, statistics."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response
from sqlalchemy.orm import Session

from govgrid.appeals import categories
from govgrid.appeals import schemas as s
from govgrid.appeals.enums import Channel
from govgrid.appeals.models import Ticket
from govgrid.appeals.services import (
    access,
    config,
    escalation,
    idempotency,
    intake,
    public,
    queries,
    ratings,
    reports,
    stats,
    views,
    workflow,
)
from govgrid.core.audit.service import PublicActor
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.deps import CurrentPrincipal, PageDep, SessionDep
from govgrid.core.errors import ValidationFailedError

router = APIRouter(prefix="/appeals", tags=["appeals"])
PUBLIC = {"x-public": True}  # residents and the public statistics need no login


def _created(session: Session, t: Ticket) -> s.TicketCreated:
    """What the reporter keeps of a new ticket."""
    names = queries.department_names(
        session, ids={t.proposed_department_id} if t.proposed_department_id else set()
    )
    return s.TicketCreated(
        number=t.number or "",
        tracking_code=t.tracking_code,
        state=t.state,
        category_code=t.category_code,
        proposed_department=names.get(t.proposed_department_id) if t.proposed_department_id else None,
    )


def _input(body: s.TicketCreate, channel: str, ref: str | None = None) -> intake.TicketInput:
    """The intake input of a JSON report."""
    return intake.TicketInput(
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
        alias=idempotency.HEADER,
        description=(
            "optional: a retry with the same key returns the first ticket (header Idempotent-Replayed: true)"
        ),
    ),
]


def _answer(response: Response, answer: dict[str, Any], replayed: bool) -> s.TicketCreated:
    """The answer of an intake route (marked when it replays a first answer)."""
    if replayed:
        response.headers[idempotency.REPLAYED_HEADER] = "true"
    return s.TicketCreated(**answer)


@router.post("/tickets", response_model=s.TicketCreated, status_code=201, openapi_extra=PUBLIC)
def report(
    body: s.TicketCreate, session: SessionDep, response: Response, key: IdempotencyKey = None
) -> s.TicketCreated:
    """A resident reports a concern (web form or mobile page; no login needed)."""
    content = body.model_dump(mode="json")

    def create() -> tuple[Ticket, dict[str, Any]]:
        if not body.division_code and body.lon is None:
            body.division_code = config.default_jurisdiction(session)
        t = intake.create_ticket(session, actor=PublicActor(body.channel), data=_input(body, body.channel))
        return t, _created(session, t).model_dump(mode="json")

    answer, replayed = idempotency.once(
        session, key=key, scope=idempotency.key_scope("ticket"), content=content, create=create
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
        data = _input(body, Channel.hotline, body.call_ref)
        t = intake.create_hotline_ticket(session, actor=principal, data=data)
        return t, _created(session, t).model_dump(mode="json")

    answer, replayed = idempotency.once(
        session,
        key=key,
        scope=idempotency.key_scope("hotline", principal=principal),
        content=body.model_dump(mode="json"),
        create=create,
    )
    return _answer(response, answer, replayed)


@router.get("/track/{tracking_code}", response_model=s.PublicTicket, openapi_extra=PUBLIC)
def track(tracking_code: str, session: SessionDep) -> s.PublicTicket:
    """The reporter follows a ticket with the tracking code (no personal data shown)."""
    return public.track(session, code=tracking_code)


@router.post("/track/{tracking_code}/rating", response_model=s.PublicTicket, openapi_extra=PUBLIC)
def rate(tracking_code: str, body: s.RatingRequest, session: SessionDep) -> s.PublicTicket:
    """The reporter rates the answer; 'not resolved' reopens and escalates the ticket."""
    t = public.rate_by_tracking_code(
        session, code=tracking_code, rating=body.rating, resolved=body.resolved, comment=body.comment
    )
    return public.ticket_view(session, ticket=t)


@router.get(
    "/tickets",
    response_model=s.TicketPage,
    description="Work lists in the caller's scope: inbox (dispatcher), work (handler), superior, "
    "supervision, overdue.",
)
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
    """Work lists in the caller's scope (inbox, work, superior, supervision, overdue, all)."""
    items, total = queries.list_tickets(
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
    t = access.get_visible(session, principal=principal, ticket_id=ticket_id)
    return views.read(session, principal=principal, ticket=t)


def _act(session: Session, principal: Principal, ticket_id: int) -> Ticket:
    """A ticket the caller may see, to act on (404 outside their scope)."""
    return access.get_visible(session, principal=principal, ticket_id=ticket_id)


@router.post("/tickets/{ticket_id}/dispatch", response_model=s.TicketRead)
def dispatch(
    ticket_id: int, body: s.DispatchRequest, session: SessionDep, principal: CurrentPrincipal
) -> s.TicketRead:
    """Confirm or change the proposed unit (and category)."""
    t = workflow.dispatch(
        session,
        actor=principal,
        ticket=_act(session, principal, ticket_id),
        department_id=body.department_id,
        category_code=body.category_code,
        note=body.note,
    )
    return views.read(session, principal=principal, ticket=t)


@router.post("/tickets/{ticket_id}/sign", response_model=s.TicketRead)
def sign(ticket_id: int, session: SessionDep, principal: CurrentPrincipal) -> s.TicketRead:
    """The responsible unit signs for the ticket."""
    t = workflow.sign(session, actor=principal, ticket=_act(session, principal, ticket_id))
    return views.read(session, principal=principal, ticket=t)


@router.post("/tickets/{ticket_id}/contact", response_model=s.TicketRead)
def contact(
    ticket_id: int, body: s.TextRequest, session: SessionDep, principal: CurrentPrincipal
) -> s.TicketRead:
    """Record the first contact with the reporter."""
    t = workflow.contact(
        session, actor=principal, ticket=_act(session, principal, ticket_id), note=body.text or None
    )
    return views.read(session, principal=principal, ticket=t)


@router.post("/tickets/{ticket_id}/answer", response_model=s.TicketRead)
def answer(
    ticket_id: int, body: s.TextRequest, session: SessionDep, principal: CurrentPrincipal
) -> s.TicketRead:
    """Answer the reporter with what was done."""
    t = workflow.answer(session, actor=principal, ticket=_act(session, principal, ticket_id), text=body.text)
    return views.read(session, principal=principal, ticket=t)


@router.post("/tickets/{ticket_id}/return", response_model=s.TicketRead)
def return_ticket(
    ticket_id: int, body: s.TextRequest, session: SessionDep, principal: CurrentPrincipal
) -> s.TicketRead:
    """Return a ticket that is not the unit's business to the dispatcher."""
    t = workflow.return_ticket(
        session, actor=principal, ticket=_act(session, principal, ticket_id), reason=body.text
    )
    return views.read(session, principal=principal, ticket=t)


@router.post("/tickets/{ticket_id}/survey", response_model=s.TicketRead)
def survey(
    ticket_id: int, body: s.RatingRequest, session: SessionDep, principal: CurrentPrincipal
) -> s.TicketRead:
    """An operator records a callback survey (回访)."""
    policy.require_role(principal, *access.SURVEY_ROLES)
    t = _act(session, principal, ticket_id)
    ratings.survey(
        session, actor=principal, ticket=t, rating=body.rating, resolved=body.resolved, comment=body.comment
    )
    return views.read(session, principal=principal, ticket=t)


@router.post("/tickets/{ticket_id}/merge", response_model=s.TicketRead)
def merge(
    ticket_id: int, body: s.MergeRequest, session: SessionDep, principal: CurrentPrincipal
) -> s.TicketRead:
    """Merge a duplicate into another ticket (the reporters are kept)."""
    t = _act(session, principal, ticket_id)
    into = _act(session, principal, body.into_id)
    merged = workflow.merge(session, actor=principal, ticket=t, into=into)
    return views.read(session, principal=principal, ticket=merged)


@router.post("/tickets/{ticket_id}/supervise", response_model=s.TicketRead)
def supervise(
    ticket_id: int, body: s.SuperviseRequest, session: SessionDep, principal: CurrentPrincipal
) -> s.TicketRead:
    """Supervisor: comment, summon the unit, or mark accountability."""
    t = escalation.supervise(
        session,
        actor=principal,
        ticket=_act(session, principal, ticket_id),
        action=body.action,
        text=body.text,
    )
    return views.read(session, principal=principal, ticket=t)


@router.post("/escalations/run", response_model=s.EscalationReport)
def run_escalations(session: SessionDep, principal: CurrentPrincipal) -> s.EscalationReport:
    """Run one escalation pass now (the scheduler does this every minute)."""
    access.require_platform_admin(principal)
    run = escalation.run_escalations(session, now=utcnow(), actor=principal)
    return s.EscalationReport(
        to_superior=run.to_superior, to_supervisor=run.to_supervisor, auto_closed=run.auto_closed
    )


# --------------------------------------------------------------------------------------------- statistics
# (public)


def _period(start: date | None, end: date | None) -> tuple[date | None, date | None]:
    """A period, or 422 when it ends before it starts."""
    if start and end and start > end:
        raise ValidationFailedError(
            "开始日期晚于结束日期 (start is after end)", details=[{"loc": ["start"], "msg": "after end"}]
        )
    return start, end


@router.get("/stats", openapi_extra=PUBLIC)
def statistics(
    session: SessionDep, division: str | None = None, start: date | None = None, end: date | None = None
) -> dict[str, Any]:
    """Public figures: 三率, monthly trend, rankings, hot spots (pre-aggregated; no personal data)."""
    start, end = _period(start, end)
    return reports.statistics(session, division=division, start=start, end=end)


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
    root = reports.stats_root(session, code=division)
    return stats.rankings(session, root=root, start=start, end=end, by=by)


@router.get("/stats/map", openapi_extra=PUBLIC)
def stats_map(
    session: SessionDep, division: str | None = None, start: date | None = None, end: date | None = None
) -> dict[str, Any]:
    """Village boundaries with concern counts (GeoJSON; never a reporter's point)."""
    start, end = _period(start, end)
    return reports.map_features(session, division=division, start=start, end=end)


@router.get("/stats/monthly-report", openapi_extra=PUBLIC)
def monthly_report(
    session: SessionDep, month: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$")], division: str | None = None
) -> dict[str, Any]:
    """The monthly report: volumes, 三率, rankings, hot spots for one month."""
    return reports.monthly_report(session, division=division, month=month)


@router.get("/config/rates", response_model=s.RatesConfig, openapi_extra=PUBLIC)
def get_rates_config(session: SessionDep) -> s.RatesConfig:
    """The 三率 formulas and weights in force (public: the figures are public)."""
    return s.RatesConfig(**config.rates_config(session))


@router.put("/config/rates", response_model=s.RatesConfig)
def put_rates_config(body: s.RatesConfig, session: SessionDep, principal: CurrentPrincipal) -> s.RatesConfig:
    """Change the platform-wide 三率 formulas and weights (the platform administrator only)."""
    return s.RatesConfig(**config.set_rates_config(session, actor=principal, value=body.model_dump()))
