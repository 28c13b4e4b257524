"""`govgrid demo` in a fresh folder answers on its home page within 15 seconds: it serves first and loads the
demo data in the background, with a banner on the pages and one plain line per step."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.live import free_port

ANSWER_WITHIN = 15.0


def test_demo_answers_at_once_in_a_fresh_folder(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVGRID_")}
    out = (tmp_path / "out.txt").open("wb")
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "govgrid.cli", "demo", "--port", str(port)], cwd=tmp_path,
                            env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        answered = None
        while time.monotonic() - started < ANSWER_WITHIN + 30 and proc.poll() is None:
            try:
                r = httpx.get(base + "/", timeout=5)
                if r.status_code == 200:
                    answered = time.monotonic() - started
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert answered is not None, "the demo never answered: " + (tmp_path / "out.txt").read_text()[-2000:]
        assert answered <= ANSWER_WITHIN, f"the home page answered after {answered:.1f} s"
        assert 'id="demo-loading"' in r.text or 'id="demo-failed"' not in r.text
        assert "演示数据正在后台加载" in r.text, "a banner while the data loads"
        assert (tmp_path / "govgrid-demo.db").exists(), "the database is made in the folder it runs in"
        printed = (tmp_path / "out.txt").read_text(encoding="utf-8").splitlines()
        assert f"打开 (open): {base}/" in printed, "the address on a line of its own, never wrapped"
        assert any(line.startswith("演示数据 (demo data) 1/") for line in printed), "a progress line per step"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        out.close()


def test_a_load_that_failed_says_so_instead_of_loading_forever(client) -> None:
    from govgrid.demo import DemoProgress, DemoStep

    steps = [DemoStep("a", "第一步", "first", lambda s, c: None),
             DemoStep("b", "市场监管协同", "market", lambda s, c: None)]
    app_state = client.app.state
    before = getattr(app_state, "demo_progress", None)
    try:
        app_state.demo_progress = DemoProgress(steps, index=2)
        assert 'id="demo-loading"' in client.get("/").text, "the banner while it loads"
        app_state.demo_progress = DemoProgress(steps, index=2, failed=True)
        page = client.get("/").text
        assert 'id="demo-failed"' in page and "演示数据加载失败" in page
        assert 'id="demo-loading"' not in page, "a failed load is not 'still loading'"
        app_state.demo_progress = DemoProgress(steps, index=2, done=True)
        page = client.get("/").text
        assert 'id="demo-loading"' not in page and 'id="demo-failed"' not in page
    finally:
        app_state.demo_progress = before
