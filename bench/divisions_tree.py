"""Benchmark: division queries on the full GB/T 2260 tree (3,254 boundaries)
plus the demo counties' subdivisions.

Compares, in one run, the STRtree point location against a naive loop over every boundary, and the
materialised-path subtree query against a recursive walk of parent links. Prints ratios.

    python bench/divisions_tree.py [--points 100000] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape
from sqlalchemy import select


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--smoke", action="store_true", help="2,000 points, for CI")
    args = parser.parse_args()
    if args.smoke:
        args.points = 2_000

    from govgrid.config import Settings, set_settings
    from govgrid.core import db
    from govgrid.core.modules import DemoContext

    tmp = Path(tempfile.mkdtemp()) / "bench.db"
    url = f"sqlite:///{tmp}"
    set_settings(Settings(database_url=url, demo_mode=True, modules="none"))
    db.configure(url)
    from govgrid.cli import prepare_database
    from govgrid.core.divisions import service
    from govgrid.core.divisions.models import Division
    from govgrid.demo import load_core

    t = time.perf_counter()
    prepare_database(url)
    with db.session_scope() as s:
        load_core(s, DemoContext())
    print(f"load tree + demo: {time.perf_counter() - t:.1f} s")

    rng = np.random.default_rng(1)
    lons = rng.uniform(74, 134, args.points)
    lats = rng.uniform(18, 53, args.points)
    with db.session_scope() as s:
        t = time.perf_counter()
        service.locate_many(s, lons[:1], lats[:1])
        build = time.perf_counter() - t
        t = time.perf_counter()
        fast = service.locate_many(s, lons, lats)
        fast_s = time.perf_counter() - t
        rows = s.execute(
            select(Division.code, Division.depth, Division.boundary).where(Division.boundary.is_not(None))
        ).all()
        geoms = [(c, d, shape(json.loads(b))) for c, d, b in rows]
        n_naive = min(2000, args.points)
        t = time.perf_counter()
        naive = []
        for x, y in zip(lons[:n_naive], lats[:n_naive], strict=True):
            p = shapely.Point(x, y)
            hits = sorted((-d, c) for c, d, g in geoms if g.intersects(p))
            naive.append(hits[0][1] if hits else None)
        naive_s = (time.perf_counter() - t) * args.points / n_naive
        assert naive == fast[:n_naive], "indexed and naive answers differ"

        henan = service.get(s, "410000")
        t = time.perf_counter()
        for _ in range(50):
            below = select(Division.code).where(
                service.in_subtree(Division.path, henan.path), Division.code != henan.code
            )
            total = len(list(s.scalars(below)))
        path_s = (time.perf_counter() - t) / 50
        t = time.perf_counter()
        for _ in range(5):
            frontier, found = ["410000"], 0
            while frontier:
                kids = list(s.scalars(select(Division.code).where(Division.parent_code.in_(frontier))))
                found += len(kids)
                frontier = kids
        walk_s = (time.perf_counter() - t) / 5
        assert found == total

    print(f"point index build: {build:.2f} s (once per process)")
    print(f"locate {args.points:,} points: {fast_s:.2f} s = {args.points / fast_s:,.0f} points/s")
    print(
        f"naive loop (extrapolated from {n_naive:,}): {naive_s:.1f} s "
        f"-> index is {naive_s / fast_s:.0f}x faster"
    )
    print(f"descendants of 河南省 ({total} divisions): path query {path_s * 1000:.1f} ms vs recursive walk "
          f"{walk_s * 1000:.1f} ms ({walk_s / path_s:.1f}x)")


if __name__ == "__main__":
    main()
