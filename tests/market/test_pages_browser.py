"""In a real browser over one live server with the market demo: the public pages (draws, one draw's
commitment → seed → targets, results) and the operator's workflow (plan → commit → draw → record a result),
at 1280 px and at 375 px; then `govgrid market verify-draw` against the server's database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from tests import live

PREPARE = (
    "from govgrid.core.modules import DemoContext\n"
    "from govgrid.market.demo import load_demo\n"
    "with db.session_scope() as s: load_demo(s, DemoContext())\n"
)
VIEWPORTS = [
    pytest.param({"width": 1280, "height": 900}, id="desktop"),
    pytest.param({"width": 375, "height": 740}, id="phone"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[live.LiveServer]:
    """One live server for this module, holding the core and the market demo."""
    srv = live.start(tmp_path_factory.mktemp("market-live"), modules="market", prepare=PREPARE)
    yield srv
    srv.stop()


def _no_horizontal_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.browser
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_public_pages_show_commitment_seed_targets_and_results(server, chromium, viewport):
    page = chromium.new_page(viewport=viewport)
    page.goto(server.url + "/market/results")
    assert page.locator("h1").inner_text() == "抽查结果公示"
    rows = page.locator("#results tbody tr")
    assert rows.count() == 6
    text = page.locator("#results").inner_text()
    assert "发现问题经责令已改正" in text and "未发现问题" in text
    _no_horizontal_scroll(page)
    page.goto(server.url + "/market/draws")
    assert page.locator("#draws tbody tr").count() == 2
    page.locator("#draws tbody tr", has_text="已公布").locator("a").first.click()
    page.wait_for_selector("#step-seed")
    assert len(page.locator("#commitment").inner_text()) == 64
    assert len(page.locator("#seed").inner_text()) == 64
    assert page.locator("#targets tbody tr").count() == 6
    _no_horizontal_scroll(page)
    page.goto(server.url + "/market/draws")
    page.locator("#draws tbody tr", has_text="已提交承诺").locator("a").first.click()
    assert page.locator("#seed-hidden").inner_text() == "摇号后公布"
    page.close()


@pytest.mark.browser
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_operator_plans_commits_draws_and_records(server, chromium, viewport):
    page = chromium.new_page(viewport=viewport)
    page.goto(server.url + "/login")
    page.fill("#username", "nh_market")
    page.fill("#password", live.DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#whoami", state="attached")  # the phone layout folds the navigation
    page.goto(server.url + "/market/entities")
    assert page.locator("#entities tbody tr").count() == 40
    assert page.locator("#class-counts [data-class=A]").count() == 1
    page.goto(server.url + "/market/plans")
    page.fill("#plan-name", f"浏览器测试抽查 {viewport['width']}")
    page.fill("#plan-sample", "3")
    page.click("#plan-create")
    page.wait_for_selector("#commit")
    assert page.locator("#plan-status").inner_text() == "草稿"
    page.click("#commit")
    page.wait_for_selector("#draw")
    commitment = page.locator("#commitment").inner_text()
    page.click("#draw")
    page.wait_for_selector("#seed")
    assert page.locator("#commitment").inner_text() == commitment
    assert page.locator("#targets tbody tr").count() == 3
    _no_horizontal_scroll(page)
    page.go_back()
    page.reload()
    first = page.locator(".visit").first
    first.locator("select[name=outcome]").select_option("not_disclosed")
    first.locator("input[name=summary]").fill("年报未公示，已责令限期补报")
    first.locator("button[type=submit]").click()
    page.wait_for_selector(".visit-outcome")
    assert "未按规定公示应当公示的信息" in page.locator(".visit-outcome").first.inner_text()
    page.goto(server.url + "/market/results")
    assert "年报未公示" in page.locator("#results").inner_text()
    page.close()


def test_verify_draw_from_the_database(server, tmp_path):
    draws = httpx.get(server.url + "/api/v1/market/draws", timeout=30).json()
    published = next(d for d in draws if d["seed"])
    path = tmp_path / "draw.json"
    path.write_text(json.dumps(published), encoding="utf-8")
    env = {
        **os.environ,
        "GOVGRID_DATABASE_URL": f"sqlite:///{server.db_path}",
        "GOVGRID_DEMO_MODE": "1",
        "GOVGRID_MODULES": "market",
    }  # the CLI loads only this module: a quicker start
    ok = subprocess.run(
        [sys.executable, "-m", "govgrid.cli", "market", "verify-draw", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0 and ok.stdout.strip() == "verified", ok.stderr
    published["inspectors"][0] = [*list(reversed(published["inspectors"][0])), 999]
    path.write_text(json.dumps(published), encoding="utf-8")
    bad = subprocess.run(
        [sys.executable, "-m", "govgrid.cli", "market", "verify-draw", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1 and "inspectors[0]" in bad.stdout
