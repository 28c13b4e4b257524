"""The coordination demo loads fast, is idempotent, and shows what the pages are about."""

from __future__ import annotations

import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.coordination.demo import load_demo
from govgrid.coordination.models import SoftwareSystem, Task, Tenant
from govgrid.coordination.services import assets, tasks
from govgrid.core.audit.service import SystemActor
from govgrid.core.identity import security
from govgrid.core.modules import DemoContext


def test_demo_loads_fast_and_once(db: Session, providers):
    security.demo_password_hash(DemoContext().password)  # the one shared demo hash (argon2), computed once
    started = time.perf_counter()
    load_demo(db, DemoContext())
    assert time.perf_counter() - started < 2.0
    load_demo(db, DemoContext())
    assert db.scalar(select(func.count(Tenant.id)).where(Tenant.is_demo.is_(True))) == 2
    assert db.scalar(select(func.count(Task.id)).where(Task.is_demo.is_(True))) == 2
    flagged = [s for s, dup in assets.list_systems(db, actor=SystemActor()) if dup is not None]
    assert [s.name for s in flagged] == ["内黄县数据中台（规划）"]
    assert db.scalar(select(func.count(SoftwareSystem.id)).where(SoftwareSystem.is_demo.is_(True))) == 2
    red = tasks.supervision(db, actor=SystemActor(), division_code="410500")
    assert {v.row.division_code for v in red if v.colour == "red"} == {
        "410523",
        "410527",
    }  # 安阳县 reported done
