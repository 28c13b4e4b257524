"""In a real browser, in zh-CN: every page reachable from the home page, anonymous and logged in as a few
roles, shows no English word (allow-list in tests/test_i18n.py); the menu folds on a phone without script."""

from __future__ import annotations

import pytest

from tests.web.crawl import crawl, english_on, login

pytestmark = pytest.mark.browser

ROLES = [None, "admin", "pd_dispatcher", "nh_supervisor"]


def test_no_english_on_any_page_in_zh_cn(live_server, browser):
    found: dict[str, list[str]] = {}
    seen: set[str] = set()  # one visit per page shape over all roles: the roles add the pages only they see
    for username in ROLES:
        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        page = ctx.new_page()
        if username:
            login(page, live_server, username)
        for path in crawl(page, live_server, limit=30, seen=seen):
            words = english_on(page)
            if words:
                found[f"{username or 'anonymous'} {path}"] = sorted(set(words))
        ctx.close()
    assert len(seen) > 5, "the crawl reached the modules' pages"
    assert found == {}, "English on zh-CN pages:\n" + "\n".join(f"{k}: {v}" for k, v in sorted(found.items()))


def test_the_menu_folds_on_a_phone(live_server, browser):
    ctx = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    login(page, live_server, "admin")
    menu = page.locator("#nav-menu")
    assert not menu.is_visible(), "folded behind the toggler"
    page.click("#nav-toggler")
    assert menu.is_visible()
    assert page.locator("#nav-menu a.nav-link", has_text="首页").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width} px wide on a 375 px phone"
    ctx.close()
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.goto(live_server + "/")
    assert page.locator("#nav-menu").is_visible() and not page.locator("#nav-toggler").is_visible()
    assert page.evaluate("fetch('/favicon.ico').then(r => r.status)") == 200
    ctx.close()


def test_error_page_in_a_browser(live_server, browser):
    page = browser.new_page(viewport={"width": 375, "height": 740})
    login(page, live_server, "nh_viewer")
    response = page.goto(live_server + "/departments/987654321")
    assert response is not None and response.status == 404
    assert page.locator("#error-page h1").inner_text().startswith("找不到页面或记录")
    assert page.locator("#whoami").count() == 1 or page.locator("#nav-toggler").is_visible(), "in the layout"
    assert english_on(page) == []
    page.close()
