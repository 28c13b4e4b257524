"""Pre-aggregated counters and the figures built on them: 三率, rankings, hot spots, monthly report."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govgrid.appeals import categories
from govgrid.appeals.models import METRICS, AppealsConfig, DailyStat, MonthlyStat
from govgrid.core.departments.models import Department
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ValidationFailed
from govgrid.core.workdays import SHANGHAI

DEFAULT_RATES: dict[str, Any] = {
    # 响应率 numerator: signed (签收及时), contacted (联系及时) or signed_and_contacted (both in time)
    "response_basis": "signed_and_contacted",
    # 解决率: survey (rated resolved / rated) or closed (closed / dispatched)
    "resolution_basis": "survey",
    # 满意率 = (satisfied + basic_weight x basically satisfied) / rated
    "basic_weight": 1.0,
    "weights": {"response": 30, "resolution": 35, "satisfaction": 35},
}


def local_day(at: datetime) -> date:
    """The Asia/Shanghai calendar day of an instant."""
    return at.astimezone(SHANGHAI).date()


_UPSERTS: dict[tuple[str, str], Any] = {}
DAILY_KEY = ["day", "division_code", "department_id", "category_code"]
MONTHLY_KEY = ["month", "division_code", "department_id", "category_code"]


def _upsert_stmt(dialect: str, model: Any, keys: list[str]) -> Any:
    """One compiled-once upsert per (dialect, table) adding every metric column."""
    key = (dialect, model.__tablename__)
    if key not in _UPSERTS:
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        stmt = insert(model)
        _UPSERTS[key] = stmt.on_conflict_do_update(
            index_elements=keys, set_={m: getattr(model, m) + getattr(stmt.excluded, m) for m in METRICS}
        )
    return _UPSERTS[key]


def _upsert(session: Session, model: Any, keys: list[str], row: dict[str, Any]) -> None:
    """Add a row of metric increments to its counter row (an upsert; update-else-insert on other databases)."""
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        session.execute(_upsert_stmt(dialect, model, keys), row)
        return
    where = [getattr(model, k) == row[k] for k in keys]
    upd = (
        update(model)
        .where(*where)
        .values({m: getattr(model, m) + row[m] for m in METRICS if row[m]})
        .execution_options(synchronize_session=False)
    )
    if session.execute(upd).rowcount:
        return
    try:
        with session.begin_nested():
            session.add(model(**row))
    except IntegrityError:
        session.execute(upd)


def bump_many(
    session: Session,
    *,
    at: datetime,
    division_code: str,
    department_id: int | None,
    category_code: str,
    metrics: list[str],
    n: int = 1,
) -> None:
    """Add n to several metrics of one key, in the daily and the monthly counters."""
    day = local_day(at)
    month = day.strftime("%Y-%m")
    values = dict.fromkeys(METRICS, 0)
    for m in metrics:
        if m not in values:
            raise ValueError(f"unknown metric {m}")
        values[m] += n
    base = dict(
        division_code=division_code, department_id=department_id or 0, category_code=category_code, **values
    )
    _upsert(session, DailyStat, DAILY_KEY, dict(base, day=day, month=month))
    _upsert(session, MonthlyStat, MONTHLY_KEY, dict(base, month=month))


def bump(
    session: Session,
    *,
    at: datetime,
    division_code: str,
    department_id: int | None,
    category_code: str,
    metric: str,
    n: int = 1,
) -> None:
    """Add n to one counter (daily and monthly)."""
    bump_many(
        session,
        at=at,
        division_code=division_code,
        department_id=department_id,
        category_code=category_code,
        metrics=[metric],
        n=n,
    )


def get_config(session: Session, key: str, default: dict[str, Any]) -> dict[str, Any]:
    """A configuration value merged over its default."""
    cache = session.info.setdefault("appeals_config", {})
    if key not in cache:
        row = session.get(AppealsConfig, key)
        cache[key] = dict(row.value or {}) if row is not None else {}
    out = dict(default)
    out.update(cache[key])
    return out


def validate_rates_config(value: dict[str, Any]) -> dict[str, Any]:
    """Check a 三率 configuration, reporting every problem at once."""
    problems = []
    merged = dict(DEFAULT_RATES)
    merged.update(value)
    if merged["response_basis"] not in ("signed", "contacted", "signed_and_contacted"):
        problems.append({"loc": ["response_basis"], "msg": "signed | contacted | signed_and_contacted"})
    if merged["resolution_basis"] not in ("survey", "closed"):
        problems.append({"loc": ["resolution_basis"], "msg": "survey | closed"})
    bw = merged["basic_weight"]
    if not isinstance(bw, (int, float)) or isinstance(bw, bool) or not 0 <= bw <= 1:
        problems.append({"loc": ["basic_weight"], "msg": "a number within 0..1"})
    w = merged["weights"]
    if (
        not isinstance(w, dict)
        or set(w) != {"response", "resolution", "satisfaction"}
        or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and x >= 0 for x in w.values())
        or sum(w.values()) <= 0
    ):
        problems.append(
            {"loc": ["weights"], "msg": "{response, resolution, satisfaction}: non-negative, sum > 0"}
        )
    unknown = set(value) - set(DEFAULT_RATES)
    for k in sorted(unknown):
        problems.append({"loc": [k], "msg": "unknown setting"})
    if problems:
        raise ValidationFailed("三率配置无效 (invalid rates configuration)", details=problems)
    return merged


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
        "signed": "signed_on_time",
        "contacted": "contacted_on_time",
        "signed_and_contacted": "responded_on_time",
    }[cfg["response_basis"]]
    response = ratio(counts.get(num, 0), counts.get("dispatched", 0))
    if cfg["resolution_basis"] == "survey":
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
    nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def _source(start: date | None, end: date | None) -> Any:
    """The monthly roll-up when the period is whole months (or runs to today), else the daily counters."""
    today = datetime.now(SHANGHAI).date()
    whole_start = start is None or start.day == 1
    whole_end = end is None or end == _month_end(end) or end >= today
    return MonthlyStat if whole_start and whole_end else DailyStat


def _period_filter(stmt, T: Any, start: date | None, end: date | None):
    if T is MonthlyStat:
        if start is not None:
            stmt = stmt.where(T.month >= start.strftime("%Y-%m"))
        if end is not None:
            stmt = stmt.where(T.month <= end.strftime("%Y-%m"))
        return stmt
    if start is not None:
        stmt = stmt.where(T.day >= start)
    if end is not None:
        stmt = stmt.where(T.day <= end)
    return stmt


def _subtree(stmt, T: Any, root: Division | None):
    if root is not None and root.code != "000000":
        stmt = stmt.where(T.division_code.like(root.code + "%"))
    return stmt


Cube = list[tuple[str, int, str, str, int]]  # (division_code, department_id, category_code, metric, count)


def _sums(T: Any) -> list[Any]:
    return [func.sum(getattr(T, m)) for m in METRICS]


def cube(session: Session, *, root: Division | None, start: date | None, end: date | None) -> Cube:
    """Every counter of a period summed per (division, department, category): one scan feeds a whole page."""
    T = _source(start, end)
    stmt = select(T.division_code, T.department_id, T.category_code, *_sums(T)).group_by(
        T.division_code, T.department_id, T.category_code
    )
    stmt = _subtree(_period_filter(stmt, T, start, end), T, root)
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
    T = _source(start, end)
    stmt = _subtree(_period_filter(select(*_sums(T)), T, start, end), T, root)
    if category:
        stmt = stmt.where(T.category_code == category)
    row = session.execute(stmt).one()
    return {m: int(n) for m, n in zip(METRICS, row, strict=True) if n}


def rates(
    session: Session, *, root: Division | None, start: date | None, end: date | None, data: Cube | None = None
) -> Rates:
    """三率 for a division subtree over a period, under the deployment's configuration."""
    cfg = get_config(session, "rates", DEFAULT_RATES)
    return compute_rates(counts(session, root=root, start=start, end=end, data=data), cfg)


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
    cfg = get_config(session, "rates", DEFAULT_RATES)
    if data is None:
        data = cube(session, root=root, start=start, end=end)
    per: dict[Any, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for div, dep, _c, metric, n in data:
        key = dep if by == "department" else div
        if by == "township":
            if len(key) < 9:
                continue
            key = key[:9]
        elif by == "village":
            if len(key) < 12:
                continue
            key = key[:12]
        elif by == "department" and not key:
            continue
        per[key][metric] += int(n or 0)
    if by == "department":
        names = dict(
            session.execute(select(Department.id, Department.name).where(Department.id.in_(list(per)))).all()
        )
    else:
        names = dict(
            session.execute(select(Division.code, Division.name).where(Division.code.in_(list(per)))).all()
        )
    rows = []
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
        {"code": c, "name": (categories.get(c).name_zh if categories.get(c) else c), "count": n}
        for c, n in sorted(by_cat.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return {"categories": cats, "places": places[:limit] if limit else places}


def monthly_trend(session: Session, *, root: Division, months: list[str]) -> list[dict[str, Any]]:
    """Per month: created, closed and the three rates."""
    cfg = get_config(session, "rates", DEFAULT_RATES)
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
