"""GB/T 30428.4-style evaluation of cases reported in a period under a division: overall, per department and
per inspector/verifier (the formulas are in `indicators`' docstring and in docs/citymap.md)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.citymap.enums import OPEN_VALUES, CaseAction, CaseSource
from govgrid.citymap.models import Case, CaseStep
from govgrid.citymap.services import access
from govgrid.citymap.services.common import check_instant
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.departments.models import Department
from govgrid.core.divisions import service as divisions
from govgrid.core.errors import ForbiddenError, ValidationFailedError
from govgrid.core.workdays import default_calendar

VERIFY_HOURS = 2.0  # 按时核查: the supervision centre checks a feedback within two office hours
DEFAULT_PERIOD = timedelta(days=90)
CHECK_ACTIONS = (CaseAction.feedback.value, CaseAction.verify_pass.value, CaseAction.verify_fail.value)


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _period(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """[start, end) as aware UTC: `end` defaults to now, `start` to 90 days before `end`."""
    until = check_instant(end, "end") or utcnow()
    since = check_instant(start, "start")
    if since is None:
        try:
            since = until - DEFAULT_PERIOD
        except OverflowError:
            raise ValidationFailedError(
                "时间超出范围 (the time is out of range): end",
                details=[{"loc": ["query", "end"], "msg": "out of range"}],
            ) from None
    return since, until


def _summary(items: Sequence[Any], horizon: datetime, now: datetime) -> dict[str, Any]:
    """The loop's rates over some cases (due: filed, and the deadline passed by `horizon` or closed)."""
    filed = [r for r in items if r.filed_at is not None]
    due = [
        r
        for r in filed
        if (r.deadline_at is not None and r.deadline_at <= horizon) or r.closed_at is not None
    ]
    closed = [r for r in due if r.closed_at is not None]
    on_time = [r for r in closed if r.closed_on_time]
    overdue = [r for r in due if not r.closed_on_time]
    fed_back = [r for r in filed if r.handled_at is not None or r.closed_at is not None or r.rework_count]
    reworked = [r for r in fed_back if r.rework_count > 0]
    responses = [
        (r.arrived_at - r.dispatched_at).total_seconds() / 60
        for r in filed
        if r.arrived_at is not None and r.dispatched_at is not None
    ]
    return {
        "reported": len(items),
        "filed": len(filed),
        "due": len(due),
        "closed": len(closed),
        "closed_on_time": len(on_time),
        "closure_rate": _rate(len(closed), len(due)),
        "on_time_closure_rate": _rate(len(on_time), len(due)),
        "rework_rate": _rate(len(reworked), len(fed_back)),
        "reworked": len(reworked),
        "overdue": len(overdue),
        "open_overdue": sum(
            1 for r in filed if r.state in OPEN_VALUES and r.deadline_at is not None and r.deadline_at < now
        ),
        "median_response_min": round(float(np.median(responses)), 1) if responses else None,
    }


def _by_department(
    session: Session, rows: Sequence[Any], horizon: datetime, now: datetime
) -> list[dict[str, Any]]:
    by_dept: dict[int, list[Any]] = {}
    for r in rows:
        if r.department_id is not None:
            by_dept.setdefault(r.department_id, []).append(r)
    names = dict(
        session.execute(select(Department.id, Department.name).where(Department.id.in_(by_dept))).all()
    )
    out = []
    for dept_id, items in sorted(by_dept.items()):
        s = _summary(items, horizon, now)
        handled = [r for r in items if r.handled_at is not None or r.closed_at is not None]
        out.append(
            {
                "department_id": dept_id,
                "department": names.get(dept_id),
                "assigned": len(items),
                "handled": len(handled),
                "handling_rate": _rate(len(handled), len(items)),
                "on_time_rate": s["on_time_closure_rate"],
                "rework_rate": s["rework_rate"],
                "overdue": s["overdue"],
            }
        )
    return out


