"""City map spatial benchmark: point -> grid cell, nearest-unit proposals, batch optimiser, map GeoJSON.

A county-sized square with 10,000 unit grid cells of 100 m; 1,000,000 event points; 10,000 cases among 300
units; 100,000 cases in a bbox served as GeoJSON from a SQLite file. Each figure is compared with the naive
loop in the same run. Targets (issue 5): >= 500,000 points/s, >= 50,000 proposals/s, GeoJSON of 100,000 cases
< 0.5 s.

Run: python bench/citymap_spatial.py [--smoke]
(--smoke: tiny sizes, a few seconds, for CI; it checks the same answers and fails on any error, not on speed)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import shapely
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from govgrid.citymap import spatial

LON0, LAT0 = 113.55, 37.80  # Pingding
CELL_M = 100.0
SKILLS = ["sanitation", "enforcement", "repair"]


@dataclass(frozen=True)
class Sizes:
    """How big each part of the run is."""

    side_m: float = 10_000.0  # the county square: 10,000 cells of 100 m
    points: int = 1_000_000
    cases: int = 10_000
    units: int = 300
    batches: tuple[int, ...] = (100, 250, 300)  # at most one case per unit
    map_cases: int = 100_000
    naive_points: int = 100
    naive_cases: int = 300
    smoke: bool = False


FULL = Sizes()
SMOKE = Sizes(
    side_m=1_000.0,
    points=5_000,
    cases=200,
    units=30,
    batches=(10, 30),
    map_cases=2_000,
    naive_points=50,
    naive_cases=30,
    smoke=True,
)


def say(line: str) -> None:
    """One line of the report."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def check(ok: bool, what: str) -> None:
    """Fail the run (exit 1) when an answer differs from the reference: CI runs the smoke mode for this."""
    if not ok:
        raise SystemExit(f"FAILED: {what}")


def timed(fn, *args, repeat: int = 1, **kw):
    """(best seconds, result)."""
    best, out = math.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(*args, **kw)
        best = min(best, time.perf_counter() - t)
    return best, out


def county_region(side_m: float) -> shapely.Polygon:
    dlon = side_m / (111_320 * math.cos(math.radians(LAT0)))
    dlat = side_m / 111_320
    return shapely.box(LON0, LAT0, LON0 + dlon, LAT0 + dlat)


def main(z: Sizes = FULL) -> None:
    rng = np.random.default_rng(5)
    region = county_region(z.side_m)
    t, cells = timed(spatial.square_grid, region, CELL_M)
    codes = [f"140321100200{i:05d}" for i in range(len(cells))]
    say(f"grid: {len(cells)} cells of {CELL_M:.0f} m generated in {t:.2f} s")
    points_to_cells(rng, region, codes, cells, z)
    clon, clat, cskills, ulon, ulat, uskills = proposals(rng, region, z)
    batches(clon, clat, cskills, ulon, ulat, uskills, z)
    map_geojson(rng, region, z)


def points_to_cells(
    rng: np.random.Generator, region: shapely.Polygon, codes: list[str], cells: list, z: Sizes
) -> None:
    """1. points -> cells: the vectorised index against the naive loop and the STRtree reference."""
    minx, miny, maxx, maxy = region.bounds
    lons = rng.uniform(minx, maxx, z.points)
    lats = rng.uniform(miny, maxy, z.points)
    t_build, index = timed(spatial.CellIndex, codes, cells)
    t_vec, assigned = timed(index.assign, lons, lats, repeat=3)

    def strtree_assign(x, y):  # the reference approach: point geometries + STRtree intersects, min code
        tree = shapely.STRtree(index.geoms)
        p, g = tree.query(shapely.points(x, y), predicate="intersects")
        out = np.full(len(x), np.iinfo(np.int64).max)
        np.minimum.at(out, p, g)
        out[out == np.iinfo(np.int64).max] = -1
        return out

    t_tree, by_tree = timed(strtree_assign, lons, lats)
    sample = z.naive_points
    t_naive, naive = timed(spatial.naive_assign, codes, cells, lons[:sample], lats[:sample])
    same = [index.codes[i] if i >= 0 else None for i in assigned[:sample]] == naive
    all_equal = bool((by_tree == assigned).all())
    rate_vec, rate_naive = z.points / t_vec, sample / t_naive
    say(
        f"points->cells: {z.points:,} points in {t_vec:.2f} s = {rate_vec:,.0f} points/s "
        f"(index built in {t_build:.2f} s); naive loop {rate_naive:,.0f} points/s "
        f"-> x{rate_vec / rate_naive:,.0f}; "
        f"same answers: {same}; STRtree query {z.points / t_tree:,.0f} points/s "
        f"(all {z.points:,} equal: {all_equal}); target >= 500,000/s: {target(rate_vec >= 500_000, z)}"
    )
    check(same and all_equal, "points->cells differ from the naive loop or the STRtree reference")


