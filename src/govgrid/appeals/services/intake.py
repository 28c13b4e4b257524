"""Intake: a concern from any channel (web, mobile page, hotline, WeChat, Open311) becomes one ticket:
checked, classified, located, given a proposed responsible unit, stored with its number and tracking code,
audited, counted, and forwarded to the city map when it is a city-management event. Also: hotline calls (only
into the call-taker's territory) and a point sent after the message (relocate)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from govgrid.appeals import categories, privacy
from govgrid.appeals.enums import EventKind, LocationSource, TicketState
from govgrid.appeals.models import Ticket
from govgrid.appeals.services import access, city, classifier, counters, history, queries, routing
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.errors import ForbiddenError, ValidationFailedError

log = logging.getLogger(__name__)

MAX_DESCRIPTION = 4000
MAX_NAME = 50
MAX_ADDRESS = 300
MAX_PHONE = 20
MAX_MEDIA_URL = 1000
TRACKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no look-alikes (0/O, 1/I)


@dataclass
class TicketInput:
    """What any channel hands to intake."""

    channel: str
    description: str
    channel_ref: str | None = None
    title: str | None = None
    category_code: str | None = None
    lon: float | None = None
    lat: float | None = None
    address: str | None = None
    default_division_code: str | None = None
    county_code: str | None = None  # chosen by the reporter (the form's 区县 / 乡镇 choice)
    township_code: str | None = None
    media_url: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    reporter_email: str | None = None
    reporter_openid: str | None = None


def _problems(data: TicketInput) -> list[dict[str, Any]]:
    """Every problem of a report at once (the reporter fixes them in one go)."""
    problems = []
    desc = (data.description or "").strip()
    if not desc:
        problems.append({"loc": ["description"], "msg": "诉求内容不能为空 (description is required)"})
    elif len(desc) > MAX_DESCRIPTION:
        problems.append(
            {
                "loc": ["description"],
                "msg": f"诉求内容不能超过 {MAX_DESCRIPTION} 字 (at most {MAX_DESCRIPTION} characters)",
            }
        )
    if data.category_code is not None and categories.get(data.category_code) is None:
        problems.append(
            {"loc": ["category_code"], "msg": f"未知的诉求类别 {data.category_code} (unknown category)"}
        )
    phone = (data.reporter_phone or "").strip()
    if phone and (len(phone) > MAX_PHONE or not all(ch.isdigit() or ch in "+- " for ch in phone)):
        problems.append(
            {"loc": ["reporter_phone"], "msg": "电话号码格式不正确 (phone: digits, + and - only, max 20)"}
        )
    if data.reporter_name and len(data.reporter_name) > MAX_NAME:
        problems.append({"loc": ["reporter_name"], "msg": "姓名不能超过 50 字 (name: at most 50 characters)"})
    if data.address and len(data.address) > MAX_ADDRESS:
        problems.append({"loc": ["address"], "msg": "地址不能超过 300 字 (address: at most 300 characters)"})
    if data.media_url and (
        len(data.media_url) > MAX_MEDIA_URL or not data.media_url.startswith(("http://", "https://"))
    ):
        problems.append({"loc": ["media_url"], "msg": "media_url 须为 http(s) 地址 (must be an http(s) URL)"})
    return problems


def new_tracking_code() -> str:
    """A code the reporter uses to follow the ticket (no login): 10 characters, no look-alikes."""
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(10))


def create_ticket(
    session: Session,
    *,
    actor: Actor,
    data: TicketInput,
    now: datetime | None = None,
    within: tuple[str, ...] | None = None,
) -> Ticket:
    """Turn a concern from any channel into one ticket: classify, locate, propose the unit, store, audit.

    A message a channel already delivered (same channel and channel_ref) answers the ticket it made. `within`:
    division paths the ticket must lie in (a call-taker's territory); None places no limit."""
    now = now or utcnow()
    problems = _problems(data)
    if problems:
        raise ValidationFailedError(
            "诉求信息有误，请修改后重新提交 (the report has problems; fix and resend)", details=problems
        )
    if data.channel_ref:
        existing = queries.find_by_channel_ref(session, channel=data.channel, ref=data.channel_ref)
        if existing is not None:
            return existing
    text = data.description.strip()
    if data.category_code:
        cls = classifier.from_reporter(data.category_code)
    else:
        cls = classifier.classify(session, text=text)
    loc = routing.locate(
        session,
        lon=data.lon,
        lat=data.lat,
        address=data.address,
        default_division_code=data.default_division_code,
        text=text,
        county_code=data.county_code,
        township_code=data.township_code,
    )
    if within is not None and not any(loc.division.path.startswith(p) for p in within):
        log.info("hotline ticket refused", extra={"division_code": loc.division.code, "reason": "territory"})
        raise ForbiddenError(
            "诉求地点不在您可以受理的辖区内 "
            "(the concern's place lies outside the territory you may file for)",
            details=[{"loc": ["division_code"], "msg": f"{loc.division.code} is outside your territory"}],
        )
    unit = routing.propose_unit(session, division=loc.division, category_code=cls.code)
    ticket = Ticket(
        tracking_code=new_tracking_code(),
        channel=data.channel,
        channel_ref=data.channel_ref,
        title=privacy.make_title(data.title or text),
        description=text,
        media_url=data.media_url,
        category_code=cls.code,
        category_source=cls.source,
        category_confidence=cls.confidence,
        lon=loc.lon,
        lat=loc.lat,
        address=(data.address or None),
        division_code=loc.division.code,
        division_path=loc.division.path,
        location_source=loc.source,
        proposed_department_id=unit,
        department_id=None,
        state=TicketState.pending,
        reporter_name=data.reporter_name or None,
        reporter_phone=(data.reporter_phone or "").strip() or None,
        reporter_email=data.reporter_email or None,
        reporter_openid=data.reporter_openid,
        created_at=now,
        updated_at=now,
        escalation_level=0,
        reopen_count=0,
        summoned=False,
        category_confirmed=False,
    )
    session.add(ticket)
    session.flush()
    ticket.number = f"{counters.local_day(now):%Y%m%d}{ticket.id:06d}"
    history.record_event(
        session,
        ticket=ticket,
        kind=EventKind.created,
        actor=actor,
        to_state=TicketState.pending,
        note=f"经{history.channel_label(data.channel)}受理",
        at=now,
    )
    audit.record(
        session,
        actor=actor,
        action="appeals.ticket_create",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
        detail={
            "number": ticket.number,
            "channel": ticket.channel,
            "category": ticket.category_code,
            "category_source": str(cls.source),
            "proposed_department_id": unit,
        },
    )
    counters.count_intake(session, ticket=ticket)
    log.info(
        "ticket created",
        extra={
            "ticket_id": ticket.id,
            "channel": ticket.channel,
            "category": ticket.category_code,
            "category_source": str(cls.source),
            "division_code": ticket.division_code,
            "proposed_department_id": unit,
        },
    )
    city.forward_if_city_event(session, ticket=ticket, now=now)
    return ticket


def create_hotline_ticket(
    session: Session, *, actor: Principal, data: TicketInput, now: datetime | None = None
) -> Ticket:
    """A call-taker files a hotline call, only into its own territory (see hotline_assignments)."""
    territory: tuple[str, ...] | None = None
    if not actor.is_superuser:
        own = access.hotline_assignments(actor)
        if not own:
            log.info("hotline ticket refused", extra={"reason": "not_call_taker"})
            raise ForbiddenError(
                "只有 12345 热线或本辖区的话务员、派遣员、管理员可以受理热线诉求 "
                "(only hotline or territory operators, dispatchers and administrators may file hotline calls)"
            )
        territory = tuple(a.division_path for a in own)
        if data.default_division_code is None and data.lon is None:
            data.default_division_code = own[0].division_code
    return create_ticket(session, actor=actor, data=data, now=now, within=territory)


def relocate(
    session: Session, *, actor: Actor, ticket: Ticket, lon: float, lat: float, label: str | None
) -> Ticket:
    """Attach a point to a pending ticket and re-propose its unit (the intake count follows the place)."""
    loc = routing.locate(session, lon=lon, lat=lat, address=None, default_division_code=None)
    old_div = ticket.division_code
    ticket.lon, ticket.lat = lon, lat
    if label:
        ticket.address = label[:MAX_ADDRESS]
    ticket.division_code, ticket.division_path, ticket.location_source = (
        loc.division.code,
        loc.division.path,
        LocationSource.point,
    )
    ticket.proposed_department_id = routing.propose_unit(
        session, division=loc.division, category_code=ticket.category_code
    )
    history.record_event(
        session, ticket=ticket, kind=EventKind.located, actor=actor, note="诉求人补充了位置", at=utcnow()
    )
    audit.record(
        session,
        actor=actor,
        action="appeals.ticket_locate",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
    )
    if old_div != ticket.division_code:
        counters.recount_intake(
            session, ticket=ticket, old_division=old_div, old_category=ticket.category_code
        )
    log.info("ticket located", extra={"ticket_id": ticket.id, "division_code": ticket.division_code})
    return ticket
