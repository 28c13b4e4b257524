"""FastAPI app factory: core API, each module's routers and pages, static assets, standard APIs."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

import anyio.to_thread
import xstatic.pkg.bootstrap as xs_bootstrap
import xstatic.pkg.leaflet as xs_leaflet
from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware

from govgrid import __version__
from govgrid.config import get_settings
from govgrid.core import jobs, pages
from govgrid.core.api import router as core_router
from govgrid.core.http import RequestContextMiddleware, install_error_handlers
from govgrid.core.jobs import routes as jobs_routes
from govgrid.core.logs import AccessLogMiddleware
from govgrid.core.modules import module_specs
from govgrid.core.openapi import install as install_openapi
from govgrid.core.websec import SecurityMiddleware, guard_request
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


def _swagger_dir() -> Path:
    """Swagger UI's files, shipped inside the fastapi-offline package (no CDN on government networks)."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


def create_app(*, background: bool = False) -> FastAPI:
    """Build the whole application from Settings and the installed modules (`background`: start their
    jobs)."""
    settings = get_settings()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # blocking work (database, files) runs in this many threads; the database pool is sized to match
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        if background:
            for spec in module_specs():
                for start in spec.background:
                    if inspect.iscoroutinefunction(start):
                        await start()
                    else:  # a blocking starter (it may read the database) runs off the event loop
                        await anyio.to_thread.run_sync(start)
            # SQLite: the periodic jobs run in this process; PostgreSQL: `govgrid worker` runs them
            jobs.start_in_process()
        from govgrid.core import notify  # PostgreSQL: hear the events other processes commit

        stop_listener = await notify.start(settings.database_url)
        try:
            yield
        finally:
            await stop_listener()

    app = FastAPI(
        title="govgrid",
        version=__version__,
        description="条块协同的数字政府平台 · digital government across lines (条) and territories (块)",
        openapi_url="/openapi.json",
        # served below from fastapi-offline's Swagger UI files (no CDN; scripts carry the CSP nonce)
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(guard_request)],
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(SecurityMiddleware)
    app.add_middleware(AccessLogMiddleware)  # inside the request context: its line carries the request id
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.host_allow_list())

    web_dir = Path(str(resources.files("govgrid.web")))
    pages.register_templates(web_dir / "templates")
    pages.register_messages(MESSAGES)
    app.mount("/static/bootstrap", StaticFiles(directory=xs_bootstrap.BASE_DIR), name="bootstrap")
    app.mount("/static/leaflet", StaticFiles(directory=xs_leaflet.BASE_DIR), name="leaflet")
    plotly_dir = _plotly_dir()
    if plotly_dir is not None:
        app.mount("/static/plotly", StaticFiles(directory=plotly_dir), name="plotly")
    app.mount("/static/govgrid", StaticFiles(directory=web_dir / "static"), name="govgrid-static")
    app.mount("/static/swagger", StaticFiles(directory=_swagger_dir()), name="swagger")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        # async on purpose and touching nothing: it answers even when every worker thread is busy; declared
        # before every router so that it is the first route matched, not the last of several hundred
        return {"status": "ok", "version": __version__}

    @app.get("/docs", include_in_schema=False)
    def api_docs(request: Request) -> Response:
        return pages.render(request, "api_docs.html")

    app.include_router(core_router, prefix="/api/v1")
    app.include_router(jobs_routes.api_router, prefix="/api/v1")
    app.include_router(web_router)
    app.include_router(jobs_routes.page_router)
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

    @app.exception_handler(pages.LoginRedirectError)
    async def _login_redirect(request: Request, exc: pages.LoginRedirectError):
        return RedirectResponse(f"/login?next={exc.next_url}", status_code=303)

    install_openapi(app)  # every operation declares its security (core.openapi)
    app.state.settings = settings
    return app


def served_app() -> FastAPI:
    """`govgrid serve --workers N`: each worker process builds its app from the environment (a factory)."""
    from govgrid.core.bootstrap import bootstrap, settings_or_exit, use_database_secret
    from govgrid.core.logs import configure_logging

    settings = use_database_secret(bootstrap(settings_or_exit()))
    configure_logging(settings.log_format, settings.log_level)
    return create_app(background=True)
