"""Figures from the counters: 三率 (response, resolution, satisfaction) and their composite score, rankings,
hot spots and monthly trends. Nothing here reads a ticket: every figure is a sum over counter rows."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from govgrid.appeals import categories
from govgrid.appeals.enums import ResolutionBasis, ResponseBasis
from govgrid.appeals.models import METRICS, DailyStat, MonthlyStat
from govgrid.appeals.services import config
from govgrid.core.departments.models import Department
from govgrid.core.divisions.models import Division
from govgrid.core.workdays import SHANGHAI

CounterTable = type[DailyStat] | type[MonthlyStat]


@dataclass
class Rates:
    """The three rates (None when the denominator is zero) and the weighted composite score."""

    response: float | None
    resolution: float | None
    satisfaction: float | None
    composite: float | None
    counts: dict[str, int]


def compute_rates(counts: dict[str, int], cfg: dict[str, Any]) -> Rates:
    """三率 from counters under a configuration (pure: tested on hand-checked numbers)."""

    def ratio(a: float, b: float) -> float | None:
        return a / b if b else None

    num = {
        ResponseBasis.signed: "signed_on_time",
        ResponseBasis.contacted: "contacted_on_time",
        ResponseBasis.signed_and_contacted: "responded_on_time",
    }[cfg["response_basis"]]
    response = ratio(counts.get(num, 0), counts.get("dispatched", 0))
    if cfg["resolution_basis"] == ResolutionBasis.survey:
        resolution = ratio(counts.get("rated_resolved", 0), counts.get("rated", 0))
    else:
        resolution = ratio(counts.get("closed", 0), counts.get("dispatched", 0))
    satisfaction = ratio(
        counts.get("rated_satisfied", 0) + cfg["basic_weight"] * counts.get("rated_basic", 0),
        counts.get("rated", 0),
    )
    parts = [
        (response, cfg["weights"]["response"]),
        (resolution, cfg["weights"]["resolution"]),
        (satisfaction, cfg["weights"]["satisfaction"]),
    ]
    present = [(v, w) for v, w in parts if v is not None]
    wsum = sum(w for _, w in present)
    composite = 100 * sum(v * w for v, w in present) / wsum if present and wsum else None
    return Rates(response, resolution, satisfaction, composite, dict(counts))


def _month_end(d: date) -> date:
    """The last day of d's month."""
    nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def counter_table(*, start: date | None, end: date | None) -> CounterTable:
    """The monthly roll-up when the period is whole months (or runs to today), else the daily counters."""
    today = datetime.now(SHANGHAI).date()
    whole_start = start is None or start.day == 1
    whole_end = end is None or end == _month_end(end) or end >= today
    return MonthlyStat if whole_start and whole_end else DailyStat


def _period_filter(
    stmt: Select[Any], table: CounterTable, start: date | None, end: date | None
) -> Select[Any]:
    if table is MonthlyStat:
        if start is not None:
            stmt = stmt.where(table.month >= start.strftime("%Y-%m"))
        if end is not None:
            stmt = stmt.where(table.month <= end.strftime("%Y-%m"))
        return stmt
    if start is not None:
        stmt = stmt.where(DailyStat.day >= start)
    if end is not None:
        stmt = stmt.where(DailyStat.day <= end)
    return stmt


def _subtree(stmt: Select[Any], table: CounterTable, root: Division | None) -> Select[Any]:
    if root is not None and root.code != "000000":
        stmt = stmt.where(table.division_code.like(root.code + "%"))
    return stmt


Cube = list[tuple[str, int, str, str, int]]  # (division_code, department_id, category_code, metric, count)


def _sums(table: CounterTable) -> list[Any]:
    return [func.sum(getattr(table, m)) for m in METRICS]


def cube(session: Session, *, root: Division | None, start: date | None, end: date | None) -> Cube:
    """Every counter of a period summed per (division, department, category): one scan feeds a whole page."""
    table = counter_table(start=start, end=end)
    stmt = select(table.division_code, table.department_id, table.category_code, *_sums(table)).group_by(
        table.division_code, table.department_id, table.category_code
    )
    stmt = _subtree(_period_filter(stmt, table, start, end), table, root)
    out: Cube = []
    for row in session.execute(stmt):
        d, dep, c = row[0], row[1], row[2]
        for m, n in zip(METRICS, row[3:], strict=True):
            if n:
                out.append((d, dep, c, m, int(n)))
    return out


def counts(
    session: Session,
    *,
    root: Division | None,
    start: date | None,
    end: date | None,
    category: str | None = None,
    data: Cube | None = None,
) -> dict[str, int]:
    """Summed counters per metric under a division over a period."""
    if data is not None:
        out: dict[str, int] = defaultdict(int)
        for _d, _dep, c, m, n in data:
            if category is None or c == category:
                out[m] += n
        return dict(out)
    table = counter_table(start=start, end=end)
    stmt = _subtree(_period_filter(select(*_sums(table)), table, start, end), table, root)
    if category:
        stmt = stmt.where(table.category_code == category)
    row = session.execute(stmt).one()
    return {m: int(n) for m, n in zip(METRICS, row, strict=True) if n}


def rates(
    session: Session, *, root: Division | None, start: date | None, end: date | None, data: Cube | None = None
) -> Rates:
    """三率 for a division subtree over a period, under the deployment's configuration."""
    cfg = config.rates_config(session)
    return compute_rates(counts(session, root=root, start=start, end=end, data=data), cfg)


