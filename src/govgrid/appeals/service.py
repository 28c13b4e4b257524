"""Ticket rules: intake from every channel, dispatch, handling, rating, reopening, merging, escalation, supervision."""

from __future__ import annotations

import difflib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from govgrid.appeals import categories, privacy, routing, stats
from govgrid.appeals.models import Ticket, TicketEvent, WeChatChannel
from govgrid.core import ports
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.departments.models import Department, Line
from govgrid.core.divisions.models import Division
from govgrid.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from govgrid.core.sealing import seal
from govgrid.core.workdays import default_calendar

log = logging.getLogger(__name__)

MAX_DESCRIPTION = 4000
HANDLER_ROLES = ("handler", "operator", "admin")
DISPATCH_ROLES = ("dispatcher", "admin")
SUPERVISOR_ROLES = ("supervisor",)
DEFAULT_ESCALATION = {
    "superior_grace_days": 1,
    "auto_close_days": 5,
    "duplicate_hours": 72,
    "duplicate_similarity": 0.5,
    "duplicate_meters": 300,
}


class State(StrEnum):
    """Ticket states: pending (待派遣) → dispatched (待签收) → signed (办理中) → answered (已答复待评价) → closed."""

    pending = "pending"
    dispatched = "dispatched"
    signed = "signed"
    answered = "answered"
    closed = "closed"
    merged = "merged"


REASONS_ZH = {
    "sign_overdue": "超时未签收",
    "contact_overdue": "超时未联系诉求人",
    "resolve_overdue": "超过办结时限",
    "citizen_rejected": "诉求人不满意/未解决",
    "superior_deadline_passed": "上级督办期限已过仍未办结",
}
OPEN_STATES = (State.pending, State.dispatched, State.signed)
RATINGS = ("satisfied", "basic", "unsatisfied")


def actor_name(actor: Actor) -> str:
    """A short name for the history (never a citizen's name)."""
    kind, _id, name = actor.audit_identity
    return f"{kind}:{name}" if kind != "user" else (getattr(actor, "display_name", None) or name or "user")


# --------------------------------------------------------------------------------------------- intake


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
    media_url: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    reporter_email: str | None = None
    reporter_openid: str | None = None


def _check_input(data: TicketInput) -> None:
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
    if phone and (len(phone) > 20 or not all(ch.isdigit() or ch in "+- " for ch in phone)):
        problems.append(
            {"loc": ["reporter_phone"], "msg": "电话号码格式不正确 (phone: digits, + and - only, max 20)"}
        )
    if data.reporter_name and len(data.reporter_name) > 50:
        problems.append({"loc": ["reporter_name"], "msg": "姓名不能超过 50 字 (name: at most 50 characters)"})
    if data.address and len(data.address) > 300:
        problems.append({"loc": ["address"], "msg": "地址不能超过 300 字 (address: at most 300 characters)"})
    if data.media_url and (
        len(data.media_url) > 1000 or not data.media_url.startswith(("http://", "https://"))
    ):
        problems.append({"loc": ["media_url"], "msg": "media_url 须为 http(s) 地址 (must be an http(s) URL)"})
    if problems:
        raise ValidationFailed(
            "诉求信息有误，请修改后重新提交 (the report has problems; fix and resend)", details=problems
        )


def find_by_channel_ref(session: Session, channel: str, ref: str) -> Ticket | None:
    """The ticket a channel message already made (idempotent intake)."""
    return session.scalar(select(Ticket).where(Ticket.channel == channel, Ticket.channel_ref == ref))


