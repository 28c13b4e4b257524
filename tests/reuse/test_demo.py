"""The reuse demo: 内黄县's pack in the catalogue and the four library cases, idempotent and fast."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core.modules import DemoContext
from govgrid.reuse import demo
from govgrid.reuse.models import Case, Pack


def test_the_demo_loads_fast_and_twice(db: Session):
    import govgrid.appeals.module  # noqa: F401  (registers the appeals pack section)

    started = time.perf_counter()
    demo.load_demo(db, DemoContext())
    assert time.perf_counter() - started < 2
    demo.load_demo(db, DemoContext())
    titles = {c.title: c.state for c in db.scalars(select(Case))}
    assert titles["浙江省“最多跑一次”改革"] == "recommended_national"
    assert titles["内黄县民声诉求监督群"] == "accepted"
    assert {"君山湿地碳汇：遥感核算与碳汇交易", "平定县城市管理一张图"} <= set(titles)
    assert [p.pack_id for p in db.scalars(select(Pack))] == ["appeals-410527"]
    linked = db.scalar(select(Case).where(Case.title == "内黄县民声诉求监督群"))
    assert linked is not None and linked.pack_id == "appeals-410527"