def proposals(rng: np.random.Generator, region: shapely.Polygon, z: Sizes) -> tuple:
    """2. nearest available qualified unit: the BallTree index against the naive loop."""
    minx, miny, maxx, maxy = region.bounds
    ulon, ulat = rng.uniform(minx, maxx, z.units), rng.uniform(miny, maxy, z.units)
    uskills = [[SKILLS[i % 3]] + ([SKILLS[(i + 1) % 3]] if i % 5 == 0 else []) for i in range(z.units)]
    clon, clat = rng.uniform(minx, maxx, z.cases), rng.uniform(miny, maxy, z.cases)
    cskills = [SKILLS[i % 3] for i in range(z.cases)]

    def propose():
        idx = spatial.UnitIndex(list(range(z.units)), ulon, ulat, uskills)
        return idx.nearest(clon, clat, cskills, k=3)

    t_prop, (ids, _dist) = timed(propose, repeat=3)

    def naive_propose(n):
        out = []
        for i in range(n):
            best = sorted(
                (float(spatial.haversine_m(clon[i], clat[i], ulon[u], ulat[u])), u)
                for u in range(z.units)
                if cskills[i] in uskills[u]
            )[:3]
            out.append([u for _, u in best])
        return out

    n = z.naive_cases
    t_np, naive_ids = timed(naive_propose, n)
    agree = all(list(ids[i]) == naive_ids[i] for i in range(n))
    rate_p, rate_np = z.cases / t_prop, n / t_np
    say(
        f"proposals: {z.cases:,} cases x {z.units} units (k=3, by skill) in {t_prop * 1000:.0f} ms "
        f"= {rate_p:,.0f} cases/s; naive loop {rate_np:,.0f} cases/s -> x{rate_p / rate_np:,.0f}; "
        f"same units: {agree}; target >= 50,000/s: {target(rate_p >= 50_000, z)}"
    )
    check(agree, "proposals differ from the naive loop")
    return clon, clat, cskills, ulon, ulat, uskills


def batches(clon, clat, cskills, ulon, ulat, uskills, z: Sizes) -> None:
    """3. batch optimiser vs greedy (at most one case per unit, so both answer for the same cases)."""
    for nc in z.batches:
        sub = slice(0, nc)
        t_opt, best = timed(spatial.batch_assign, clon[sub], clat[sub], cskills[:nc], ulon, ulat, uskills)
        t_gr, greedy = timed(spatial.greedy_assign, clon[sub], clat[sub], cskills[:nc], ulon, ulat, uskills)
        d_opt, d_gr = sum(d for *_, d in best), sum(d for *_, d in greedy)
        say(
            f"batch {nc} cases x {z.units} units: optimum {len(best)} assigned, {d_opt / 1000:,.1f} km "
            f"in {t_opt * 1000:.0f} ms; greedy {len(greedy)} assigned, {d_gr / 1000:,.1f} km "
            f"in {t_gr * 1000:.0f} ms"
            + (
                f"; {100 * (1 - d_opt / d_gr):.1f}% less distance"
                if len(best) == len(greedy) and d_gr
                else f"; greedy left {len(best) - len(greedy)} cases without a qualified unit"
            )
        )
        check(len(best) >= len(greedy), f"the optimum assigned fewer cases than greedy ({nc} cases)")
        check(
            len(best) != len(greedy) or d_opt <= d_gr + 0.1, f"the optimum is longer than greedy ({nc} cases)"
        )


