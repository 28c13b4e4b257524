"""Two server processes on one PostgreSQL database: a unit moved through server B shows on an SSE subscriber
of server A (outbox + LISTEN/NOTIFY), and a grant's rate limit holds across both (shared counters).

PostgreSQL only (CI's PostgreSQL leg sets GOVGRID_TEST_DATABASE_URL); skipped on SQLite, where one process
serves everything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests import live

BASE = os.environ.get("GOVGRID_TEST_DATABASE_URL", "")
pytestmark = pytest.mark.skipif(not BASE.startswith("postgresql"), reason=(
    "several server processes on one database need PostgreSQL; CI's PostgreSQL leg runs it"))

LIMIT = 5
LON, LAT = 113.6312, 37.7861
PREPARE = """
from sqlalchemy import text
from govgrid.cli import prepare_database
from govgrid.config import get_settings
from govgrid.core import db
from govgrid.core.audit.service import SystemActor
from govgrid.core.modules import DemoContext
from govgrid.demo import DEMO_PASSWORD, load_core
from govgrid.citymap.services import units
from govgrid.exchange.demo.loader import load_demo as load_exchange
url = get_settings().database_url
db.configure(url)
prepare_database(url)
with db.session_scope() as session:
    ctx = DemoContext(password=DEMO_PASSWORD)
    load_core(session, ctx)
    load_exchange(session, ctx)
    units.create_unit(session, actor=SystemActor("tests"), code="MP-01", name="跨进程测试组",
                      kind="enforcement", department_code="140321-urban_management", skills=["enforcement"],
                      lon=113.60, lat=37.80)
with db.session_scope() as session:
    session.execute(text("UPDATE exchange_grants SET rate_limit_per_minute = LIMIT"))
    session.execute(text("DELETE FROM core_rate_limits"))
""".replace("LIMIT", str(LIMIT))


def _database() -> str:
    url = make_url(BASE)
    name = f"govgrid_mp_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _drop(url: str) -> None:
    admin = create_engine(make_url(BASE), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def _spawn(folder: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = live.free_port()
    log_path = folder / f"server-{port}.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen([sys.executable, "-m", "govgrid.cli", "serve", "--port", str(port)],
                                env=env, stdout=subprocess.DEVNULL, stderr=log_file)
    return proc, f"http://127.0.0.1:{port}", log_path


def _wait(proc: subprocess.Popen[bytes], base: str, log_path: Path) -> live.LiveServer:
    deadline = time.time() + live.START_SECONDS
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited: " + log_path.read_text(errors="replace")[-2000:])
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return live.LiveServer(base, log_path, proc)
        except httpx.HTTPError:
            time.sleep(0.3)
    raise RuntimeError("server did not start: " + log_path.read_text(errors="replace")[-2000:])


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[live.LiveServer, live.LiveServer]]:
    """Servers A and B on one fresh PostgreSQL database: the core and exchange demo, one unit in 平定县."""
    folder = tmp_path_factory.mktemp("multiprocess")
    url = _database()
    env = {**os.environ, "GOVGRID_DATABASE_URL": url, "GOVGRID_DEMO_MODE": "1"}
    env.pop("GOVGRID_SECRET_KEY", None)
    subprocess.run([sys.executable, "-c", PREPARE], check=True, env=env, capture_output=True)
    spawned = [_spawn(folder, env), _spawn(folder, env)]  # both start at once
    try:
        a, b = (_wait(*s) for s in spawned)
        yield a, b
    finally:
        for proc, _, _ in spawned:
            live.LiveServer("", Path(), proc).stop()
        _drop(url)


def test_a_unit_moved_through_b_shows_on_a_subscriber_of_a(servers):
    a, b = servers
    watcher, mover = a.token("pd_dispatcher"), b.token("admin")
    units = httpx.get(f"{b.url}/api/v1/citymap/units", params={"county_code": "140321"},
                      headers={"Authorization": f"Bearer {mover}"}, timeout=30).json()
    unit = next(u for u in units if u["code"] == "MP-01")
    heard: list[dict[str, object]] = []
    snapshot, done = threading.Event(), threading.Event()

    def subscribe() -> None:
        event = ""
        with httpx.stream(
            "GET", f"{a.url}/api/v1/citymap/live",
            params={"county_code": "140321", "heartbeat_s": 0.5},
            headers={"Authorization": f"Bearer {watcher}"}, timeout=30,
        ) as r:
            assert r.status_code == 200
            for line in r.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                    snapshot.set()
                elif line.startswith("data: ") and event == "unit":
                    data = json.loads(line[6:])
                    heard.append(data)
                    if data["id"] == unit["id"] and abs(data["lon"] - LON) < 1e-9:
                        break
                if done.is_set():
                    break

    reader = threading.Thread(target=subscribe, daemon=True)
    reader.start()
    assert snapshot.wait(30), "the stream opened with its snapshot"
    moved = httpx.post(
        f"{b.url}/api/v1/citymap/units/{unit['id']}/positions",
        json={"positions": [{"lon": LON, "lat": LAT}]},
        headers={"Authorization": f"Bearer {mover}"}, timeout=30,
    )
    assert moved.status_code == 200, moved.text
    reader.join(20)
    done.set()
    ours = [d for d in heard if d["id"] == unit["id"] and d["lon"] == LON and d["lat"] == LAT]
    assert len(ours) == 1, f"server A's subscriber did not hear the move made through B: {heard}"
    assert "scope" not in ours[0], "the browser gets the public fields only"


def test_the_gateway_rate_limit_holds_across_both_servers(servers):
    a, b = servers
    headers_a = {"Authorization": f"Bearer {a.token('nh_civil')}"}
    headers_b = {"Authorization": f"Bearer {b.token('nh_civil')}"}
    answers = []
    for i in range(3 * LIMIT):
        server, headers = (a, headers_a) if i % 2 == 0 else (b, headers_b)
        r = httpx.get(f"{server.url}/api/v1/exchange/resources/A01-410527-0001/records",
                      params={"limit": 1}, headers=headers, timeout=30)
        answers.append(r)
    codes = [r.status_code for r in answers]
    assert codes.count(200) == LIMIT, codes
    assert set(codes) == {200, 429}
    refused = [r for r in answers if r.status_code == 429]
    assert all(1 <= int(r.headers["Retry-After"]) <= 60 for r in refused)
    assert {r.json()["error"]["code"] for r in refused} == {"rate_limited"}
