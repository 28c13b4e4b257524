"""The demo: several years of monthly figures for the three counties and their peers, labelled demo data,
with one seeded anomaly that the monitor finds; loading stays fast."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from govgrid.core.modules import DemoContext
from govgrid.economy import demo
from govgrid.economy.enums import AlertKind, AlertStatus
from govgrid.economy.models import Alert, Indicator, Observation


def test_demo_loads_fast_and_the_monitor_finds_the_seeded_anomaly(db):
    # CPU time of this process: the wall clock of a shared 2-core CI machine says more about the neighbours
    started = time.process_time()
    demo.load_demo(db, DemoContext())
    elapsed = time.process_time() - started
    assert elapsed < 2.0, f"load_demo took {elapsed:.2f} s of CPU"
    for county in ("430611", "410527", "140321"):
        n = db.scalar(
            select(func.count()).select_from(Observation).where(Observation.division_code == county)
        )
        assert n >= 8 * 60, county
    assert db.scalar(select(func.count()).where(Observation.is_demo.is_(False))) == 0
    alerts = db.scalars(select(Alert)).all()
    anomalies = [(a.division_code, a.indicator.code, a.period) for a in alerts if a.kind == AlertKind.anomaly]
    assert anomalies == [("410527", "IND_VA", "2026-09")], anomalies
    crosschecks = sorted((a.indicator.code, a.period) for a in alerts if a.kind == AlertKind.crosscheck)
    assert crosschecks == [("ELEC_IND", "2026-09"), ("TAX_REV", "2026-09")]
    assert all(a.status == AlertStatus.open for a in alerts)
    va = db.scalar(select(Indicator).where(Indicator.code == "IND_VA"))
    seeded = next(a for a in alerts if a.indicator_id == va.id)
    assert seeded.value > seeded.expected_high
    assert "预期区间" in seeded.explanation and "内黄县" in seeded.explanation
    assert seeded.department.code == "410527-statistics"
    # loading again adds nothing
    before = db.scalar(select(func.count()).select_from(Observation))
    demo.load_demo(db, DemoContext())
    assert db.scalar(select(func.count()).select_from(Observation)) == before
