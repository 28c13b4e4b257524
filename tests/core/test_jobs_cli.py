"""`govgrid serve --workers N` and `govgrid worker` refuse SQLite with a message an operator can act on; on
PostgreSQL several web processes serve (the uvicorn factory builds each worker's app from the environment)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from govgrid.cli import app as cli_app
from govgrid.config import Settings, get_settings, set_settings
from tests.live import free_port


@pytest.fixture()
def sqlite_settings(tmp_path) -> Iterator[None]:
    try:
        before: Settings | None = get_settings()
    except ValidationError:  # no settings installed and none in the environment
        before = None
    set_settings(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", demo_mode=True))
    yield
    set_settings(before)


def test_serve_refuses_several_workers_on_sqlite(sqlite_settings):
    result = CliRunner().invoke(cli_app, ["serve", "--workers", "2"])
    assert result.exit_code == 2
    assert "PostgreSQL" in result.output and "SQLite 只能由一个进程服务" in result.output


def test_serve_refuses_a_worker_count_out_of_range(sqlite_settings):
    assert CliRunner().invoke(cli_app, ["serve", "--workers", "0"]).exit_code == 2


def test_worker_refuses_sqlite(sqlite_settings):
    result = CliRunner().invoke(cli_app, ["worker"])
    assert result.exit_code == 2 and "worker needs PostgreSQL" in result.output.replace("\n", " ")


@pytest.mark.skipif(not os.environ.get("GOVGRID_TEST_DATABASE_URL"), reason=(
    "several web workers need PostgreSQL (SQLite is served by one process); CI's PostgreSQL leg runs it"))
@pytest.mark.slow
def test_serve_with_two_workers_on_postgresql(database_url, tmp_path):
    port = free_port()
    env = {**os.environ, "GOVGRID_DATABASE_URL": database_url, "GOVGRID_DEMO_MODE": "1"}
    env.pop("GOVGRID_SECRET_KEY", None)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "govgrid.cli", "serve", "--port", str(port),
                                 "--workers", "2"], env=env, stdout=subprocess.DEVNULL, stderr=out)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/lines", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("the workers did not answer: " + log.read_text()[-3000:])
        token = httpx.post(f"http://127.0.0.1:{port}/api/v1/auth/token",
                           data={"username": "admin", "password": "govgrid-demo"}, timeout=30)
        assert token.status_code == 200, "a token signed by one worker is accepted by every worker"
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        for _ in range(6):
            assert httpx.get(f"http://127.0.0.1:{port}/api/v1/jobs/failed", headers=headers,
                             timeout=30).status_code == 200
        assert log.read_text().count("Started server process") >= 2
    finally:
        proc.terminate()
        proc.wait(timeout=30)
