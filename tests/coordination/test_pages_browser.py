"""In a real browser over one live server with the coordination demo: the province overview, the city's task
board (assign), the county's report, the asset map with its duplication flag, and a compute job placed on the
cheapest allowed pool, each by the role that does it, at 1280 px and at 375 px; then `govgrid tenants onboard`
against the server's database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from tests import live
from tests.browser import VIEWPORTS, login, no_horizontal_scroll

PREPARE = (
    "from govgrid.core.modules import DemoContext, module_specs\n"
    "from govgrid.coordination.demo import load_demo\n"
    "module_specs()\n"
    "with db.session_scope() as s: load_demo(s, DemoContext())\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[live.LiveServer]:
    """One live server for this module: the core demo, appeals (its measures) and the coordination demo."""
    srv = live.start(
        tmp_path_factory.mktemp("coordination-live"), modules="appeals,coordination", prepare=PREPARE
    )
    yield srv
    srv.stop()


@pytest.mark.browser
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_city_assigns_a_task_and_sees_the_red_flags(server, chromium, viewport):
    page = chromium.new_page(viewport=viewport)
    login(page, server.url, "ay_gov")
    page.goto(server.url + "/coordination/tasks")
    assert page.locator("h1").inner_text() == "任务督办"
    red = page.locator("#supervision li[data-colour=red]")
    assert red.count() == 2 and "红色督办" in red.first.inner_text()
    no_horizontal_scroll(page)
    title = f"数据共享专项整治 {viewport['width']}"
    page.fill("#task-title", title)
    page.fill("#task-assignees", "410527 410522")
    page.fill("#task-deadline", "2099-12-31")
    page.click("#task-assign")
    page.wait_for_selector("#flash")
    card = page.locator(".task", has_text=title)
    assert card.locator("tbody tr").count() == 2
    assert "已下达" in card.inner_text()
    page.close()


@pytest.mark.browser
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_county_reports_progress_with_evidence(server, chromium, viewport):
    page = chromium.new_page(viewport=viewport)
    login(page, server.url, "nh_gov")
    page.goto(server.url + "/coordination/tasks")
    cards = page.locator(".task")
    assert cards.count() >= 2
    assert page.locator(".task tbody tr[data-division='410522']").count() == 0  # another county's part
    part = page.locator(".task", has_text="政务服务大厅标准化改造").locator("tr[data-division='410527']")
    assert part.get_attribute("data-colour") == "red"
    part.locator("input[name=evidence]").fill(f"已完成窗口改造 {viewport['width']}")
    part.locator("input[name=progress]").fill("60")
    part.locator("button[type=submit]").click()
    page.wait_for_selector("#flash")
    part = page.locator(".task", has_text="政务服务大厅标准化改造").locator("tr[data-division='410527']")
    assert "推进中" in part.inner_text() and "60%" in part.inner_text()
    no_horizontal_scroll(page)
    page.close()


@pytest.mark.browser
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_province_overview_and_asset_map_with_the_duplication_flag(server, chromium, viewport):
    page = chromium.new_page(viewport=viewport)
    login(page, server.url, "hn_gov")
    page.goto(server.url + "/coordination/overview")
    assert "河南省" in page.locator("#overview-title").inner_text()
    assert page.locator("#rollup tr[data-division='410500']").count() == 1
    assert "按期办结率" in page.locator("#rollup thead").inner_text()
    no_horizontal_scroll(page)
    page.goto(server.url + "/coordination/assets")
    page.wait_for_selector("#map .leaflet-interactive")
    assert page.locator("#map .leaflet-interactive").count() >= 5
    flagged = page.locator("#system-table tr.duplicate")
    assert flagged.count() == 1 and "建议直接使用" in flagged.inner_text()
    no_horizontal_scroll(page)
    page.close()


@pytest.mark.browser
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_job_goes_to_the_cheapest_allowed_pool(server, chromium, viewport):
    page = chromium.new_page(viewport=viewport)
    login(page, server.url, "nh_gov")
    page.goto(server.url + "/coordination/pools")
    assert page.locator("#pools tbody tr").count() == 2
    page.fill("#job-name", f"内黄碳储量 {viewport['width']}")
    page.fill("#job-division", "410527")
    page.fill("#job-units", "4")
    page.click("#job-submit")
    row = page.locator("#job-table tr.job", has_text=f"内黄碳储量 {viewport['width']}")
    row.wait_for()
    assert row.locator(".job-pool").inner_text() == "NX-ZW"
    assert row.locator(".job-state").inner_text() == "已完成"
    page.fill("#job-name", "超量作业")
    page.fill("#job-units", "100000")
    page.click("#job-submit")
    assert "没有可以接收该作业的算力池" in page.locator("#error-message").inner_text()
    no_horizontal_scroll(page)
    page.close()


def test_the_cli_onboards_a_county_whose_admin_can_log_in(server):
    env = {**os.environ, "GOVGRID_DATABASE_URL": f"sqlite:///{server.db_path}", "GOVGRID_DEMO_MODE": "1",
           "GOVGRID_MODULES": "appeals,coordination"}
    env.pop("GOVGRID_SECRET_KEY", None)
    cmd = [sys.executable, "-m", "govgrid.cli", "tenants", "onboard", "--division", "410526"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "管理员 (admin): t410526_admin" in r.stdout
    password = r.stdout.split("(initial password, shown once):")[1].split()[0]
    token = httpx.post(server.url + "/api/v1/auth/token", timeout=30,
                       data={"username": "t410526_admin", "password": password})
    assert token.status_code == 200, token.text
    hosted = httpx.get(server.url + "/api/v1/coordination/tenants", timeout=30,
                       headers={"Authorization": f"Bearer {server.token('ay_gov')}"}).json()
    assert "410526" in {t["division_code"] for t in hosted}