def _by_inspector(session: Session, rows: Sequence[Any]) -> list[dict[str, Any]]:
    by_reporter: dict[tuple[str, str | None], list[Any]] = {}
    for r in rows:
        if r.source == CaseSource.inspector:
            by_reporter.setdefault((r.reporter_name or "?", r.reporter_id), []).append(r)
    checks = _verification_checks(session, [r.id for r in rows])
    out = []
    for name in sorted({name for name, _ in by_reporter} | set(checks)):
        items = [r for (n, _rid), rs in by_reporter.items() if n == name for r in rs]
        valid = [r for r in items if r.filed_at is not None]
        done, on_time = checks.get(name, (0, 0))
        out.append(
            {
                "inspector": name,
                "reported": len(items),
                "valid_reports": len(valid),
                "valid_rate": _rate(len(valid), len(items)),
                "verified": done,
                "verified_on_time": on_time,
                "on_time_verification_rate": _rate(on_time, done),
            }
        )
    return out


def indicators(
    session: Session,
    *,
    principal: Principal,
    division_code: str,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, Any]:
    """GB/T 30428.4-style evaluation for cases reported in [start, end) under a division.

    due = filed cases whose deadline fell in the period or that closed in it; 结案率 = closed / due,
    按期结案率 = closed on time / due; 返工率 = cases reworked at least once / cases that reached feedback;
    超期数 = due cases not closed by their deadline. Per department and per supervisor (reporter) as well.
    """
    start, end = _period(start, end)
    div = divisions.get(session, division_code)
    if not access.in_territory(session, principal, div.code, access.INDICATOR_ROLES):
        raise ForbiddenError("无权查看该区域的考核指标 (no access to this division's indicators)")
    if end <= start:
        raise ValidationFailedError(
            "结束时间须晚于开始时间 (end must be after start)", details=[{"loc": ["end"], "msg": ""}]
        )
    now = utcnow()
    rows = session.execute(
        select(
            Case.id,
            Case.state,
            Case.filed_at,
            Case.deadline_at,
            Case.closed_at,
            Case.closed_on_time,
            Case.rework_count,
            Case.department_id,
            Case.handled_at,
            Case.reporter_type,
            Case.reporter_id,
            Case.reporter_name,
            Case.source,
            Case.dispatched_at,
            Case.arrived_at,
            Case.report_count,
        ).where(Case.division_path.like(div.path + "%"), Case.reported_at >= start, Case.reported_at < end)
    ).all()
    horizon = min(now, end)
    return {
        "division_code": div.code,
        "division_name": div.name,
        "start": start.isoformat(),
        "end": end.isoformat(),
        **_summary(rows, horizon, now),
        "departments": _by_department(session, rows, horizon, now),
        "inspectors": _by_inspector(session, rows),
    }


def _verification_checks(session: Session, case_ids: list[int]) -> dict[str, tuple[int, int]]:
    """Per verifier: (checks done, checks within VERIFY_HOURS office hours of the feedback) — 按时核查率."""
    if not case_ids:
        return {}
    cal = default_calendar()
    out: dict[str, list[int]] = {}
    last_feedback: dict[int, datetime] = {}
    for chunk in range(0, len(case_ids), 5000):
        rows = session.execute(
            select(CaseStep.case_id, CaseStep.action, CaseStep.at, CaseStep.actor_name)
            .where(CaseStep.case_id.in_(case_ids[chunk : chunk + 5000]), CaseStep.action.in_(CHECK_ACTIONS))
            .order_by(CaseStep.case_id, CaseStep.at, CaseStep.id)
        ).all()
        for case_id, action, at, name in rows:
            if action == CaseAction.feedback:
                last_feedback[case_id] = at
                continue
            fb = last_feedback.get(case_id)
            tally = out.setdefault(name or "?", [0, 0])
            tally[0] += 1
            if fb is not None and at <= cal.add_working_hours(fb, VERIFY_HOURS):
                tally[1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}
