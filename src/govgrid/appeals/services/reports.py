"""The bundles of figures the public statistics page, the monthly report and the map layer show (from the
counters; no personal data, never a reporter's point)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from shapely.geometry import mapping, shape
from sqlalchemy import case as sql_case
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.appeals import categories
from govgrid.appeals.enums import OPEN_STATES, EscalationLevel
from govgrid.appeals.models import Ticket
from govgrid.appeals.services import config, queries, stats
from govgrid.core.db import utcnow
from govgrid.core.divisions.models import Division
from govgrid.core.errors import NotFoundError, ValidationFailedError
from govgrid.core.workdays import SHANGHAI


def stats_root(session: Session, *, code: str | None) -> Division:
    """The division figures are about: the given one, else the deployment's default, else the nation."""
    code = code or config.default_jurisdiction(session) or "000000"
    div = session.get(Division, code)
    if div is None:
        raise NotFoundError(f"行政区划代码 {code} 不存在 (no division with code {code})")
    return div


def _months_back(end: date, n: int) -> list[str]:
    """The n months up to and including end's, oldest first ('YYYY-MM')."""
    out = []
    y, m = end.year, end.month
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        m -= 1
        if m == 0:
            y, m = y - 1, 12
    return list(reversed(out))


def _pct(x: float | None) -> float | None:
    """A share as a percentage with one decimal."""
    return None if x is None else round(100 * x, 1)


def live_counts(session: Session, *, root: Division) -> dict[str, int]:
    """Open, overdue and escalated tickets right now (indexed on state; open tickets are few)."""
    now = utcnow()
    # one pass over the open tickets (every overdue or escalated ticket counted here is open)
    row = session.execute(
        select(
            func.count(),
            func.count(sql_case((queries.overdue_clause(now=now), 1))),
            func.count(sql_case((Ticket.escalation_level == EscalationLevel.superior, 1))),
            func.count(sql_case((Ticket.escalation_level == EscalationLevel.supervisor, 1))),
        ).where(Ticket.division_path.like(root.path + "%"), Ticket.state.in_(OPEN_STATES))
    ).one()
    return {
        "open": row[0] or 0, "overdue": row[1] or 0, "at_superior": row[2] or 0, "at_supervisor": row[3] or 0
    }


def statistics(
    session: Session, *, division: str | None, start: date | None, end: date | None
) -> dict[str, Any]:
    """Everything the public statistics page shows, from the pre-aggregated counters."""
    root = stats_root(session, code=division)
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
        "config": config.rates_config(session),
        "live": live_counts(session, root=root),
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
        raise ValidationFailedError(
            "月份无效 (invalid month)", details=[{"loc": ["month"], "msg": "YYYY-MM"}]
        )
    start = date(y, m, 1)
    end = date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)
    root = stats_root(session, code=division)
    data = stats.cube(session, root=root, start=start, end=end)
    r = stats.rates(session, root=root, start=start, end=end, data=data)
    towns = stats.rankings(session, root=root, start=start, end=end, by="township", data=data)
    villages = stats.rankings(session, root=root, start=start, end=end, by="village", data=data)
    villages_top, villages_bottom = stats.best_and_worst(villages)
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
        "villages_top": villages_top,
        "villages_bottom": villages_bottom,
        "departments": depts,
        "hotspots": stats.hotspots(session, root=root, start=start, end=end, limit=10),
    }


def map_features(
    session: Session, *, division: str | None, start: date | None, end: date | None
) -> dict[str, Any]:
    """Villages under a division as GeoJSON with concern counts: boundaries only, no points."""
    root = stats_root(session, code=division)
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
        if boundary is None:
            continue
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
