"""FastAPI app factory: core API, each module's routers and pages, static assets, standard APIs."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

import xstatic.pkg.bootstrap as xs_bootstrap
import xstatic.pkg.leaflet as xs_leaflet
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from govgrid import __version__
from govgrid.config import get_settings
from govgrid.core import pages
from govgrid.core.api import router as core_router
from govgrid.core.http import RequestContextMiddleware, RequestIdLogFilter, install_error_handlers
from govgrid.core.modules import module_specs
from govgrid.web.messages import MESSAGES
from govgrid.web.routes import router as web_router

log = logging.getLogger(__name__)


def _plotly_dir() -> Path | None:
    try:
        import plotly

        path = Path(plotly.__file__).parent / "package_data"
        return path if (path / "plotly.min.js").exists() else None
    except ImportError:
        return None


def create_app() -> FastAPI:
    """Build the whole application from Settings and the installed modules."""
    settings = get_settings()
    app = FastAPI(
        title="govgrid",
        version=__version__,
        description="条块协同的数字政府平台 · digital government across lines (条) and territories (块)",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware)

    web_dir = Path(str(resources.files("govgrid.web")))
    pages.register_templates(web_dir / "templates")
    pages.register_messages(MESSAGES)
    app.mount("/static/bootstrap", StaticFiles(directory=xs_bootstrap.BASE_DIR), name="bootstrap")
    app.mount("/static/leaflet", StaticFiles(directory=xs_leaflet.BASE_DIR), name="leaflet")
    plotly_dir = _plotly_dir()
    if plotly_dir is not None:
        app.mount("/static/plotly", StaticFiles(directory=plotly_dir), name="plotly")
    app.mount("/static/govgrid", StaticFiles(directory=web_dir / "static"), name="govgrid-static")

    app.include_router(core_router, prefix="/api/v1")
    app.include_router(web_router)
    for spec in module_specs():
        if spec.templates_dir is not None:
            pages.register_templates(spec.templates_dir)
        pages.register_nav(spec.nav)
        if spec.api_router is not None:
            app.include_router(spec.api_router, prefix="/api/v1")
        for r in spec.root_routers:
            app.include_router(r)
        for path, factory in spec.mounts:
            app.mount(path, factory())
        if spec.on_startup is not None:
            spec.on_startup()

    @app.exception_handler(pages.LoginRedirect)
    async def _login_redirect(request: Request, exc: pages.LoginRedirect):
        return RedirectResponse(f"/login?next={exc.next_url}", status_code=303)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.state.settings = settings
    return app


def configure_logging() -> None:
    """Application log with request ids (the audit log is separate)."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdLogFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"))
    root = logging.getLogger("govgrid")
    root.handlers[:] = [handler]
    root.setLevel(get_settings().log_level)
