"""Helper for the live CKAN test: a migrated, demo-loaded SQLite file and an API key, made in a separate process."""

from __future__ import annotations

import sys
from pathlib import Path


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
    set_settings(Settings(database_url=url, demo_mode=True, secret_key="live-test-" + "x" * 40))
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


if __name__ == "__main__":
    prepare(sys.argv[1], sys.argv[2])
