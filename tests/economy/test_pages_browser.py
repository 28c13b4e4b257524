"""In a real browser (Debian Chromium), at 1280 px and at 375 px: the county's statistics bureau opens the
dashboard, follows an indicator to its detail page, reads the alert and answers it; the charts render under
the page's CSP without errors."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import live

pytestmark = pytest.mark.browser

PREPARE = (
    "from govgrid.core.modules import DemoContext, import_all_models\n"
    "import_all_models()\n"
    "from govgrid.economy.demo import load_demo\n"
    "with db.session_scope() as s: load_demo(s, DemoContext())\n"
)


@pytest.fixture(scope="module")
def econ_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One live server for this module, with the economy demo loaded."""
    server = live.start(tmp_path_factory.mktemp("econ-live"), prepare=PREPARE)
    yield server.url
    server.stop()


def shots(tmp_path: Path) -> Path:
    return Path(os.environ.get("GOVGRID_SCREENSHOTS", tmp_path))


def login(page, base: str, username: str) -> None:
    page.goto(base + "/login?next=/economy")
    page.fill("#username", username)
    page.fill("#password", live.DEMO_PASSWORD)
    page.click("button[type=submit]")


@pytest.mark.parametrize(
    ("width", "height", "indicator", "button", "status"),
    [(1280, 900, "IND_VA", "resolved", "已处理"), (375, 800, "ELEC_IND", "dismissed", "已排除")],
)
def test_dashboard_indicator_alert_workflow(
    econ_server,
    chromium,
    tmp_path,
    width,
    height,
    indicator,
    button,
    status,
):
    context = chromium.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(90_000)  # a login (argon2) on a busy 2-core CI machine can take a while
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, econ_server, "nh_gov")
    page.wait_for_url("**/economy/divisions/410527")
    assert "内黄县 · 经济运行看板" in page.locator("h1").inner_text()
    assert "演示数据" in page.locator("#demo-banner").inner_text()
    page.wait_for_selector("#chart-IND_VA .main-svg")
    assert page.locator(".indicator-card").count() == 8
    assert "内黄县发展和改革局" in page.locator("#alerts").text_content()  # a column hidden on phones
    page.screenshot(path=str(shots(tmp_path) / f"economy-dashboard-{width}.png"), full_page=True)
    if width < 576:  # on the phone: from the open-alerts table
        page.locator("#alerts a", has_text="工业用电量").first.click()
    else:  # on the desktop: from the indicator's card
        page.locator(f'.indicator-card[data-code="{indicator}"] a').first.click()
    page.wait_for_selector("#chart-main .main-svg")
    assert indicator in page.locator("h1").inner_text()
    card = page.locator(".alert-card", has=page.locator(".alert-status", has_text="待核实")).first
    # an anomaly names its expected band; a cross-check names the series it diverges from
    why = "预期区间" if indicator == "IND_VA" else "规模以上工业增加值同比"
    assert "2026-09" in card.inner_text() and why in card.locator(".explanation").inner_text()
    page.screenshot(path=str(shots(tmp_path) / f"economy-indicator-{width}.png"), full_page=True)
    card.locator("textarea[name=note]").fill("已与企业核对：录入时多输一位，已更正")
    card.locator(f"button[value={button}]").click()
    page.wait_for_selector(f".alert-status:has-text('{status}')")
    assert "已与企业核对" in page.locator(".alert-card").first.inner_text()
    # the peers page for the same indicator
    page.goto(econ_server + f"/economy/divisions/410527/peers?indicator={indicator}")
    page.wait_for_selector("#chart-city .main-svg")
    assert "内黄县" in page.locator("#table-city").inner_text()
    page.screenshot(path=str(shots(tmp_path) / f"economy-peers-{width}.png"), full_page=True)
    assert not errors, errors
    # nothing sticks out sideways on the phone
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    context.close()
