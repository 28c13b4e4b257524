"""The economy module's plug: API, pages, navigation, demo, the daily monitoring run, the matrix counter."""

from __future__ import annotations

from pathlib import Path

from govgrid.core.modules import ModuleSpec, NavItem, WorkCounter
from govgrid.economy import jobs
from govgrid.economy.api import router as api_router
from govgrid.economy.demo import load_demo
from govgrid.economy.pages import router as pages_router
from govgrid.economy.services import alerts

MODULE = ModuleSpec(
    name="economy",
    title_zh="经济运行监测",
    title_en="Economic monitoring",
    api_router=api_router,
    root_routers=[pages_router],
    nav=[NavItem("/economy", "经济运行", "Economy")],
    templates_dir=Path(__file__).parent / "templates",
    load_demo=load_demo,
    migrations_dir=Path(__file__).parent / "migrations",
    periodic=jobs.PERIODIC,
    work_counters=[WorkCounter("经济运行预警", "Economy alerts", alerts.open_counts)],
)
