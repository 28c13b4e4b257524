"""The demo loader: fast, idempotent, rules versioned, officials able to log in with the demo password."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from govgrid.core.identity.models import User
from govgrid.core.modules import DemoContext
from govgrid.institutions.demo import load_demo
from govgrid.institutions.models import ScoringRule


def test_demo_is_fast_and_idempotent(db, providers):
    ctx = DemoContext()
    began = time.perf_counter()
    load_demo(db, ctx)
    assert time.perf_counter() - began < 2
    load_demo(db, ctx)
    versions = db.scalars(select(ScoringRule.version).where(ScoringRule.division_code == "410527")).all()
    assert sorted(versions) == [1, 2]
    assert db.scalar(select(func.count(ScoringRule.id)).where(ScoringRule.is_demo.is_(True))) == 3
    assert (
        db.scalar(select(func.count(User.id)).where(User.username.in_(["hn_shuju", "nh_shuju", "pd_shuju"])))
        == 3
    )
    assert any("/institutions/ledger" in line for line in ctx.printed)
