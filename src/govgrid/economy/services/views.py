"""What the pages show: a division's dashboard, one indicator in detail, and peer comparison (同级比较).

Peers (the other counties of the same city and province) are compared by their growth rates for the same month
only: the rates a county publishes in its monthly bulletin, never another county's raw figures, vintages or
alerts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.core.audit import service as audit
from govgrid.core.authz.principal import Principal
from govgrid.core.divisions.models import Division
from govgrid.core.divisions.service import in_subtree
from govgrid.core.errors import NotFoundError
from govgrid.economy import analysis
from govgrid.economy.enums import AlertStatus
from govgrid.economy.models import Alert, Indicator, Observation
from govgrid.economy.services import access, alerts, registry, series

CHART_MONTHS = 37


def _clean(values: Any) -> list[float | None]:
    """Floats for JSON, None where missing (NaN is not JSON)."""
    return [None if v is None or not math.isfinite(float(v)) else round(float(v), 4) for v in values]


@dataclass
class Card:
    """One indicator on the dashboard."""

    indicator: Indicator
    periods: list[str]
    values: list[float | None]
    yoy: list[float | None]
    latest_period: str
    latest_value: float | None
    latest_yoy: float | None
    latest_ytd: float | None
    open_alerts: int


@dataclass
class Dashboard:
    """A division's dashboard."""

    division: Division
    cards: list[Card]
    alerts: list[Alert]
    children: list[Division]
    demo: bool


def dashboard(session: Session, *, principal: Principal, division_code: str) -> Dashboard:
    """Cards for every indicator the principal may see in the division, its open alerts and child divisions
    with figures."""
    div = access.require_division(session, principal, division_code)
    panel = series.load_panel(session, principal=principal, division_code=division_code)
    open_alerts, _ = alerts.list_alerts(session, principal=principal, division_code=division_code, limit=50)
    counts: dict[str, int] = {}
    for a in open_alerts:
        if a.division_code == division_code:
            counts[a.indicator.code] = counts.get(a.indicator.code, 0) + 1
    cards = []
    for code, values in panel.values.items():
        yoy = analysis.yoy(values)
        ytd = analysis.ytd_growth(panel.periods, values)
        valid = np.flatnonzero(np.isfinite(values))
        if not len(valid):
            continue
        k = int(valid[-1])
        cards.append(
            Card(
                panel.indicators[code],
                panel.periods[-CHART_MONTHS:],
                _clean(values[-CHART_MONTHS:]),
                _clean(yoy[-CHART_MONTHS:]),
                panel.periods[k],
                _clean([values[k]])[0],
                _clean([yoy[k]])[0],
                _clean([ytd[k]])[0],
                counts.get(code, 0),
            )
        )
    child_codes = session.scalars(
        access.observation_query()
        .where(
            in_subtree(Division.path, div.path),
            Division.code != div.code,
            Observation.current.is_(True),
            access.visible_observations(principal),
        )
        .with_only_columns(Observation.division_code)
        .distinct()
    ).all()
    children = list(
        session.scalars(select(Division).where(Division.code.in_(child_codes)).order_by(Division.code))
    )
    audit.record(
        session,
        actor=principal,
        action="economy.read_dashboard",
        entity_type="division",
        entity_id=division_code,
        division_code=division_code,
    )
    return Dashboard(div, cards, open_alerts, children, panel.demo)


@dataclass
class Detail:
    """One indicator of one division: figures, seasonal adjustment, expected band, nowcast, vintages,
    alerts."""

    division: Division
    indicator: Indicator
    chart: dict[str, Any]
    latest_yoy: float | None
    latest_ytd: float | None
    vintages: list[Observation]
    revised_periods: set[str]
    alerts: list[Alert]
    demo: bool
    nowcast_level: float | None = None
    nowcast: list[tuple[str, float, float, float]] = field(default_factory=list)


