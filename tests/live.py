"""`govgrid serve` in a subprocess over its own demo database, for tests that need a real server
(concurrency, browsers, standard clients)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from govgrid.demo import DEMO_PASSWORD  # also re-exported for the browser tests


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    """A running server: its base URL, its database file and its process."""

    url: str
    db_path: Path
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Terminate the server (and wait for it)."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def token(self, username: str) -> str:
        """A bearer token for a demo user, through the real login endpoint."""
        r = httpx.post(
            self.url + "/api/v1/auth/token",
            data={"username": username, "password": DEMO_PASSWORD},
            timeout=30,
        )
        r.raise_for_status()
        return str(r.json()["access_token"])


_template: Path | None = None


def _prepared_copy(db_path: Path, env: dict[str, str]) -> None:
    """Copy a migrated database holding the core demo into db_path (built once per test process)."""
    global _template
    if _template is None or not _template.exists():
        folder = Path(tempfile.mkdtemp(prefix="govgrid-live-template-"))
        template = folder / "template.db"
        _prepare(template, env)
        _template = template
    shutil.copyfile(_template, db_path)


def _prepare(db_path: Path, env: dict[str, str]) -> None:
    url = f"sqlite:///{db_path}"
    prep = (
        "from govgrid.config import Settings, set_settings; from govgrid.core import db;"
        f"set_settings(Settings(database_url='{url}', demo_mode=True)); db.configure('{url}');"
        f"from govgrid.cli import prepare_database; prepare_database('{url}');"
        "from govgrid.demo import load_core; from govgrid.core.modules import DemoContext\n"
        "with db.session_scope() as s: load_core(s, DemoContext())\n"
        "db.get_engine().dispose()"
    )
    subprocess.run([sys.executable, "-c", prep], check=True, env={**env, "GOVGRID_DATABASE_URL": url},
                   capture_output=True)


def start(folder: Path, *, modules: str = "all", env: dict[str, str] | None = None,
          prepare: str | None = None) -> LiveServer:
    """Serve a fresh SQLite database holding the core demo (copied from a per-process template), after running
    `prepare` (Python source run against it, e.g. a module's demo loader); returns once /healthz answers."""
    db_path = folder / "live.db"
    url = f"sqlite:///{db_path}"
    full_env = {
        **os.environ,
        "GOVGRID_DATABASE_URL": url,
        "GOVGRID_DEMO_MODE": "1",
        "GOVGRID_MODULES": modules,
        **(env or {}),
    }
    full_env.pop("GOVGRID_SECRET_KEY", None)
    _prepared_copy(db_path, full_env)
    port = free_port()
    command = [sys.executable, "-m", "govgrid.cli", "serve", "--port", str(port)]
    if prepare:
        # One interpreter prepares the database, lets go of it, then serves: importing every module twice
        # (once to prepare, once to serve) cost seconds per test module.
        boot = ("from govgrid.config import Settings, set_settings; from govgrid.core import db;"
                f"set_settings(Settings(database_url='{url}', demo_mode=True)); db.configure('{url}')\n")
        serve = ("\ndb.get_engine().dispose(); set_settings(None)\n"
                 "from govgrid.cli import app\n"
                 f"app(['serve', '--port', '{port}'])\n")
        command = [sys.executable, "-c", boot + prepare + serve]
    # the server's log goes to a file: a pipe nobody reads fills up and freezes the server mid-test
    log_path = folder / "server.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(command, env=full_env, stdout=subprocess.DEVNULL, stderr=log_file)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + START_SECONDS
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("live server exited: " + _log_tail(log_path))
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return LiveServer(base, db_path, proc)
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"live server did not start within {START_SECONDS} s: " + _log_tail(log_path))


# how long a server may take to answer /healthz (a loaded CI machine imports every module slowly)
START_SECONDS = int(os.environ.get("GOVGRID_TEST_SERVER_START_SECONDS", "180"))


def _log_tail(path: Path) -> str:
    """The end of a server's error output."""
    return path.read_bytes().decode(errors="replace")[-2000:] if path.exists() else ""
