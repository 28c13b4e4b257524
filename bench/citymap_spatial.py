"""City map spatial benchmark: point -> grid cell, nearest-unit proposals, batch optimiser, map GeoJSON.

A county-sized square with 10,000 unit grid cells of 100 m; 1,000,000 event points; 10,000 cases among 300 units;
100,000 cases in a bbox served as GeoJSON from a SQLite file. Each figure is compared with the naive loop in the same
run. Targets (issue 5): >= 500,000 points/s, >= 50,000 proposals/s, GeoJSON of 100,000 cases < 0.5 s.

Run: python bench/citymap_spatial.py
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import shapely
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from govgrid.citymap import spatial

LON0, LAT0 = 113.55, 37.80  # Pingding
SIDE_M = 10_000.0
CELL_M = 100.0
N_POINTS = 1_000_000
N_CASES, N_UNITS = 10_000, 300
N_MAP = 100_000
SKILLS = ["sanitation", "enforcement", "repair"]


def timed(fn, *args, repeat: int = 1, **kw):
    """(best seconds, result)."""
    best, out = math.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(*args, **kw)
        best = min(best, time.perf_counter() - t)
    return best, out


def county_region() -> shapely.Polygon:
    dlon = SIDE_M / (111_320 * math.cos(math.radians(LAT0)))
    dlat = SIDE_M / 111_320
    return shapely.box(LON0, LAT0, LON0 + dlon, LAT0 + dlat)


def main() -> None:
    rng = np.random.default_rng(5)
    region = county_region()
    t, cells = timed(spatial.square_grid, region, CELL_M)
    codes = [f"140321100200{i:05d}" for i in range(len(cells))]
    print(f"grid: {len(cells)} cells of {CELL_M:.0f} m generated in {t:.2f} s")
    minx, miny, maxx, maxy = region.bounds

    # ---- 1. points -> cells -------------------------------------------------------------------------
    lons = rng.uniform(minx, maxx, N_POINTS)
    lats = rng.uniform(miny, maxy, N_POINTS)
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
    sample = 100
    t_naive, naive = timed(spatial.naive_assign, codes, cells, lons[:sample], lats[:sample])
    same = [index.codes[i] if i >= 0 else None for i in assigned[:sample]] == naive
    rate_vec, rate_naive = N_POINTS / t_vec, sample / t_naive
    print(
        f"points->cells: {N_POINTS:,} points in {t_vec:.2f} s = {rate_vec:,.0f} points/s (index built in {t_build:.2f} s); "
        f"naive loop {rate_naive:,.0f} points/s -> x{rate_vec / rate_naive:,.0f}; same answers: {same}; "
        f"STRtree query {N_POINTS / t_tree:,.0f} points/s (all {N_POINTS:,} equal: {bool((by_tree == assigned).all())}); "
        f"target >= 500,000/s: {'OK' if rate_vec >= 500_000 else 'MISSED'}"
    )

    # ---- 2. nearest available qualified unit --------------------------------------------------------------
    ulon, ulat = rng.uniform(minx, maxx, N_UNITS), rng.uniform(miny, maxy, N_UNITS)
    uskills = [[SKILLS[i % 3]] + ([SKILLS[(i + 1) % 3]] if i % 5 == 0 else []) for i in range(N_UNITS)]
    clon, clat = rng.uniform(minx, maxx, N_CASES), rng.uniform(miny, maxy, N_CASES)
    cskills = [SKILLS[i % 3] for i in range(N_CASES)]

    def propose():
        idx = spatial.UnitIndex(list(range(N_UNITS)), ulon, ulat, uskills)
        return idx.nearest(clon, clat, cskills, k=3)

    t_prop, (ids, dist) = timed(propose, repeat=3)

    def naive_propose(n):
        out = []
        for i in range(n):
            best = sorted(
                (float(spatial.haversine_m(clon[i], clat[i], ulon[u], ulat[u])), u)
                for u in range(N_UNITS)
                if cskills[i] in uskills[u]
            )[:3]
            out.append([u for _, u in best])
        return out

    t_np, naive_ids = timed(naive_propose, 300)
    agree = all(list(ids[i]) == naive_ids[i] for i in range(300))
    rate_p, rate_np = N_CASES / t_prop, 300 / t_np
    print(
        f"proposals: {N_CASES:,} cases x {N_UNITS} units (k=3, by skill) in {t_prop * 1000:.0f} ms = {rate_p:,.0f} cases/s; "
        f"naive loop {rate_np:,.0f} cases/s -> x{rate_p / rate_np:,.0f}; same units: {agree}; "
        f"target >= 50,000/s: {'OK' if rate_p >= 50_000 else 'MISSED'}"
    )

    # ---- 3. batch optimiser vs greedy ---------------------------------------------------------------------
    for nc in (100, 250, 300):  # at most one case per unit, so both answer for the same cases
        sub = slice(0, nc)
        t_opt, best = timed(spatial.batch_assign, clon[sub], clat[sub], cskills[:nc], ulon, ulat, uskills)
        t_gr, greedy = timed(spatial.greedy_assign, clon[sub], clat[sub], cskills[:nc], ulon, ulat, uskills)
        d_opt, d_gr = sum(d for *_, d in best), sum(d for *_, d in greedy)
        print(
            f"batch {nc} cases x {N_UNITS} units: optimum {len(best)} assigned, {d_opt / 1000:,.1f} km in {t_opt * 1000:.0f} ms; "
            f"greedy {len(greedy)} assigned, {d_gr / 1000:,.1f} km in {t_gr * 1000:.0f} ms"
            + (
                f"; {100 * (1 - d_opt / d_gr):.1f}% less distance"
                if len(best) == len(greedy) and d_gr
                else f"; greedy left {len(best) - len(greedy)} cases without a qualified unit"
            )
        )

    # ---- 4. the map's GeoJSON for a bbox with 100,000 cases --------------------------------------------
    map_geojson(rng, region)


def map_geojson(rng: np.random.Generator, region: shapely.Polygon) -> None:
    from govgrid.citymap import service
    from govgrid.citymap.models import Case
    from govgrid.core.authz.principal import Assignment, Principal
    from govgrid.core.db import Base, make_engine
    from govgrid.core.modules import import_all_models

    import_all_models()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        Base.metadata.create_all(engine)
        minx, miny, maxx, maxy = region.bounds
        now = datetime.now(UTC)
        states = ["collected", "filed", "dispatched", "handling", "handled", "closed", "evaluated"]
        rows = [
            dict(
                code=f"1403212024{i:09d}",
                source="inspector",
                kind="event",
                class_code="0101",
                lon=float(rng.uniform(minx, maxx)),
                lat=float(rng.uniform(miny, maxy)),
                county_code="140321",
                division_code="140321100200",
                division_path="/000000/140000/140300/140321/140321100/140321100200/",
                reporter_type="user",
                state=states[i % 7],
                report_count=1,
                rework_count=0,
                description="",
                deadline_at=now + timedelta(hours=(i % 48) - 24),
                reported_at=now - timedelta(minutes=i),
                updated_at=now,
            )
            for i in range(N_MAP)
        ]
        t_ins = time.perf_counter()
        with Session(engine) as s:
            s.execute(insert(Case), rows)
            s.commit()
        t_ins = time.perf_counter() - t_ins
        bbox = (minx, miny, maxx, maxy)
        with Session(engine) as s:
            t_fast, body = timed(
                service.cases_layer, s, principal=None, bbox=bbox, county_code="140321", repeat=3
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
                service.cases_layer, s, principal=who, bbox=bbox, county_code="140321", repeat=3
            )
            assert len(body2) == len(body)
        engine.dispose()
    print(
        f"map GeoJSON: {n:,} cases in the bbox ({len(body) / 1e6:.1f} MB) in {t_fast:.3f} s "
        f"(inserted in {t_ins:.1f} s); ORM objects + json.dumps {t_naive:.3f} s -> x{t_naive / t_fast:.1f}; "
        f"target < 0.5 s: {'OK' if t_fast < 0.5 else 'MISSED'}; with a dispatcher's scope in the query {t_scoped:.3f} s"
    )


if __name__ == "__main__":
    main()
