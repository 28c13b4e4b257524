"""Read models shared by the JSON API and the pages: staff view, public view, statistics bundles."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.appeals import categories, privacy, service, stats
from govgrid.appeals import schemas as s
from govgrid.appeals.models import Ticket
from govgrid.core import privacy as core_privacy
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.divisions.models import Division
from govgrid.core.errors import NotFound
from govgrid.core.workdays import SHANGHAI


def summary(t: Ticket) -> s.TicketSummary:
    """A work-list row (no personal data: the title's numbers are masked, the reporter's name blanked)."""
    return s.TicketSummary(
        id=t.id,
        number=t.number,
        title=privacy.staff_title(t),
        category_code=t.category_code,
        state=t.state,
        division_code=t.division_code,
        department_id=t.department_id,
        proposed_department_id=t.proposed_department_id,
        created_at=t.created_at,
        sign_due=t.sign_due,
        resolve_due=t.resolve_due,
        escalation_level=t.escalation_level,
        overdue=service.is_overdue(t, utcnow()),
    )


def read(session: Session, principal: Principal, t: Ticket) -> s.TicketRead:
    """The staff view of a ticket; the reporter's identity only where allowed (and the read is audited)."""
    session.flush()
    names = service.department_names(session, {x for x in (t.department_id,) if x})
    place = privacy.place_names(session, [t]).get(t.division_code, t.division_code)
    reporter = service.reveal_reporter(session, principal=principal, ticket=t)
    dups = []
    if t.state in (service.State.pending, service.State.dispatched):
        dups = [
            {
                "id": o.id,
                "number": o.number,
                "title": privacy.staff_title(o),
                "similarity": sc,
                "state": o.state,
            }
            for o, sc in service.duplicate_candidates(session, t)
        ]
    merged = service.merged_reporters(session, t)
    if reporter is not None and merged:
        reporter["merged_reporters"] = [
            {"number": m.number, "name": m.reporter_name, "phone": m.reporter_phone} for m in merged
        ]
    data = {
        k: getattr(t, k)
        for k in s.TicketRead.model_fields
        if hasattr(t, k) and k not in ("reporter", "events")
    }
    data.update(
        place=place,
        department_name=names.get(t.department_id),
        overdue=service.is_overdue(t, utcnow()),
        reporter=s.Reporter(**{k: reporter.get(k) for k in ("name", "phone", "email", "address")})
        if reporter
        else None,
        reporter_phone_masked=None
        if reporter
        else core_privacy.mask_phone(t.reporter_phone)
        if t.reporter_phone
        else None,
        events=[s.TicketEventRead.model_validate(e) for e in service.events(session, t)],
        duplicates=dups,
    )
    if reporter is None:
        # staff who may not see the reporter: every free text with numbers masked and the reporter's name blanked
        data.update(
            title=privacy.staff_title(t),
            description=privacy.staff_text(t, t.description),
            answer=privacy.staff_text(t, t.answer),
            events=[e.model_copy(update={"note": privacy.staff_text(t, e.note)}) for e in data["events"]],
        )
    return s.TicketRead(**data)


def public_ticket(session: Session, t: Ticket) -> s.PublicTicket:
    """The tracking page's view: no name, phone or exact address."""
    shown = t
    merged_into = None
    if t.merged_into_id:
        shown = service.get_ticket(session, t.merged_into_id)
        merged_into = shown.number
    place = privacy.place_names(session, [shown]).get(shown.division_code, "")
    dept = service.department_names(session, {shown.department_id} if shown.department_id else set()).get(
        shown.department_id
    )
    view = privacy.public_view(shown, place, dept)
    view.pop("lon")
    view.pop("lat")
    view.update(
        number=t.number,
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
            for e in service.events(session, shown, public_only=True)
        ],
    )
    if merged_into:
        view["state"] = shown.state
    return s.PublicTicket(**view)


def stats_root(session: Session, code: str | None) -> Division:
    """The division figures are about: the given one, else the deployment's default, else the nation."""
    code = code or stats.get_config(session, "open311", {}).get("default_jurisdiction") or "000000"
    div = session.get(Division, code)
    if div is None:
        raise NotFound(f"行政区划代码 {code} 不存在 (no division with code {code})")
    return div


def _months_back(end: date, n: int) -> list[str]:
    out = []
    y, m = end.year, end.month
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        m -= 1
        if m == 0:
            y, m = y - 1, 12
    return list(reversed(out))


def _pct(x: float | None) -> float | None:
    return None if x is None else round(100 * x, 1)


def live_counts(session: Session, root: Division) -> dict[str, int]:
    """Open, overdue and escalated tickets right now (indexed on state; open tickets are few)."""
    now = utcnow()
    base = select(func.count()).select_from(Ticket).where(Ticket.division_path.like(root.path + "%"))
    return {
        "open": session.scalar(base.where(Ticket.state.in_(service.OPEN_STATES))) or 0,
        "overdue": session.scalar(base.where(service.overdue_clause(now))) or 0,
        "at_superior": session.scalar(
            base.where(Ticket.escalation_level == 1, Ticket.state.in_(service.OPEN_STATES))
        )
        or 0,
        "at_supervisor": session.scalar(
            base.where(Ticket.escalation_level == 2, Ticket.state.in_(service.OPEN_STATES))
        )
        or 0,
    }


