"""The acceptance walk in a real browser (Debian Chromium): Pingding's inspector reports, the dispatcher
files and dispatches (to the wrong bureau first, then re-dispatches), the handler signs for, arrives and
reports back with a photo, the supervisor sends it back once (返工), then closes and evaluates it; at 1280 px
and 375 px.
Every step is a click in the pages; no API call is made by the test."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests import live
from tests.web.conftest import require_chromium

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64
# a small grid in a Pingding village, one field unit, the inspector's account (no demo history: short lists)
PREPARE = """
from shapely.geometry import mapping
from govgrid.citymap.services import grid, units
from govgrid.core.audit.service import SystemActor
from govgrid.core.identity import service as identity
from tests.citymap.conftest import VILLAGE, village_area, offset
actor = SystemActor("tests")
with db.session_scope() as s:
    identity.ensure_user_with_role(s, actor=actor, username="pd_inspector", password=DEMO,
        display_name="平定县城市管理监督员", department_code="140321-urban_management", role="inspector",
        reach="division", is_demo=True)
    area = mapping(village_area(s))
    cells = grid.generate_grid(s, actor=actor, division_code=VILLAGE, cell_m=100, within=area)
    lon, lat = offset(cells[0].center_lon, cells[0].center_lat, 200, 0)
    units.create_unit(s, actor=actor, code="PD-ENF-T1", name="城管执法测试组", kind="enforcement",
        department_code="140321-urban_management", skills=["enforcement", "sanitation"], lon=lon, lat=lat)
"""
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 812}}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One live server for the module: the core demo plus the small city map above."""
    require_chromium()
    for attempt in range(3):  # a loaded shared machine may miss tests.live's 60-second start window
        try:
            srv = live.start(
                tmp_path_factory.mktemp("citymap-pages"),
                modules="exchange,appeals,citymap",
                # tests.live reads the server's stderr only when it exits: at INFO a long walk fills the pipe
                # and the server blocks on its next log line
                env={"GOVGRID_LOG_LEVEL": "WARNING"},
                prepare=f"DEMO = {live.DEMO_PASSWORD!r}\n" + PREPARE,
            )
            break
        except RuntimeError:
            if attempt == 2:
                raise
    yield srv
    srv.stop()


