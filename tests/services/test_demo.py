"""The services demo loads fast and builds applications in every state."""

from __future__ import annotations

import time

from sqlalchemy import select

from govgrid.core.modules import DemoContext
from govgrid.demo import DEMO_PASSWORD
from govgrid.services import demo
from govgrid.services.models import Application


def test_load_demo_is_fast_and_makes_a_cross_region_case(world, db):
    ctx = DemoContext(password=DEMO_PASSWORD)
    started = time.perf_counter()
    demo.load_demo(db, ctx)
    elapsed = time.perf_counter() - started
    apps = db.scalars(select(Application).where(Application.is_demo.is_(True))).all()
    assert {a.status for a in apps} >= {"in_progress", "approved"}
    assert any(a.accepted_division_code != a.decided_division_code for a in apps)
    assert elapsed < 2.0, elapsed
