"""A live server over a committed SQLite database with the core demo, for browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`govgrid serve` in a subprocess over a fresh demo database (core demo only)."""
    db_path = tmp_path_factory.mktemp("live") / "live.db"
    url = f"sqlite:///{db_path}"
    env = {**os.environ, "GOVGRID_DATABASE_URL": url, "GOVGRID_DEMO_MODE": "1"}
    prep = (
        "from govgrid.config import Settings, set_settings; from govgrid.core import db;"
        f"set_settings(Settings(database_url='{url}', demo_mode=True)); db.configure('{url}');"
        f"from govgrid.cli import prepare_database; prepare_database('{url}');"
        "from govgrid.demo import load_core; from govgrid.core.modules import DemoContext;"
        "import contextlib\nwith db.session_scope() as s: load_core(s, DemoContext())"
    )
    subprocess.run([sys.executable, "-c", prep], check=True, env=env, capture_output=True)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "govgrid.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("live server did not start: " + proc.stderr.read().decode()[-2000:])
    yield base
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed here (.ci/run installs it: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
