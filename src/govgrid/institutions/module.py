"""The institutions module's plug (数据制度): API, pages, navigation, demo, the hourly governance pass."""

from __future__ import annotations

from pathlib import Path

from govgrid.core.events import subscribe
from govgrid.core.modules import ModuleSpec, NavItem
from govgrid.institutions import api, jobs, pages
from govgrid.institutions.demo import load_demo

for _name, _handler in jobs.SUBSCRIPTIONS:  # case closures for the ledger's "cases closed"
    subscribe(_name, _handler)

MODULE = ModuleSpec(
    name="institutions",
    title_zh="数据制度",
    title_en="Data institutions",
    api_router=api.router,
    root_routers=[pages.router],
    nav=[NavItem("/institutions/ledger", "数据制度", "Data institutions")],
    templates_dir=Path(__file__).parent / "templates",
    load_demo=load_demo,
    migrations_dir=Path(__file__).parent / "migrations",
    periodic=jobs.PERIODIC,
)
