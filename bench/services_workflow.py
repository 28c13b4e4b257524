"""Services workflow benchmark: N concurrent 新生儿出生一件事 applications advanced step by step through
SpiffWorkflow, the whole BPMN state persisted to SQLite after every step, against the same steps without
persistence, in the same run.

    python bench/services_workflow.py [--n 10000] [--db /tmp/services-bench.db]
    python bench/services_workflow.py --smoke     # 100 applications in seconds (CI)

Persisted step = read the application's JSON state from its row, deserialize (SpiffWorkflow's JSON
serializer, never pickle), complete one ready user task with the restricted script engine, serialize,
UPDATE the
row and commit (one transaction per step, as a decision request does). The applications are advanced
round-robin: every open application takes one step per round, so all N are in flight at once (the state is
never held in memory between steps). Baseline: the same steps on workflow objects kept in memory (no reads,
no serialization, no writes); the baseline keeps at most 2,000 workflows alive at a time to bound memory and
is scaled to N. Target: at least 200 persisted steps/s on SQLite."""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("GOVGRID_SECRET_KEY", "bench-" + "x" * 40)

TASKS_PER_APP = 4  # health, police, medical security, social security card
BASELINE_CAP = 2_000


def _form(i: int) -> dict[str, object]:
    return {"application": f"BENCH-{i:06d}", "form": {"child_name": f"婴儿{i}", "child_gender": "女"}}


def persisted(n: int, db: Path) -> tuple[int, float, int]:
    """Start n applications (persisted), then advance them round-robin; (steps, seconds, bytes per state)."""
    from govgrid.services import catalog, engine

    xml = catalog.bundle_xml("birth_bundle")
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute(
        "CREATE TABLE IF NOT EXISTS apps (id INTEGER PRIMARY KEY, state TEXT NOT NULL, steps INTEGER)"
    )
    con.execute("DELETE FROM apps")
    con.execute("BEGIN")
    size = 0
    for i in range(n):
        state = engine.dumps(engine.start(xml, "birth_bundle", _form(i)))
        size = len(state)
        con.execute("INSERT INTO apps (id, state, steps) VALUES (?, ?, 0)", (i, state))
    con.execute("COMMIT")
    steps = 0
    started = time.perf_counter()
    open_ids = list(range(n))
    while open_ids:
        still = []
        for i in open_ids:
            (state,) = con.execute("SELECT state FROM apps WHERE id = ?", (i,)).fetchone()
            wf = engine.loads(state)
            ready = engine.ready_tasks(wf)
            engine.complete(wf, ready[0].id, {"decision": "approve", "by": "bench"})
            con.execute("BEGIN IMMEDIATE")
            con.execute("UPDATE apps SET state = ?, steps = steps + 1 WHERE id = ?", (engine.dumps(wf), i))
            con.execute("COMMIT")
            steps += 1
            if not engine.is_completed(wf):
                still.append(i)
        open_ids = still
    elapsed = time.perf_counter() - started
    con.close()
    return steps, elapsed, size


def in_memory(n: int) -> tuple[int, float]:
    """The same steps on workflows held in memory (no persistence); (steps, seconds) scaled to n."""
    from govgrid.services import catalog, engine

    xml = catalog.bundle_xml("birth_bundle")
    m = min(n, BASELINE_CAP)
    flows = [engine.start(xml, "birth_bundle", _form(i)) for i in range(m)]
    steps = 0
    started = time.perf_counter()
    live = list(flows)
    while live:
        still = []
        for wf in live:
            engine.complete(wf, engine.ready_tasks(wf)[0].id, {"decision": "approve", "by": "bench"})
            steps += 1
            if not engine.is_completed(wf):
                still.append(wf)
        live = still
    elapsed = time.perf_counter() - started
    return steps * n // m, elapsed * n / m


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--db", default=None, help="SQLite file (default: a temporary directory)")
    ap.add_argument("--smoke", action="store_true", help="100 applications: checks that everything runs")
    args = ap.parse_args()
    n = min(args.n, 100) if args.smoke else args.n
    with tempfile.TemporaryDirectory(prefix="services-bench-") as tmp:
        db = Path(args.db) if args.db else Path(tmp) / "bench.db"
        steps, secs, size = persisted(n, db)
        base_steps, base_secs = in_memory(n)
    assert steps == n * TASKS_PER_APP, (steps, n)
    rate, base_rate = steps / secs, base_steps / base_secs
    print(f"applications in flight: {n:,} (新生儿出生一件事, {TASKS_PER_APP} department tasks each)")
    print(
        f"persisted steps: {steps:,} in {secs:.1f} s = {rate:,.0f} steps/s (state {size / 1024:.1f} KB JSON)"
    )
    print(f"in-memory steps: {base_steps:,} in {base_secs:.1f} s = {base_rate:,.0f} steps/s (no persistence)")
    print(
        f"persistence costs {base_rate / rate:.1f}x; target >= 200 persisted steps/s: "
        f"{'met' if rate >= 200 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