def _ranking_key(by: str, division_code: str, department_id: int) -> int | str | None:
    """What a counter row is ranked under: its department, township or village (None: not ranked)."""
    if by == "department":
        return department_id or None
    if by == "township":
        return division_code[:9] if len(division_code) >= 9 else None
    if by == "village":
        return division_code[:12] if len(division_code) >= 12 else None
    return division_code


def rankings(
    session: Session,
    *,
    root: Division,
    start: date | None,
    end: date | None,
    by: str,
    data: Cube | None = None,
) -> list[dict[str, Any]]:
    """Townships, villages or departments ranked by the composite 三率 score (ties by volume)."""
    cfg = config.rates_config(session)
    if data is None:
        data = cube(session, root=root, start=start, end=end)
    per: dict[int | str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for div, dep, _c, metric, n in data:
        key = _ranking_key(by, div, dep)
        if key is not None:
            per[key][metric] += int(n or 0)
    names: dict[int | str, str] = {}
    if by == "department":
        ids = [k for k in per if isinstance(k, int)]
        if ids:  # no round trip for an empty ranking
            for dept_id, dept_name in session.execute(
                select(Department.id, Department.name).where(Department.id.in_(ids))
            ):
                names[dept_id] = dept_name
    else:
        codes = [k for k in per if isinstance(k, str)]
        if codes:
            for code, div_name in session.execute(
                select(Division.code, Division.name).where(Division.code.in_(codes))
            ):
                names[code] = div_name
    rows: list[dict[str, Any]] = []
    for key, cnt in per.items():
        r = compute_rates(cnt, cfg)
        if not cnt.get("dispatched") and not cnt.get("created"):
            continue
        rows.append(
            {
                "key": str(key),
                "name": names.get(key, str(key)),
                "created": cnt.get("created", 0),
                "dispatched": cnt.get("dispatched", 0),
                "response": r.response,
                "resolution": r.resolution,
                "satisfaction": r.satisfaction,
                "composite": r.composite,
                "escalated": cnt.get("escalated_superior", 0),
                "supervised": cnt.get("escalated_supervisor", 0),
            }
        )
    rows.sort(
        key=lambda x: (-(x["composite"] if x["composite"] is not None else -1), -x["dispatched"], x["key"])
    )
    for i, row in enumerate(rows, 1):
        row["rank"] = i
    return rows


def hotspots(
    session: Session,
    *,
    root: Division,
    start: date | None,
    end: date | None,
    limit: int = 20,
    data: Cube | None = None,
) -> dict[str, Any]:
    """Concern counts by category and by village (the hot spots), without any personal data."""
    if data is None:
        data = cube(session, root=root, start=start, end=end)
    by_cat: dict[str, int] = defaultdict(int)
    by_place: dict[str, int] = defaultdict(int)
    cells: dict[tuple[str, str], int] = defaultdict(int)
    for div, _dep, cat, metric, n in data:
        if metric != "created":
            continue
        place = div[:12] if len(div) >= 12 else div
        by_cat[cat] += int(n)
        by_place[place] += int(n)
        cells[(place, cat)] += int(n)
    divs = {d.code: d for d in session.scalars(select(Division).where(Division.code.in_(list(by_place))))}
    places = []
    for code, n in sorted(by_place.items(), key=lambda kv: (-kv[1], kv[0])):
        d = divs.get(code)
        top_cat = max(
            ((c, v) for (p, c), v in cells.items() if p == code),
            key=lambda cv: (cv[1], cv[0]),
            default=(None, 0),
        )[0]
        places.append(
            {
                "code": code,
                "name": d.name if d else code,
                "count": n,
                "top_category": top_cat,
                # the division's representative point: never the reporter's exact position
                "lon": round(d.center_lon, 3) if d and d.center_lon is not None else None,
                "lat": round(d.center_lat, 3) if d and d.center_lat is not None else None,
            }
        )
    cats = [
        {"code": c, "name": _category_name(c), "count": n}
        for c, n in sorted(by_cat.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return {"categories": cats, "places": places[:limit] if limit else places}


def _category_name(code: str) -> str:
    """A category's Chinese name (the code itself for an unknown one)."""
    cat = categories.get(code)
    return cat.name_zh if cat is not None else code


def monthly_trend(session: Session, *, root: Division, months: list[str]) -> list[dict[str, Any]]:
    """Per month: created, closed and the three rates."""
    cfg = config.rates_config(session)
    per: dict[str, dict[str, int]] = {m: {} for m in months}
    stmt = (
        select(MonthlyStat.month, *_sums(MonthlyStat))
        .where(MonthlyStat.month.in_(months))
        .group_by(MonthlyStat.month)
    )
    for row in session.execute(_subtree(stmt, MonthlyStat, root)):
        per[row[0]] = {m: int(n) for m, n in zip(METRICS, row[1:], strict=True) if n}
    out = []
    for m in months:
        r = compute_rates(per[m], cfg)
        out.append(
            {
                "month": m,
                "created": per[m].get("created", 0),
                "closed": per[m].get("closed", 0),
                "response": r.response,
                "resolution": r.resolution,
                "satisfaction": r.satisfaction,
                "composite": r.composite,
            }
        )
    return out


def best_and_worst(
    ranked: list[dict[str, Any]], size: int = 5
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The best and the worst of a ranking, disjoint: each unit is in at most one list (a short ranking is
    split in two halves, the best half taking the middle one); units without a score are in neither."""
    scored = [r for r in ranked if r["composite"] is not None]
    best = scored[: min(size, (len(scored) + 1) // 2)]
    worst = scored[len(best) :][-size:][::-1]
    return best, worst
