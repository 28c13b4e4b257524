"""The market module's plug (市场监管协同): API, pages, navigation, demo, CLI, the 条×块 work counter."""

from __future__ import annotations

from pathlib import Path

from govgrid.core.modules import ModuleSpec, NavItem, WorkCounter
from govgrid.market.api import router as api_router
from govgrid.market.cli import app as cli_app
from govgrid.market.demo import load_demo
from govgrid.market.pages import router as pages_router
from govgrid.market.services import cases

MODULE = ModuleSpec(
    name="market",
    title_zh="市场监管协同",
    title_en="Market supervision",
    api_router=api_router,
    root_routers=[pages_router],
    nav=[
        NavItem("/market/entities", "市场监管", "Market supervision"),
        NavItem("/market/results", "双随机公示", "Inspection results", public=True),
    ],
    templates_dir=Path(__file__).parent / "templates",
    load_demo=load_demo,
    cli=cli_app,
    migrations_dir=Path(__file__).parent / "migrations",
    work_counters=[WorkCounter("协同案件", "shared cases", cases.open_cases_per_department)],
)
