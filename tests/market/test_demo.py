"""The demo: plausible entities for three counties, one completed round with public results, fast,
repeatable."""

import time

from sqlalchemy import func, select

from govgrid.core.modules import DemoContext
from govgrid.market import creditcode, drawing
from govgrid.market.demo import load_demo
from govgrid.market.models import Draw, MarketEntity


def test_demo_loads_fast_and_verifies(db, client):
    started = time.perf_counter()
    ctx = DemoContext()
    load_demo(db, ctx)
    elapsed = time.perf_counter() - started
    entities = list(db.scalars(select(MarketEntity).where(MarketEntity.is_demo.is_(True))))
    assert {e.division_code for e in entities} == {"410527", "430611", "140321"}
    assert all(creditcode.is_valid(e.credit_code) and "示例" in e.name for e in entities)
    assert len({e.credit_class for e in entities}) >= 3
    draws = {d.status: d for d in db.scalars(select(Draw))}
    done = draws["published"]
    assert (
        drawing.verify(
            client.get(f"/api/v1/market/draws/{done.id}").json(),
            done.entities_snapshot,
            done.inspectors_snapshot,
        )
        is None
    )
    assert client.get("/api/v1/market/draws").json()[0]["seed"] is None  # 平定县: committed, not drawn
    assert len(client.get("/api/v1/market/results", params={"division": "410527"}).json()) == 6
    load_demo(db, DemoContext())  # idempotent
    assert (
        db.scalar(select(func.count()).select_from(MarketEntity).where(MarketEntity.is_demo.is_(True))) == 120
    )
    assert elapsed < 15  # argon2 for four users dominates; the data itself takes well under a second
