"""The county's class settings in pages (本县类别设置, pages/classes.py): the table of every class as the
county runs it, and the form of the county's class administrator to set a class's deadline and line or
restore the standard; refused callers get the site's 403 page and nothing changes; bad input is a 422."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from govgrid.citymap.models import ClassOverride
from govgrid.core.audit import service as audit
from govgrid.core.audit.models import AuditRecord
from tests import live
from tests.browser import login, no_horizontal_scroll
from tests.conftest import cookie_login, csrf_token

HTML = {"Accept": "text/html"}
PINGDING = "140321"
PAGE = f"/citymap/classes?county={PINGDING}"
SET = f"/citymap/classes/{PINGDING}"
CLEAR = f"/citymap/classes/{PINGDING}/clear"
GARBAGE = "event-0101"  # 暴露垃圾: 2 working hours, the urban-management line, in the standard


def _settings(db) -> list[tuple[str, str, float | None, str | None]]:
    db.expire_all()
    return [
        (r.kind, r.class_code, r.deadline_hours, r.line)
        for r in db.scalars(select(ClassOverride).order_by(ClassOverride.id))
    ]


def _row(html: str, key: str) -> str:
    """The table row of a class."""
    found = re.search(rf'<tr id="row-{key}".*?</tr>', html, re.S)
    assert found, f"no row {key}"
    return found.group(0)


def _cell(row: str, name: str) -> str:
    found = re.search(rf'class="[^"]*{name}[^"]*" data-[a-z]+="([^"]*)"', row)
    assert found, row
    return found.group(1)


def _audits(db, action: str) -> int:
    return db.scalar(
        select(func.count()).select_from(AuditRecord).where(
            AuditRecord.action == action, AuditRecord.entity_id == GARBAGE
        )
    )


def test_anonymous_is_sent_to_log_in_and_may_not_post(client, db):
    r = client.get(PAGE, headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/citymap/classes")
    for url in (SET, CLEAR):
        data = {"key": GARBAGE, "deadline_hours": "6"}
        r = client.post(url, data=data, headers=HTML, follow_redirects=False)
        assert r.status_code in (401, 403) or r.headers["location"].startswith("/login")
    assert _settings(db) == []


def test_another_countys_user_gets_the_403_page_and_none_of_the_settings(client, db, login, urban_admin):
    pd = {**login("pd_gov"), **HTML}
    r = client.post(SET, data={"key": GARBAGE, "deadline_hours": "6"}, headers=pd, follow_redirects=False)
    assert r.status_code == 303
    r = client.get(PAGE, headers={**login("nh_gov"), **HTML})
    assert r.status_code == 403 and "<html" in r.text and "无权查看" in r.text
    assert 'id="class-table"' not in r.text and "暴露垃圾" not in r.text
    # its own county by default, and Pingding's setting does not leak into Neihuang's table
    own = client.get("/citymap/classes", headers={**login("nh_gov"), **HTML})
    assert own.status_code == 200 and 'data-county="410527"' in own.text
    assert 'data-status="standard"' in _row(own.text, GARBAGE)
    for url, data in ((SET, {"key": GARBAGE, "deadline_hours": "3"}), (CLEAR, {"key": GARBAGE})):
        r = client.post(url, data=data, headers={**login("nh_gov"), **HTML}, follow_redirects=False)
        assert r.status_code == 403 and "管理员" in r.text
    assert _settings(db) == [("event", "0101", 6.0, None)]


def test_the_class_admin_sets_and_restores_a_class_through_the_form(client, db, urban_admin):
    cookie_login(client, db, "pd_urban_admin")
    page = client.get("/citymap/classes", headers=HTML)  # the admin's own county by default
    assert page.status_code == 200 and 'data-county="140321"' in page.text
    assert 'id="tab-classes"' in page.text and "本县类别设置" in page.text
    assert '<div class="table-responsive">' in page.text
    assert len(re.findall(r'<tr id="row-', page.text)) >= 30  # every part and event class
    row = _row(page.text, GARBAGE)
    assert "暴露垃圾" in row and _cell(row, "cm-hours") == "2" and "按标准" in row
    # the edit form reached from the row, with the county's lines in a <select>
    edit = re.search(r'href="([^"]*edit=event-0101[^"#]*)', row)
    assert edit
    form = client.get(edit.group(1).replace("&amp;", "&"), headers=HTML).text
    assert 'id="class-form"' in form and 'id="class-line" name="line"' in form
    assert '<option value="housing">住房和城乡建设</option>' in form
    token = csrf_token(client, PAGE)
    r = client.post(
        SET,
        data={"csrf_token": token, "key": GARBAGE, "deadline_hours": "6", "line": "housing"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith(f"/citymap/classes?county={PINGDING}&done=set")
    after = client.get(r.headers["location"], headers=HTML).text
    assert "已保存 0101 暴露垃圾 的本县设置" in after
    row = _row(after, GARBAGE)
    assert _cell(row, "cm-hours") == "6" and _cell(row, "cm-line") == "housing"
    assert "住房和城乡建设" in row and "本县设置" in row
    assert _settings(db) == [("event", "0101", 6.0, "housing")]

    r = client.post(
        CLEAR,
        data={"csrf_token": token, "key": GARBAGE, "kind": "event", "q": "垃圾"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "kind=event" in r.headers["location"] and "q=%E5%9E%83%E5%9C%BE" in r.headers["location"], (
        "back to the table as the admin had filtered it"
    )
    after = client.get(r.headers["location"], headers=HTML).text
    assert "已恢复 0101 暴露垃圾 的标准设置" in after
    row = _row(after, GARBAGE)
    assert _cell(row, "cm-hours") == "2" and _cell(row, "cm-line") == "urban_management" and "按标准" in row
    assert _settings(db) == []
    assert _audits(db, "citymap.class_setting_set") == 1
    assert _audits(db, "citymap.class_setting_cleared") == 1
    assert audit.verify(db).ok


@pytest.mark.parametrize("hours", ["0", "-3", "abc", "1000"])
def test_a_bad_deadline_is_a_422_in_chinese_and_changes_nothing(client, db, login, hours):
    pd = {**login("pd_gov"), **HTML}
    assert client.post(SET, data={"key": GARBAGE, "deadline_hours": "5"}, headers=pd).status_code == 200
    before = _settings(db)
    r = client.post(SET, data={"key": GARBAGE, "deadline_hours": hours}, headers=pd, follow_redirects=False)
    assert r.status_code == 422
    assert "设置有误，未作任何更改" in r.text and "处置时限应为 0.5-720 之间的工作小时数" in r.text
    assert 'id="class-form"' in r.text and f'value="{hours}"' in r.text  # the form again, as typed
    assert _settings(db) == before == [("event", "0101", 5.0, None)]


def test_a_line_the_county_lacks_or_an_empty_form_is_a_422(client, db, login):
    pd = {**login("pd_gov"), **HTML}
    r = client.post(SET, data={"key": GARBAGE, "line": "no_such_line"}, headers=pd)
    assert r.status_code == 422 and "本县没有这个条线的部门" in r.text
    r = client.post(SET, data={"key": GARBAGE}, headers=pd)
    assert r.status_code == 422 and "请填写处置时限或选择处置条线" in r.text
    r = client.post(SET, data={"key": "event-9999", "deadline_hours": "3"}, headers=pd)
    assert r.status_code == 422 and "本平台没有这个城市管理类别" in r.text
    assert _settings(db) == []


def test_a_viewer_sees_the_table_without_forms_and_is_refused_a_post(client, db, login):
    viewer = {**login("pd_dispatcher"), **HTML}
    page = client.get(PAGE, headers=viewer)
    assert page.status_code == 200 and 'id="class-table"' in page.text
    assert 'action="/citymap/classes/' not in page.text and "edit=event-0101" not in page.text
    assert "您可以查看，但无权修改" in page.text
    assert 'id="tab-classes"' not in page.text  # the tab is for those who may change the settings
    assert 'id="class-form"' not in client.get(PAGE + "&edit=event-0101", headers=viewer).text
    for url, data in ((SET, {"key": GARBAGE, "deadline_hours": "3"}), (CLEAR, {"key": GARBAGE})):
        r = client.post(url, data=data, headers=viewer, follow_redirects=False)
        assert r.status_code == 403 and "<html" in r.text
    assert _settings(db) == []


def test_the_page_in_english_has_no_chinese_labels(client, login):
    client.post(SET, data={"key": GARBAGE, "deadline_hours": "6"}, headers={**login("pd_gov"), **HTML})
    page = client.get(PAGE + "&lang=en&edit=event-0101", headers={**login("pd_gov"), **HTML}).text
    for label in ("County class settings", "Standard deadline (working hours)", "Handling line",
                  "county setting", "Restore the standard", "Save", "Urban management", "Edit 0101"):
        assert label in page, label
    content = page[page.index('id="class-filter"'):]
    # what is left in Chinese is data: the county's name (平定县) and nothing of the labels added here
    labels = re.sub(r"<code>.*?</code>", "", content)
    labels = re.sub(r"平定县", "", labels)
    chinese = re.findall(r"[\u4e00-\u9fff]+", re.sub(r"<[^>]+>", " ", labels))
    assert chinese == [], chinese
    bad = client.post(
        SET + "?lang=en", data={"key": GARBAGE, "deadline_hours": "0"}, headers={**login("pd_gov"), **HTML}
    )
    assert bad.status_code == 422 and "must be between 0.5 and 720 working hours" in bad.text


# ---- in a real browser -------------------------------------------------------------------------------------

PREPARE = """
from govgrid.core.audit.service import SystemActor
from govgrid.core.identity import service as identity
with db.session_scope() as s:
    identity.ensure_user_with_role(s, actor=SystemActor("tests"), username="pd_urban_admin", password=DEMO,
        display_name="平定县城市管理局管理员", department_code="140321-urban_management", role="admin",
        reach="department", is_demo=True)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One live server with the city map and Pingding's urban-management administrator."""
    srv = live.start(
        tmp_path_factory.mktemp("citymap-classes"),
        modules="citymap",
        env={"GOVGRID_LOG_LEVEL": "WARNING"},
        prepare=f"DEMO = {live.DEMO_PASSWORD!r}\n" + PREPARE,
    )
    yield srv
    srv.stop()


@pytest.mark.browser
def test_the_admin_changes_a_deadline_in_the_browser_on_desktop_and_phone(server, chromium):
    from playwright.sync_api import expect

    for width, height, hours in ((1280, 900, "6"), (375, 812, "4.5")):
        context = chromium.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(90_000)
        errors: list[str] = []
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        login(page, server.url, "pd_urban_admin")
        page.goto(server.url + "/citymap")
        page.locator("#tab-classes").click()
        expect(page.locator("h1")).to_contain_text("本县类别设置")
        page.fill("#filter-q", "暴露垃圾")
        page.click("#class-filter button[type=submit]")
        row = page.locator("#row-event-0101")
        expect(page.locator("#class-table tbody tr")).to_have_count(1)
        row.locator(".cm-edit").click()
        page.fill("#class-hours", hours)
        page.select_option("#class-line", "urban_management")
        page.click("#class-form button[type=submit]")
        expect(page.locator("#done")).to_contain_text("已保存 0101 暴露垃圾")
        expect(row.locator(".cm-hours")).to_have_text(hours)
        expect(row).to_contain_text("本县设置")
        # the table scrolls inside its own box on a phone: the page itself does not scroll sideways
        no_horizontal_scroll(page)
        assert not errors, errors
        context.close()
