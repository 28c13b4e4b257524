"""Live servers for the exchange's end-to-end tests: a migrated SQLite file with the core and exchange demo
(and an API key of 内黄县民政局, which holds a demo grant), prepared in a separate process, then `govgrid
serve`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECRET = "live-test-" + "x" * 40


def prepare(db_path: str, key_path: str) -> None:
    """Migrate, load the core and exchange demo, and write an API key of 内黄县民政局 (holds a demo grant)."""
    from govgrid.cli import prepare_database
    from govgrid.config import Settings, set_settings
    from govgrid.core import db
    from govgrid.core.audit.service import SystemActor
    from govgrid.core.departments import service as departments
    from govgrid.core.identity import service as identity
    from govgrid.core.modules import DemoContext
    from govgrid.demo import DEMO_PASSWORD, load_core
    from govgrid.exchange.demo import load_demo

    url = f"sqlite:///{db_path}"
    set_settings(Settings(database_url=url, demo_mode=True, secret_key=SECRET))
    db.configure(url)
    prepare_database(url)
    with db.session_scope() as session:
        ctx = DemoContext(password=DEMO_PASSWORD)
        load_core(session, ctx)
        load_demo(session, ctx)
        dept = departments.get_by_code(session, "410527-civil_affairs")
        _, full = identity.create_api_key(
            session, actor=SystemActor("test"), name="ckan-live", department_id=dept.id, role="operator"
        )
    Path(key_path).write_text(full)


def start(folder: Path, *, env: dict[str, str] | None = None):
    """A demo database in `folder` (core demo from the per-process template, plus the exchange demo and an API
    key of 内黄县民政局) served by `govgrid serve`: a `tests.live.LiveServer` with `.api_key` and `.env`."""
    from tests import live

    key_path = folder / "key.txt"
    prepare_code = (
        "from govgrid.core.audit.service import SystemActor\n"
        "from govgrid.core.departments import service as departments\n"
        "from govgrid.core.identity import service as identity\n"
        "from govgrid.core.modules import DemoContext\n"
        "from govgrid.demo import DEMO_PASSWORD\n"
        "from govgrid.exchange.demo import load_demo\n"
        "from pathlib import Path\n"
        "with db.session_scope() as session:\n"
        "    ctx = DemoContext(password=DEMO_PASSWORD)\n"
        "    load_demo(session, ctx)\n"
        "    dept = departments.get_by_code(session, '410527-civil_affairs')\n"
        "    _, full = identity.create_api_key(session, actor=SystemActor('test'), name='ckan-live',\n"
        "                                      department_id=dept.id, role='operator')\n"
        f"Path({str(key_path)!r}).write_text(full)\n"
    )
    server = live.start(folder, env=env, prepare=prepare_code)
    server.api_key = key_path.read_text().strip()  # type: ignore[attr-defined]
    server.env = {**os.environ, "GOVGRID_DATABASE_URL": f"sqlite:///{server.db_path}",  # type: ignore[attr-defined]
                  "GOVGRID_DEMO_MODE": "true"}
    return server


if __name__ == "__main__":
    prepare(sys.argv[1], sys.argv[2])
