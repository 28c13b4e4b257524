"""Demo data (演示数据): six years of synthetic monthly indicators for every county of the three
demo cities (岳阳市 around 君山区, 安阳市 around 内黄县, 阳泉市 around 平定县), so that a county can be
compared with its peers.

The figures are synthetic but plausible: a county-specific level and trend, a seasonal profile per
indicator (Spring Festival dip in January-February, year-end peaks in investment and retail), tax revenue
and electricity tied to industrial value added, new taxpayers tied to new registrations, and noise of a
few percent. Every row is marked ``is_demo`` and every page showing them says 演示数据.

One anomaly is seeded: 内黄县 (410527) reports 规模以上工业增加值 for 2026-09 about 45% too high (a
keying error); the demo's monitoring run finds it, and the cross-checks with 工业用电量 and 税收收入
flag the same month. One figure is revised (内黄县 社会消费品零售总额 2026-08, vintage 2), so the
vintage table has a revision.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import numpy as np
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from govgrid.core.audit.service import SystemActor
from govgrid.core.db import utcnow
from govgrid.core.departments import service as departments
from govgrid.core.departments.models import Department
from govgrid.core.divisions.models import Division
from govgrid.core.modules import DemoContext
from govgrid.economy.analysis import month_range
from govgrid.economy.enums import Source
from govgrid.economy.models import ImportBatch, Observation
from govgrid.economy.services import monitoring, registry

log = logging.getLogger(__name__)
ACTOR = SystemActor("economy-demo")
CITIES = ("430600", "410500", "140300")
FIRST, LAST = "2021-01", "2026-10"
SEED = 20261204  # chosen so that the seeded keying error is the only anomaly in the recent months
ANOMALY = ("410527", "IND_VA", "2026-09", 1.45)
REVISION = ("410527", "RETAIL", "2026-08", 1.012)
# indicator -> (level in its unit for a mid-sized county, yearly growth range, noise,
#               seasonal profile January..December)
PROFILES: dict[str, tuple[float, tuple[float, float], float, tuple[float, ...]]] = {
    "IND_VA": (
        6.0,
        (0.04, 0.08),
        0.025,
        (0.80, 0.70, 1.02, 1.00, 1.02, 1.06, 0.98, 0.98, 1.04, 1.02, 1.06, 1.22),
    ),
    "RETAIL": (
        8.0,
        (0.03, 0.07),
        0.02,
        (1.14, 1.02, 0.94, 0.92, 0.97, 0.99, 0.94, 0.95, 0.99, 1.06, 1.00, 1.08),
    ),
    "FAI": (
        9.0,
        (-0.02, 0.07),
        0.05,
        (0.40, 0.50, 0.95, 1.00, 1.05, 1.25, 1.00, 1.00, 1.15, 1.05, 1.10, 1.55),
    ),
    "BUDGET_REV": (
        1.2,
        (0.02, 0.06),
        0.04,
        (1.35, 0.80, 1.00, 1.15, 0.95, 1.00, 1.05, 0.85, 0.90, 1.10, 0.85, 1.00),
    ),
    "NEW_ENT": (
        420.0,
        (0.03, 0.09),
        0.05,
        (0.85, 0.55, 1.10, 1.05, 1.05, 1.10, 1.00, 1.00, 1.00, 0.85, 1.10, 1.35),
    ),
}
LINES = {
    "IND_VA": "statistics",
    "RETAIL": "statistics",
    "FAI": "development_reform",
    "BUDGET_REV": "finance",
    "NEW_ENT": "market_regulation",
    "ELEC_IND": "development_reform",
    "TAX_REV": "tax",
    "NEW_TAXPAYER": "tax",
}


def generate(n_counties: int, months: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Synthetic series (counties x months) for every demo indicator, vectorised."""
    t = np.arange(months)
    size = rng.lognormal(0.0, 0.45, n_counties)[:, None]
    out: dict[str, np.ndarray] = {}
    for code, (level, (g_lo, g_hi), noise, season) in PROFILES.items():
        growth = rng.uniform(g_lo, g_hi, n_counties)[:, None]
        trend = level * size * (1 + growth) ** (t / 12.0)
        seasonal = np.tile(np.asarray(season), months // 12 + 1)[:months]
        out[code] = trend * seasonal * (1 + noise * rng.standard_normal((n_counties, months)))
    va = out["IND_VA"]
    # electricity: about 0.9 million kWh per 亿元 of value added, growing a little slower (efficiency gains)
    efficiency = (1 - rng.uniform(0.005, 0.02, n_counties)[:, None]) ** (t / 12.0)
    out["ELEC_IND"] = 9000 * va * efficiency * (1 + 0.02 * rng.standard_normal(va.shape)) / 10
    out["TAX_REV"] = 0.11 * va * (1 + 0.03 * rng.standard_normal(va.shape)) + 0.25 * out["RETAIL"] * 0.05
    out["NEW_TAXPAYER"] = 0.82 * out["NEW_ENT"] * (1 + 0.03 * rng.standard_normal(va.shape))
    for code in ("NEW_ENT", "NEW_TAXPAYER"):
        out[code] = np.round(out[code])
    for code in out:
        if code not in ("NEW_ENT", "NEW_TAXPAYER"):
            out[code] = np.round(out[code], 2 if code != "ELEC_IND" else 0)
    return out


def load_demo(session: Session, ctx: DemoContext) -> None:
    """Insert the demo figures (bulk) and a revision, and run the monitor once over the three counties."""
    indicators = registry.ensure_catalog(session)
    if session.scalar(select(Observation.id).where(Observation.is_demo.is_(True)).limit(1)) is not None:
        return
    counties = list(
        session.scalars(
            select(Division.code)
            .where(Division.parent_code.in_(CITIES), Division.level == "county")
            .order_by(Division.code)
        )
    )
    periods = month_range(FIRST, LAST)
    data = generate(len(counties), len(periods), np.random.default_rng(SEED))
    row = counties.index(ANOMALY[0])
    data[ANOMALY[1]][row, periods.index(ANOMALY[2])] *= ANOMALY[3]
    # the three demo counties report their own figures; their peers' come from the city bureaus' monthly
    # bulletins (市统计月报 lists every county), so they are attributed to the city's department of the line
    own = {"430611", "410527", "140321"}
    reporter = {c: c if c in own else session.get(Division, c).parent_code for c in counties}  # type: ignore[union-attr]
    wanted = {f"{reporter[c]}-{line}" for c in counties for line in set(LINES.values())}
    have = dict(
        session.execute(select(Department.code, Department.id).where(Department.code.in_(wanted))).all()
    )
    for code in sorted(wanted - set(have)):
        division_code, line = code.split("-", 1)
        have[code] = departments.ensure(session, line_code=line, division_code=division_code).id
    batch = ImportBatch(source=Source.demo, filename="演示数据", created_by="economy-demo")
    session.add(batch)
    session.flush()
    rows: list[dict[str, Any]] = []
    source = Source.demo.value
    now = utcnow()
    for code, matrix in data.items():
        ind = indicators[code]
        for i, county in enumerate(counties):
            dept = have[f"{reporter[county]}-{LINES[code]}"]
            rows.extend(
                {
                    "indicator_id": ind.id,
                    "division_code": county,
                    "department_id": dept,
                    "period": p,
                    "value": v,
                    "vintage": 1,
                    "current": True,
                    "batch_id": batch.id,
                    "source": source,
                    "is_demo": True,
                    "recorded_at": now,
                }
                for p, v in zip(periods, matrix[i].tolist(), strict=True)
            )
    division, code, period, factor = REVISION
    for r in rows:
        if (
            r["division_code"] == division
            and r["period"] == period
            and r["indicator_id"] == indicators[code].id
        ):
            r["current"] = False
            rows.append({**r, "vintage": 2, "current": True, "value": round(r["value"] * factor, 2)})
            break
    batch.rows = len(rows)
    session.execute(insert(cast(Table, Observation.__table__)), rows)  # Core executemany: no ORM bookkeeping
    new = 0
    for county in ("430611", "410527", "140321"):
        new += len(monitoring.scan_division(session, actor=ACTOR, division_code=county)[1])
    log.info("economy demo loaded", extra={"rows": len(rows), "counties": len(counties), "new_alerts": new})