def detail(session: Session, *, principal: Principal, division_code: str, indicator_code: str) -> Detail:
    """Everything the indicator page shows; 404 when the principal sees no figure of it here."""
    div = access.require_division(session, principal, division_code)
    ind = registry.get_indicator(session, indicator_code)
    panel = series.load_panel(session, principal=principal, division_code=division_code, codes=[ind.code])
    if ind.code not in panel.values:
        raise NotFoundError(
            f"{div.name}暂无您可查看的{ind.name_zh}数据 (no figures of {ind.code} here for you)"
        )
    values = panel.values[ind.code]
    periods = panel.periods
    yoy = analysis.yoy(values)
    ytd = analysis.ytd_growth(periods, values)
    scan = analysis.scan(values)
    adjusted = analysis.seasonal_adjust(values)
    # an anomaly would drag the projection: flagged months are replaced by their expected value first
    forecast = analysis.nowcast(np.where(scan.flagged[0], scan.expected[0], values))
    ahead = analysis.next_months(periods[-1], 3)
    chart: dict[str, Any] = {
        "periods": periods,
        "values": _clean(values),
        "yoy": _clean(yoy),
        "ytd": _clean(ytd),
        "expected": _clean(scan.expected[0]),
        "low": _clean(scan.low[0]),
        "high": _clean(scan.high[0]),
        "flagged": [periods[j] for j in np.flatnonzero(scan.flagged[0])],
        "adjusted": _clean(adjusted.adjusted) if adjusted else [],
        "unit": ind.unit,
    }
    rows: list[tuple[str, float, float, float]] = []
    if forecast is not None:
        chart["ahead"] = ahead
        chart["nowcast"] = _clean(forecast.mean)
        chart["nowcast_low"] = _clean(forecast.low)
        chart["nowcast_high"] = _clean(forecast.high)
        rows = [
            (p, float(m), float(lo), float(hi))
            for p, m, lo, hi in zip(ahead, forecast.mean, forecast.low, forecast.high, strict=True)
        ]
    vint = series.vintages(session, principal=principal, division_code=division_code, indicator=ind)
    revised = {o.period for o in vint if o.vintage > 1}
    found, _ = alerts.list_alerts(
        session, principal=principal, division_code=division_code, status=None, indicator=ind, limit=100
    )
    valid = np.flatnonzero(np.isfinite(values))
    k = int(valid[-1])
    return Detail(
        div,
        ind,
        chart,
        _clean([yoy[k]])[0],
        _clean([ytd[k]])[0],
        vint,
        revised,
        [a for a in found if a.division_code == division_code],
        panel.demo,
        forecast.level if forecast else None,
        rows,
    )


@dataclass
class Growth:
    """One series with its growth rates (for the API)."""

    indicator: Indicator
    periods: list[str]
    values: list[float | None]
    yoy: list[float | None]
    ytd: list[float | None]
    demo: bool


def growth(session: Session, *, principal: Principal, division_code: str, indicator_code: str) -> Growth:
    """Current figures of one series with YoY and cumulative growth; 404 when the principal sees none."""
    div = access.require_division(session, principal, division_code)
    ind = registry.get_indicator(session, indicator_code)
    panel = series.load_panel(session, principal=principal, division_code=division_code, codes=[ind.code])
    if ind.code not in panel.values:
        raise NotFoundError(
            f"{div.name}暂无您可查看的{ind.name_zh}数据 (no figures of {ind.code} here for you)"
        )
    values = panel.values[ind.code]
    audit.record(
        session,
        actor=principal,
        action="economy.read_series",
        entity_type="economy_series",
        entity_id=f"{division_code}:{ind.code}",
        division_code=division_code,
    )
    return Growth(
        ind,
        panel.periods,
        _clean(values),
        _clean(analysis.yoy(values)),
        _clean(analysis.ytd_growth(panel.periods, values)),
        panel.demo,
    )


