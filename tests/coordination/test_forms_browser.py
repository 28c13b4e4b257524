"""In a real browser over one live server: a county admin registers a machine room (a mistake shown beside its
field first), changes its utilisation, and registers a compute pool, at 1280 px and at 375 px."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import live
from tests.browser import VIEWPORTS, login, no_horizontal_scroll


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[live.LiveServer]:
    """One live server for this module: the core demo (its county admins) and the coordination module."""
    srv = live.start(tmp_path_factory.mktemp("coordination-forms"), modules="coordination")
    yield srv
    srv.stop()


@pytest.mark.browser
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_an_admin_registers_and_changes_a_machine_room(server, chromium, viewport):
    page = chromium.new_page(viewport=viewport)
    login(page, server.url, "nh_gov")
    page.goto(server.url + "/coordination/assets")
    name = f"内黄县政务云机房 {viewport['width']}"
    page.select_option("#asset-kind", "machine_room")
    page.fill("#asset-name", name)
    page.fill("#asset-location", "内黄县行政中心")
    page.fill("#asset-lon", "250")  # a slip: not a longitude in China
    page.fill("#asset-lat", "35.95")
    page.fill("#asset-capacity", "40")
    page.fill("#asset-unit", "机柜")
    page.fill("#asset-utilisation", "62")
    page.click("#asset-save")
    page.wait_for_selector("#error-lon")
    assert "经度应为" in page.locator("#error-lon").inner_text()
    assert page.input_value("#asset-name") == name  # what was typed is kept
    assert page.locator("#hardware tr.asset", has_text=name).count() == 0
    no_horizontal_scroll(page)

    page.fill("#asset-lon", "114.90")
    page.click("#asset-save")
    page.wait_for_selector("#flash")
    row = page.locator("#hardware tr.asset", has_text=name)
    assert row.count() == 1 and row.locator(".asset-utilisation").inner_text() == "62%"

    row.locator(".asset-edit").click()
    page.wait_for_selector("#asset-form-title")
    assert "修改硬件设施" in page.locator("#asset-form-title").inner_text()
    assert page.input_value("#asset-utilisation") == "62"
    page.fill("#asset-utilisation", "18")
    page.click("#asset-save")
    page.wait_for_selector("#flash")
    row = page.locator("#hardware tr.asset", has_text=name)
    assert row.locator(".asset-utilisation").inner_text() == "18%"
    assert "text-danger" in (row.locator(".asset-utilisation").get_attribute("class") or "")  # under-used
    no_horizontal_scroll(page)
    page.close()


@pytest.mark.browser
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_an_admin_registers_a_compute_pool(server, chromium, viewport):
    page = chromium.new_page(viewport=viewport)
    login(page, server.url, "nh_gov")
    page.goto(server.url + "/coordination/pools")
    code = f"NH-{viewport['width']}"
    page.fill("#pool-code", code)
    page.fill("#pool-name", "内黄县边缘算力池")
    page.fill("#pool-region", "河南·安阳")
    page.fill("#pool-capacity", "0")  # a slip: a pool needs capacity
    page.fill("#pool-cost", "0.8")
    page.fill("#pool-residency", "410527")
    page.click("#pool-register")
    page.wait_for_selector("#error-capacity_units")
    assert "算力总量应为" in page.locator("#error-capacity_units").inner_text()
    no_horizontal_scroll(page)

    page.fill("#pool-capacity", "32")
    page.click("#pool-register")
    page.wait_for_selector("#flash")
    assert code in page.locator("#flash").inner_text()
    row = page.locator(f"#pools tr[data-code='{code}']")
    assert row.count() == 1 and "32/32" in row.inner_text() and "410527" in row.inner_text()
    no_horizontal_scroll(page)
    page.close()
