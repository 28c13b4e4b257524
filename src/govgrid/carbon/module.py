"""The carbon module's plug: registry API, pages, navigation, demo, and the engine's CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from govgrid.carbon.api import router as api_router
from govgrid.carbon.demo import load_demo
from govgrid.carbon.pages import router as pages_router
from govgrid.core.modules import ModuleSpec, NavItem


def _cli() -> Any:
    """The engine's Typer app, or None where the engine's dependencies are not installed."""
    try:
        from govgrid.carbon.cli import app
    except ImportError:  # the engine CLI is optional for the registry
        return None
    return app


MODULE = ModuleSpec(
    name="carbon",
    title_zh="湿地碳汇",
    title_en="Wetland carbon",
    api_router=api_router,
    root_routers=[pages_router],
    nav=[
        NavItem("/carbon/projects", "湿地碳汇", "Wetland carbon"),
        NavItem("/carbon/registry", "碳汇登记簿", "Carbon registry", public=True),
    ],
    templates_dir=Path(__file__).parent / "templates",
    load_demo=load_demo,
    cli=_cli(),
    migrations_dir=Path(__file__).parent / "migrations",
)
