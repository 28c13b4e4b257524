"""The carbon module's plug: registry API, pages, navigation, demo, and the engine's CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from govgrid.carbon.api import router as api_router
from govgrid.carbon.api_market import router as market_api_router
from govgrid.carbon.demo import load_demo
from govgrid.carbon.demo_market import load_market_demo
from govgrid.carbon.jobs_market import PERIODIC as MARKET_JOBS
from govgrid.carbon.pages import router as pages_router
from govgrid.carbon.pages_market import router as market_pages_router
from govgrid.carbon.pages_registry import router as registry_pages_router
from govgrid.core.modules import DemoContext, ModuleSpec, NavItem


def _cli() -> Any:
    """The engine's Typer app, or None where the engine's dependencies are not installed."""
    try:
        from govgrid.carbon.cli import app
    except ImportError:  # the engine CLI is optional for the registry
        return None
    return app


def _load_demo(session: Session, ctx: DemoContext) -> None:
    """The registry demo, then the market demo built on its issued credits."""
    load_demo(session, ctx)
    load_market_demo(session, ctx)


# the registry's routes and the market's (/api/v1/carbon/market/...) under one API router
API_ROUTER = APIRouter()
API_ROUTER.include_router(api_router)
API_ROUTER.include_router(market_api_router)

MODULE = ModuleSpec(
    name="carbon",
    title_zh="湿地碳汇",
    title_en="Wetland carbon",
    api_router=API_ROUTER,
    # the registry's forms first: /carbon/projects/new before /carbon/projects/{project_id}
    root_routers=[registry_pages_router, pages_router, market_pages_router],
    nav=[
        NavItem("/carbon/projects", "湿地碳汇", "Wetland carbon"),
        NavItem("/carbon/registry", "碳汇登记簿", "Carbon registry", public=True),
        NavItem("/carbon/market", "碳汇交易", "Carbon market", public=True),
    ],
    templates_dir=Path(__file__).parent / "templates",
    load_demo=_load_demo,
    cli=_cli(),
    migrations_dir=Path(__file__).parent / "migrations",
    periodic=MARKET_JOBS,
)
