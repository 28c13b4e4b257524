"""Monitoring runs (经济运行监测): the anomaly scan and the cross-checks of a division's current
figures; every finding in the recent months becomes an alert routed to the department that reports the
figure, as a task due in a number of working days (``core.workdays``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.db import utcnow
from govgrid.core.departments import service as departments
from govgrid.core.divisions.models import Division
from govgrid.core.workdays import default_calendar
from govgrid.economy import analysis
from govgrid.economy.catalog import CROSS_CHECKS
from govgrid.economy.enums import AlertKind, AlertStatus
from govgrid.economy.models import Alert, Indicator, Observation
from govgrid.economy.services import access, series

log = logging.getLogger(__name__)
RECENT_MONTHS = 6  # a run judges the latest months; older ones were judged when they were new
ALERT_WORKING_DAYS = 5  # 5 个工作日内核实


@dataclass
class Finding:
    """One alert to raise (before it is stored)."""

    kind: AlertKind
    indicator: Indicator
    partner: Indicator | None
    period: str
    value: float
    low: float
    high: float
    unit: str
    score: float
    explanation: str
    explanation_en: str


def _fmt(x: float) -> str:
    return f"{x:,.2f}"


def anomaly_findings(div: Division, panel: series.Panel, recent: int) -> list[Finding]:
    """Flagged months of the last ``recent`` months of every series of the panel (one vectorised scan)."""
    if not panel.values:
        return []
    codes = list(panel.values)
    res = analysis.scan(np.vstack([panel.values[c] for c in codes]))
    out = []
    last = len(panel.periods)
    for i, code in enumerate(codes):
        ind = panel.indicators[code]
        for j in range(max(0, last - recent), last):
            if not res.flagged[i, j]:
                continue
            value, exp = float(panel.values[code][j]), float(res.expected[i, j])
            low, high = float(res.low[i, j]), float(res.high[i, j])
            off = (value - exp) / exp * 100 if exp else 0.0
            side_zh, side_en = ("高于", "above") if value > high else ("低于", "below")
            period, unit, score = panel.periods[j], ind.unit, float(res.score[i, j])
            out.append(
                Finding(
                    AlertKind.anomaly,
                    ind,
                    None,
                    period,
                    value,
                    low,
                    high,
                    unit,
                    score,
                    f"{div.name}{ind.name_zh} {period} 为 {_fmt(value)} {unit}，{side_zh}预期区间 "
                    f"{_fmt(low)} 至 {_fmt(high)} {unit}（预期 {_fmt(exp)}，偏离 {off:+.1f}%，"
                    f"约 {abs(score):.1f} 倍稳健标准差）。"
                    "预期按前三年同月数据加上近两年的典型同比变化推算。请核实该数据是否录入有误或有特殊原因。",
                    f"{ind.name_en} of {div.code} in {period} is {_fmt(value)} {unit}, "
                    f"{side_en} the expected band "
                    f"{_fmt(low)}-{_fmt(high)} {unit} (expected {_fmt(exp)}, off by {off:+.1f}%, "
                    f"{abs(score):.1f} robust standard deviations). Please check the figure.",
                )
            )
    return out


def crosscheck_findings(div: Division, panel: series.Panel, recent: int) -> list[Finding]:
    """Months in which series that should move together diverge beyond their usual gap."""
    out = []
    last = len(panel.periods)
    for check in CROSS_CHECKS:
        if check.indicator not in panel.values or check.partner not in panel.values:
            continue
        ind, partner = panel.indicators[check.indicator], panel.indicators[check.partner]
        res = analysis.crosscheck(
            panel.values[check.indicator], panel.values[check.partner], min_gap_pp=check.min_gap_pp
        )
        for j in range(max(0, last - recent), last):
            if not res.flagged[j]:
                continue
            ga, gb, gap = float(res.growth[j]), float(res.partner_growth[j]), float(res.gap[j])
            low, high = float(res.low[j]), float(res.high[j])
            usual = (low + high) / 2 - gb
            period = panel.periods[j]
            out.append(
                Finding(
                    AlertKind.crosscheck,
                    ind,
                    partner,
                    period,
                    ga,
                    low,
                    high,
                    "%",
                    float(res.score[j]),
                    f"{div.name} {period} {ind.name_zh}同比 {ga:+.1f}%，{partner.name_zh}同比 {gb:+.1f}%，"
                    "相差 "
                    f"{gap:+.1f} 个百分点；两者差距通常约 {usual:+.1f} 个百分点，按此{ind.name_zh}同比应在 "
                    f"{low:+.1f}% 至 {high:+.1f}% 之间。"
                    f"请{ind.name_zh}报送部门与{partner.name_zh}报送部门核对口径。",
                    f"{period}: {ind.name_en} YoY {ga:+.1f}% vs {partner.name_en} YoY {gb:+.1f}% "
                    f"(gap {gap:+.1f} pp, usually {usual:+.1f} pp); expected {low:+.1f}% to {high:+.1f}%.",
                )
            )
    return out


def scan_division(
    session: Session,
    *,
    actor: Actor,
    division_code: str,
    recent: int = RECENT_MONTHS,
    now: datetime | None = None,
) -> tuple[int, list[Alert]]:
    """Scan a division's current figures; store new findings as alerts with tasks. Returns (series, new
    alerts)."""
    div = access.division(session, division_code)
    access.require_scan(session, actor, div)
    panel = series.load_panel(session, principal=None, division_code=division_code)
    findings = anomaly_findings(div, panel, recent) + crosscheck_findings(div, panel, recent)
    existing = {
        (k, i, p)
        for k, i, p in session.execute(
            select(Alert.kind, Alert.indicator_id, Alert.period).where(Alert.division_code == division_code)
        )
    }
    due = default_calendar().add_working_days(now or utcnow(), ALERT_WORKING_DAYS)
    created = []
    for f in findings:
        if (f.kind, f.indicator.id, f.period) in existing:
            continue  # one alert per finding: a decided alert is not raised again by the next run
        dept = departments.ensure(session, line_code=f.indicator.line_code, division_code=division_code)
        alert = Alert(
            kind=f.kind,
            indicator_id=f.indicator.id,
            partner_indicator_id=f.partner.id if f.partner else None,
            division_code=division_code,
            department_id=dept.id,
            period=f.period,
            value=f.value,
            expected_low=f.low,
            expected_high=f.high,
            value_unit=f.unit,
            score=f.score,
            explanation=f.explanation,
            explanation_en=f.explanation_en,
            status=AlertStatus.open,
            due_at=due,
        )
        session.add(alert)
        session.flush()
        created.append(alert)
        audit.record(
            session,
            actor=actor,
            action="economy.alert_raise",
            entity_type="economy_alert",
            entity_id=alert.id,
            division_code=division_code,
            department_id=dept.id,
            detail={"kind": str(f.kind), "indicator": f.indicator.code, "period": f.period},
        )
        log.info("economy alert raised", extra={"alert_id": alert.id, "department_id": dept.id})
    audit.record(
        session,
        actor=actor,
        action="economy.scan",
        entity_type="division",
        entity_id=division_code,
        division_code=division_code,
        detail={"series": len(panel.values), "new_alerts": len(created)},
    )
    return len(panel.values), created


def scan_all(session: Session, *, actor: Actor, recent: int = RECENT_MONTHS) -> int:
    """Scan every division that has figures (the scheduler's daily run); returns the number of new alerts."""
    codes = list(session.scalars(select(Observation.division_code).distinct()))
    log.info("economy scan started", extra={"divisions": len(codes)})
    total = 0
    for code in sorted(codes):
        total += len(scan_division(session, actor=actor, division_code=code, recent=recent)[1])
    log.info("economy scan finished", extra={"divisions": len(codes), "new_alerts": total})
    return total