def new_tracking_code() -> str:
    """A code the reporter uses to follow the ticket (no login): 10 characters, no look-alikes."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


def create_ticket(
    session: Session,
    *,
    actor: Actor,
    data: TicketInput,
    now: datetime | None = None,
    within: tuple[str, ...] | None = None,
) -> Ticket:
    """Turn a concern from any channel into one ticket: classify, locate, propose the unit, store, audit.

    `within`: division paths the ticket must lie in (a call-taker's territory); None places no limit."""
    now = now or utcnow()
    _check_input(data)
    if data.channel_ref:
        existing = find_by_channel_ref(session, data.channel, data.channel_ref)
        if existing is not None:
            return existing
    text = data.description.strip()
    if data.category_code:
        cls = routing.Classification(data.category_code, 1.0, "reporter", [(data.category_code, 1.0)])
    else:
        cls = routing.classify(session, text)
    loc = routing.locate(
        session,
        lon=data.lon,
        lat=data.lat,
        address=data.address,
        default_division_code=data.default_division_code,
        text=text,
    )
    if within is not None and not any(loc.division.path.startswith(p) for p in within):
        raise Forbidden(
            "诉求地点不在您可以受理的辖区内 (the concern's place lies outside the territory you may file for)",
            details=[{"loc": ["division_code"], "msg": f"{loc.division.code} is outside your territory"}],
        )
    unit = routing.propose_unit(session, loc.division, cls.code)
    title = privacy.make_title(data.title or text)
    ticket = Ticket(
        tracking_code=new_tracking_code(),
        channel=data.channel,
        channel_ref=data.channel_ref,
        title=title,
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
        state=State.pending,
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
    ticket.number = f"{stats.local_day(now):%Y%m%d}{ticket.id:06d}"
    _event(
        session,
        ticket,
        "created",
        actor,
        None,
        State.pending,
        note=f"经{_channel_zh(data.channel)}受理",
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
            "category_source": cls.source,
            "proposed_department_id": unit,
        },
    )
    stats.bump(
        session,
        at=now,
        division_code=ticket.division_code,
        department_id=0,
        category_code=ticket.category_code,
        metric="created",
    )
    cat = categories.get(ticket.category_code)
    if cat is not None and cat.city_event and ticket.lon is not None:
        ports.report_city_event(
            session,
            ports.CityEventReport(
                source="appeals",
                external_ref=ticket.number,
                category=ticket.category_code,
                description=ticket.description,
                lon=ticket.lon,
                lat=ticket.lat,
                division_code=ticket.division_code,
                reported_at=now.isoformat(),
            ),
        )
    return ticket


HOTLINE_ROLES = ("operator", "dispatcher", "admin")
HOTLINE_LINE = "hotline_12345"


def hotline_assignments(principal: Principal) -> list[Any]:
    """Assignments that let a call-taker file hotline tickets: operator, dispatcher or admin, either with reach
    division (the territory's own staff) or in the 12345 hotline line; their divisions are the territory."""
    return [
        a
        for a in principal.assignments
        if a.role in HOTLINE_ROLES and (a.reach == "division" or a.line_code == HOTLINE_LINE)
    ]


def create_hotline_ticket(
    session: Session, *, actor: Principal, data: TicketInput, now: datetime | None = None
) -> Ticket:
    """A call-taker files a hotline call: only into the divisions of its own territory (see hotline_assignments)."""
    territory: tuple[str, ...] | None = None
    if not actor.is_superuser:
        own = hotline_assignments(actor)
        if not own:
            raise Forbidden(
                "只有 12345 热线或本辖区的话务员、派遣员、管理员可以受理热线诉求 "
                "(only hotline or territory operators, dispatchers and administrators may file hotline calls)"
            )
        territory = tuple(a.division_path for a in own)
        if data.default_division_code is None and data.lon is None:
            data.default_division_code = own[0].division_code
    return create_ticket(session, actor=actor, data=data, now=now, within=territory)


def _channel_zh(channel: str) -> str:
    return {
        "web": "网页",
        "mobile": "手机页面",
        "hotline": "12345热线",
        "wechat": "微信公众号",
        "open311": "Open311 接口",
    }.get(channel, channel)


def _event(
    session: Session,
    ticket: Ticket,
    kind: str,
    actor: Actor,
    from_state: str | None,
    to_state: str | None,
    *,
    note: str | None = None,
    department_id: int | None = None,
    public: bool = True,
    at: datetime | None = None,
) -> None:
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            at=at or utcnow(),
            kind=kind,
            actor=actor_name(actor),
            from_state=from_state,
            to_state=to_state,
            department_id=department_id,
            note=note,
            public=public,
        )
    )


def _bump(session: Session, ticket: Ticket, metrics: str | list[str], at: datetime) -> None:
    stats.bump_many(
        session,
        at=at,
        division_code=ticket.division_code,
        department_id=ticket.department_id,
        category_code=ticket.category_code,
        metrics=[metrics] if isinstance(metrics, str) else metrics,
    )


# --------------------------------------------------------------------------------------------- access


def get_ticket(session: Session, ticket_id: int) -> Ticket:
    """One ticket by id, or NotFound."""
    t = session.get(Ticket, ticket_id)
    if t is None:
        raise NotFound(f"工单 {ticket_id} 不存在 (no such ticket)")
    return t


def visible_clause(principal: Principal) -> Any:
    """SQL predicate: tickets the principal may see (unit, superior, dispatcher/supervisor territory)."""
    return or_(
        policy.scope(Ticket.department_id, principal),
        policy.scope(Ticket.escalated_department_id, principal),
        policy.division_clause(
            principal, Ticket.division_path, ("dispatcher", "supervisor", "admin", "viewer")
        ),
    )


def get_visible(session: Session, *, principal: Principal, ticket_id: int) -> Ticket:
    """A ticket the principal may see (404 for anything outside their scope: no existence leak)."""
    t = session.scalar(select(Ticket).where(Ticket.id == ticket_id, visible_clause(principal)))
    if t is None:
        raise NotFound(f"工单 {ticket_id} 不存在或不在您的范围内 (no such ticket in your scope)")
    return t


def _is_supervisor_of(principal: Principal, ticket: Ticket) -> bool:
    return principal.is_superuser or any(
        a.role in SUPERVISOR_ROLES
        and ticket.division_path.startswith(a.division_path)
        and (a.reach in ("division", "line") or ticket.division_path == a.division_path)
        for a in principal.assignments
    )


def can_see_reporter(session: Session, principal: Principal, ticket: Ticket) -> bool:
    """Reporter identity: the handling unit and supervisors only."""
    if principal.is_superuser or _is_supervisor_of(principal, ticket):
        return True
    return ticket.department_id is not None and policy.can_act(
        session, principal, ticket.department_id, HANDLER_ROLES
    )


def reveal_reporter(session: Session, *, principal: Principal, ticket: Ticket) -> dict[str, Any] | None:
    """The reporter's identity for someone allowed to see it (the read is audited), else None."""
    if not can_see_reporter(session, principal, ticket):
        return None
    audit.record(
        session,
        actor=principal,
        action="appeals.reporter_read",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
        department_id=ticket.department_id,
        purpose="handling",
    )
    return {
        "name": ticket.reporter_name,
        "phone": ticket.reporter_phone,
        "email": ticket.reporter_email,
        "address": ticket.address,
    }


