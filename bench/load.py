"""Load: a locust scenario of reads and writes against a live `govgrid serve`, then the 200-intake burst.

    python bench/load.py [--users 50] [--seconds 60] [--record] [--smoke]
                         [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres --workers 4]

The script prepares a database (the core demo and the city map demo: a county grid with cases; SQLite in a
temporary folder, or a fresh database on the PostgreSQL server of --database-url, dropped afterwards), starts
the server itself, and runs locust headless in a subprocess (locust's gevent patches stay out of this
process):

- reads: the home page, the appeals work list, the city map's case list and grid layer, the OGC API items,
  the data catalog (JSON API and CKAN package_search), the public appeals statistics;
- writes: appeals intake (public JSON, with an Idempotency-Key) and grid inspectors' city reports.

Baseline measured in the same run: one user, sequentially, the same scenario for a few seconds (the latency
of the server with no contention). Reports p50/p95/p99 (ms), requests per second and errors, overall and per
request; then bench/intake_burst.py's burst (200 JSON + 50 Open311 intakes at once: 201 stored exactly once,
or 503/429 with Retry-After). --record appends the figures to docs/performance.md. --smoke: 5 users for 5 s,
a 10+5 burst (CI).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

COUNTY = "140321"  # the city map demo's county (平定县)
SEED_CELLS_ENV = "GOVGRID_LOAD_CELLS"

if __name__ != "__main__":  # imported by locust in the subprocess below: the scenario itself
    from locust import HttpUser, between, task

    _conf = json.loads(os.environ.get("GOVGRID_LOAD_CONF", "{}"))

    class Visitor(HttpUser):
        """A resident, a dispatcher and an inspector in one: mostly reads, some intakes and city reports."""

        wait_time = between(0.5, 1.5)

        def on_start(self) -> None:
            self.dispatcher = {"Authorization": f"Bearer {_conf.get('dispatcher', '')}"}
            # 内黄's 12345 dispatcher: the intakes below land in that county, so its work list is not empty
            self.hotline = {"Authorization": f"Bearer {_conf.get('hotline', _conf.get('dispatcher', ''))}"}
            self.inspector = {"Authorization": f"Bearer {_conf.get('inspector', '')}"}
            self.cells = _conf.get("cells") or [[113.6, 37.8]]

        @task(4)
        def home(self) -> None:
            self.client.get("/", headers={"Accept": "text/html"}, name="GET / (home page)")

        @task(3)
        def appeals_list(self) -> None:
            self.client.get("/api/v1/appeals/tickets?view=all&limit=20", headers=self.hotline,
                            name="GET appeals work list")

        @task(3)
        def city_cases(self) -> None:
            self.client.get(f"/api/v1/citymap/cases?county_code={COUNTY}&limit=20", headers=self.dispatcher,
                            name="GET city cases")

        @task(3)
        def map_grid(self) -> None:
            self.client.get(f"/api/v1/citymap/map/grid?county_code={COUNTY}", name="GET map grid layer")

        @task(2)
        def ogc_items(self) -> None:
            self.client.get("/ogcapi/collections/grid-cells/items?limit=50", name="GET OGC API items")

        @task(2)
        def catalog(self) -> None:
            self.client.get("/api/v1/exchange/resources?limit=20", headers=self.dispatcher,
                            name="GET catalog (JSON API)")

        @task(1)
        def ckan(self) -> None:
            self.client.get("/ckan/api/3/action/package_search?rows=10", name="GET catalog (CKAN)")

        @task(2)
        def stats(self) -> None:
            self.client.get("/api/v1/appeals/stats", name="GET appeals stats")

        @task(2)
        def intake(self) -> None:
            tag = uuid.uuid4().hex
            self.client.post("/api/v1/appeals/tickets", name="POST appeals intake",
                             json={"description": f"小区路灯不亮，晚上出行不便 {tag[:6]}",
                                   "division_code": "410527"},
                             headers={"Idempotency-Key": tag})

        @task(1)
        def city_report(self) -> None:
            lon, lat = random.choice(self.cells)
            self.client.post("/api/v1/citymap/reports", headers=self.inspector, name="POST city report",
                             json={"class_code": "0101", "lon": lon, "lat": lat, "description": "暴露垃圾"})


def _token(base: str, username: str) -> str:
    import httpx

    from govgrid.core.modules import DEMO_PASSWORD

    for _ in range(5):  # a server just started may still be busy: wait out 5xx/429 a few times
        r = httpx.post(base + "/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD},
                       timeout=60)
        if r.status_code < 500 and r.status_code != 429:
            break
        print(f"login as {username}: {r.status_code}, retrying", flush=True)
        time.sleep(2)
    r.raise_for_status()
    return str(r.json()["access_token"])


def _cells(db_url: str) -> list[list[float]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT center_lon, center_lat FROM citymap_grid_cells WHERE county_code = "
                                 ":c"), {"c": COUNTY}).all()
    engine.dispose()
    return [[float(r[0]), float(r[1])] for r in rows][:200]


def run_locust(base: str, conf: dict, users: int, seconds: int, folder: Path, tag: str) -> dict:
    """Run the scenario headless in a subprocess; the aggregated and per-request figures from its CSV."""
    prefix = folder / tag
    env = {**os.environ, "GOVGRID_LOAD_CONF": json.dumps(conf)}
    cmd = [sys.executable, "-m", "locust", "-f", str(Path(__file__).resolve()), "--headless", "--host", base,
           "-u", str(users), "-r", str(max(1, users // 2)), "-t", f"{seconds}s", "--csv", str(prefix),
           "--only-summary", "--stop-timeout", "10", "--loglevel", "WARNING"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 180)
    stats_path = Path(f"{prefix}_stats.csv")
    if not stats_path.exists():
        raise SystemExit("locust produced no statistics: " + done.stderr[-2000:])
    rows = list(csv.DictReader(stats_path.open(encoding="utf-8")))
    failures_path = Path(f"{prefix}_failures.csv")
    failures = list(csv.DictReader(failures_path.open(encoding="utf-8"))) if failures_path.exists() else []
    total = next(r for r in rows if r["Name"] == "Aggregated")
    return {"total": total, "rows": [r for r in rows if r["Name"] != "Aggregated"], "failures": failures}


def _fig(row: dict, key: str) -> float:
    value = row.get(key) or "0"
    return float(value) if value not in ("N/A", "") else 0.0


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}"


def record(doc: Path, line: str) -> None:
    """Append one row to the measured-runs table of docs/performance.md."""
    text = doc.read_text(encoding="utf-8")
    marker = "<!-- load rows: bench/load.py --record appends here -->"
    if marker not in text:
        raise SystemExit(f"{doc} has no '{marker}' line")
    doc.write_text(text.replace(marker, line + "\n" + marker), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--database-url", default="", help="a PostgreSQL server to run on (a fresh database)")
    ap.add_argument("--workers", type=int, default=1, help="web processes (PostgreSQL only)")
    ap.add_argument("--prepared-database-url", default="",
                    help="a PostgreSQL database this script prepared before (kept; skips the preparation)")
    ap.add_argument("--burst", type=int, default=200,
                    help="JSON intakes at once after the scenario (0: none)")
    ap.add_argument("--record", action="store_true", help="append the figures to docs/performance.md")
    ap.add_argument("--smoke", action="store_true", help="5 users for 5 s and a small burst (CI)")
    a = ap.parse_args()
    if a.smoke:
        a.users, a.seconds, a.burst = 5, 5, 10
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import intake_burst as ib

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pg = ib.fresh_postgres(a.database_url) if a.database_url else None
        pg = a.prepared_database_url or pg
        try:
            t_start = time.perf_counter()
            base, db_url, proc = ib.start_server(folder, database_url=pg, workers=a.workers,
                                                 modules="exchange,appeals,citymap", demo="citymap",
                                                 prepare=not a.prepared_database_url)
            print(f"database prepared and server up in {time.perf_counter() - t_start:.0f} s", flush=True)
            try:
                conf = {"dispatcher": _token(base, "pd_dispatcher"), "hotline": _token(base, "nh_dispatcher"),
                        "inspector": _token(base, "pd_inspector"), "cells": _cells(db_url)}
                t0 = time.perf_counter()
                baseline = run_locust(base, conf, 1, 3 if a.smoke else 10, folder, "baseline")
                res = run_locust(base, conf, a.users, a.seconds, folder, "load")
                wall = time.perf_counter() - t0
                load_after = os.getloadavg()
                burst_ok = ib.run_burst(base, db_url, a.burst, a.burst // 4) if a.burst else True
            except Exception:
                print("server log (end):\n" + (folder / "server.log").read_text(errors="replace")[-3000:])
                raise
            finally:
                ib.stop_server(proc)
        finally:
            if pg and not a.prepared_database_url:
                ib.drop_postgres(pg)
    engine = "PostgreSQL" if pg else "SQLite"
    total, base_total = res["total"], baseline["total"]
    n, errors = int(_fig(total, "Request Count")), int(_fig(total, "Failure Count"))
    p50, p95, p99 = _fig(total, "50%"), _fig(total, "95%"), _fig(total, "99%")
    rps = _fig(total, "Requests/s")
    print(f"load: {a.users} users for {a.seconds} s on {engine}, {a.workers} worker(s) "
          f"({wall:.0f} s with the baseline)")
    print(f"  {n} requests, {rps:.1f} req/s, errors {errors}; p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
          f"p99 {p99:.0f} ms")
    base_n, base_p95 = int(_fig(base_total, "Request Count")), _fig(base_total, "95%")
    ratio = f"{p95 / base_p95:.1f}x" if base_n and base_p95 else "n/a (no baseline requests)"
    print(f"  baseline (1 user, {base_n} requests): p50 {_fig(base_total, '50%'):.0f} ms, "
          f"p95 {base_p95:.0f} ms; p95 under load = {ratio} the baseline")
    for row in sorted(res["rows"], key=lambda r: r["Name"]):
        print(f"    {row['Name']:<28} n={row['Request Count']:>5} err={row['Failure Count']:>3} "
              f"p50={row['50%']:>5} p95={row['95%']:>5} p99={row['99%']:>5} ms")
    for f in res["failures"][:10]:
        print(f"  failure: {f.get('Method')} {f.get('Name')}: {f.get('Error')} x{f.get('Occurrences')}")
    print(f"  load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    if a.record:
        record(Path(__file__).resolve().parent.parent / "docs" / "performance.md",
               f"| {datetime.now(UTC):%Y-%m-%d %H:%M} | {_machine()} | {load_before[0]:.1f} / "
               f"{load_after[0]:.1f} | {engine} | {a.workers} | {a.users} × {a.seconds} s | {n} | "
               f"{rps:.1f} | "
               f"{p50:.0f} | {p95:.0f} | {p99:.0f} | {errors} |")
    ok = errors == 0 and burst_ok and n > 0
    print("RESULT:", "ok" if ok else "FAILED")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