@dataclass
class PeerRow:
    """One county's growth rates for the compared month."""

    code: str
    name: str
    yoy: float | None
    ytd: float | None
    is_self: bool


@dataclass
class Peers:
    """A county against the other counties of its city and of its province."""

    division: Division
    indicator: Indicator
    period: str
    city: Division | None
    province: Division | None
    in_city: list[PeerRow]
    in_province: list[PeerRow]


def peers(session: Session, *, principal: Principal, division_code: str, indicator_code: str) -> Peers:
    """Growth rates of the county and its peers for the county's latest month (only rates, never raw
    figures)."""
    div = access.require_division(session, principal, division_code)
    ind = registry.get_indicator(session, indicator_code)
    own = series.load_panel(session, principal=principal, division_code=division_code, codes=[ind.code])
    if ind.code not in own.values:
        raise NotFoundError(
            f"{div.name}暂无您可查看的{ind.name_zh}数据 (no figures of {ind.code} here for you)"
        )
    valid = np.flatnonzero(np.isfinite(own.values[ind.code]))
    period = own.periods[int(valid[-1])]
    codes = div.path.strip("/").split("/")
    province = session.get(Division, codes[1]) if len(codes) > 2 else None
    city = session.get(Division, div.parent_code) if div.parent_code and div.parent_code != codes[1] else None
    rows_in: dict[str, PeerRow] = {}
    if province is not None:
        first = f"{int(period[:4]) - 1}-01"
        data = session.execute(
            select(Observation.division_code, Observation.period, Observation.value)
            .join(Division, Division.code == Observation.division_code)
            .where(
                in_subtree(Division.path, province.path),
                Division.level == div.level,
                Observation.indicator_id == ind.id,
                Observation.current.is_(True),
                Observation.period >= first,
                Observation.period <= period,
            )
        ).all()
        per: dict[str, dict[str, float]] = {}
        for code, p, v in data:
            per.setdefault(code, {})[p] = v
        months = analysis.month_range(first, period)
        names = dict(
            session.execute(select(Division.code, Division.name).where(Division.code.in_(per))).all()
        )
        for code, figures in per.items():
            arr = np.array([figures.get(m, np.nan) for m in months])
            rows_in[code] = PeerRow(
                code,
                names[code],
                _clean([analysis.yoy(arr)[-1]])[0],
                _clean([analysis.ytd_growth(months, arr)[-1]])[0],
                code == div.code,
            )

    def ranked(rows: list[PeerRow]) -> list[PeerRow]:
        return sorted(rows, key=lambda r: -(r.ytd if r.ytd is not None else -math.inf))

    in_city = [r for c, r in rows_in.items() if city is not None and c.startswith(city.code[:4])]
    audit.record(
        session,
        actor=principal,
        action="economy.read_peers",
        entity_type="division",
        entity_id=division_code,
        division_code=division_code,
        detail={"indicator": ind.code},
    )
    return Peers(div, ind, period, city, province, ranked(in_city), ranked(list(rows_in.values())))


def open_alert_total(session: Session, *, principal: Principal) -> int:
    """How many open alerts the principal sees (for the module's landing page)."""
    stmt = (
        select(func.count())
        .select_from(Alert)
        .join(Division, Division.code == Alert.division_code)
        .where(access.visible_alerts(principal), Alert.status == AlertStatus.open)
    )
    return session.scalar(stmt) or 0


def home_divisions(session: Session, *, principal: Principal) -> list[Division]:
    """Divisions with figures the principal may see, at the highest level it works at (for the landing
    page)."""
    codes = session.scalars(
        access.observation_query()
        .where(Observation.current.is_(True), access.visible_observations(principal))
        .with_only_columns(Observation.division_code)
        .distinct()
    ).all()
    divs = list(session.scalars(select(Division).where(Division.code.in_(codes)).order_by(Division.code)))
    return [d for d in divs if access.may_open_division(principal, d)]
