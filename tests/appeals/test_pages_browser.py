"""A resident's report in a real browser (Debian Chromium through Playwright), one live server: an address in
平定县 is resolved and shown before submitting, and the ticket lands in 平定县 (not in the channel's default
内黄县), on a phone (375 px) and on the desktop (1280 px), also when the county and township are chosen."""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import live

PREPARE = (
    "from govgrid.appeals import demo\n"
    "from govgrid.core.modules import DemoContext\n"
    "with db.session_scope() as s:\n"
    f"    demo.ensure_setup(s, DemoContext(password={live.DEMO_PASSWORD!r}))\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[live.LiveServer]:
    """A live server with the appeals channel and its default jurisdiction (内黄县)."""
    s = live.start(tmp_path_factory.mktemp("appeals-live"), modules="appeals", prepare=PREPARE)
    yield s
    s.stop()


def _division_of(server: live.LiveServer, number: str) -> str:
    with sqlite3.connect(server.db_path) as conn:
        row = conn.execute("SELECT division_code FROM appeals_tickets WHERE number = ?", (number,)).fetchone()
    assert row is not None, number
    return str(row[0])


def test_a_pingding_address_lands_in_pingding(server, chromium, tmp_path):
    from playwright.sync_api import expect

    shots = Path(os.environ.get("GOVGRID_SCREENSHOTS", tmp_path))
    errors: list[str] = []
    for width in (375, 1280):
        ctx = chromium.new_context(viewport={"width": width, "height": 800 if width < 500 else 900})
        page = ctx.new_page()
        page.set_default_timeout(120_000)  # a busy 2-core machine: the server may be slow, not wrong
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.url + "/appeals/report")
        page.fill("#description", "村口的路灯坏了一个多月，晚上很黑")
        page.fill("#address", "平定县冠山镇东关村村口")
        # the place is resolved while typing and shown before anything is submitted
        expect(page.locator("#place")).to_have_text(re.compile("^平定县冠山镇"), timeout=60_000)
        assert not page.is_hidden("#place-box")
        page.screenshot(path=str(shots / f"appeals-report-{'phone' if width < 500 else 'desktop'}.png"))
        page.click("#report-form button.btn-primary[type=submit]")
        page.wait_for_selector("#number")
        assert page.inner_text("#place").startswith("平定县冠山镇")
        assert _division_of(server, page.inner_text("#number")).startswith("140321100")
        assert not errors, errors
        ctx.close()


def test_chosen_county_and_township(server, chromium):
    from playwright.sync_api import expect

    ctx = chromium.new_context(viewport={"width": 375, "height": 800})
    page = ctx.new_page()
    page.set_default_timeout(120_000)
    page.goto(server.url + "/appeals/report")
    page.fill("#description", "路面塌陷，车辆绕行")
    page.select_option("#county_code", "140321")
    page.select_option("#township_code", "140321102")
    expect(page.locator("#place")).to_have_text(re.compile("^平定县锁簧镇"), timeout=60_000)
    page.click("#report-form button.btn-primary[type=submit]")
    page.wait_for_selector("#number")
    assert _division_of(server, page.inner_text("#number")) == "140321102"
    ctx.close()
