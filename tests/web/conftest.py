"""A live server over a committed SQLite database with the core demo, for browser tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import live

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`govgrid serve` in a subprocess over a fresh demo database (core demo only)."""
    server = live.start(tmp_path_factory.mktemp("live"))
    yield server.url
    server.stop()


def require_chromium() -> None:
    """Browser tests need Debian's chromium: they fail in CI (CI=true) without it, and skip elsewhere."""
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail("Debian chromium is missing in CI (.ci/run installs it: apt-get install chromium)")
    pytest.skip("Debian chromium is not installed here (.ci/run installs it: apt-get install chromium)")


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
