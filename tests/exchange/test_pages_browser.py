"""The sharing workflow in a real browser (Debian Chromium through Playwright), one live server:
a consumer department (人社局) requests a population entry at 1280 px, the provider (公安局) approves
it with two items served in clear, and the consumer views the granted rows, masked, on a phone (375 px)
and on the desktop.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from govgrid.core.privacy import id_number_checksum, mask_id_number
from tests import live

ID1 = "41052719800101123" + id_number_checksum("41052719800101123")
ID2 = "41052719920315456" + id_number_checksum("41052719920315456")
PREPARE = (
    "from govgrid.core.audit.service import SystemActor\n"
    "from govgrid.core.identity import service as identity\n"
    "from govgrid.exchange.schemas import DataItemIn, ResourceCreate\n"
    "from govgrid.exchange.services import catalog, uploads\n"
    "A = SystemActor('browser-test')\n"
    "with db.session_scope() as s:\n"
    "    for u, dept, name in (('nh_police', '410527-public_security', '内黄县公安局'),\n"
    "                          ('nh_hr', '410527-human_resources', '内黄县人社局')):\n"
    "        identity.ensure_user_with_role(s, actor=A, username=u,\n"
    f"            password={live.DEMO_PASSWORD!r}, display_name=name, department_code=dept,\n"
    "            role='operator', reach='department', is_demo=True)\n"
    "    items = [DataItemIn(name='id_number', label='公民身份号码', type='id_number',\n"
    "                        personal=True, sensitive=True),\n"
    "             DataItemIn(name='name', label='姓名', personal=True, mask='name'),\n"
    "             DataItemIn(name='phone', label='联系电话', type='phone', personal=True),\n"
    "             DataItemIn(name='address', label='住址', personal=True, mask='address'),\n"
    "             DataItemIn(name='village_code', label='所属村代码', type='division')]\n"
    "    res = catalog.create_resource(s, actor=A, data=ResourceCreate(class_code='A01',\n"
    "        provider_department_code='410527-public_security', name='内黄县人口基础信息（浏览器测试）',\n"
    "        sharing_type='conditional', sharing_conditions='仅用于法定职责',\n"
    "        grade='important', items=items))\n"
    f"    csv = ('id_number,name,phone,address,village_code\\n'\n"
    f"           '{ID1},张三丰,13812345678,内黄县城关镇解放路12号院3号,410527100200\\n'\n"
    f"           '{ID2},欧阳明,13987655678,内黄县东庄镇前街5号,410527101200\\n')\n"
    "    uploads.upload_records(s, actor=A, code=res.code, content=csv.encode(), filename='p.csv')\n"
    "    print(res.code)\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[live.LiveServer]:
    """A live server with a provider, a consumer and one conditional population entry with two rows."""
    s = live.start(tmp_path_factory.mktemp("exchange-live"), modules="exchange", prepare=PREPARE)
    yield s
    s.stop()


def _login(browser, base: str, username: str, width: int):
    ctx = browser.new_context(viewport={"width": width, "height": 900 if width > 500 else 800})
    page = ctx.new_page()
    page.set_default_timeout(120_000)  # a busy 2-core machine: the server may be slow, not wrong
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", live.DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    return ctx, page


def _shots(tmp_path: Path) -> Path:
    return Path(os.environ.get("GOVGRID_SCREENSHOTS", tmp_path))


def test_request_approve_with_two_clear_items_and_view_masked_rows(server, chromium, tmp_path):
    base, shots = server.url, _shots(tmp_path)
    errors: list[str] = []

    # 1. the consumer department finds the entry in the catalog and requests it (1280 px)
    ctx, page = _login(chromium, base, "nh_hr", 1280)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + "/exchange?q=人口")
    page.click("text=内黄县人口基础信息（浏览器测试）")
    page.fill("#purpose", "养老保险待遇资格认证")
    page.fill("#legal_basis", "《社会保险法》第七十五条")
    page.click("#request-form button[type=submit]")
    page.wait_for_url("**/exchange/requests?*")
    assert "已提交" in page.inner_text("#notice")
    assert "待审核" in page.inner_text("#mine")
    ctx.close()

    # 2. the provider opens the approval form, serves 姓名 and 住址 in clear, approves
    ctx, page = _login(chromium, base, "nh_police", 1280)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + "/exchange/requests")
    page.click("#inbox a.decide")
    page.check("#clear-name")
    page.check("#clear-address")
    page.screenshot(path=str(shots / "exchange-approve-desktop.png"), full_page=True)
    page.click("#approve")
    page.wait_for_url("**/exchange/requests?*")
    assert "已批准" in page.inner_text("#notice")
    page.goto(base + "/exchange/grants")
    assert "有效" in page.inner_text("#given") and "name, address" in page.inner_text("#given")
    ctx.close()

    # 3. the consumer views its granted data on a phone: 姓名/住址 in clear, ID number and phone masked
    for width in (375, 1280):
        ctx, page = _login(chromium, base, "nh_hr", width)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + "/exchange/grants")
        page.click("#held a.view-data")
        page.wait_for_selector("#records")
        table = page.inner_text("#records")
        assert "张三丰" in table and "内黄县城关镇解放路12号院3号" in table
        assert "13812345678" not in table and "138****5678" in table
        assert ID1 not in table and mask_id_number(ID1) in table
        assert "公民身份号码" in page.inner_text("#masked-fields")
        name = "exchange-data-phone.png" if width < 500 else "exchange-data-desktop.png"
        page.screenshot(path=str(shots / name), full_page=True)
        if width < 500:  # the table scrolls inside its box; the page itself does not overflow
            assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
        ctx.close()
    assert not errors, errors
