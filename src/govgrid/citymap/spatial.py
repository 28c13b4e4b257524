"""Spatial computations without database or web: grid generation and validation, point-to-cell assignment,
nearest-unit proposals and the batch dispatch optimiser."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

if TYPE_CHECKING:
    from sklearn.neighbors import BallTree

EARTH_RADIUS_M = 6_371_008.8
INFEASIBLE = 1e12  # cost of an assignment that is not allowed (skill missing)


def utm_crs(lon: float, lat: float) -> CRS:
    """The UTM zone (WGS 84) that holds a point: metres for cell sizes and areas (zone 49N for Pingding)."""
    zone = int((lon + 180) // 6) + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


@dataclass
class Projector:
    """Forward and inverse transformations between WGS 84 and a projected CRS in metres."""

    crs: CRS

    def __post_init__(self) -> None:
        self._fwd = Transformer.from_crs(4326, self.crs, always_xy=True)
        self._inv = Transformer.from_crs(self.crs, 4326, always_xy=True)

    @classmethod
    def around(cls, geom: BaseGeometry) -> Projector:
        """A projector for the UTM zone of a geometry's centre."""
        c = geom.centroid
        return cls(utm_crs(c.x, c.y))

    def to_metres(self, geom: BaseGeometry) -> BaseGeometry:
        """Project a WGS 84 geometry to metres."""
        return shapely.transform(geom, self._fwd.transform, interleaved=False)

    def to_lonlat(self, geom: BaseGeometry) -> BaseGeometry:
        """Project a metric geometry back to WGS 84."""
        return shapely.transform(geom, self._inv.transform, interleaved=False)


def square_grid(region: BaseGeometry, cell_m: float) -> list[BaseGeometry]:
    """Square cells of `cell_m` metres covering a WGS 84 region, clipped to it (WGS 84 out).

    Cells are laid out in the region's UTM zone so they really are ~cell_m x cell_m; clipping leaves edge
    cells smaller. Pieces of a clipped cell that fall apart stay one (multi)polygon so the cells tile the
    region exactly.
    """
    proj = Projector.around(region)
    metric = proj.to_metres(region)
    minx, miny, maxx, maxy = metric.bounds
    x0, y0 = math.floor(minx / cell_m) * cell_m, math.floor(miny / cell_m) * cell_m
    nx, ny = math.ceil((maxx - x0) / cell_m), math.ceil((maxy - y0) / cell_m)
    xs = x0 + np.arange(nx) * cell_m
    ys = y0 + np.arange(ny) * cell_m
    gx, gy = np.meshgrid(xs, ys)
    boxes = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + cell_m, gy.ravel() + cell_m)
    shapely.prepare(metric)
    hits = boxes[shapely.intersects(metric, boxes)]
    clipped = shapely.intersection(hits, metric)
    out = []
    for g in clipped:
        g = _polygonal(g)
        if g is not None and g.area > 1.0:  # drop sub-square-metre slivers from touching edges
            out.append(proj.to_lonlat(g))
    return out


def _polygonal(g: BaseGeometry) -> BaseGeometry | None:
    if g.is_empty:
        return None
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    if g.geom_type == "GeometryCollection":
        polys = [p for p in g.geoms if p.geom_type in ("Polygon", "MultiPolygon")]
        return shapely.unary_union(polys) if polys else None
    return None


@dataclass
class GridProblems:
    """What a grid validation found: self-intersections, overlaps, gaps and cells outside the region."""

    invalid: list[tuple[int, str]]
    overlaps: list[tuple[int, int, float]]  # (i, j, overlap area m2)
    outside: list[tuple[int, float]]  # (i, area m2 outside the region)
    gap_area_m2: float
    region_area_m2: float

    @property
    def ok(self) -> bool:
        return not (self.invalid or self.overlaps or self.outside) and self.gap_area_m2 <= max(
            1.0, 1e-4 * self.region_area_m2
        )


