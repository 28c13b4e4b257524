"""The city map module's plug: routers, pages, navigation, demo, CLI, background simulator, work counter."""

from __future__ import annotations

from pathlib import Path

from govgrid.citymap import packs, port  # noqa: F401  (port subscribes to the citizens' port at import)
from govgrid.citymap.api import router as api_router
from govgrid.citymap.cli import cli
from govgrid.citymap.demo import load_demo
from govgrid.citymap.jobs import background_simulator
from govgrid.citymap.measures import register as register_measures
from govgrid.citymap.ogcapi import router as ogc_router
from govgrid.citymap.pages import router as pages_router
from govgrid.citymap.services import cases, feed  # noqa: F401  (feed subscribes to the live events at import)
from govgrid.core.modules import ModuleSpec, NavItem, WorkCounter

register_measures()  # closure figures for the coordination measures port
packs.register()  # the city-management classes section of solution packs (core.ports, reuse)

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
    work_counters=[WorkCounter("在办案卷", "open cases", cases.open_work)],
)
