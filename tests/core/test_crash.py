"""Crash safety: a real `govgrid serve` is SIGKILLed in the middle of a stream of writes (appeals tickets,
city map photos and reports), restarted on the same database, and after every crash:

- every write that was acknowledged (2xx received) is stored, and the restarted server serves it;
- nothing half-written is visible: every ticket has its history, every case its first step and the reports it
  counts, every photo row its stored object (the object is written before the row);
- the hash-chained audit log verifies.

SQLite file database by default, PostgreSQL when GOVGRID_TEST_DATABASE_URL is set. The suite runs 1 crash
round; CI runs 20 in a row (`GOVGRID_CRASH_ROUNDS=20 python -m pytest tests/core/test_crash.py -q`)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from tests import live

ROUNDS = int(os.environ.get("GOVGRID_CRASH_ROUNDS", "1"))
MODULES = "exchange,appeals,citymap"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2048
PREPARE = """
from shapely.geometry import mapping
from govgrid.citymap.services import grid
from govgrid.core.audit.service import SystemActor
from govgrid.core.identity import service as identity
from tests.citymap.conftest import VILLAGE, village_area
actor = SystemActor("tests")
with db.session_scope() as s:
    identity.ensure_user_with_role(s, actor=actor, username="pd_inspector", password=DEMO,
        display_name="平定县城市管理监督员", department_code="140321-urban_management", role="inspector",
        reach="division", is_demo=True)
    grid.generate_grid(s, actor=actor, division_code=VILLAGE, cell_m=100, within=mapping(village_area(s)))
"""

pytestmark = pytest.mark.slow


@dataclass
class Target:
    """Where the server runs: its database URL, the folder beside it and the environment it gets."""

    url: str
    folder: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    base: str = ""

    def serve(self) -> None:
        """Start `govgrid serve` on the database (returns once /healthz answers)."""
        port = live.free_port()
        with (self.folder / "server.log").open("ab") as log_file:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "govgrid.cli", "serve", "--port", str(port)],
                env=self.env, stdout=subprocess.DEVNULL, stderr=log_file,
            )
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.time() + live.START_SECONDS
        while time.time() < deadline:
            if self.proc.poll() is not None:
                log_text = (self.folder / "server.log").read_text(errors="replace")
                raise RuntimeError("server exited: " + log_text[-2000:])
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no flush, no rollback runs."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """End the server if it still runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


def _sqlite_target(folder: Path) -> Target:
    srv = live.start(folder, modules=MODULES, env={"GOVGRID_LOG_LEVEL": "WARNING"},
                     prepare=f"DEMO = {live.DEMO_PASSWORD!r}\n" + PREPARE)
    url = f"sqlite:///{srv.db_path}"
    return Target(url, folder, _env(url), proc=srv.proc, base=srv.url)  # the first round crashes this one


def _env(url: str) -> dict[str, str]:
    env = {**os.environ, "GOVGRID_DATABASE_URL": url, "GOVGRID_DEMO_MODE": "1", "GOVGRID_MODULES": MODULES,
           "GOVGRID_LOG_LEVEL": "WARNING"}
    env.pop("GOVGRID_SECRET_KEY", None)
    env.pop("GOVGRID_STORAGE_URL", None)
    return env


def _postgres_target(base_url: str, folder: Path) -> Target:
    url = make_url(base_url)
    name = f"govgrid_crash_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    db_url = url.set(database=name).render_as_string(hide_password=False)
    env = {**_env(db_url), "GOVGRID_STORAGE_URL": str(folder / "files")}
    prep = (
        "from govgrid.config import Settings, set_settings; from govgrid.core import db\n"
        f"set_settings(Settings(database_url={db_url!r}, demo_mode=True)); db.configure({db_url!r})\n"
        f"from govgrid.cli import prepare_database; prepare_database({db_url!r})\n"
        "from govgrid.demo import load_core; from govgrid.core.modules import DemoContext\n"
        "with db.session_scope() as s: load_core(s, DemoContext())\n"
        f"DEMO = {live.DEMO_PASSWORD!r}\n" + PREPARE
    )
    subprocess.run([sys.executable, "-c", prep], check=True, env=env, capture_output=True)
    return Target(db_url, folder, env)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory):
    """A prepared database (core demo plus a small city map grid) and the server's environment."""
    folder = tmp_path_factory.mktemp("crash")
    pg = os.environ.get("GOVGRID_TEST_DATABASE_URL")
    t = _postgres_target(pg, folder) if pg else _sqlite_target(folder)
    yield t
    t.stop()


