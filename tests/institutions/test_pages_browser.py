"""In a real browser over one live server with the exchange demo (its gateway calls are the ledger) and the
institutions demo: 内黄县's data official reads the contribution ledger, sets a new scoring rule version, and
handles the security incident filed from a real gateway refusal, at 1280 px and at 375 px."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import live
from tests.browser import VIEWPORTS, login, no_horizontal_scroll

PREPARE = (
    "from govgrid.core.modules import DemoContext, module_specs\n"
    "from govgrid.exchange.demo import load_demo as load_exchange\n"
    "from govgrid.institutions.demo import load_demo\n"
    "module_specs()\n"
    "with db.session_scope() as s: load_exchange(s, DemoContext())\n"
    "with db.session_scope() as s: load_demo(s, DemoContext())\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[live.LiveServer]:
    """One live server for this module: the core demo, the exchange demo and the institutions demo."""
    srv = live.start(
        tmp_path_factory.mktemp("institutions-live"), modules="exchange,institutions", prepare=PREPARE
    )
    yield srv
    srv.stop()


@pytest.mark.browser
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_county_reads_the_ledger_and_sets_a_rule(server, chromium, viewport):
    page = chromium.new_page(viewport=viewport)
    login(page, server.url, "nh_shuju")
    page.goto(server.url + "/institutions/ledger?division=410527")
    assert "数据贡献台账" in page.locator("h1").inner_text()
    assert page.locator("#scores tbody tr[data-department]").count() >= 1
    assert page.locator("#ledger tr[data-resource='A01-410527-0001']").count() >= 1
    assert "办件办案" in page.locator("#ledger").inner_text()
    no_horizontal_scroll(page)
    page.fill("#w-case", "5")
    page.fill("#rule-note", f"浏览器测试 {viewport['width']}")
    page.click("#rule-save")
    page.wait_for_selector("#flash")
    assert "计分规则已保存" in page.locator("#flash").inner_text()
    assert f"浏览器测试 {viewport['width']}" in page.locator("#rule-history").inner_text()
    page.close()


@pytest.mark.browser
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_county_handles_the_incident_from_a_refused_call(server, chromium, viewport):
    page = chromium.new_page(viewport=viewport)
    login(page, server.url, "nh_shuju")
    page.goto(server.url + "/institutions/security?division=410527")
    assert page.locator("#register tr[data-resource='A01-410527-0001']").count() == 1
    row = page.locator("#incidents tr[data-incident]").first
    before = row.get_attribute("data-state")
    assert before in ("investigating", "resolved")
    target = {"investigating": "resolved", "resolved": "closed"}[before]
    row.locator("select[name=state]").select_option(target)
    row.locator("input[name=note]").fill(f"已核实并处置 {viewport['width']}")
    row.locator("button[type=submit]").click()
    page.wait_for_selector("#flash")
    assert "事件状态已更新" in page.locator("#flash").inner_text()
    assert f"已核实并处置 {viewport['width']}" in page.locator("#incidents").inner_text()
    assert page.locator(f"#incidents tr[data-state={target}]").count() == 1
    page.close()
