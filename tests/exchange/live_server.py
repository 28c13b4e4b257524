"""Live servers for the exchange's end-to-end tests: a migrated SQLite file with the core and exchange demo (and an
API key of 内黄县民政局, which holds a demo grant), prepared in a separate process, then `govgrid serve`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

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
    """A demo database in `folder` served by `govgrid serve`: a `tests.live.LiveServer` (url, token(user), stop()),
    with `.api_key` and `.env`; returns once /healthz answers."""
    from tests.live import LiveServer, free_port

    db_path, key_path = folder / "live.db", folder / "key.txt"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("GOVGRID_")}
    full_env.update(
        GOVGRID_DATABASE_URL=f"sqlite:///{db_path}",
        GOVGRID_DEMO_MODE="true",
        GOVGRID_SECRET_KEY=SECRET,
        # The tree under test first (an editable install elsewhere must not shadow it), then the repo for `tests`.
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    )
    full_env.update(env or {})
    subprocess.run(
        [sys.executable, "-m", "tests.exchange.live_server", str(db_path), str(key_path)],
        cwd=ROOT,
        env=full_env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "govgrid.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                "live server exited: " + (proc.stderr.read() if proc.stderr else b"").decode()[-2000:]
            )
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                server = LiveServer(base, db_path, proc)
                server.api_key = key_path.read_text().strip()  # type: ignore[attr-defined]
                server.env = full_env  # type: ignore[attr-defined]
                return server
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("live server did not start")


if __name__ == "__main__":
    prepare(sys.argv[1], sys.argv[2])
