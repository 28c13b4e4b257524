"""The city map module's plug: routers, pages, navigation, demo, CLI, background simulator."""

from __future__ import annotations

from pathlib import Path

from govgrid.citymap import live, port, service  # noqa: F401  (live and port subscribe at import)
from govgrid.citymap.api import router as api_router
from govgrid.citymap.cli import cli
from govgrid.citymap.demo import load_demo
from govgrid.citymap.ogcapi import router as ogc_router
from govgrid.citymap.pages import router as pages_router
from govgrid.citymap.simulate import background_simulator
from govgrid.core.modules import ModuleSpec, NavItem, WorkCounter

MODULE = ModuleSpec(
    name="citymap",
    title_zh="城市管理一张图",
    title_en="City map",
    api_router=api_router,
    root_routers=[ogc_router, pages_router],
    nav=[NavItem("/citymap", "一张图", "City map")],
    templates_dir=Path(__file__).parent / "templates",
    load_demo=load_demo,
    cli=cli,
    migrations_dir=Path(__file__).parent / "migrations",
    background=[background_simulator],
    work_counters=[WorkCounter("在办案卷", "open cases", service.open_work)],
)
