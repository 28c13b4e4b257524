"""Every page runs under the Content Security Policy without a single violation, logged in and anonymous;
logging out is a button (POST) that really ends the session."""

from __future__ import annotations

import httpx
import pytest

from tests.live import DEMO_PASSWORD

pytestmark = pytest.mark.browser

PAGES = ["/", "/login", "/account/password", "/docs", "/exchange", "/exchange/requests", "/exchange/grants",
         "/exchange/matrix", "/appeals/report", "/appeals/track", "/appeals/stats", "/appeals/desk",
         "/appeals/hotline", "/appeals/monthly", "/citymap?county=410527", "/citymap/report?county=410527",
         "/carbon/projects", "/carbon/registry", "/carbon/alerts"]
RECORD = """window.__csp = [];
document.addEventListener('securitypolicyviolation',
    e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def _login(page, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


def _violations(page, base: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in PAGES:
        page.goto(base + path, wait_until="load")
        page.wait_for_timeout(150)
        v = page.evaluate("window.__csp")
        if v:
            found[path] = v
    return found


def test_pages_pass_the_csp_logged_in(live_server, browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.add_init_script(RECORD)
    page = ctx.new_page()
    _login(page, live_server, "admin")
    assert _violations(page, live_server) == {}
    ctx.close()


def test_pages_pass_the_csp_anonymous(live_server, browser):
    ctx = browser.new_context()
    ctx.add_init_script(RECORD)
    page = ctx.new_page()
    assert _violations(page, live_server) == {}
    ctx.close()


def test_logout_button_ends_the_session(live_server, browser):
    ctx = browser.new_context()
    page = ctx.new_page()
    _login(page, live_server, "nh_viewer")
    cookie = next(c for c in ctx.cookies() if c["name"] == "govgrid_token")["value"]
    page.click("#logout-form button")
    page.wait_for_url(live_server + "/")
    assert page.locator("#whoami").count() == 0
    r = httpx.get(live_server + "/api/v1/me", cookies={"govgrid_token": cookie})
    assert r.status_code == 401, "the old cookie no longer works"
    ctx.close()
