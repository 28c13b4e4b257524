"""In a real browser: log in and see the 条×块 matrix on the home page; switch to English."""

import os
from pathlib import Path

import pytest

from govgrid.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser


def test_login_shows_matrix(live_server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(live_server + "/login")
    assert page.locator("h1").inner_text() == "登录"
    page.fill("#username", "nh_gov")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#matrix")
    headers = page.locator("#matrix thead th").all_inner_texts()
    assert any("内黄县" in h for h in headers)
    assert not any("平定县" in h for h in headers), "another county must not appear"
    rows = page.locator("#matrix tbody th").all_inner_texts()
    assert "税务" in rows and "民政" in rows
    # a cell links to the department page
    page.locator("#matrix tbody tr", has_text="税务").locator("a").first.click()
    page.wait_for_selector("h1")
    assert "税务局" in page.locator("h1").inner_text()
    shots = Path(os.environ.get("GOVGRID_SCREENSHOTS", tmp_path))
    page.goto(live_server + "/")
    page.screenshot(path=str(shots / "home-matrix.png"), full_page=True)
    page.click("#lang-switch")
    page.wait_for_selector("#matrix")
    assert "Taxation" in page.locator("#matrix tbody").inner_text()
    page.close()


def test_wrong_password_stays_on_login(live_server, browser):
    page = browser.new_page()
    page.goto(live_server + "/login")
    page.fill("#username", "nh_gov")
    page.fill("#password", "nope-nope")
    page.click("button[type=submit]")
    assert "用户名或密码错误" in page.locator(".alert").inner_text()
    page.close()