def _shots(tmp_path: Path) -> Path:
    """Where screenshots go: GOVGRID_SCREENSHOT_DIR (CI sets docs/screenshots) or the test's folder."""
    folder = Path(os.environ.get("GOVGRID_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Person:
    """One role's browser (its own cookies), logged in through the login page."""

    def __init__(self, chromium, server, username: str, viewport: dict[str, int]):
        self.url = server.url
        self.context = chromium.new_context(viewport=viewport, locale="zh-CN")
        self.page = self.context.new_page()
        self.page.set_default_timeout(90_000)  # a shared 2-core machine: a step may take a while
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.errors.append(d.message), d.dismiss()))
        self.page.goto(self.url + "/login")
        self.page.fill("#username", username)
        self.page.fill("#password", live.DEMO_PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state()

    def open_from_list(self, box: str, code: str) -> None:
        """Open the work list by its tab, then the case in it."""
        from playwright.sync_api import expect

        self.page.goto(self.url + "/citymap/work")
        tab = self.page.locator(f"#tab-{box}")
        expect(tab.locator(".badge")).not_to_have_text("0")
        tab.click()
        self.page.locator(f'.cm-work-item[data-code="{code}"]').click()
        expect(self.page.locator("#case-code")).to_have_text(code)

    def submit(self, form: str, done: str) -> None:
        """Submit a step's form and see the confirmation."""
        from playwright.sync_api import expect

        self.page.locator(f"{form} button[type=submit]").first.click()
        expect(self.page.locator("#done")).to_contain_text(done)

    def state(self) -> str:
        return str(self.page.locator("#case-state").get_attribute("data-state"))


@pytest.mark.browser
@pytest.mark.parametrize("viewport", list(VIEWPORTS), ids=list(VIEWPORTS))
def test_report_to_closed_with_a_redispatch_and_a_rework_by_clicking(server, chromium, viewport, tmp_path):
    from playwright.sync_api import expect

    size = VIEWPORTS[viewport]
    shots = _shots(tmp_path)

    # 信息收集: the inspector taps the grid, reports, and follows the tracking button that carries the code
    inspector = Person(chromium, server, "pd_inspector", size)
    page = inspector.page
    page.goto(server.url + "/citymap/report")
    page.wait_for_selector("#pick .leaflet-overlay-pane path")  # the grid drawn and fitted
    page.wait_for_timeout(300)
    page.locator("#pick").click()
    page.fill("#desc", f"路口暴露垃圾（{viewport}）")
    page.click("#report-form button[type=submit]")
    track = page.locator("#track-button")
    expect(track).to_be_visible(timeout=30_000)
    code = str(track.get_attribute("data-code"))
    assert re.fullmatch(r"140321\d{13}", code) and code in track.inner_text()
    track.click()
    expect(page.locator("#case-code")).to_have_text(code)
    assert inspector.state() == "collected" and page.locator("#step-forms form").count() == 0

    # 立案 and 派遣 by the command centre: first to the wrong bureau (住建局)
    dispatcher = Person(chromium, server, "pd_dispatcher", size)
    dispatcher.open_from_list("to_file", code)
    dispatcher.submit("#form-file", "已立案")
    dispatcher.open_from_list("to_dispatch", code)
    dpage = dispatcher.page
    expect(dpage.locator("#proposals .cm-assign")).to_have_count(1)  # the one unit, proposed on the map too
    dpage.select_option("#dispatch-dept", "140321-housing")
    dpage.screenshot(path=str(shots / f"citymap-case-dispatch-{viewport}.png"), full_page=True)
    dispatcher.submit("#form-dispatch", "已派遣")
    assert dispatcher.state() == "dispatched"

    # the urban-management handler has nothing: the dispatcher re-dispatches (改派) with a reason
    handler = Person(chromium, server, "pd_handler", size)
    hpage = handler.page
    hpage.goto(server.url + "/citymap/work?box=mine")
    expect(hpage.locator(f'.cm-work-item[data-code="{code}"]')).to_have_count(0)
    dpage.select_option("#redispatch-dept", "140321-urban_management")
    dpage.fill("#redispatch-reason", "垃圾清运属城管职责")
    dispatcher.submit("#form-redispatch", "已改派")

    # 签收, 到场, 处理反馈 with the photo after
    handler.open_from_list("mine", code)
    handler.submit("#form-acknowledge", "已签收")
    handler.submit("#form-arrive", "已记录到达现场")
    hpage.fill("#feedback-result", "已清运")
    hpage.set_input_files(
        "#feedback-photo", files=[{"name": "after.png", "mimeType": "image/png", "buffer": PNG}]
    )
    handler.submit("#form-feedback", "已反馈")
    assert handler.state() == "handled"

    # 核查: not fixed, back for rework (返工)
    supervisor = Person(chromium, server, "pd_supervisor", size)
    spage = supervisor.page
    supervisor.open_from_list("to_verify", code)
    expect(spage.locator("#photo-after")).to_be_visible()
    spage.fill("#verify-note", "仍有垃圾残留")
    spage.click("#verify-fail")
    expect(spage.locator("#done")).to_contain_text("已返工")
    assert supervisor.state() == "handling"

    # the handler reports back again; the supervisor closes and evaluates
    handler.open_from_list("mine", code)
    hpage.fill("#feedback-result", "已彻底清理")
    handler.submit("#form-feedback", "已反馈")
    supervisor.open_from_list("to_verify", code)
    spage.click("#verify-pass")
    expect(spage.locator("#done")).to_contain_text("已结案")
    supervisor.open_from_list("to_close", code)
    spage.select_option("#evaluate-score", "4")
    supervisor.submit("#form-evaluate", "已评价")
    assert supervisor.state() == "evaluated"
    timeline = spage.locator("#case-steps").inner_text()
    for step in (
        "信息收集",
        "立案",
        "派遣",
        "改派",
        "签收任务",
        "到达现场",
        "处理反馈",
        "核查未通过·返工",
        "核查通过·结案",
        "综合评价",
    ):
        assert step in timeline, step
    assert spage.locator("#case-rework").inner_text() == "1"
    spage.screenshot(path=str(shots / f"citymap-case-closed-{viewport}.png"), full_page=True)

    # the map: the legend folds away on a phone and never covers the map there
    dpage.goto(server.url + "/citymap")
    dpage.wait_for_selector("#citymap .leaflet-overlay-pane canvas")
    legend = dpage.locator(".legend")
    expect(dpage.locator("#gg-place")).to_contain_text("冠山镇")  # the offline basemap names the place
    if viewport == "phone":
        expect(legend).to_have_class(re.compile("collapsed"))
        box = legend.bounding_box()
        assert box is not None and box["height"] < 40
        dpage.click("#legend-toggle")
        expect(legend).not_to_have_class(re.compile("collapsed"))
        dpage.click("#legend-toggle")
    else:
        expect(legend).not_to_have_class(re.compile("collapsed"))
    dpage.wait_for_timeout(500)
    dpage.screenshot(path=str(shots / f"citymap-map-walk-{viewport}.png"))
    for person in (inspector, dispatcher, handler, supervisor):
        assert person.errors == []
        person.context.close()
