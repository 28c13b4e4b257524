"""How data flows across the 条×块 matrix: requests, grants, refusals, overdue approvals, calls and rows by
provider line x consumer line and by level, and the open work counter of the home page."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, true
from sqlalchemy.orm import Session, aliased

from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.departments.models import Department
from govgrid.core.divisions import service as divisions
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ForbiddenError, ValidationFailedError
from govgrid.exchange.enums import PENDING, RequestStatus
from govgrid.exchange.models import GatewayCall, Resource, SharingRequest
from govgrid.exchange.services.access import oversight_clause
from govgrid.exchange.services.deadlines import is_overdue

RELATIONS = ("same", "up", "down", "across")
DEFAULT_PERIOD = timedelta(days=365)


def relation(provider_path: str, consumer_path: str) -> str:
    """Level of a flow: same division, up (a lower level provides to a higher), down, or across regions."""
    if provider_path == consumer_path:
        return "same"
    if provider_path.startswith(consumer_path):
        return "up"
    if consumer_path.startswith(provider_path):
        return "down"
    return "across"


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def _blank(pline: str, cline: str) -> dict[str, Any]:
    return {
        "provider_line": pline,
        "consumer_line": cline,
        "requested": 0,
        "granted": 0,
        "refused": 0,
        "pending": 0,
        "overdue": 0,
        "calls": 0,
        "rows": 0,
        "_hours": [],
    }


def _oversees(session: Session, actor: Principal, div: Division) -> bool:
    if actor.is_superuser:
        return True
    stmt = select(Division.code).where(Division.code == div.code, oversight_clause(actor, Division.path))
    return session.scalar(stmt) is not None


def flow_matrix(
    session: Session,
    *,
    actor: Principal,
    division_code: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, Any]:
    """Requests, grants, refusals, overdue, median approval time, calls and rows, by provider line x consumer
    line and by level, for flows touching a division's territory in a period.

    Whoever oversees the division (a division-reach role, the data management bureau) sees every flow touching
    it (scope "territory"); a department- or line-reach role working in the division sees only the flows of
    its own departments (scope "departments"); anyone else gets 403."""
    if division_code is None:
        if actor.primary is None:
            raise ValidationFailedError("请指定行政区划 (give a division code)")
        division_code = actor.primary.division_code
    div = divisions.get(session, division_code)
    oversees = _oversees(session, actor, div)
    # Without oversight, a role may look at a division it works in (its department lies there) or, for a line
    # role, one its line covers; it then sees its own departments' flows only.
    works_there = any(
        a.division_path.startswith(div.path) or (a.reach == "line" and div.path.startswith(a.division_path))
        for a in actor.assignments
    )
    if not oversees and not works_there:
        raise ForbiddenError("无权查看该区划的流转统计 (this division is outside your territory)")
    now = utcnow()
    end = end or now
    start = start or (end - DEFAULT_PERIOD)
    if start >= end:
        raise ValidationFailedError("开始时间须早于结束时间 (start must be before end)")
    pd, cd = aliased(Department), aliased(Department)
    pv, cv = aliased(Division), aliased(Division)
    prefix = div.path + "%"
    # Without oversight of the territory only the caller's own departments' flows count (scoped in SQL).
    own_requests: Any = true()
    own_calls: Any = true()
    if not oversees:
        own_requests = or_(
            policy.scope(SharingRequest.consumer_department_id, actor),
            policy.scope(SharingRequest.provider_department_id, actor),
        )
        own_calls = or_(
            policy.scope(GatewayCall.consumer_department_id, actor),
            policy.scope(Resource.provider_department_id, actor),
        )
    reqs = session.execute(
        select(SharingRequest, pd.line_code, pv.path, cd.line_code, cv.path)
        .join(pd, pd.id == SharingRequest.provider_department_id)
        .join(pv, pv.code == pd.division_code)
        .join(cd, cd.id == SharingRequest.consumer_department_id)
        .join(cv, cv.code == cd.division_code)
        .where(
            SharingRequest.submitted_at >= start,
            SharingRequest.submitted_at < end,
            or_(pv.path.like(prefix), cv.path.like(prefix)),
            own_requests,
        )
    ).all()
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    levels: dict[str, dict[str, Any]] = {}
    totals: dict[str, Any] = _blank("*", "*")
    stuck = []
    for req, pline, ppath, cline, cpath in reqs:
        rel = relation(ppath, cpath)
        targets = [
            cells.setdefault((pline, cline), _blank(pline, cline)),
            levels.setdefault(rel, {**_blank("", ""), "relation": rel}),
            totals,
        ]
        late = is_overdue(req, now)
        hours = None
        if req.decided_at is not None and req.status in (RequestStatus.granted, RequestStatus.refused):
            hours = (req.decided_at - req.submitted_at).total_seconds() / 3600
        for t in targets:
            t["requested"] += 1
            t["granted"] += req.status == RequestStatus.granted
            t["refused"] += req.status == RequestStatus.refused
            t["pending"] += req.status in PENDING
            t["overdue"] += late
            if hours is not None:
                t["_hours"].append(hours)
        if late and req.status in PENDING:
            stuck.append(req)
    calls = session.execute(
        select(
            Resource.line_code,
            Resource.division_path,
            cd.line_code,
            cv.path,
            func.count(GatewayCall.id),
            func.coalesce(func.sum(GatewayCall.rows), 0),
        )
        .join(Resource, Resource.id == GatewayCall.resource_id)
        .join(cd, cd.id == GatewayCall.consumer_department_id)
        .join(cv, cv.code == cd.division_code)
        .where(
            GatewayCall.at >= start,
            GatewayCall.at < end,
            or_(Resource.division_path.like(prefix), cv.path.like(prefix)),
            own_calls,
        )
        .group_by(Resource.line_code, Resource.division_path, cd.line_code, cv.path)
    ).all()
    for pline, ppath, cline, cpath, n, rows in calls:
        rel = relation(ppath, cpath)
        for t in (
            cells.setdefault((pline, cline), _blank(pline, cline)),
            levels.setdefault(rel, {**_blank("", ""), "relation": rel}),
            totals,
        ):
            t["calls"] += int(n)
            t["rows"] += int(rows)
    for t in [*cells.values(), *levels.values(), totals]:
        t["median_approval_hours"] = _median(t.pop("_hours"))
    level_rows = []
    for rel in RELATIONS:
        data = levels.get(rel, {**_blank("", ""), "relation": rel, "median_approval_hours": None})
        data.pop("_hours", None)
        level_rows.append(
            {k: v for k, v in data.items() if k not in ("provider_line", "consumer_line", "pending")}
        )
    stuck.sort(key=lambda r: r.answer_due_at)
    return {
        "division_code": div.code,
        "scope": "territory" if oversees else "departments",
        "start": start,
        "end": end,
        "totals": totals,
        "cells": sorted(cells.values(), key=lambda c: (c["provider_line"], c["consumer_line"])),
        "levels": level_rows,
        "stuck": stuck,
    }


def open_work(session: Session, department_ids: list[int]) -> dict[int, int]:
    """Sharing requests waiting for a department's check or answer (the home page's 条×块 work counter)."""
    rows = session.execute(
        select(SharingRequest.handler_department_id, func.count())
        .where(SharingRequest.handler_department_id.in_(department_ids), SharingRequest.status.in_(PENDING))
        .group_by(SharingRequest.handler_department_id)
    ).all()
    return {int(k): int(v) for k, v in rows}
