"""What the public sees and does without a login: following a ticket and rating it with the tracking code, the
public view of a ticket (no name, phone, e-mail or exact address), public place names, and the Open311 lookups
(jurisdiction, the poster's api_key, public listings)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.appeals import privacy
from govgrid.appeals import schemas as s
from govgrid.appeals.enums import RatingSource
from govgrid.appeals.models import Ticket
from govgrid.appeals.services import access, config, history, queries, ratings
from govgrid.core.audit.service import PublicActor
from govgrid.core.authz.principal import Principal
from govgrid.core.divisions.models import Division
from govgrid.core.errors import BadRequestError, ForbiddenError
from govgrid.core.identity import service as identity

log = logging.getLogger(__name__)

TRACKING_ACTOR = "tracking"


def place_names(session: Session, *, tickets: list[Ticket]) -> dict[str, str]:
    """Public place label per division code: township and village names (never the reporter's address)."""
    codes: set[str] = set()
    for t in tickets:
        codes.update(c for c in t.division_path.strip("/").split("/") if len(c) >= 6)
    rows = session.execute(select(Division.code, Division.name).where(Division.code.in_(codes))).all()
    names = {r[0]: r[1] for r in rows}
    out = {}
    for t in tickets:
        parts = [c for c in t.division_path.strip("/").split("/") if len(c) >= 6 and not c.endswith("0000")]
        out[t.division_code] = "".join(names.get(c, "") for c in parts if not c.endswith("00") or len(c) > 6)
    return out


def ticket_view(session: Session, *, ticket: Ticket) -> s.PublicTicket:
    """The tracking page's view: no name, phone or exact address (a merged ticket shows its survivor)."""
    shown = ticket
    merged_into = None
    if ticket.merged_into_id:
        shown = access.get_ticket(session, ticket_id=ticket.merged_into_id)
        merged_into = shown.number
    place = place_names(session, tickets=[shown]).get(shown.division_code, "")
    ids = {shown.department_id} if shown.department_id else set()
    dept = (
        queries.department_names(session, ids=ids).get(shown.department_id) if shown.department_id else None
    )
    view = privacy.public_view(shown, place, dept)
    view.pop("lon")
    view.pop("lat")
    view.update(
        number=ticket.number,
        merged_into=merged_into,
        events=[
            s.TicketEventRead(
                at=e.at,
                kind=e.kind,
                actor="",
                from_state=e.from_state,
                to_state=e.to_state,
                department_id=e.department_id,
                note=privacy.public_text(shown, e.note),
            )
            for e in history.events(session, ticket=shown, public_only=True)
        ],
    )
    if merged_into:
        view["state"] = shown.state
    return s.PublicTicket(**view)


def track(session: Session, *, code: str) -> s.PublicTicket:
    """The public view of the ticket a tracking code names, or NotFoundError."""
    return ticket_view(session, ticket=queries.by_tracking_code(session, code=code))


def rate_by_tracking_code(
    session: Session, *, code: str, rating: str, resolved: bool | None, comment: str | None
) -> Ticket:
    """The reporter rates the answer by tracking code; 'not resolved' reopens and escalates."""
    ticket = queries.by_tracking_code(session, code=code)
    return ratings.rate(
        session,
        actor=PublicActor(TRACKING_ACTOR),
        ticket=ticket,
        rating=rating,
        resolved=resolved,
        comment=comment,
        source=RatingSource.citizen,
    )


def jurisdiction(session: Session, *, code: str | None) -> Division:
    """The division an Open311 call addresses: jurisdiction_id, else the deployment's default
    (BadRequestError)."""
    code = code or config.default_jurisdiction(session)
    if not code:
        raise BadRequestError(
            "缺少 jurisdiction_id（本部署未设置默认辖区）(jurisdiction_id is required here)"
        )
    div = session.get(Division, code)
    if div is None:
        raise BadRequestError(f"未知的 jurisdiction_id {code} (unknown jurisdiction)")
    return div


def open311_poster(
    session: Session, *, api_key: str | None, jurisdiction_id: str | None
) -> tuple[Principal, Division]:
    """The principal of a valid Open311 api_key and the jurisdiction it posts into (checked in this order:
    ForbiddenError for a missing or invalid key, BadRequestError for an unknown jurisdiction, ForbiddenError
    outside the key's territory)."""
    principal = identity.load_api_key_principal(session, api_key) if api_key else None
    if principal is None:
        log.warning("open311 post refused", extra={"reason": "invalid_api_key"})
        raise ForbiddenError("api_key 缺失或无效 (missing or invalid api_key)")
    division = jurisdiction(session, code=jurisdiction_id)
    if not principal.is_superuser and not any(
        division.path.startswith(a.division_path) for a in principal.assignments
    ):
        log.warning(
            "open311 post refused",
            extra={
                "reason": "outside_territory",
                "principal_id": principal.id,
                "division_code": division.code,
            },
        )
        raise ForbiddenError(
            "该 api_key 不能向此辖区提交诉求 (this api_key may not post to this jurisdiction)"
        )
    return principal, division


def public_search(
    session: Session,
    *,
    root: Division,
    numbers: list[str],
    categories: list[str],
    start: datetime | None,
    end: datetime | None,
    closed: bool | None,
    closed_states: tuple[str, ...],
    limit: int,
) -> list[Ticket]:
    """Tickets under a division for public listings (Open311): ids override every other filter."""
    stmt = select(Ticket).where(Ticket.division_path.like(root.path + "%"), Ticket.number.is_not(None))
    if numbers:
        stmt = stmt.where(Ticket.number.in_(numbers))
    else:
        if categories:
            stmt = stmt.where(Ticket.category_code.in_(categories))
        if start is not None:
            stmt = stmt.where(Ticket.created_at >= start)
        if end is not None:
            stmt = stmt.where(Ticket.created_at <= end)
        if closed is True:
            stmt = stmt.where(Ticket.state.in_(closed_states))
        elif closed is False:
            stmt = stmt.where(Ticket.state.not_in(closed_states))
    return list(session.scalars(stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)))
