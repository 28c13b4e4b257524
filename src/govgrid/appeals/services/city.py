"""The link with the city map, through the ports declared in the core (no import of the other module):
concerns that are city-management events are forwarded (CITY_EVENT_REPORTED), and the closure of the case that
came of one is noted on its ticket (CITY_CASE_CLOSED)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.appeals import categories
from govgrid.appeals.enums import EventKind
from govgrid.appeals.models import Ticket
from govgrid.appeals.services import history
from govgrid.core import ports
from govgrid.core.audit import service as audit
from govgrid.core.db import utcnow

log = logging.getLogger(__name__)


def forward_if_city_event(session: Session, *, ticket: Ticket, now: datetime) -> bool:
    """Publish a located city-management ticket to the city map; True if published."""
    cat = categories.get(ticket.category_code)
    if cat is None or not cat.city_event or ticket.lon is None or ticket.lat is None:
        return False
    ports.report_city_event(
        session,
        ports.CityEventReport(
            source="appeals",
            external_ref=ticket.number or "",
            category=ticket.category_code,
            description=ticket.description,
            lon=ticket.lon,
            lat=ticket.lat,
            division_code=ticket.division_code,
            reported_at=now.isoformat(),
        ),
    )
    log.info("ticket forwarded to the city map", extra={"ticket_id": ticket.id})
    return True


def note_city_case_closed(session: Session, *, number: str, case_code: str, result: str) -> Ticket | None:
    """The city map closed the case forwarded from a ticket: note the outcome for the handler."""
    ticket = session.scalar(select(Ticket).where(Ticket.number == number))
    if ticket is None:
        log.info("city case closure for an unknown ticket ignored", extra={"case_code": case_code[:64]})
        return None
    if ticket.city_case_code == case_code[:64] and ticket.city_case_result == result:
        return ticket  # already noted: the event is delivered at least once (core.events)
    ticket.city_case_code = case_code[:64]
    ticket.city_case_result = result
    actor = audit.SystemActor("citymap")
    history.record_event(
        session,
        ticket=ticket,
        kind=EventKind.city_case_closed,
        actor=actor,
        note=f"城市管理案件 {case_code} 已结案：{result}",
        at=utcnow(),
    )
    audit.record(
        session,
        actor=actor,
        action="appeals.city_case_closed",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
        detail={"case_code": case_code},
    )
    log.info("city case closure noted", extra={"ticket_id": ticket.id, "case_code": case_code[:64]})
    return ticket
