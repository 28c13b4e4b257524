"""Intake under a crowd: 200 concurrent tickets through the JSON API and 50 through Open311 against one
`govgrid serve` over SQLite, with a health check polled during the burst; baseline: the same requests one at a
time against the same server, in the same run.

    python bench/intake_burst.py [--json 200] [--open311 50] [--smoke]
                                 [--database-url postgresql+psycopg://... --workers 4]

With --database-url the server runs on a fresh database created on that PostgreSQL server (dropped after the
run) with `govgrid serve --workers N`. bench/load.py runs the same burst after its locust scenario.

Reports: every answer within 30 s; status counts (201 stored exactly once, refusals 503/429 with Retry-After,
no 500); the slowest health check during the burst (target < 1 s); burst throughput against the sequential
baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx

from govgrid.core.modules import DEMO_PASSWORD as PASSWORD


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_postgres(base_url: str) -> str:
    """A new, empty database on the PostgreSQL server of `base_url` (its URL)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    name = f"govgrid_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_postgres(db_url: str) -> None:
    """Drop a database made by fresh_postgres."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


def start_server(folder: Path, *, database_url: str | None = None, workers: int = 1, modules: str = "all",
                 demo: str = "", prepare: bool = True) -> tuple[str, str, subprocess.Popen[bytes]]:
    """Prepare a database (the core demo, and the demos of the comma-separated modules in `demo`) and serve
    it; returns the base URL, the database URL and the server process. SQLite in `folder` unless
    `database_url` is given."""
    url = database_url or f"sqlite:///{folder / 'burst.db'}"
    env = {**os.environ, "GOVGRID_DATABASE_URL": url, "GOVGRID_DEMO_MODE": "1", "GOVGRID_MODULES": modules,
           "GOVGRID_STORAGE_URL": str(folder / "files"), "GOVGRID_LOG_LEVEL": "WARNING"}
    env.pop("GOVGRID_SECRET_KEY", None)
    loader = ("from govgrid.demo import load_core\n"
              "from govgrid.core.modules import DemoContext, module_specs\n"
              "ctx = DemoContext()\n"
              "with db.session_scope() as s:\n"
              "    load_core(s, ctx)\n"
              f"    for spec in [m for m in module_specs() if m.name in {demo.split(',')!r}]:\n"
              "        spec.load_demo(s, ctx)")
    prep = (
        "from govgrid.config import Settings, set_settings; from govgrid.core import db;"
        f"set_settings(Settings(database_url='{url}', demo_mode=True)); db.configure('{url}');"
        f"from govgrid.cli import prepare_database; prepare_database('{url}')\n" + loader
    )
    done = subprocess.run([sys.executable, "-c", prep if prepare else "pass"], env=env, capture_output=True)
    if done.returncode:
        raise SystemExit("preparing the database failed: " + done.stderr.decode(errors="replace")[-2000:])
    port = _free_port()
    args = [sys.executable, "-m", "govgrid.cli", "serve", "--port", str(port)]
    if workers > 1:
        args += ["--workers", str(workers)]
    with (folder / "server.log").open("wb") as log_file:  # a file, not a pipe nobody reads
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=log_file)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return base, url, proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("server did not start: " + (folder / "server.log").read_text(errors="replace")[-2000:])


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server (SIGTERM, then SIGKILL after 30 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        print("warning: the server did not stop within 30 s after the run (requests still in progress)")
        proc.kill()


def stored_counts(db_url: str) -> dict[str, int]:
    """How many rows each ticket number has (stored exactly once means 1)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT number, count(*) FROM appeals_tickets GROUP BY number")).all()
    engine.dispose()
    return {str(r[0]): int(r[1]) for r in rows}


def api_key(base: str) -> str:
    token = httpx.post(base + "/api/v1/auth/token", data={"username": "nh_gov", "password": PASSWORD},
                       timeout=30).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    depts = httpx.get(
        base + "/api/v1/departments",
        params={"division_code": "410527", "limit": 200},
        headers=auth,
        timeout=30,
    ).json()["items"]
    dept = next(d for d in depts if d["code"] == "410527-hotline_12345")
    return str(httpx.post(base + "/api/v1/api-keys", json={"name": "burst", "department_id": dept["id"]},
                          headers=auth, timeout=30).json()["key"])


