"""In a real browser over one live server (appeals + reuse demo), at 1280 px and at 375 px: 平定县's admin
previews 内黄县's pack as a diff, installs it and uninstalls it; a county declares a case, the platform
administrator reviews, accepts and promotes it, another county rates it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import live

PREPARE = (
    "from govgrid.config import get_settings\n"
    "from govgrid.core.bootstrap import use_database_secret\n"
    "use_database_secret(get_settings())\n"
    "import govgrid.appeals.module\n"
    "from govgrid.core.modules import DemoContext\n"
    "from govgrid.reuse.demo import load_demo\n"
    "with db.session_scope() as s: load_demo(s, DemoContext())\n"
)
VIEWPORTS = [
    pytest.param({"width": 1280, "height": 900}, id="desktop"),
    pytest.param({"width": 375, "height": 740}, id="phone"),
]
MAPPING = '{"lines": {"petition": "civil_affairs"}, "deadlines": {"garbage": {"resolve_days": 2}}}'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[live.LiveServer]:
    """One live server for this module, holding the core, appeals and the reuse demo."""
    srv = live.start(tmp_path_factory.mktemp("reuse-live"), modules="appeals,reuse", prepare=PREPARE)
    yield srv
    srv.stop()


def _login(page, server, username: str) -> None:
    page.context.clear_cookies()
    page.goto(server.url + "/login")
    page.fill("#username", username)
    page.fill("#password", live.DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#whoami", state="attached")


def _no_horizontal_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.browser
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_county_admin_previews_installs_and_uninstalls_a_pack(server, chromium, viewport):
    page = chromium.new_page(viewport=viewport)
    _login(page, server, "pd_gov")
    page.goto(server.url + "/reuse/packs")
    assert page.locator("h1").inner_text() == "方案包目录"
    page.locator("#packs a.pack-link", has_text="appeals-410527").click()
    page.wait_for_selector("#preview-form")
    assert "内黄县" in page.locator("#manifest").inner_text()
    page.fill("#mapping", MAPPING)
    page.click("#preview-button")
    page.wait_for_selector("#diff")
    diff = page.locator("#diff").inner_text()
    assert "村务管理" in diff and "民政" in diff and "垃圾清运" in diff
    _no_horizontal_scroll(page)
    page.click("#install-button")
    page.wait_for_selector("#flash")
    assert page.locator("#flash").inner_text() == "方案包已安装。"
    assert "140321" in page.locator("#installed").inner_text()
    page.locator("#installed button.uninstall").click()
    page.wait_for_selector("#flash")
    assert page.locator("#flash").inner_text() == "方案包已卸载，原配置已恢复。"
    assert page.locator("#installed").count() == 0
    page.close()


@pytest.mark.browser
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_case_is_declared_reviewed_promoted_and_rated(server, chromium, viewport):
    title = f"平定县网格化服务 {viewport['width']}"
    page = chromium.new_page(viewport=viewport)
    _login(page, server, "pd_gov")
    page.goto(server.url + "/reuse/cases")
    assert "浙江省“最多跑一次”改革" in page.locator("#cases").inner_text()
    page.fill("#case-title", title)
    page.fill("#case-summary", "网格员巡查上报，一张图派遣到结案")
    page.fill("#case-before", "结案率=78")
    page.fill("#case-after", "结案率=92")
    page.click("#case-submit")
    page.wait_for_selector("#case-state")
    assert page.locator("#case-state").inner_text() == "已申报"
    assert page.locator("#review-button").count() == 1  # offered by the table; the service decides who
    case_url = page.url
    _no_horizontal_scroll(page)

    _login(page, server, "admin")
    page.goto(case_url)
    page.click("#review-button")
    page.wait_for_selector("#accept-button")
    page.fill("#note", "经验可复制")
    page.click("#accept-button")
    page.wait_for_selector("#provincial-button")
    assert page.locator("#case-state").inner_text() == "已入库"
    page.click("#provincial-button")
    page.wait_for_selector("#national-button")
    assert page.locator("#case-state").inner_text() == "省级推荐"

    _login(page, server, "nh_gov")
    page.goto(case_url)
    page.select_option("#score", "4")
    page.click("#rate-button")
    page.wait_for_selector("#case-rating")
    assert page.locator("#case-rating").inner_text() == "4.0"
    _no_horizontal_scroll(page)
    page.close()


@pytest.mark.browser
def test_a_county_may_not_review_its_own_case(server, chromium):
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    _login(page, server, "pd_gov")
    page.goto(server.url + "/reuse/cases?state=under_review")
    page.locator("#cases a.case-link", has_text="平定县城市管理一张图").click()
    page.wait_for_selector("#case-state")
    page.click("#decision-form #accept-button")
    page.wait_for_selector("#error-message")
    assert "上级" in page.locator("#error-message").inner_text()
    page.close()
