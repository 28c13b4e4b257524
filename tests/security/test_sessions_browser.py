"""In a real browser, at 1280 px and at 375 px: an administrator opens 登录会话管理 and ends a login."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests import live
from tests.live import DEMO_PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[live.LiveServer]:
    """One live server for this file (core demo only)."""
    s = live.start(tmp_path_factory.mktemp("sessions"), modules="none")
    yield s
    s.stop()


def _login(page, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


@pytest.mark.parametrize("width", [1280, 375])
def test_admin_revokes_a_session(server, browser, width):
    token = server.token("nh_tax")  # nh_tax logs in elsewhere (a bearer token)
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(server.url + "/api/v1/me", headers=headers, timeout=30).status_code == 200
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    _login(page, server.url, "nh_gov")
    page.goto(server.url + "/admin/sessions")
    assert page.locator("h1").inner_text() == "登录会话管理"
    rows = page.locator("#sessions tbody tr[data-username=nh_tax]")
    assert rows.count() >= 1
    assert page.locator("#sessions tbody tr[data-username=pd_tax]").count() == 0
    assert "127.0.0.1" in rows.last.locator(".session-address").inner_text()  # where nh_tax logged in from
    before = rows.count()
    button = rows.last.locator("button")
    button.scroll_into_view_if_needed()
    assert button.is_visible()
    button.click()
    page.wait_for_selector("#session-revoked")
    assert page.locator("#sessions tbody tr[data-username=nh_tax]").count() == before - 1
    # one of nh_tax's logins ended: revoke every one of them and its token stops working
    while page.locator("#sessions tbody tr[data-username=nh_tax]").count():
        page.locator("#sessions tbody tr[data-username=nh_tax]").first.locator("button").click()
        page.wait_for_selector("#session-revoked")
    assert httpx.get(server.url + "/api/v1/me", headers=headers, timeout=30).status_code == 401
    context.close()