def requests(n_json: int, n_311: int, key: str, tag: str) -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = []
    for i in range(n_json):
        out.append(("/api/v1/appeals/tickets", {
            "json": {"description": f"路灯不亮 {tag}-{i}", "division_code": "410527"},
            "headers": {"Idempotency-Key": f"{tag}-{i}"},
        }))
    for i in range(n_311):
        out.append(("/open311/v2/requests.json", {"data": {
            "api_key": key, "service_code": "garbage", "lat": "35.89", "long": "114.80",
            "description": f"垃圾清运 {tag}-{i}", "jurisdiction_id": "410527"}}))
    return out


async def burst(base: str, reqs: list[tuple[str, dict]]) -> tuple[list[tuple[httpx.Response | None, float]],
                                                                 list[float], float]:
    stop = asyncio.Event()
    health: list[float] = []

    async def poll() -> None:
        async with httpx.AsyncClient(timeout=30) as c:
            while not stop.is_set():
                t0 = time.perf_counter()
                await c.get(base + "/healthz")
                health.append(time.perf_counter() - t0)
                await asyncio.sleep(0.05)

    async def one(c: httpx.AsyncClient, path: str, kw: dict) -> tuple[httpx.Response | None, float]:
        t0 = time.perf_counter()
        try:
            r = await c.post(base + path, **kw)
        except httpx.HTTPError:
            r = None
        return r, time.perf_counter() - t0

    poller = asyncio.create_task(poll())
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=len(reqs) + 5)) as c:
        t0 = time.perf_counter()
        results = await asyncio.gather(*(one(c, p, kw) for p, kw in reqs))
        wall = time.perf_counter() - t0
    stop.set()
    await poller
    return results, health, wall


def number_of(r: httpx.Response) -> str:
    body = r.json()
    return str(body[0]["service_request_id"] if isinstance(body, list) else body["number"])


def run_burst(base: str, db_url: str, n_json: int, n_311: int) -> bool:
    """The sequential baseline, then the burst; prints the report and returns whether every target held."""
    key = api_key(base)
    seq = requests(n_json, n_311, key, "seq")
    t0 = time.perf_counter()
    with httpx.Client(timeout=30) as c:
        seq_codes = Counter(c.post(base + p, **kw).status_code for p, kw in seq)
    seq_wall = time.perf_counter() - t0
    results, health, wall = asyncio.run(burst(base, requests(n_json, n_311, key, "burst")))
    codes = Counter(r.status_code if r is not None else "timeout" for r, _ in results)
    acked = [number_of(r) for r, _ in results if r is not None and r.status_code in (200, 201)]
    no_retry_after = sum(1 for r, _ in results if r is not None and r.status_code in (429, 503)
                         and not r.headers.get("retry-after"))
    stored = stored_counts(db_url)
    not_once = [n for n in acked if stored.get(n) != 1]
    lat = sorted(t for _, t in results)
    n = len(results)
    print(f"burst: {n_json} JSON + {n_311} Open311 tickets at once")
    print(f"  answers: {dict(codes)}  (sequential baseline: {dict(seq_codes)})")
    print(f"  all answered in {wall:.2f} s (limit 30 s); latency p50 {statistics.median(lat):.3f} s, "
          f"p99 {lat[min(n - 1, int(n * 0.99))]:.3f} s, max {lat[-1]:.3f} s")
    print(f"  acknowledged {len(acked)}, stored exactly once: {len(acked) - len(not_once)}, "
          f"refusals without Retry-After: {no_retry_after}, 500s: {codes.get(500, 0)}")
    print(f"  health checks during the burst: {len(health)}, slowest {max(health):.3f} s (target < 1 s)")
    print(f"  throughput: burst {n / wall:.1f} req/s vs sequential {n / seq_wall:.1f} req/s "
          f"= {(n / wall) / (n / seq_wall):.2f}x")
    return (wall < 30 and not not_once and codes.get(500, 0) == 0 and "timeout" not in codes
            and no_retry_after == 0 and max(health) < 1.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=int, default=200)
    ap.add_argument("--open311", type=int, default=50)
    ap.add_argument("--database-url", default="", help="a PostgreSQL server to run on (a fresh database)")
    ap.add_argument("--workers", type=int, default=1, help="web processes (PostgreSQL only)")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds (CI)")
    a = ap.parse_args()
    if a.smoke:
        a.json, a.open311 = 10, 5
    with tempfile.TemporaryDirectory() as tmp:
        pg = fresh_postgres(a.database_url) if a.database_url else None
        try:
            base, db_url, proc = start_server(Path(tmp), database_url=pg, workers=a.workers)
            try:
                ok = run_burst(base, db_url, a.json, a.open311)
            finally:
                stop_server(proc)
        finally:
            if pg:
                drop_postgres(pg)
    print("RESULT:", "ok" if ok else "FAILED")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
