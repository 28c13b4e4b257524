"""Intake under a crowd: 200 concurrent tickets through the JSON API and 50 through Open311 against one
`govgrid serve` over SQLite, with a health check polled during the burst; baseline: the same requests one at a
time against the same server, in the same run.

    python bench/intake_burst.py [--json 200] [--open311 50] [--smoke]

Reports: every answer within 30 s; status counts (201 stored exactly once, refusals 503/429 with Retry-After,
no 500); the slowest health check during the burst (target < 1 s); burst throughput against the sequential
baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from govgrid.core.modules import DEMO_PASSWORD as PASSWORD


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(folder: Path) -> tuple[str, Path, subprocess.Popen[bytes]]:
    db_path = folder / "burst.db"
    url = f"sqlite:///{db_path}"
    env = {**os.environ, "GOVGRID_DATABASE_URL": url, "GOVGRID_DEMO_MODE": "1"}
    env.pop("GOVGRID_SECRET_KEY", None)
    prep = (
        "from govgrid.config import Settings, set_settings; from govgrid.core import db;"
        f"set_settings(Settings(database_url='{url}', demo_mode=True)); db.configure('{url}');"
        f"from govgrid.cli import prepare_database; prepare_database('{url}');"
        "from govgrid.demo import load_core; from govgrid.core.modules import DemoContext\n"
        "with db.session_scope() as s: load_core(s, DemoContext())"
    )
    subprocess.run([sys.executable, "-c", prep], check=True, env=env, capture_output=True)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "govgrid.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return base, db_path, proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("server did not start")


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=int, default=200)
    ap.add_argument("--open311", type=int, default=50)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds (CI)")
    a = ap.parse_args()
    if a.smoke:
        a.json, a.open311 = 10, 5
    with tempfile.TemporaryDirectory() as tmp:
        base, db_path, proc = start_server(Path(tmp))
        try:
            key = api_key(base)
            seq = requests(a.json, a.open311, key, "seq")
            t0 = time.perf_counter()
            with httpx.Client(timeout=30) as c:
                seq_codes = Counter(c.post(base + p, **kw).status_code for p, kw in seq)
            seq_wall = time.perf_counter() - t0
            results, health, wall = asyncio.run(burst(base, requests(a.json, a.open311, key, "burst")))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                print(
                    "warning: the server did not stop within 30 s after the run "
                    "(requests still in progress)"
                )
                proc.kill()
        codes = Counter(r.status_code if r is not None else "timeout" for r, _ in results)
        acked = [number_of(r) for r, _ in results if r is not None and r.status_code in (200, 201)]
        no_retry_after = sum(1 for r, _ in results if r is not None and r.status_code in (429, 503)
                             and not r.headers.get("retry-after"))
        with sqlite3.connect(db_path) as conn:
            counts = conn.execute("SELECT number, count(*) FROM appeals_tickets GROUP BY number")
            stored = dict(counts.fetchall())
        not_once = [n for n in acked if stored.get(n) != 1]
        lat = sorted(t for _, t in results)
        n = len(results)
        print(f"burst: {a.json} JSON + {a.open311} Open311 tickets at once")
        print(f"  answers: {dict(codes)}  (sequential baseline: {dict(seq_codes)})")
        print(f"  all answered in {wall:.2f} s (limit 30 s); latency p50 {statistics.median(lat):.3f} s, "
              f"p99 {lat[min(n - 1, int(n * 0.99))]:.3f} s, max {lat[-1]:.3f} s")
        print(f"  acknowledged {len(acked)}, stored exactly once: {len(acked) - len(not_once)}, "
              f"refusals without Retry-After: {no_retry_after}, 500s: {codes.get(500, 0)}")
        print(f"  health checks during the burst: {len(health)}, slowest {max(health):.3f} s (target < 1 s)")
        print(f"  throughput: burst {n / wall:.1f} req/s vs sequential {n / seq_wall:.1f} req/s "
              f"= {(n / wall) / (n / seq_wall):.2f}x")
        ok = (wall < 30 and not not_once and codes.get(500, 0) == 0 and "timeout" not in codes
              and no_retry_after == 0 and max(health) < 1.0)
        print("RESULT:", "ok" if ok else "FAILED")
        if not ok:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