def validate_grid(
    cells: list[BaseGeometry], region: BaseGeometry | None, *, tolerance_m2: float = 1.0
) -> GridProblems:
    """Check that cells do not overlap (STRtree over cell pairs), and, given a region, that they cover it
    without gaps and stay inside it (areas in metres via the region's UTM zone)."""
    anchor = region if region is not None else shapely.unary_union(cells)
    proj = Projector.around(anchor)
    invalid = [(i, shapely.validation.explain_validity(g)) for i, g in enumerate(cells) if not g.is_valid]
    metric = proj.to_metres(np.array(cells, dtype=object))
    overlaps: list[tuple[int, int, float]] = []
    outside: list[tuple[int, float]] = []
    gap = 0.0
    region_area = 0.0
    if not invalid:
        tree = shapely.STRtree(metric)
        left, right = tree.query(metric, predicate="intersects")
        keep = left < right
        left, right = left[keep], right[keep]
        if len(left):
            areas = shapely.area(shapely.intersection(metric[left], metric[right]))
            for i, j, a in zip(left, right, areas, strict=True):
                if a > tolerance_m2:
                    overlaps.append((int(i), int(j), float(a)))
        if region is not None:
            mregion = proj.to_metres(region)
            region_area = mregion.area
            grown = mregion.buffer(0.5)
            shapely.prepare(grown)
            for i, g in enumerate(metric):
                if not grown.contains(g):
                    out_area = g.difference(mregion).area
                    if out_area > tolerance_m2:
                        outside.append((i, float(out_area)))
            union = shapely.unary_union(metric)
            gap = float(mregion.difference(union).area)
    return GridProblems(
        invalid=invalid, overlaps=overlaps, outside=outside, gap_area_m2=gap, region_area_m2=region_area
    )