@dataclass
class Acks:
    """What the server acknowledged (2xx received), shared by the writer threads."""

    tickets: dict[str, str] = field(default_factory=dict)  # number -> tracking code
    cases: set[int] = field(default_factory=set)
    photos: set[int] = field(default_factory=set)
    refused: list[int] = field(default_factory=list)  # 4xx/5xx answers (not acknowledgements)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        """Acknowledged writes so far."""
        with self.lock:
            return len(self.tickets) + len(self.cases) + len(self.photos)


def _ticket_writer(base: str, acks: Acks, stop: threading.Event, tag: str) -> None:
    with httpx.Client(timeout=10) as c:
        i = 0
        while not stop.is_set():
            i += 1
            try:
                r = c.post(base + "/api/v1/appeals/tickets",
                           json={"description": f"路灯不亮 {tag}-{i}", "division_code": "410527"},
                           headers={"Idempotency-Key": f"crash-{tag}-{i}"})
            except httpx.HTTPError:
                continue  # the server is gone: not acknowledged
            with acks.lock:
                if r.status_code == 201:
                    acks.tickets[r.json()["number"]] = r.json()["tracking_code"]
                else:
                    acks.refused.append(r.status_code)


def _case_writer(base: str, token: str, cells: list[tuple[float, float]], acks: Acks,
                 stop: threading.Event) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    rng = random.Random()
    with httpx.Client(timeout=10, headers=auth) as c:
        while not stop.is_set():
            try:
                r = c.post(base + "/api/v1/citymap/photos/upload",
                           files={"file": ("a.png", PNG, "image/png")})
                if r.status_code != 201:
                    with acks.lock:
                        acks.refused.append(r.status_code)
                    continue
                photo_id = r.json()["photo_id"]
                with acks.lock:
                    acks.photos.add(photo_id)
                lon, lat = rng.choice(cells)
                r = c.post(base + "/api/v1/citymap/reports",
                           json={"class_code": "0101", "lon": lon, "lat": lat, "photo_id": photo_id,
                                 "description": "暴露垃圾"})
            except httpx.HTTPError:
                continue
            with acks.lock:
                if r.status_code == 201:
                    acks.cases.add(r.json()["case_id"])
                else:
                    acks.refused.append(r.status_code)


def _token(base: str, username: str) -> str:
    """A bearer token; a busy server's 503/429 is waited out as its Retry-After says (a loaded machine)."""
    for _ in range(20):
        r = httpx.post(base + "/api/v1/auth/token",
                       data={"username": username, "password": live.DEMO_PASSWORD}, timeout=30)
        if r.status_code not in (429, 503):
            break
        time.sleep(min(5.0, float(r.headers.get("retry-after") or 1)))
    r.raise_for_status()
    return str(r.json()["access_token"])