def list_tickets(
    session: Session,
    *,
    principal: Principal,
    view: str = "all",
    state: str | None = None,
    category: str | None = None,
    division: str | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> tuple[list[Ticket], int]:
    """Tickets in scope for one of the work lists: inbox, work, superior, supervision, overdue, all."""
    now = now or utcnow()
    stmt = select(Ticket).where(visible_clause(principal))
    if view == "inbox":
        stmt = stmt.where(
            Ticket.state == State.pending,
            policy.division_clause(principal, Ticket.division_path, DISPATCH_ROLES),
        )
    elif view == "work":
        stmt = stmt.where(
            Ticket.state.in_((State.dispatched, State.signed, State.answered)),
            policy.scope(Ticket.department_id, principal, HANDLER_ROLES),
        )
    elif view == "superior":
        stmt = stmt.where(
            Ticket.escalation_level >= 1,
            Ticket.state.in_(OPEN_STATES),
            policy.scope(Ticket.escalated_department_id, principal),
        )
    elif view == "supervision":
        stmt = stmt.where(
            Ticket.escalation_level >= 2,
            Ticket.state.in_(OPEN_STATES),
            policy.division_clause(principal, Ticket.division_path, SUPERVISOR_ROLES),
        )
    elif view == "overdue":
        stmt = stmt.where(overdue_clause(now))
    elif view != "all":
        raise ValidationFailed(
            "未知的列表 (unknown view)",
            details=[{"loc": ["view"], "msg": "inbox | work | superior | supervision | overdue | all"}],
        )
    if state:
        stmt = stmt.where(Ticket.state == state)
    if category:
        stmt = stmt.where(Ticket.category_code == category)
    if division:
        stmt = stmt.where(Ticket.division_code.like(division + "%"))
    if q:
        stmt = stmt.where(or_(Ticket.number == q, Ticket.title.contains(q, autoescape=True)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = list(
        session.scalars(stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit).offset(offset))
    )
    return items, total


def overdue_clause(now: datetime) -> Any:
    """SQL predicate: an open clock has run out."""
    return or_(
        and_(Ticket.state == State.dispatched, Ticket.sign_due < now),
        and_(
            Ticket.state.in_((State.dispatched, State.signed)),
            Ticket.contacted_at.is_(None),
            Ticket.contact_due < now,
        ),
        and_(Ticket.state.in_((State.dispatched, State.signed)), Ticket.resolve_due < now),
    )


def is_overdue(ticket: Ticket, now: datetime) -> bool:
    """Python twin of overdue_clause for one loaded ticket."""
    if ticket.state == State.dispatched and ticket.sign_due and ticket.sign_due < now:
        return True
    if ticket.state in (State.dispatched, State.signed):
        if ticket.contacted_at is None and ticket.contact_due and ticket.contact_due < now:
            return True
        if ticket.resolve_due and ticket.resolve_due < now:
            return True
    return False


def events(session: Session, ticket: Ticket, *, public_only: bool = False) -> list[TicketEvent]:
    """A ticket's history, oldest first."""
    stmt = select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
    if public_only:
        stmt = stmt.where(TicketEvent.public.is_(True))
    return list(session.scalars(stmt.order_by(TicketEvent.at, TicketEvent.id)))


def by_tracking_code(session: Session, code: str) -> Ticket:
    """The ticket for a reporter's tracking code (follows merges to the surviving ticket's state)."""
    t = session.scalar(select(Ticket).where(Ticket.tracking_code == (code or "").strip().upper()))
    if t is None:
        raise NotFound("查询码不存在，请核对 (no ticket with this tracking code)")
    return t


# --------------------------------------------------------------------------------------------- clocks


def deadlines(session: Session, category_code: str, start: datetime) -> tuple[datetime, datetime, datetime]:
    """(sign_due, contact_due, resolve_due) from the category's clocks on the working-day calendar."""
    cat = categories.get(category_code) or categories.get(categories.DEFAULT_CATEGORY)
    override = stats.get_config(session, "deadlines", {}).get(category_code, {})
    cal = default_calendar()
    sign = cal.add_working_hours(start, float(override.get("sign_hours", cat.sign_hours)))
    contact = cal.add_working_hours(start, float(override.get("contact_hours", cat.contact_hours)))
    resolve = cal.add_working_days(start, int(override.get("resolve_days", cat.resolve_days)))
    return sign, contact, resolve


# --------------------------------------------------------------------------------------------- transitions


def _require_state(ticket: Ticket, *allowed: str, action: str) -> None:
    if ticket.state not in allowed:
        raise Conflict(
            f"工单当前状态为 {ticket.state}，不能{action} (ticket is {ticket.state}; cannot {action})"
        )


def _department(session: Session, dept_id: int) -> Department:
    d = session.get(Department, dept_id)
    if d is None:
        raise ValidationFailed(
            f"部门 {dept_id} 不存在 (no such department)",
            details=[{"loc": ["department_id"], "msg": "unknown department"}],
        )
    return d


def dispatch(
    session: Session,
    *,
    actor: Principal,
    ticket: Ticket,
    department_id: int | None = None,
    category_code: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    """A dispatcher confirms or changes the proposed unit (and category); every change is kept."""
    now = now or utcnow()
    _require_state(ticket, State.pending, action="派遣 (dispatch)")
    if not _dispatcher_for(actor, ticket):
        raise Forbidden("只有该辖区的派遣员可以派遣 (only a dispatcher of this territory may dispatch)")
    if category_code is not None and categories.get(category_code) is None:
        raise ValidationFailed(
            f"未知的诉求类别 {category_code} (unknown category)",
            details=[{"loc": ["category_code"], "msg": "unknown category"}],
        )
    recategorise = bool(category_code) and category_code != ticket.category_code
    proposed = ticket.proposed_department_id
    if recategorise and department_id is None:
        proposed = routing.propose_unit(session, session.get(Division, ticket.division_code), category_code)
    target = department_id or proposed
    if target is None:
        raise ValidationFailed(
            "没有可派遣的责任单位，请指定部门 (no proposed unit: choose a department)",
            details=[{"loc": ["department_id"], "msg": "required"}],
        )
    dept = _department(session, target)
    county = routing.lineage(session.get(Division, ticket.division_code)).get("county", "")
    if not dept.division_code.startswith(county[:6]) and not actor.is_superuser:
        raise ValidationFailed(
            "只能派遣给本县（区）的单位 (dispatch only to units of the ticket's county)",
            details=[{"loc": ["department_id"], "msg": "outside the county"}],
        )
    # every check passed: now write
    if recategorise:
        old_cat = ticket.category_code
        ticket.category_code = category_code
        ticket.category_source = "dispatcher"
        _event(
            session,
            ticket,
            "recategorised",
            actor,
            ticket.state,
            ticket.state,
            public=False,
            note=f"{old_cat} → {category_code}",
            at=now,
        )
        # the intake counter follows the corrected category
        stats.bump(
            session,
            at=ticket.created_at,
            division_code=ticket.division_code,
            department_id=0,
            category_code=old_cat,
            metric="created",
            n=-1,
        )
        stats.bump(
            session,
            at=ticket.created_at,
            division_code=ticket.division_code,
            department_id=0,
            category_code=category_code,
            metric="created",
        )
        ticket.proposed_department_id = proposed
    ticket.category_confirmed = True
    overridden = dept.id != ticket.proposed_department_id
    ticket.department_id = dept.id
    ticket.state = State.dispatched
    ticket.dispatched_at = now
    ticket.updated_at = now
    ticket.sign_due, ticket.contact_due, ticket.resolve_due = deadlines(session, ticket.category_code, now)
    _event(
        session,
        ticket,
        "dispatched",
        actor,
        State.pending,
        State.dispatched,
        department_id=dept.id,
        note=(
            f"派遣至{dept.name}"
            + (f"（改派，原建议单位 {ticket.proposed_department_id}）" if overridden else "")
            + (f"：{note}" if note else "")
        ),
        at=now,
    )
    audit.record(
        session,
        actor=actor,
        action="appeals.ticket_dispatch",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
        department_id=dept.id,
        detail={
            "proposed": ticket.proposed_department_id,
            "chosen": dept.id,
            "overridden": overridden,
            "category": ticket.category_code,
        },
    )
    _bump(session, ticket, ["dispatched", "overridden"] if overridden else ["dispatched"], now)
    return ticket


def _dispatcher_for(principal: Principal, ticket: Ticket) -> bool:
    return principal.is_superuser or any(
        a.role in DISPATCH_ROLES
        and a.reach in ("division", "line")
        and ticket.division_path.startswith(a.division_path)
        for a in principal.assignments
    )


def can_survey(principal: Principal, ticket: Ticket) -> bool:
    """Callback surveys: hotline staff (operator/dispatcher) whose territory covers the ticket."""
    return principal.is_superuser or any(
        a.role in ("operator", "dispatcher", "admin")
        and a.reach in ("division", "line")
        and ticket.division_path.startswith(a.division_path)
        for a in principal.assignments
    )


def _require_handler(session: Session, principal: Principal, ticket: Ticket) -> None:
    if ticket.department_id is None or not policy.can_act(
        session, principal, ticket.department_id, HANDLER_ROLES
    ):
        raise Forbidden("只有责任单位的办理人员可以办理 (only the responsible unit's handlers may do this)")


def sign(session: Session, *, actor: Principal, ticket: Ticket, now: datetime | None = None) -> Ticket:
    """The responsible unit signs for the ticket (签收)."""
    now = now or utcnow()
    _require_state(ticket, State.dispatched, action="签收 (sign for)")
    _require_handler(session, actor, ticket)
    ticket.state = State.signed
    ticket.signed_at = now
    ticket.updated_at = now
    _event(
        session,
        ticket,
        "signed",
        actor,
        State.dispatched,
        State.signed,
        department_id=ticket.department_id,
        note="责任单位已签收",
        at=now,
    )
    audit.record(
        session,
        actor=actor,
        action="appeals.ticket_sign",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
        department_id=ticket.department_id,
    )
    on_time = ticket.sign_due is None or now <= ticket.sign_due
    _bump(session, ticket, ["signed", "signed_on_time"] if on_time else ["signed"], now)
    return ticket


def contact(
    session: Session,
    *,
    actor: Principal,
    ticket: Ticket,
    note: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Record the first contact with the reporter (先行联系)."""
    now = now or utcnow()
    _require_state(ticket, State.signed, action="记录联系 (record contact)")
    _require_handler(session, actor, ticket)
    if ticket.contacted_at is not None:
        raise Conflict("已记录过首次联系 (first contact already recorded)")
    ticket.contacted_at = now
    ticket.updated_at = now
    _event(session, ticket, "contacted", actor, ticket.state, ticket.state, note="已与诉求人联系", at=now)
    if note:
        _event(session, ticket, "contact_note", actor, None, None, note=note[:2000], public=False, at=now)
    audit.record(
        session,
        actor=actor,
        action="appeals.ticket_contact",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
        department_id=ticket.department_id,
    )
    contact_ok = ticket.contact_due is None or now <= ticket.contact_due
    metrics = ["contacted"] + (["contacted_on_time"] if contact_ok else [])
    if (
        contact_ok
        and ticket.signed_at is not None
        and (ticket.sign_due is None or ticket.signed_at <= ticket.sign_due)
    ):
        metrics.append("responded_on_time")
    _bump(session, ticket, metrics, now)
    return ticket


def answer(
    session: Session, *, actor: Principal, ticket: Ticket, text: str, now: datetime | None = None
) -> Ticket:
    """The unit answers the reporter with what was done (办结答复)."""
    now = now or utcnow()
    _require_state(ticket, State.signed, action="答复 (answer)")
    _require_handler(session, actor, ticket)
    text = (text or "").strip()
    if not text or len(text) > MAX_DESCRIPTION:
        raise ValidationFailed(
            "答复内容须为 1-4000 字 (the answer must be 1-4000 characters)",
            details=[{"loc": ["text"], "msg": "1..4000 characters"}],
        )
    if ticket.contacted_at is None:
        contact(session, actor=actor, ticket=ticket, now=now)
    ticket.state = State.answered
    ticket.answer = text
    ticket.answered_at = now
    ticket.updated_at = now
    _event(session, ticket, "answered", actor, State.signed, State.answered, note=text, at=now)
    audit.record(
        session,
        actor=actor,
        action="appeals.ticket_answer",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
        department_id=ticket.department_id,
    )
    on_time = ticket.resolve_due is None or now <= ticket.resolve_due
    _bump(session, ticket, ["answered", "answered_on_time"] if on_time else ["answered"], now)
    return ticket


def return_ticket(
    session: Session, *, actor: Principal, ticket: Ticket, reason: str, now: datetime | None = None
) -> Ticket:
    """The unit returns a ticket that is not its business (退回) to the dispatcher's inbox."""
    now = now or utcnow()
    _require_state(ticket, State.dispatched, action="退回 (return)")
    _require_handler(session, actor, ticket)
    if not (reason or "").strip():
        raise ValidationFailed(
            "退回须说明理由 (give a reason)", details=[{"loc": ["reason"], "msg": "required"}]
        )
    old = ticket.department_id
    ticket.state = State.pending
    ticket.department_id = None
    ticket.sign_due = ticket.contact_due = ticket.resolve_due = None
    ticket.updated_at = now
    _event(
        session,
        ticket,
        "returned",
        actor,
        State.dispatched,
        State.pending,
        department_id=old,
        note=reason[:2000],
        at=now,
    )
    audit.record(
        session,
        actor=actor,
        action="appeals.ticket_return",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
        department_id=old,
        detail={"reason": reason[:500]},
    )
    return ticket


def _escalate(
    session: Session, ticket: Ticket, *, level: int, reason: str, now: datetime, actor: Actor
) -> None:
    cfg = stats.get_config(session, "escalation", DEFAULT_ESCALATION)
    from_level = ticket.escalation_level
    ticket.escalation_level = level
    ticket.escalated_at = now
    ticket.escalation_reason = reason
    if level == 1:
        dept = session.get(Department, ticket.department_id) if ticket.department_id else None
        ticket.escalated_department_id = routing.superior_of(session, dept) if dept else None
        ticket.next_escalation_at = default_calendar().add_working_days(now, int(cfg["superior_grace_days"]))
        note = "升级至责任单位的上级督办"
        metric = "escalated_superior"
    else:
        ticket.next_escalation_at = None
        note = "转入纪检监察下沉监督 (supervisor queue)"
        metric = "escalated_supervisor"
    reason_zh = REASONS_ZH.get(reason, reason)
    _event(
        session,
        ticket,
        "escalated",
        actor,
        ticket.state,
        ticket.state,
        department_id=ticket.escalated_department_id,
        note=f"{note}：{reason_zh}",
        at=now,
    )
    audit.record(
        session,
        actor=actor,
        action="appeals.ticket_escalate",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
        department_id=ticket.department_id,
        detail={"from": from_level, "to": level, "reason": reason},
    )
    _bump(session, ticket, metric, now)


def rate(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    rating: str,
    resolved: bool | None = None,
    comment: str | None = None,
    source: str = "citizen",
    now: datetime | None = None,
) -> Ticket:
    """The citizen's rating (or an operator's callback survey): close, or reopen and escalate when not fixed."""
    now = now or utcnow()
    if rating not in RATINGS:
        raise ValidationFailed(
            "评价须为 satisfied / basic / unsatisfied (满意/基本满意/不满意)",
            details=[{"loc": ["rating"], "msg": "satisfied | basic | unsatisfied"}],
        )
    if source == "citizen":
        _require_state(ticket, State.answered, action="评价 (rate)")
    else:
        _require_state(ticket, State.answered, State.closed, action="回访 (survey)")
    if resolved is None:
        resolved = rating != "unsatisfied"
    if comment is not None and len(comment) > 2000:
        raise ValidationFailed(
            "评价说明不能超过 2000 字 (comment: at most 2000 characters)",
            details=[{"loc": ["comment"], "msg": "at most 2000 characters"}],
        )
    from_state = ticket.state
    ticket.rating = rating
    ticket.rating_resolved = resolved
    ticket.rating_source = source
    ticket.rated_at = now
    ticket.updated_at = now
    label = {"satisfied": "满意", "basic": "基本满意", "unsatisfied": "不满意"}[rating]
    _event(
        session,
        ticket,
        "rated" if source == "citizen" else "surveyed",
        actor,
        from_state,
        from_state,
        note=f"{label}；{'已解决' if resolved else '未解决'}" + (f"：{comment}" if comment else ""),
        at=now,
    )
    audit.record(
        session,
        actor=actor,
        action="appeals.ticket_rate",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
        department_id=ticket.department_id,
        detail={"rating": rating, "resolved": resolved, "source": source},
    )
    _bump(session, ticket, ["rated", f"rated_{rating}"] + (["rated_resolved"] if resolved else []), now)
    if resolved and rating != "unsatisfied":
        if ticket.state != State.closed:
            ticket.state = State.closed
            ticket.closed_at = now
            _event(session, ticket, "closed", actor, from_state, State.closed, note="诉求已办结", at=now)
            _bump(session, ticket, "closed", now)
        return ticket
    reopen(
        session,
        actor=actor,
        ticket=ticket,
        reason="诉求人反映问题未解决" if source == "citizen" else "回访未解决",
        now=now,
    )
    return ticket


def reopen(
    session: Session, *, actor: Actor, ticket: Ticket, reason: str, now: datetime | None = None
) -> Ticket:
    """Back to the responsible unit with a new resolution clock; a rejected ticket escalates one level."""
    now = now or utcnow()
    _require_state(ticket, State.answered, State.closed, action="重办 (reopen)")
    from_state = ticket.state
    ticket.state = State.signed
    ticket.reopen_count += 1
    ticket.answered_at = None
    ticket.closed_at = None
    ticket.updated_at = now
    _s, _c, ticket.resolve_due = deadlines(session, ticket.category_code, now)
    _event(session, ticket, "reopened", actor, from_state, State.signed, note=reason, at=now)
    audit.record(
        session,
        actor=actor,
        action="appeals.ticket_reopen",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
        department_id=ticket.department_id,
        detail={"reason": reason},
    )
    _bump(session, ticket, "reopened", now)
    _escalate(
        session,
        ticket,
        level=min(ticket.escalation_level + 1, 2),
        reason="citizen_rejected",
        now=now,
        actor=actor,
    )
    return ticket


def merge(
    session: Session, *, actor: Principal, ticket: Ticket, into: Ticket, now: datetime | None = None
) -> Ticket:
    """Merge a duplicate into the surviving ticket; the duplicate's reporter is kept and follows the survivor."""
    now = now or utcnow()
    if ticket.id == into.id:
        raise ValidationFailed(
            "不能合并到自身 (cannot merge a ticket into itself)",
            details=[{"loc": ["into_id"], "msg": "same ticket"}],
        )
    _require_state(ticket, State.pending, State.dispatched, action="合并 (merge)")
    if into.state == State.merged:
        raise Conflict("目标工单已被合并 (the target was itself merged)")
    if not (_dispatcher_for(actor, ticket) and _dispatcher_for(actor, into)):
        raise Forbidden("只有该辖区的派遣员可以合并工单 (only a dispatcher of this territory may merge)")
    from_state = ticket.state
    ticket.state = State.merged
    ticket.merged_into_id = into.id
    ticket.updated_at = now
    _event(
        session,
        ticket,
        "merged",
        actor,
        from_state,
        State.merged,
        note=f"与工单 {into.number} 合并办理",
        at=now,
    )
    _event(
        session,
        into,
        "duplicate_added",
        actor,
        None,
        None,
        note=f"合并重复诉求 {ticket.number}",
        public=False,
        at=now,
    )
    audit.record(
        session,
        actor=actor,
        action="appeals.ticket_merge",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
        detail={"into": into.id},
    )
    _bump(session, ticket, "merged", now)
    return ticket


def merged_reporters(session: Session, ticket: Ticket) -> list[Ticket]:
    """Tickets merged into this one (their reporters are kept on them)."""
    return list(session.scalars(select(Ticket).where(Ticket.merged_into_id == ticket.id).order_by(Ticket.id)))


def _similar(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def duplicate_candidates(session: Session, ticket: Ticket, *, limit: int = 5) -> list[tuple[Ticket, float]]:
    """Likely duplicates: same village, same category, within the window, similar text (or within ~300 m)."""
    cfg = stats.get_config(session, "escalation", DEFAULT_ESCALATION)
    since = ticket.created_at - timedelta(hours=float(cfg["duplicate_hours"]))
    rows = session.scalars(
        select(Ticket)
        .where(
            Ticket.id != ticket.id,
            Ticket.division_code == ticket.division_code,
            Ticket.category_code == ticket.category_code,
            Ticket.created_at >= since,
            Ticket.created_at <= ticket.created_at + timedelta(hours=float(cfg["duplicate_hours"])),
            Ticket.state != State.merged,
        )
        .order_by(Ticket.created_at.desc())
        .limit(50)
    )
    out = []
    for other in rows:
        score = _similar(ticket.description, other.description)
        near = False
        if ticket.lon is not None and other.lon is not None:
            dx = (ticket.lon - other.lon) * 96_000  # metres per degree of longitude near 36°N
            dy = (ticket.lat - other.lat) * 111_000
            near = (dx * dx + dy * dy) ** 0.5 <= float(cfg["duplicate_meters"])
        if score >= float(cfg["duplicate_similarity"]) or (near and score >= 0.3):
            out.append((other, round(score, 3)))
    return sorted(out, key=lambda x: -x[1])[:limit]


def supervise(
    session: Session,
    *,
    actor: Principal,
    ticket: Ticket,
    action: str,
    text: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    """A discipline-inspection supervisor comments, summons the unit (约谈/吹哨), or marks accountability (问责)."""
    now = now or utcnow()
    if not _is_supervisor_of(actor, ticket):
        raise Forbidden(
            "只有本辖区纪检监察监督员可以监督工单 (only a supervisor of this territory may do this)"
        )
    text = (text or "").strip()
    if action not in ("comment", "summon", "accountability"):
        raise ValidationFailed(
            "未知的监督动作 (unknown action)",
            details=[{"loc": ["action"], "msg": "comment | summon | accountability"}],
        )
    if action in ("comment", "accountability") and not text:
        raise ValidationFailed(
            "请填写内容 (text is required)", details=[{"loc": ["text"], "msg": "required"}]
        )
    if len(text) > 2000:
        raise ValidationFailed(
            "内容不能超过 2000 字 (at most 2000 characters)", details=[{"loc": ["text"], "msg": "too long"}]
        )
    if action == "summon":
        ticket.summoned = True
        note = "纪检监察监督员约谈责任单位" + (f"：{text}" if text else "")
    elif action == "accountability":
        ticket.accountability = text
        note = f"问责：{text}"
    else:
        note = text
    ticket.updated_at = now
    _event(
        session,
        ticket,
        f"supervision_{action}",
        actor,
        None,
        None,
        department_id=ticket.department_id,
        note=note,
        public=action != "comment",
        at=now,
    )
    audit.record(
        session,
        actor=actor,
        action=f"appeals.supervision_{action}",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
        department_id=ticket.department_id,
    )
    return ticket


def note_city_case_closed(session: Session, *, number: str, case_code: str, result: str) -> Ticket | None:
    """The city map closed the case forwarded from a ticket: note the outcome for the handler."""
    ticket = session.scalar(select(Ticket).where(Ticket.number == number))
    if ticket is None:
        return None
    ticket.city_case_code = case_code[:64]
    ticket.city_case_result = result
    actor = audit.SystemActor("citymap")
    _event(
        session,
        ticket,
        "city_case_closed",
        actor,
        None,
        None,
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
    return ticket


# --------------------------------------------------------------------------------------------- scheduled work


@dataclass
class EscalationRun:
    """What one escalation pass did."""

    to_superior: list[str] = field(default_factory=list)
    to_supervisor: list[str] = field(default_factory=list)
    auto_closed: list[str] = field(default_factory=list)


def run_escalations(session: Session, now: datetime, *, actor: Actor | None = None) -> EscalationRun:
    """One pass (pure on `now`): overdue tickets go to the superior, then to the supervisor queue; stale answers close."""
    actor = actor or audit.SystemActor("appeals-escalation")
    run = EscalationRun()
    open_ = (State.dispatched, State.signed)
    level0 = session.scalars(
        select(Ticket).where(Ticket.escalation_level == 0, overdue_clause(now)).order_by(Ticket.id)
    )
    for t in level0:
        if t.state == State.dispatched and t.sign_due and t.sign_due < now:
            reason = "sign_overdue"
        elif t.contacted_at is None and t.contact_due and t.contact_due < now:
            reason = "contact_overdue"
        else:
            reason = "resolve_overdue"
        _escalate(session, t, level=1, reason=reason, now=now, actor=actor)
        run.to_superior.append(t.number)
    level1 = session.scalars(
        select(Ticket)
        .where(
            Ticket.escalation_level == 1,
            Ticket.state.in_(open_),
            Ticket.next_escalation_at < now,
            overdue_clause(now),  # signed meanwhile and back within its clocks: it stays with the superior
        )
        .order_by(Ticket.id)
    )
    for t in level1:
        _escalate(session, t, level=2, reason="superior_deadline_passed", now=now, actor=actor)
        run.to_supervisor.append(t.number)
    cfg = stats.get_config(session, "escalation", DEFAULT_ESCALATION)
    cal = default_calendar()
    stale = session.scalars(
        select(Ticket).where(Ticket.state == State.answered, Ticket.answered_at < now).order_by(Ticket.id)
    )
    for t in stale:
        if cal.add_working_days(t.answered_at, int(cfg["auto_close_days"])) < now:
            t.state = State.closed
            t.closed_at = now
            t.updated_at = now
            _event(
                session,
                t,
                "closed",
                actor,
                State.answered,
                State.closed,
                note="答复后未评价，自动办结",
                at=now,
            )
            audit.record(
                session,
                actor=actor,
                action="appeals.ticket_autoclose",
                entity_type="appeals_ticket",
                entity_id=t.id,
                division_code=t.division_code,
                department_id=t.department_id,
            )
            _bump(session, t, "closed", now)
            run.auto_closed.append(t.number)
    session.flush()
    return run


# --------------------------------------------------------------------------------------------- channels


def get_channel(session: Session, channel_id: str) -> WeChatChannel:
    """An active WeChat channel, or NotFound."""
    ch = session.get(WeChatChannel, channel_id)
    if ch is None or not ch.active:
        raise NotFound(f"微信渠道 {channel_id} 不存在 (no such WeChat channel)")
    return ch


def ensure_channel(
    session: Session,
    *,
    actor: Actor,
    channel_id: str,
    name: str,
    token: str,
    encoding_aes_key: str,
    app_id: str,
    division_code: str,
) -> WeChatChannel:
    """Create or update a WeChat channel's secrets (idempotent)."""
    problems = []
    if not (3 <= len(token) <= 32 and token.isalnum()):
        problems.append({"loc": ["token"], "msg": "3-32 letters or digits"})
    if len(encoding_aes_key) != 43:
        problems.append({"loc": ["encoding_aes_key"], "msg": "exactly 43 characters"})
    if not channel_id.replace("_", "").replace("-", "").isalnum() or len(channel_id) > 32:
        problems.append({"loc": ["channel_id"], "msg": "letters, digits, - and _ (max 32)"})
    if session.get(Division, division_code) is None:
        problems.append({"loc": ["division_code"], "msg": "unknown division"})
    if problems:
        raise ValidationFailed("渠道配置无效 (invalid channel settings)", details=problems)
    ch = session.get(WeChatChannel, channel_id)
    if ch is None:
        ch = WeChatChannel(
            id=channel_id,
            name=name,
            token=seal(token),
            encoding_aes_key=seal(encoding_aes_key),
            app_id=app_id,
            division_code=division_code,
            active=True,
        )
        session.add(ch)
    else:
        ch.name, ch.token, ch.encoding_aes_key, ch.app_id, ch.division_code = (
            name,
            seal(token),
            seal(encoding_aes_key),
            app_id,
            division_code,
        )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="appeals.channel_save",
        entity_type="appeals_wechat_channel",
        entity_id=channel_id,
        division_code=division_code,
    )
    return ch


def recent_ticket_without_point(
    session: Session, *, channel: str, openid: str, since: datetime
) -> Ticket | None:
    """The sender's latest ticket on a channel still lacking a point (a location message completes it)."""
    return session.scalar(
        select(Ticket)
        .where(
            Ticket.channel == channel,
            Ticket.reporter_openid == openid,
            Ticket.lon.is_(None),
            Ticket.created_at >= since,
            Ticket.state == State.pending,
        )
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(1)
    )


def relocate(
    session: Session, *, actor: Actor, ticket: Ticket, lon: float, lat: float, label: str | None
) -> Ticket:
    """Attach a point to a pending ticket and re-propose its unit."""
    loc = routing.locate(session, lon=lon, lat=lat, address=None, default_division_code=None)
    old_div = ticket.division_code
    ticket.lon, ticket.lat = lon, lat
    if label:
        ticket.address = label[:300]
    ticket.division_code, ticket.division_path, ticket.location_source = (
        loc.division.code,
        loc.division.path,
        "point",
    )
    ticket.proposed_department_id = routing.propose_unit(session, loc.division, ticket.category_code)
    _event(session, ticket, "located", actor, None, None, note="诉求人补充了位置", at=utcnow())
    audit.record(
        session,
        actor=actor,
        action="appeals.ticket_locate",
        entity_type="appeals_ticket",
        entity_id=ticket.id,
        division_code=ticket.division_code,
    )
    if old_div != ticket.division_code:
        stats.bump(
            session,
            at=ticket.created_at,
            division_code=old_div,
            department_id=0,
            category_code=ticket.category_code,
            metric="created",
            n=-1,
        )
        stats.bump(
            session,
            at=ticket.created_at,
            division_code=ticket.division_code,
            department_id=0,
            category_code=ticket.category_code,
            metric="created",
        )
    return ticket


# --------------------------------------------------------------------------------------------- public lookups


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


def by_number(session: Session, number: str, *, root: Division | None = None) -> Ticket | None:
    """A ticket by its public number (optionally under a division)."""
    stmt = select(Ticket).where(Ticket.number == number)
    if root is not None:
        stmt = stmt.where(Ticket.division_path.like(root.path + "%"))
    return session.scalar(stmt)


def department_names(session: Session, ids: set[int]) -> dict[int, str]:
    """Department names by id."""
    if not ids:
        return {}
    return dict(session.execute(select(Department.id, Department.name).where(Department.id.in_(ids))).all())


def line_names(session: Session) -> dict[str, str]:
    """Chinese line names by code."""
    return dict(session.execute(select(Line.code, Line.name_zh)).all())


def set_config(session: Session, *, actor: Actor, key: str, value: dict[str, Any]) -> None:
    """Store a configuration value (audited)."""
    from govgrid.appeals.models import AppealsConfig

    session.info.pop("appeals_config", None)
    row = session.get(AppealsConfig, key)
    if row is None:
        session.add(AppealsConfig(key=key, value=value, updated_at=utcnow()))
    else:
        row.value = value
        row.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="appeals.config_set",
        entity_type="appeals_config",
        entity_id=key,
        detail=value,
    )


def can_handle(session: Session, principal: Principal, ticket: Ticket) -> bool:
    """True if the principal works in (or above, by reach) the responsible unit."""
    return ticket.department_id is not None and policy.can_act(
        session, principal, ticket.department_id, HANDLER_ROLES
    )


def candidate_units(session: Session, ticket: Ticket) -> list[tuple[int, str]]:
    """Units a dispatcher may choose: the ticket's village and township, and the county's departments."""
    lin = routing.lineage(session.get(Division, ticket.division_code))
    county = lin.get("county", ticket.division_code[:6])
    codes = [f"{lin[k]}-government" for k in ("village", "township") if k in lin]
    rows = session.execute(
        select(Department.id, Department.name, Department.code)
        .where(or_(Department.division_code == county, Department.code.in_(codes)))
        .order_by(Department.code)
    ).all()
    first = [(r[0], r[1]) for r in rows if r[2] in codes]
    return first + [(r[0], r[1]) for r in rows if r[2] not in codes]


def load_principal(session: Session, username: str) -> Principal:
    """A user's principal by username (CLI, demo and scheduled work acting as a named person)."""
    from govgrid.core.identity import service as identity
    from govgrid.core.identity.models import User

    uid = session.scalar(select(User.id).where(User.username == username))
    if uid is None:
        raise NotFound(f"用户 {username} 不存在 (no such user)")
    principal = identity.load_user_principal(session, uid)
    if principal is None:
        raise NotFound(f"用户 {username} 不可用 (user disabled)")
    return principal


def open_work(session: Session, department_ids: list[int]) -> dict[int, int]:
    """Open tickets (dispatched, signed or waiting) per responsible department."""
    rows = session.execute(
        select(Ticket.department_id, func.count())
        .where(Ticket.department_id.in_(department_ids), Ticket.state.in_(OPEN_STATES))
        .group_by(Ticket.department_id)
    ).all()
    return {d: n for d, n in rows if d is not None}
