"""The birth bundle clicked through in Chromium by the roles that do it, at 1280 px and at 375 px: the
resident applies (pre-filled, masked, photo uploaded, handed in at 君山区), four 内黄县 departments decide,
the resident sees the e-certificate verified. Last, the crash/restart acceptance on the same live server:
SIGKILL mid-process, a new server on the same database resumes exactly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests import live

BIRTH = "YJS-410527-BIRTH"
DECIDERS = ["sv_health", "sv_police", "sv_medical", "sv_hrss"]
FORM = {
    "child_name": "李小满",
    "child_gender": "女",
    "birth_date": "2026-11-20",
    "hospital": "内黄县人民医院",
}
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00test\xff\xd9"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[live.LiveServer]:
    """One live server for the module, seeded with the services world."""
    s = live.start(
        tmp_path_factory.mktemp("services-live"),
        modules="exchange,services",
        prepare="from tests.services.conftest import seed_live\nseed_live()\n",
    )
    yield s
    s.stop()


SIGNED_IN: dict[str, Any] = {}  # username -> the browser storage state after logging in through /login


def _login(chromium, server: live.LiveServer, username: str, width: int):
    """A context at `width` px signed in as `username` (the /login form once per user, then its cookies)."""
    state = SIGNED_IN.get(username)
    context = chromium.new_context(viewport={"width": width, "height": 900}, storage_state=state)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    if state is None:
        page.goto(server.url + "/login")
        page.fill("#username", username)
        page.fill("#password", live.DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url, timeout=20_000)
        SIGNED_IN[username] = context.storage_state()
    return context, page, errors


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 375])
def test_birth_bundle_end_to_end_in_the_browser(chromium, server, width):
    context, page, errors = _login(chromium, server, "sv_citizen", width)
    page.goto(server.url + "/services")
    assert "办事指南" in page.content()
    page.click(f"a[href='/services/items/{BIRTH}']")
    assert page.inner_text("#item-name") == "新生儿出生一件事"
    assert "无需提交" in page.inner_text("#materials")
    page.click("#apply-link")
    prefill = page.inner_text("#prefill")
    assert "李*" in prefill and "13812345678" not in prefill and "人口基础信息" in prefill
    page.fill("#f_child_name", "李小满")
    page.fill("#f_child_gender", "女")
    page.fill("#f_birth_date", "2026-11-20")
    page.fill("#f_hospital", "内黄县人民医院")
    page.select_option("#mode", "remote_collect")
    page.select_option("#accepted", "430611")
    page.click("#submit")
    assert page.inner_text("#error").startswith("未能提交")  # the photo is missing
    page.fill("#f_child_name", "李小满")
    page.fill("#f_child_gender", "女")
    page.fill("#f_birth_date", "2026-11-20")
    page.fill("#f_hospital", "内黄县人民医院")
    page.select_option("#mode", "remote_collect")
    page.select_option("#accepted", "430611")
    page.set_input_files(
        "#m_child_photo", files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": JPEG}]
    )
    page.click("#submit")
    page.wait_for_url("**/services/applications/*")
    number = page.inner_text("#number")
    assert page.inner_text("#status") == "办理中" and page.inner_text("#mode") == "异地代收代办"
    assert "君山区" in page.inner_text("#timeline")
    context.close()
    for role in DECIDERS:
        ctx, p, errs = _login(chromium, server, role, width)
        p.goto(server.url + "/services/work")
        p.click(f"#work a:text('{number}')")
        p.wait_for_selector(".decide-form")
        p.select_option(".decide-form select[name=decision]", "approve")
        p.click(".decide-form button")
        p.wait_for_load_state()
        assert "同意" in p.inner_text("#timeline"), role
        assert not errs, errs
        ctx.close()
    context, page, errors = _login(chromium, server, "sv_citizen", width)
    page.goto(server.url + f"/services/applications/{number}")
    assert page.inner_text("#status") == "已办结"
    page.click("#certificate")
    assert page.inner_text("#verdict").startswith("签名有效")
    page.goto(server.url + "/services/my")
    assert number in page.inner_text("#my-apps")
    if width == 375:
        assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    assert not errors, errors
    context.close()


@pytest.mark.browser
def test_supervisor_sees_measures_and_overdue_pages(chromium, server):
    context, page, errors = _login(chromium, server, "nh_supervisor", 1280)
    page.goto(server.url + "/services/supervisor")
    assert "超期办件" in page.content()
    page.goto(server.url + "/services/measures?division=410527")
    assert "即办件率" in page.inner_text("#measures") and "承诺时限压缩比" in page.inner_text("#measures")
    assert not errors, errors
    context.close()


def _serve(server: live.LiveServer, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "GOVGRID_DATABASE_URL": f"sqlite:///{server.db_path}",
        "GOVGRID_DEMO_MODE": "1",
        "GOVGRID_MODULES": "exchange,services",
    }
    env.pop("GOVGRID_SECRET_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "govgrid.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the restarted server did not answer")


def _h(server_url: str, username: str) -> dict[str, str]:
    r = httpx.post(
        server_url + "/api/v1/auth/token",
        data={"username": username, "password": live.DEMO_PASSWORD},
        timeout=30,
    )
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _approve(url: str, username: str, number: str) -> None:
    h = _h(url, username)
    tasks = [
        t
        for t in httpx.get(url + "/api/v1/services/tasks", headers=h, timeout=30).json()
        if t["application"] == number
    ]
    assert tasks, username
    r = httpx.post(
        url + f"/api/v1/services/tasks/{tasks[0]['id']}/decision",
        headers=h,
        json={"decision": "approve"},
        timeout=30,
    )
    assert r.status_code == 200, r.text


@pytest.mark.slow
def test_sigkill_mid_process_and_restart_resumes_exactly(server):
    """Runs last (it kills the module's server): a new server on the same database resumes exactly where the
    process was, because the BPMN state is persisted after every step."""
    restarted = None
    try:
        citizen = _h(server.url, "sv_citizen")
        r = httpx.post(
            server.url + "/api/v1/services/applications",
            headers=citizen,
            timeout=60,
            data={
                "item_code": "YJS-410527-BIRTH",
                "form": json.dumps(FORM, ensure_ascii=False),
                "material_codes": ["child_photo"],
            },
            files=[("files", ("p.jpg", JPEG))],
        )
        assert r.status_code == 201, r.text
        number = r.json()["number"]
        _approve(server.url, "sv_health", number)
        _approve(server.url, "sv_police", number)
        before = httpx.get(
            server.url + f"/api/v1/services/applications/{number}", headers=citizen, timeout=30
        ).json()
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(timeout=10)
        port = live.free_port()
        restarted = _serve(server, port)
        url = f"http://127.0.0.1:{port}"
        citizen = _h(url, "sv_citizen")
        after = httpx.get(url + f"/api/v1/services/applications/{number}", headers=citizen, timeout=30).json()
        assert after["steps"] == before["steps"] and after["status"] == "in_progress"
        assert [(t["spec"], t["open"]) for t in after["tasks"]] == [
            (t["spec"], t["open"]) for t in before["tasks"]
        ]
        assert {t["spec"] for t in after["tasks"] if t["open"]} == {"t_medical_insurance"}
        _approve(url, "sv_medical", number)
        _approve(url, "sv_hrss", number)
        done = httpx.get(url + f"/api/v1/services/applications/{number}", headers=citizen, timeout=30).json()
        assert done["status"] == "approved" and done["certificate_number"]
    finally:
        if restarted is not None:
            restarted.terminate()
            restarted.wait(timeout=10)
