"""Test fixtures: one migrated database per test session (SQLite by default, PostgreSQL when
GOVGRID_TEST_DATABASE_URL is set), each test in a transaction that is rolled back."""

from __future__ import annotations

import compileall
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from govgrid.config import Settings, set_settings
from govgrid.core import db as coredb
from govgrid.core.deps import TOKEN_COOKIE
from govgrid.core.divisions import service as divisions_service
from govgrid.core.identity import sessions
from govgrid.core.identity.models import User
from govgrid.core.modules import DemoContext

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
SRC = Path(__file__).resolve().parents[1] / "src"


def pytest_configure(config: pytest.Config) -> None:
    """Once per run (not per worker): compile the sources to bytecode. The machine's environment may say
    PYTHONDONTWRITEBYTECODE, and then every process the tests start (servers, CLI runs, workers) compiled all
    of govgrid again: about two seconds each."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        compileall.compile_dir(SRC, quiet=1)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook turns the group marks into node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep a module whose tests share a module-scoped fixture (a live server, a browser, a loaded demo) on
    one xdist worker (`--dist loadgroup`), and the tests of the session-wide live server together: split
    across two workers, each would build the same server."""
    for item in items:
        defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
        if "live_server" in defs:
            item.add_marker(pytest.mark.xdist_group("live-server"))
        elif any(d[-1].scope == "module" for d in defs.values()):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__ if item.module else item.nodeid))


def _database_url(tmp_root: Path) -> str:
    base = os.environ.get("GOVGRID_TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp_root / f'govgrid-test-{WORKER}.db'}"
    # PostgreSQL: one fresh database per worker.
    url = make_url(base)
    name = f"govgrid_test_{WORKER}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database holding the GB/T 2260 tree, the line catalogue and the core demo."""
    folder = tmp_path_factory.mktemp("db")
    url = _database_url(folder)
    settings = Settings(database_url=url, demo_mode=True, secret_key="test-secret-" + "x" * 40,
                        storage_url=str(folder / "files"))  # on PostgreSQL the default would be ./files
    set_settings(settings)
    coredb.configure(url)
    from govgrid.cli import prepare_database
    from govgrid.demo import load_core

    prepare_database(url)
    with coredb.session_scope() as session:
        load_core(session, DemoContext())
    yield url
    coredb.get_engine().dispose()


@pytest.fixture()
def db(database_url: str) -> Iterator[Session]:
    """A session whose work is rolled back after the test (commits become savepoints)."""
    engine = coredb.get_engine()
    conn = engine.connect()
    outer = conn.begin()
    factory = sessionmaker(bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint")
    coredb.set_session_factory(factory)
    version = divisions_service.locator_version
    session = factory()
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        conn.close()
        coredb.set_session_factory(sessionmaker(bind=engine, expire_on_commit=False))
        if divisions_service.locator_version != version:
            divisions_service.invalidate_locator()


@pytest.fixture(scope="session")
def app(database_url: str):
    """The whole application with every installed module."""
    from govgrid.app import create_app

    return create_app()


@pytest.fixture()
def client(app, db: Session) -> Iterator[TestClient]:
    """An HTTP client against the app, sharing the test's rolled-back transaction."""
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def auth_headers(db: Session, username: str) -> dict[str, str]:
    """Bearer headers for a user (a session opened directly: argon2 is slow by design)."""
    user = db.scalar(select(User).where(User.username == username))
    assert user is not None, f"no user {username}"
    return {"Authorization": f"Bearer {sessions.start(db, user=user, kind='bearer')}"}


def cookie_login(client: TestClient, db: Session, username: str) -> None:
    """Log a TestClient in as a browser would be: the session cookie set, no Authorization header."""
    user = db.scalar(select(User).where(User.username == username))
    assert user is not None, f"no user {username}"
    client.cookies.set(TOKEN_COOKIE, sessions.start(db, user=user, kind="cookie"))


_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def csrf_token(client: TestClient, page: str = "/login") -> str:
    """The CSRF token a browser would read from a page (anonymous or logged in by cookie)."""
    r = client.get(page, headers={"Accept": "text/html"})
    found = _CSRF_META.search(r.text)
    assert found, f"no csrf-token meta on {page} ({r.status_code})"
    return found.group(1)


@pytest.fixture()
def login(db: Session):
    """login('nh_gov') -> Authorization headers."""
    return lambda username: auth_headers(db, username)


def api_routes(app) -> list[tuple[str, APIRoute]]:
    """Every FastAPI route of the app with its full path (routers included under prefixes are walked)."""
    out = []
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if isinstance(route, APIRoute):
            out.append((ctx.path or route.path, route))
    return out


@pytest.fixture(scope="module")
def chromium():
    """Headless Debian Chromium for one test module (see tests/browser.py for why not the whole session)."""
    from tests.browser import launch

    yield from launch()


@pytest.fixture(scope="module")
def browser(chromium):
    """The same Chromium under the name the core's browser tests use."""
    return chromium
