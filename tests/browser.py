"""Headless Debian Chromium for the browser tests (never a downloaded browser).

One fixture for every test module (`chromium`, alias `browser`, in tests/conftest.py), module-scoped: the
sync Playwright API keeps an asyncio loop running while it is open, so a browser kept for the whole session
would break every later test of that worker that runs an event loop (and every other Playwright start)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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


def require_chromium() -> None:
    """Browser tests need Debian's chromium: they fail in CI (CI=true) without it, and skip elsewhere."""
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail("Debian chromium is missing in CI (.ci/run installs it: apt-get install chromium)")
    pytest.skip("Debian chromium is not installed here (.ci/run installs it: apt-get install chromium)")


def launch() -> Iterator[Any]:
    """Start Playwright and Chromium; stop both when the generator closes."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


# The two widths every page is checked at: a laptop and a phone.
VIEWPORTS = [
    pytest.param({"width": 1280, "height": 900}, id="desktop"),
    pytest.param({"width": 375, "height": 740}, id="phone"),
]


def login(page: Any, base: str, username: str) -> None:
    """Log in through the login form with the demo password; returns once the page names the user."""
    from govgrid.demo import DEMO_PASSWORD

    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#whoami", state="attached")


def no_horizontal_scroll(page: Any) -> None:
    """The page fits its width: nothing makes a phone scroll sideways."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