def statistics(
    session: Session, *, division: str | None, start: date | None, end: date | None
) -> dict[str, Any]:
    """Everything the public statistics page shows, from the pre-aggregated counters."""
    root = stats_root(session, division)
    today = utcnow().astimezone(SHANGHAI).date()
    if start is None and end is None:
        # the last twelve whole months up to today: served from the monthly roll-up
        first = _months_back(today, 12)[0]
        start, end = date(int(first[:4]), int(first[5:]), 1), today
    data = stats.cube(session, root=root, start=start, end=end)
    r = stats.rates(session, root=root, start=start, end=end, data=data)
    hot = stats.hotspots(session, root=root, start=start, end=end, limit=0, data=data)
    return {
        "division": {"code": root.code, "name": root.name},
        "period": {"start": start, "end": end},
        "totals": {
            k: r.counts.get(k, 0)
            for k in (
                "created",
                "dispatched",
                "closed",
                "rated",
                "reopened",
                "escalated_superior",
                "escalated_supervisor",
                "overridden",
            )
        },
        "override_rate": _pct(r.counts.get("overridden", 0) / r.counts["dispatched"])
        if r.counts.get("dispatched")
        else None,
        "rates": {
            "response": _pct(r.response),
            "resolution": _pct(r.resolution),
            "satisfaction": _pct(r.satisfaction),
            "composite": None if r.composite is None else round(r.composite, 1),
        },
        "config": stats.get_config(session, "rates", stats.DEFAULT_RATES),
        "live": live_counts(session, root),
        "trend": stats.monthly_trend(session, root=root, months=_months_back(end or today, 12)),
        "rankings": {
            "township": stats.rankings(session, root=root, start=start, end=end, by="township", data=data),
            "department": stats.rankings(
                session, root=root, start=start, end=end, by="department", data=data
            ),
        },
        "hotspots": hot,
        "category_names": {c.code: c.name_zh for c in categories.CATEGORIES},
    }


def monthly_report(session: Session, *, division: str | None, month: str) -> dict[str, Any]:
    """One month's report: volumes, 三率, the best and worst units, hot spots."""
    y, m = int(month[:4]), int(month[5:7])
    if not 1 <= m <= 12:
        from govgrid.core.errors import ValidationFailed

        raise ValidationFailed("月份无效 (invalid month)", details=[{"loc": ["month"], "msg": "YYYY-MM"}])
    start = date(y, m, 1)
    end = date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)
    root = stats_root(session, division)
    data = stats.cube(session, root=root, start=start, end=end)
    r = stats.rates(session, root=root, start=start, end=end, data=data)
    towns = stats.rankings(session, root=root, start=start, end=end, by="township", data=data)
    villages = stats.rankings(session, root=root, start=start, end=end, by="village", data=data)
    depts = stats.rankings(session, root=root, start=start, end=end, by="department", data=data)
    return {
        "division": {"code": root.code, "name": root.name},
        "month": month,
        "totals": {
            k: r.counts.get(k, 0)
            for k in (
                "created",
                "dispatched",
                "closed",
                "rated",
                "reopened",
                "escalated_superior",
                "escalated_supervisor",
            )
        },
        "rates": {
            "response": _pct(r.response),
            "resolution": _pct(r.resolution),
            "satisfaction": _pct(r.satisfaction),
            "composite": None if r.composite is None else round(r.composite, 1),
        },
        "townships": towns,
        "villages_top": villages[:5],
        "villages_bottom": villages[-5:][::-1],
        "departments": depts,
        "hotspots": stats.hotspots(session, root=root, start=start, end=end, limit=10),
    }


def map_features(
    session: Session, *, division: str | None, start: date | None, end: date | None
) -> dict[str, Any]:
    """Villages (else townships) under a division as GeoJSON with concern counts: boundaries only, no points."""
    import json

    from shapely.geometry import mapping, shape

    root = stats_root(session, division)
    hot = stats.hotspots(session, root=root, start=start, end=end, limit=0)
    counts = {p["code"]: p for p in hot["places"]}
    rows = session.execute(
        select(Division.code, Division.name, Division.level, Division.boundary)
        .where(
            Division.path.like(root.path + "%"), Division.level == "village", Division.boundary.is_not(None)
        )
        .order_by(Division.code)
        .limit(2000)
    ).all()
    feats = []
    for code, name, _level, boundary in rows:
        geom = shape(json.loads(boundary)).simplify(0.0005, preserve_topology=True)
        p = counts.get(code, {})
        feats.append(
            {
                "type": "Feature",
                "geometry": mapping(geom),
                "properties": {
                    "code": code,
                    "name": name,
                    "count": p.get("count", 0),
                    "top_category": p.get("top_category"),
                },
            }
        )
    return {"type": "FeatureCollection", "features": feats}