class CellIndex:
    """Point -> grid cell, vectorised without building point geometries.

    Candidates come from a uniform bin grid over the cells' bounding boxes (CSR arrays, pure numpy), a bbox
    test drops most of them, and `shapely.intersects_xy` on the prepared cells decides exactly. A point on a
    shared edge belongs to both cells; it goes to the smallest code, so every point gets exactly one answer.
    """

    def __init__(self, codes: list[str], geoms: list[BaseGeometry]):
        order = np.argsort(np.array(codes, dtype=object), kind="stable")
        self.codes = np.array(codes, dtype=object)[order]
        self.geoms = np.array(geoms, dtype=object)[order]
        shapely.prepare(self.geoms)
        b = shapely.bounds(self.geoms)
        self.x0, self.y0, self.x1, self.y1 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
        n = len(self.geoms)
        # bins about half a typical cell wide: ~2 candidate cells per point before the bbox test
        self.sx = max(float(np.median(self.x1 - self.x0)) / 2, 1e-9)
        self.sy = max(float(np.median(self.y1 - self.y0)) / 2, 1e-9)
        self.ox, self.oy = float(self.x0.min()), float(self.y0.min())
        self.nx = int((self.x1.max() - self.ox) // self.sx) + 1
        self.ny = int((self.y1.max() - self.oy) // self.sy) + 1
        ix0 = ((self.x0 - self.ox) // self.sx).astype(np.int64)
        ix1 = ((self.x1 - self.ox) // self.sx).astype(np.int64)
        iy0 = ((self.y0 - self.oy) // self.sy).astype(np.int64)
        iy1 = ((self.y1 - self.oy) // self.sy).astype(np.int64)
        wx, wy = ix1 - ix0 + 1, iy1 - iy0 + 1
        counts = wx * wy
        cell = np.repeat(np.arange(n, dtype=np.int64), counts)
        k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        bx = ix0[cell] + k % wx[cell]
        by = iy0[cell] + k // wx[cell]
        bins = by * self.nx + bx
        srt = np.lexsort((cell, bins))  # by bin, then by cell (= by code): the first hit is the smallest code
        self.bin_cells = cell[srt]
        self.bin_start = np.searchsorted(bins[srt], np.arange(self.nx * self.ny + 1))

    def assign(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        """Index into `codes` for each point (-1 outside every cell)."""
        x = np.asarray(lons, float)
        y = np.asarray(lats, float)
        out = np.full(len(x), -1, dtype=np.int64)
        bx = np.floor((x - self.ox) / self.sx)
        by = np.floor((y - self.oy) / self.sy)
        inside = (bx >= 0) & (bx < self.nx) & (by >= 0) & (by < self.ny)
        pts = np.nonzero(inside)[0]
        b = (by[pts] * self.nx + bx[pts]).astype(np.int64)
        start = self.bin_start[b]
        counts = self.bin_start[b + 1] - start
        p = np.repeat(pts, counts)
        k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        g = self.bin_cells[np.repeat(start, counts) + k]
        px, py = x[p], y[p]
        near = (self.x0[g] <= px) & (px <= self.x1[g]) & (self.y0[g] <= py) & (py <= self.y1[g])
        p, g = p[near], g[near]
        hit = shapely.intersects_xy(self.geoms[g], px[near], py[near])
        p, g = p[hit], g[hit]
        first = np.ones(len(p), dtype=bool)
        first[1:] = p[1:] != p[:-1]
        out[p[first]] = g[first]
        return out

    def assign_codes(self, lons: Any, lats: Any) -> list[str | None]:
        """Cell code per point (None outside)."""
        idx = self.assign(np.asarray(lons, float), np.asarray(lats, float))
        return [self.codes[i] if i >= 0 else None for i in idx]


def naive_assign(codes: list[str], geoms: list[BaseGeometry], lons: Any, lats: Any) -> list[str | None]:
    """The per-point loop over every cell (the baseline the benchmark compares against)."""
    out: list[str | None] = []
    for x, y in zip(lons, lats, strict=True):
        pt = shapely.Point(x, y)
        best = None
        for code, g in zip(codes, geoms, strict=True):
            if g.intersects(pt) and (best is None or code < best):
                best = code
        out.append(best)
    return out


def haversine_m(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> Any:
    """Great-circle distance in metres (numpy broadcasting)."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, float)) for v in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


class UnitIndex:
    """Nearest qualified units: one haversine BallTree per skill over the available units."""

    def __init__(self, unit_ids: list[int], lons: Any, lats: Any, skills: list[list[str]]):
        from sklearn.neighbors import BallTree  # imported when first needed: it takes seconds to load

        self.unit_ids = np.asarray(unit_ids, dtype=np.int64)
        self.lons = np.asarray(lons, float)
        self.lats = np.asarray(lats, float)
        self.by_skill: dict[str, tuple[np.ndarray, BallTree]] = {}
        all_skills = sorted({s for ss in skills for s in ss})
        for skill in all_skills:
            members = np.array([i for i, ss in enumerate(skills) if skill in ss], dtype=np.int64)
            coords = np.radians(np.column_stack([self.lats[members], self.lons[members]]))
            self.by_skill[skill] = (members, BallTree(coords, metric="haversine"))

    def nearest(self, lons: Any, lats: Any, skills: list[str], k: int = 3) -> tuple[np.ndarray, np.ndarray]:
        """Per case: the k nearest units with its skill (unit ids, metres); -1 / inf where fewer exist."""
        lons, lats = np.asarray(lons, float), np.asarray(lats, float)
        n = len(lons)
        ids = np.full((n, k), -1, dtype=np.int64)
        dist = np.full((n, k), np.inf)
        skills_arr = np.asarray(skills, dtype=object)
        for skill in set(skills):
            sel = np.nonzero(skills_arr == skill)[0]
            if skill not in self.by_skill or len(sel) == 0:
                continue
            members, tree = self.by_skill[skill]
            kk = min(k, len(members))
            d, i = tree.query(np.radians(np.column_stack([lats[sel], lons[sel]])), k=kk)
            ids[sel, :kk] = self.unit_ids[members[i]]
            dist[sel, :kk] = d * EARTH_RADIUS_M
        return ids, dist


def batch_assign(
    case_lons: Any,
    case_lats: Any,
    case_skills: list[str],
    unit_lons: Any,
    unit_lats: Any,
    unit_skills: list[list[str]],
) -> list[tuple[int, int, float]]:
    """Least total distance assignment, one case per unit: (case index, unit index, metres).

    Cases that no qualified unit can take (or beyond the number of units) are left out of the answer.
    """
    if len(case_skills) == 0 or len(unit_skills) == 0:
        return []
    d = haversine_m(
        np.asarray(case_lons, float)[:, None],
        np.asarray(case_lats, float)[:, None],
        np.asarray(unit_lons, float)[None, :],
        np.asarray(unit_lats, float)[None, :],
    )
    ok = np.array([[s in us for us in unit_skills] for s in case_skills], dtype=bool)
    cost = np.where(ok, d, INFEASIBLE)
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c), float(d[r, c])) for r, c in zip(rows, cols, strict=True) if ok[r, c]]


def greedy_assign(
    case_lons: Any,
    case_lats: Any,
    case_skills: list[str],
    unit_lons: Any,
    unit_lats: Any,
    unit_skills: list[list[str]],
) -> list[tuple[int, int, float]]:
    """Each case in turn takes the nearest free qualified unit (the baseline for the optimiser)."""
    d = haversine_m(
        np.asarray(case_lons, float)[:, None],
        np.asarray(case_lats, float)[:, None],
        np.asarray(unit_lons, float)[None, :],
        np.asarray(unit_lats, float)[None, :],
    )
    free = np.ones(len(unit_skills), dtype=bool)
    out = []
    for r, s in enumerate(case_skills):
        ok = free & np.array([s in us for us in unit_skills])
        if not ok.any():
            continue
        c = int(np.argmin(np.where(ok, d[r], np.inf)))
        free[c] = False
        out.append((r, c, float(d[r, c])))
    return out