def target(met: bool, z: Sizes) -> str:
    """OK / MISSED against a full-size target (smoke sizes say nothing about speed)."""
    if z.smoke:
        return "n/a (smoke)"
    return "OK" if met else "MISSED"


def map_geojson(rng: np.random.Generator, region: shapely.Polygon, z: Sizes) -> None:
    """4. the map's GeoJSON for a bbox full of cases: written by the database, against ORM + json.dumps."""
    from govgrid.citymap.enums import CaseState
    from govgrid.citymap.models import Case
    from govgrid.citymap.services import layers
    from govgrid.core.authz.principal import Assignment, Principal
    from govgrid.core.db import Base, make_engine
    from govgrid.core.modules import import_all_models

    import_all_models()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        Base.metadata.create_all(engine)
        minx, miny, maxx, maxy = region.bounds
        now = datetime.now(UTC)
        states = [st.value for st in CaseState if st != CaseState.rejected]
        rows = [
            {
                "code": f"1403212024{i:09d}",
                "source": "inspector",
                "kind": "event",
                "class_code": "0101",
                "lon": float(rng.uniform(minx, maxx)),
                "lat": float(rng.uniform(miny, maxy)),
                "county_code": "140321",
                "division_code": "140321100200",
                "division_path": "/000000/140000/140300/140321/140321100/140321100200/",
                "reporter_type": "user",
                "state": states[i % 7],
                "report_count": 1,
                "rework_count": 0,
                "description": "",
                "deadline_at": now + timedelta(hours=(i % 48) - 24),
                "reported_at": now - timedelta(minutes=i),
                "updated_at": now,
            }
            for i in range(z.map_cases)
        ]
        t_ins = time.perf_counter()
        with Session(engine) as s:
            s.execute(insert(Case), rows)
            s.commit()
        t_ins = time.perf_counter() - t_ins
        bbox = (minx, miny, maxx, maxy)
        with Session(engine) as s:
            t_fast, body = timed(
                layers.cases_layer, s, principal=None, bbox=bbox, county_code="140321", repeat=3
            )
            n = len(json.loads(body)["features"])

            def naive():
                cases = s.scalars(
                    select(Case).where(Case.lon.between(bbox[0], bbox[2]), Case.lat.between(bbox[1], bbox[3]))
                ).all()
                fc = {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "type": "Feature",
                            "id": c.id,
                            "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]},
                            "properties": {
                                "code": c.code,
                                "state": c.state,
                                "kind": c.kind,
                                "class_code": c.class_code,
                                "overdue": c.deadline_at is not None and c.deadline_at < datetime.now(UTC),
                            },
                        }
                        for c in cases
                    ],
                }
                out = json.dumps(fc)
                s.expunge_all()
                return out

            t_naive, _ = timed(naive)
            who = Principal(
                kind="user",
                id=1,
                name="pd_dispatcher",
                display_name="dispatcher",
                assignments=(
                    Assignment(
                        department_id=1,
                        department_name="hotline",
                        line_code="hotline_12345",
                        division_code="140321",
                        division_path="/000000/140000/140300/140321/",
                        role="dispatcher",
                        reach="division",
                    ),
                ),
            )
            t_scoped, body2 = timed(
                layers.cases_layer, s, principal=who, bbox=bbox, county_code="140321", repeat=3
            )
            check(len(body2) == len(body), "the dispatcher's scoped layer differs from the unscoped one")
            check(n == z.map_cases, f"{n} of {z.map_cases} cases in the layer")
        engine.dispose()
    say(
        f"map GeoJSON: {n:,} cases in the bbox ({len(body) / 1e6:.1f} MB) in {t_fast:.3f} s "
        f"(inserted in {t_ins:.1f} s); ORM objects + json.dumps {t_naive:.3f} s -> x{t_naive / t_fast:.1f}; "
        f"target < 0.5 s: {target(t_fast < 0.5, z)}; with a dispatcher's scope in the query {t_scoped:.3f} s"
    )


def cli() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds (CI)")
    main(SMOKE if ap.parse_args().smoke else FULL)


if __name__ == "__main__":
    cli()
