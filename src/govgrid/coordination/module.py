"""The coordination module's plug (统筹): API, pages, navigation, demo, the `govgrid tenants` CLI."""

from __future__ import annotations

from pathlib import Path

from govgrid.coordination import api, pages
from govgrid.coordination.cli import app as cli_app
from govgrid.coordination.demo import load_demo
from govgrid.core.modules import ModuleSpec, NavItem

MODULE = ModuleSpec(
    name="coordination",
    title_zh="统筹协调",
    title_en="Coordination",
    api_router=api.router,
    root_routers=[pages.router],
    nav=[NavItem("/coordination/overview", "统筹", "Coordination")],
    templates_dir=Path(__file__).parent / "templates",
    load_demo=load_demo,
    cli=cli_app,
    migrations_dir=Path(__file__).parent / "migrations",
)
