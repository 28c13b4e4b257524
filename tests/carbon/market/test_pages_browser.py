"""The market in the browser, each step clicked by the role that does it, at 1280 px and at 375 px: the
holder lists the demo's issued credits for a one-way bidding, a buyer bids and wins, pays, the settlement
agent confirms, the buyer receives and retires them with a certificate; the revenue split is recorded."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from govgrid.core.workdays import SHANGHAI
from tests import live

pytestmark = pytest.mark.browser
PREPARE = (
    "from govgrid.carbon.module import MODULE\n"
    "from govgrid.core.modules import DemoContext\n"
    "with db.session_scope() as s: MODULE.load_demo(s, DemoContext())\n"
    "db.get_engine().dispose()\n"
)
BIDDING_SECONDS = 12


def _serve_again(folder: Path) -> live.LiveServer:
    """Serve the already prepared database once more, waiting longer (a busy machine starts slowly)."""
    env = {
        **os.environ,
        "GOVGRID_DATABASE_URL": f"sqlite:///{folder / 'live.db'}",
        "GOVGRID_DEMO_MODE": "1",
        "GOVGRID_MODULES": "all",
    }
    env.pop("GOVGRID_SECRET_KEY", None)
    port = live.free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "govgrid.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return live.LiveServer(base, folder / "live.db", proc)
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("live server did not start")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[live.LiveServer]:
    """One live server for this module, over a database holding the carbon registry and market demos."""
    folder = tmp_path_factory.mktemp("market-live")
    try:
        srv = live.start(folder, prepare=PREPARE)
    except RuntimeError as exc:  # prepared, but the server was slow to answer: give it more time
        if "did not start" not in str(exc):
            raise
        srv = _serve_again(folder)
    yield srv
    srv.stop()


def _login(browser, url: str, username: str, width: int):
    ctx = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    page.goto(url + "/login")
    page.fill("#username", username)
    page.fill("#password", live.DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return ctx, page


@pytest.mark.parametrize("width", [1280, 375])
def test_list_bid_win_pay_receive_retire(server, browser, width):
    url = server.url
    holder_ctx, holder = _login(browser, url, "jsh_forestry", width)
    holder.goto(url + "/carbon/market/sell")
    assert holder.locator("h1").inner_text().startswith("碳汇交易")
    closing = datetime.now(SHANGHAI) + timedelta(seconds=BIDDING_SECONDS)
    holder.select_option("#mode", "bidding")
    holder.fill("#quantity", "20")
    holder.fill("#price", "60")
    holder.fill("#closing_at", closing.strftime("%Y-%m-%dT%H:%M:%S"))
    holder.click("#sell-submit")
    holder.wait_for_selector("#flash-ok")
    listing_id = holder.locator("#my-listings tbody tr").first.locator("a").inner_text()

    buyer_ctx, buyer = _login(browser, url, "yy_trader", width)
    buyer.goto(url + "/carbon/market")
    buyer.locator(f"#listings a[href='/carbon/market/listings/{listing_id}']").click()
    buyer.fill("#quantity", "20")
    buyer.fill("#price", "61.50")
    buyer.click("#order-submit")
    buyer.wait_for_selector("#flash-ok")
    assert "竞价中" in buyer.locator("#my-orders").inner_text()

    time.sleep(max(0.0, (closing - datetime.now(SHANGHAI)).total_seconds() + 0.5))
    holder.goto(f"{url}/carbon/market/listings/{listing_id}")
    holder.click("#close-bidding")
    holder.wait_for_selector("#flash-ok")
    assert holder.locator("#listing-status").inner_text() == "已结束"

    buyer.goto(url + "/carbon/market/mine")
    trade = buyer.locator(".trade[data-status=awaiting_payment]").first
    trade_id = trade.get_attribute("id")
    trade.locator("input[name=payment_ref]").fill("ICBC-20261203-0001")
    trade.locator("button").click()
    buyer.wait_for_selector("#flash-ok")
    assert buyer.locator(f"#{trade_id}").get_attribute("data-status") == "paid"

    agent_ctx, agent = _login(browser, url, "hn_registry", width)
    agent.goto(url + "/carbon/market/supervision")
    agent.locator(f"#queued-{trade_id.split('-')[1]} .confirm-payment").click()
    agent.wait_for_selector("#flash-ok")

    buyer.goto(url + "/carbon/market/mine")
    assert buyer.locator(f"#{trade_id}").get_attribute("data-status") == "settled"
    form = buyer.locator(f"#{trade_id} .retire-form")
    form.locator("input[name=beneficiary]").fill("2026 洞庭湖国际观鸟节")
    form.locator("input[name=reason]").fill("活动碳中和")
    form.locator("button").click()
    buyer.wait_for_selector("#certificate")
    assert buyer.locator("#cert-beneficiary").inner_text() == "2026 洞庭湖国际观鸟节"
    assert buyer.locator("#cert-quantity").inner_text() == "20"
    assert buyer.evaluate("document.documentElement.scrollWidth") <= width + 1  # no sideways scrolling

    with sqlite3.connect(server.db_path) as conn:
        split = conn.execute(
            "SELECT count(*), sum(amount) FROM carbon_benefit_entries WHERE trade_id = ?",
            (int(trade_id.split("-")[1]),),
        ).fetchone()
    assert split[0] == 3 and abs(split[1] - 1230 * 0.995) < 0.01  # 20 t x 61.50, less the 0.5 % fee
    for c in (holder_ctx, buyer_ctx, agent_ctx):
        c.close()