def _check(engine: Engine, acks: Acks, files: Path | None) -> dict[str, int]:
    """Every acknowledged write stored, nothing half-written, the audit chain intact."""
    from govgrid.core.audit import service as audit

    with engine.connect() as conn:
        numbers = set(conn.execute(text("SELECT number FROM appeals_tickets")).scalars())
        missing = set(acks.tickets) - numbers
        assert not missing, f"acknowledged tickets lost: {sorted(missing)[:5]}"
        no_history = conn.execute(text(
            "SELECT count(*) FROM appeals_tickets t WHERE NOT EXISTS "
            "(SELECT 1 FROM appeals_ticket_events e WHERE e.ticket_id = t.id)")).scalar_one()
        assert no_history == 0, f"{no_history} tickets without their history"
        case_ids = set(conn.execute(text("SELECT id FROM citymap_cases")).scalars())
        assert acks.cases <= case_ids, f"acknowledged cases lost: {sorted(acks.cases - case_ids)[:5]}"
        no_step = conn.execute(text(
            "SELECT count(*) FROM citymap_cases c WHERE NOT EXISTS "
            "(SELECT 1 FROM citymap_case_steps s WHERE s.case_id = c.id)")).scalar_one()
        assert no_step == 0, f"{no_step} cases without their first step"
        miscounted = conn.execute(text(
            "SELECT count(*) FROM citymap_cases c WHERE c.report_count != "
            "(SELECT count(*) FROM citymap_case_reports r WHERE r.case_id = c.id)")).scalar_one()
        assert miscounted == 0, f"{miscounted} cases whose report count disagrees with their reports"
        photo_rows = {r[0]: r[1] for r in conn.execute(text("SELECT id, storage_key FROM citymap_photos"))}
        assert acks.photos <= set(photo_rows), "acknowledged photos lost"
        if files is not None:
            without = [k for k in photo_rows.values() if not (files / k).is_file()]
            assert not without, f"photo rows without their stored object: {without[:3]}"
    with Session(engine) as session:
        result = audit.verify(session)
    assert result.ok, f"audit chain broken at {result.broken_seq}: {result.reason}"
    return {"tickets": len(numbers), "cases": len(case_ids), "photos": len(photo_rows),
            "audit": result.checked}


def _files_folder(target: Target) -> Path | None:
    if target.url.startswith("sqlite"):
        return Path(target.url.split("///", 1)[1]).parent / "files"
    return Path(target.env["GOVGRID_STORAGE_URL"])


def test_acknowledged_writes_survive_sigkill_and_nothing_half_written_is_visible(target: Target) -> None:
    engine = create_engine(target.url)
    try:
        with engine.connect() as conn:
            cells = [(r[0], r[1]) for r in conn.execute(
                text("SELECT center_lon, center_lat FROM citymap_grid_cells"))]
        assert cells
        acks = Acks()
        rng = random.Random()
        if target.proc is None or target.proc.poll() is not None:
            target.serve()
        for rnd in range(ROUNDS):
            token = _token(target.base, "pd_inspector")
            stop = threading.Event()
            threads = [
                threading.Thread(target=_ticket_writer, args=(target.base, acks, stop, f"r{rnd}{w}"))
                for w in "ab"
            ]
            case_args = (target.base, token, cells, acks, stop)
            threads.append(threading.Thread(target=_case_writer, args=case_args))
            before = acks.count()
            for t in threads:
                t.start()
            # kill at a random moment once the stream is flowing: requests are in flight in every thread
            wanted = before + rng.randint(6, 16)
            deadline = time.time() + 60
            while acks.count() < wanted and time.time() < deadline:
                time.sleep(0.01)
            assert acks.count() >= wanted, f"the stream did not flow (refusals: {acks.refused[:5]})"
            time.sleep(rng.uniform(0, 0.05))
            target.kill()
            stop.set()
            for t in threads:
                t.join(timeout=15)
            assert 500 not in acks.refused
            target.serve()  # recovery: the restarted server opens the same database
            figures = _check(engine, acks, _files_folder(target))
            # the restarted server serves what it acknowledged before the crash
            sample = rng.sample(sorted(acks.tickets.items()), k=min(3, len(acks.tickets)))
            for number, code in sample:
                r = httpx.get(f"{target.base}/api/v1/appeals/track/{code}", timeout=10)
                assert r.status_code == 200 and r.json()["number"] == number, r.text
            # the rounds' figures (shown with -s; docs/deployment.md records the 20-round run)
            print(f"crash round {rnd + 1}/{ROUNDS}: acknowledged {acks.count()}, stored {figures}")  # noqa: T201
    finally:
        engine.dispose()
