"""The registry in a real browser (Debian Chromium through Playwright), one live server for the module.

At 1280 px the forestry bureau registers a project with the sample boundary file, runs the assessment (the
real engine, with its progress page), the verifier signs off with findings, and the registry administrator
issues credits with the buffer share; the MRV report is opened. At 375 px (a phone) the proponent retires
credits in its account's form and anyone opens the certificate and the public registry.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import live

USERS_SCRIPT = (
    "from govgrid.carbon.demo import ACTOR, USERS\n"
    "from govgrid.core.identity import service as identity\n"
    "with db.session_scope() as s:\n"
    "    for u, name, dept, role, reach in USERS:\n"
    "        identity.ensure_user_with_role(s, actor=ACTOR, username=u,\n"
    f"            password={live.DEMO_PASSWORD!r},\n"
    "            display_name=name, department_code=dept, role=role, reach=reach, is_demo=True)\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[live.LiveServer]:
    """A live server with the registry's users (the full carbon demo is not needed)."""
    s = live.start(tmp_path_factory.mktemp("carbon-registry-live"), modules="carbon", prepare=USERS_SCRIPT)
    yield s
    s.stop()


def _login(browser, base: str, username: str, width: int):
    """A fresh browser context logged in through the form at the given width."""
    ctx = browser.new_context(viewport={"width": width, "height": 900 if width > 500 else 800})
    page = ctx.new_page()
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", live.DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    return ctx, page


def _shots(tmp_path: Path) -> Path:
    return Path(os.environ.get("GOVGRID_SCREENSHOTS", tmp_path))


@pytest.fixture(scope="module")
def issued(server, chromium, tmp_path_factory) -> dict[str, str]:
    """The desktop workflow (1280 px): register, assess, verify, issue. Returns the pages it reached."""
    base = server.url
    tmp = tmp_path_factory.mktemp("carbon-browser")
    shots = _shots(tmp)
    errors: list[str] = []

    # 1. the forestry bureau registers the project with the sample boundary file
    ctx, page = _login(chromium, base, "jsh_forestry", 1280)
    # script errors only (a missing favicon is reported as a failed resource load)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + "/carbon/projects")
    page.click("#btn-new-project")
    with page.expect_download() as dl:
        page.click("#sample-boundary")
    boundary = tmp / "sample-boundary.geojson"
    dl.value.save_as(boundary)
    assert json.loads(boundary.read_text())["type"] == "FeatureCollection"
    page.fill("#f-name", "君山湿地浏览器测试项目")
    page.set_input_files("#f-file", str(boundary))
    page.click("#btn-preview")
    page.wait_for_selector("#preview")
    assert page.locator("#preview-area").inner_text() == "900.00"
    page.click("#btn-register")
    page.wait_for_selector("#project-area")
    assert page.locator("#project-area").inner_text().startswith("900.00")
    project_url = page.url
    page.screenshot(path=str(shots / "carbon-project-registered.png"), full_page=True)

    # 2. it runs the assessment and watches the progress
    page.click("#btn-assess")
    page.click("#btn-run")
    page.wait_for_selector("#bar")
    page.wait_for_selector("#run-done:not([hidden])", timeout=240_000)
    page.click("#report-link")
    page.wait_for_selector("#report-facts")
    report_url = page.url
    assert "待核查" in page.locator("#report-status").inner_text()
    ctx.close()

    # 3. the verifier signs off with a finding
    ctx, page = _login(chromium, base, "yy_verifier", 1280)
    page.goto(report_url)
    page.select_option("#v-opinion", "qualified")
    page.fill("#v-statement", "输入数据哈希一致，方法学适用，结果可复现。")
    page.fill("#v-findings", "土壤样点东北角偏少 | 下一监测期加密采样")
    page.click("#btn-verify")
    page.wait_for_selector("#flash-ok")
    assert "已核查" in page.locator("#report-status").inner_text()
    ctx.close()

    # 4. the registry administrator issues with the buffer share
    ctx, page = _login(chromium, base, "hn_registry", 1280)
    page.goto(report_url)
    page.click("#btn-issue")
    page.wait_for_selector("#flash-ok")
    assert "存入缓冲池" in page.locator("#flash-ok").inner_text()
    assert "缓冲池" in page.locator("#issued").inner_text()
    page.screenshot(path=str(shots / "carbon-issued.png"), full_page=True)
    # the MRV report for people: Chinese, one area figure
    page.click("#open-mrv")
    page.wait_for_selector("#mrv")
    text = page.locator("#mrv").inner_text()
    assert "900.00 公顷" in text and "面积核对" in text and "{" not in text
    # the project map and the land-cover figures loaded
    images = page.locator("#mrv img")
    assert images.count() == 2
    for i in range(2):
        images.nth(i).scroll_into_view_if_needed()
        page.wait_for_function(
            "(img) => img.complete && img.naturalWidth > 0", arg=images.nth(i).element_handle()
        )
    page.screenshot(path=str(shots / "carbon-mrv.png"), full_page=True)
    ctx.close()
    assert not errors, errors
    return {"project": project_url, "report": report_url}


def test_desktop_register_assess_verify_issue(issued):
    assert "/carbon/projects/" in issued["project"] and "/carbon/reports/" in issued["report"]


def test_phone_retire_and_public_certificate(server, chromium, issued, tmp_path):
    base = server.url
    ctx, page = _login(chromium, base, "jsh_forestry", 375)
    page.goto(base + "/carbon/accounts")
    page.locator("#accounts a").first.click()
    page.wait_for_selector("#retire-form")
    page.fill("#r-ben", "君山区人民政府")
    page.fill("#r-reason", "2026 年湿地日活动碳中和")
    page.fill("#r-qty", "10")
    page.locator("#retire-form button[type=submit]").click()
    page.wait_for_selector("#certificate")
    assert page.locator("#cert-quantity").inner_text() == "10"
    cert_url = page.url.split("?")[0]
    # nothing runs off the side of a phone's screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    page.screenshot(path=str(_shots(tmp_path) / "carbon-certificate-phone.png"), full_page=True)
    ctx.close()
    # anyone opens the certificate and the public registry on a phone
    anon = chromium.new_context(viewport={"width": 375, "height": 800})
    page = anon.new_page()
    page.goto(cert_url)
    assert "君山区人民政府" in page.locator("#cert-beneficiary").inner_text()
    page.goto(base + "/carbon/registry")
    assert page.locator("#reg-blocks tr[data-status=retired]").count() >= 1
    assert "缓冲池" in page.locator("#reg-blocks").inner_text()
    anon.close()
