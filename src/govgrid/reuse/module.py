"""The reuse module's plug (一地创新、多地复用): solution packs and the case library: API, pages, navigation,
demo, the `govgrid packs` commands."""

from __future__ import annotations

from pathlib import Path

from govgrid.core.modules import ModuleSpec, NavItem
from govgrid.reuse.api import router as api_router
from govgrid.reuse.cli import app as cli_app
from govgrid.reuse.demo import load_demo
from govgrid.reuse.pages import router as pages_router

MODULE = ModuleSpec(
    name="reuse",
    title_zh="一地创新、多地复用",
    title_en="Innovate once, reuse everywhere",
    api_router=api_router,
    root_routers=[pages_router],
    nav=[NavItem("/reuse/packs", "复用推广", "Reuse")],
    templates_dir=Path(__file__).parent / "templates",
    load_demo=load_demo,
    cli=cli_app,
    migrations_dir=Path(__file__).parent / "migrations",
)
