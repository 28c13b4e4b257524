"""LiDAR (激光雷达): ground DTM, height normalisation, canopy height model, allometric biomass and carbon.

* DTM (数字地形模型): lowest ground return (ASPRS class 2) per cell, gaps filled by linear
  interpolation between ground cells (nearest outside their hull).
* Normalised height = z - DTM(cell); CHM (冠层高度模型) = highest normalised return per cell, >= 0.
* Allometry: AGB (Mg dry matter/ha) = a x H^b per vegetation class, H the CHM height in metres;
  BGB = AGB x R (root-to-shoot ratio, IPCC 2006 Vol. 4 Table 4.4); carbon = (AGB + BGB) x CF with
  CF = 0.47 by default (IPCC 2006 Vol. 4, 4.3).

Points are read in chunks (``laspy.open(...).chunk_iterator``) so tiles larger than memory work.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import laspy
import numpy as np
import rasterio
from pydantic import Field
from rasterio.crs import CRS
from rasterio.transform import from_origin
from scipy.interpolate import griddata

from .rasters import map_blocks, raster_info, row_windows
from .spec import ArgsModel, InputSpec, Model, OutputSpec, Problem

HEIGHT_NODATA = -9999.0


def las_crs(path: Path) -> CRS | None:
    """The CRS stored in a LAS/LAZ header, if any."""
    with laspy.open(path) as fh:
        try:
            crs = fh.header.parse_crs()
        except Exception:  # malformed VLRs are reported as "no CRS" rather than crashing validation
            return None
    return CRS.from_wkt(crs.to_wkt()) if crs is not None else None


def _unit_factor(crs: CRS | None) -> float:
    """Metres per CRS linear unit (1 when unknown)."""
    if crs is None or not crs.is_projected or not crs.linear_units_factor:
        return 1.0
    return float(crs.linear_units_factor[1])


class LidarArgs(ArgsModel):
    """Inputs of the canopy height model."""

    las_path: Path
    out_dir: Path
    resolution_m: float = Field(default=1.0, gt=0)
    ground_class: int = 2
    crs: str | None = None
    chunk_points: int = Field(default=1_000_000, ge=1000)


@dataclass
class CanopyResult:
    """Paths and summary of a canopy-height run."""

    dtm_path: Path
    chm_path: Path
    n_points: int
    n_ground: int
    ground_cells_filled: float
    max_height_m: float
    mean_height_m: float
    crs: str | None


class CanopyHeightModel(Model[LidarArgs]):
    """DTM from ground returns and a canopy height model from height-normalised returns."""

    name = "lidar_chm"
    args_type = LidarArgs
    inputs = (
        InputSpec("las_path", "LAS or LAZ point cloud with ground classified as class 2"),
        InputSpec("resolution_m", "cell size", "m"),
        InputSpec("crs", "CRS when the file has none (e.g. EPSG:32649)", required=False),
    )
    outputs = (
        OutputSpec("dtm.tif", "ground elevation", "m", "float32", HEIGHT_NODATA),
        OutputSpec("chm.tif", "canopy height above ground", "m", "float32", HEIGHT_NODATA),
    )

    def check(self, args: LidarArgs) -> list[Problem]:
        """File readable, has ground points and a CRS (from the file or the ``crs`` arg)."""
        problems: list[Problem] = []
        if not args.las_path.exists():
            return [Problem("las_path", f"file not found: {args.las_path}")]
        try:
            with laspy.open(args.las_path) as fh:
                n = fh.header.point_count
                n_ground = sum(
                    int(np.count_nonzero(np.asarray(c.classification) == args.ground_class))
                    for c in fh.chunk_iterator(args.chunk_points)
                )
        except Exception as exc:  # laspy raises several types for corrupt or non-LAS files
            return [Problem("las_path", f"not a readable LAS/LAZ file: {exc}")]
        if n == 0:
            problems.append(Problem("las_path", "point cloud is empty"))
        elif n_ground < 3:
            problems.append(
                Problem("las_path", f"only {n_ground} ground points (class {args.ground_class}); need >= 3")
            )
        if args.crs is None and las_crs(args.las_path) is None:
            problems.append(Problem("crs", "the file holds no CRS; give one"))
        if args.crs is not None:
            try:
                CRS.from_user_input(args.crs)
            except Exception:
                problems.append(Problem("crs", f"unknown CRS {args.crs!r}"))
        return problems

    def run(self, args: LidarArgs) -> CanopyResult:
        """Two chunked passes: ground DTM, then max normalised height per cell."""
        crs = CRS.from_user_input(args.crs) if args.crs else las_crs(args.las_path)
        to_m = _unit_factor(crs)
        cell = args.resolution_m / to_m  # cell size in the file's horizontal units
        with laspy.open(args.las_path) as fh:
            h = fh.header
            x0, y1 = float(h.mins[0]), float(h.maxs[1])
            ncols = max(1, int(np.ceil((float(h.maxs[0]) - x0) / cell + 1e-9)))
            nrows = max(1, int(np.ceil((y1 - float(h.mins[1])) / cell + 1e-9)))
            n_points = h.point_count

        def cells(pts: laspy.ScaleAwarePointRecord) -> np.ndarray:
            c = np.clip(((np.asarray(pts.x) - x0) / cell).astype(np.int64), 0, ncols - 1)
            r = np.clip(((y1 - np.asarray(pts.y)) / cell).astype(np.int64), 0, nrows - 1)
            return r * ncols + c

        dtm = np.full(nrows * ncols, np.inf)
        n_ground = 0
        with laspy.open(args.las_path) as fh:
            for pts in fh.chunk_iterator(args.chunk_points):
                g = np.asarray(pts.classification) == args.ground_class
                n_ground += int(g.sum())
                np.minimum.at(dtm, cells(pts[g]), np.asarray(pts.z)[g] * to_m)
        have = np.isfinite(dtm)
        filled_share = 1.0 - have.mean()
        grid_r, grid_c = np.divmod(np.arange(nrows * ncols), ncols)
        if not have.all():
            known = np.column_stack([grid_r[have], grid_c[have]])
            missing = np.column_stack([grid_r[~have], grid_c[~have]])
            vals = (
                griddata(known, dtm[have], missing, method="linear")
                if have.sum() >= 3
                else np.full(len(missing), np.nan)
            )
            gaps = np.isnan(vals)
            if gaps.any():
                vals[gaps] = griddata(known, dtm[have], missing[gaps], method="nearest")
            dtm[~have] = vals
        chm = np.full(nrows * ncols, -np.inf)
        with laspy.open(args.las_path) as fh:
            for pts in fh.chunk_iterator(args.chunk_points):
                idx = cells(pts)
                np.maximum.at(chm, idx, np.asarray(pts.z) * to_m - dtm[idx])
        has_pts = np.isfinite(chm)
        heights = (
            np.where(has_pts, np.maximum(chm, 0.0), HEIGHT_NODATA).reshape(nrows, ncols).astype(np.float32)
        )
        args.out_dir.mkdir(parents=True, exist_ok=True)
        profile = {
            "driver": "GTiff",
            "width": ncols,
            "height": nrows,
            "count": 1,
            "dtype": "float32",
            "crs": crs,
            "transform": from_origin(x0, y1, cell, cell),
            "nodata": HEIGHT_NODATA,
            "compress": "deflate",
        }
        dtm_path, chm_path = args.out_dir / "dtm.tif", args.out_dir / "chm.tif"
        with rasterio.open(dtm_path, "w", **profile) as dst:
            dst.write(dtm.reshape(nrows, ncols).astype(np.float32), 1)
        with rasterio.open(chm_path, "w", **profile) as dst:
            dst.write(heights, 1)
        valid = heights[heights != HEIGHT_NODATA]
        return CanopyResult(
            dtm_path,
            chm_path,
            int(n_points),
            n_ground,
            float(filled_share),
            float(valid.max()) if valid.size else 0.0,
            float(valid.mean()) if valid.size else 0.0,
            crs.to_string() if crs else None,
        )


class Allometry(ArgsModel):
    """AGB = a x H^b (Mg dry matter/ha, H in m) with its relative error, and the root-to-shoot ratio."""

    a: float = Field(gt=0)
    b: float
    rel_error: float = Field(default=0.2, ge=0, description="relative standard error of predicted AGB")
    root_shoot: float = Field(default=0.3, ge=0)
    root_shoot_rel_error: float = Field(default=0.3, ge=0)


class AllometryArgs(ArgsModel):
    """Inputs of the allometric biomass model."""

    chm_path: Path
    coefficients: dict[int, Allometry]
    landcover_path: Path | None = None
    default_class: int | None = None
    carbon_fraction: float = Field(default=0.47, gt=0, le=1)
    out_path: Path | None = None
    block_rows: int = Field(default=512, ge=1)


@dataclass
class AllometryResult:
    """Carbon totals from the CHM (Mg C) and the carbon-density raster."""

    agb_t: float
    bgb_t: float
    carbon_t: float
    area_ha: float
    out_path: Path | None
    by_class: dict[int, dict[str, float]]


def allometric_carbon(
    height: np.ndarray, classes: np.ndarray, coefficients: dict[int, Allometry], carbon_fraction: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-cell AGB, BGB (Mg dm/ha) and carbon (Mg C/ha); 0 for classes without allometry."""
    agb = np.zeros(height.shape, np.float64)
    bgb = np.zeros(height.shape, np.float64)
    for code, al in coefficients.items():
        sel = classes == code
        agb[sel] = al.a * np.power(np.maximum(height[sel], 0.0), al.b)
        bgb[sel] = agb[sel] * al.root_shoot
    return agb, bgb, (agb + bgb) * carbon_fraction


def _allometry_block(task: tuple) -> tuple:
    chm_path, lc_path, default_class, coefficients, cf, window = task
    with rasterio.open(chm_path) as src:
        h = src.read(1, window=window).astype(np.float64)
        valid = h != src.nodata if src.nodata is not None else np.isfinite(h)
    if lc_path is not None:
        with rasterio.open(lc_path) as lc:
            cls = lc.read(1, window=window)
    else:
        cls = np.full(h.shape, default_class)
    agb, bgb, c = allometric_carbon(h, cls, coefficients, cf)
    agb[~valid], bgb[~valid], c[~valid] = 0, 0, 0
    return window, agb, bgb, np.where(valid, c, HEIGHT_NODATA).astype(np.float32), cls, valid


class AllometryModel(Model[AllometryArgs]):
    """Biomass and carbon from a canopy height model by per-class allometry."""

    name = "allometric_biomass"
    args_type = AllometryArgs
    inputs = (
        InputSpec("chm_path", "canopy height model", "m"),
        InputSpec("coefficients", "per class: a, b (AGB = a H^b), rel_error, root_shoot", "Mg dm/ha"),
        InputSpec("landcover_path", "land-cover raster on the CHM grid", required=False),
        InputSpec("carbon_fraction", "carbon fraction of dry matter", "t C/t dm"),
    )
    outputs = (
        OutputSpec(
            "lidar_carbon.tif", "biomass carbon (AGB + BGB) x CF", "Mg C/ha", "float32", HEIGHT_NODATA
        ),
    )

    def check(self, args: AllometryArgs) -> list[Problem]:
        """CHM readable; land cover aligned; every vegetated class present has coefficients."""
        problems: list[Problem] = []
        chm = raster_info("chm_path", args.chm_path, problems)
        if args.landcover_path is None and args.default_class is None:
            problems.append(Problem("landcover_path", "give a land-cover raster or a default_class"))
        if args.default_class is not None and args.default_class not in args.coefficients:
            problems.append(
                Problem("default_class", f"class {args.default_class} has no allometry coefficients")
            )
        if args.landcover_path is not None:
            lc = raster_info("landcover_path", args.landcover_path, problems)
            if lc is not None and chm is not None:
                if lc.crs != chm.crs:
                    problems.append(
                        Problem("landcover_path", f"CRS mismatch: {lc.crs} vs chm_path's {chm.crs}")
                    )
                elif (lc.width, lc.height) != (chm.width, chm.height) or not lc.transform.almost_equals(
                    chm.transform
                ):
                    problems.append(
                        Problem("landcover_path", "grid differs from chm_path's (resolution or extent)")
                    )
        return problems

    def run(self, args: AllometryArgs) -> AllometryResult:
        """Totals per class; writes the carbon-density raster when ``out_path`` is set."""
        with rasterio.open(args.chm_path) as src:
            profile = src.profile | {"dtype": "float32", "nodata": HEIGHT_NODATA, "compress": "deflate"}
            windows = row_windows(src.width, src.height, args.block_rows)
            px_ha = abs(src.transform.a * src.transform.e) * _unit_factor(src.crs) ** 2 / 10_000.0
        lc = str(args.landcover_path) if args.landcover_path else None
        tasks = [
            (str(args.chm_path), lc, args.default_class, args.coefficients, args.carbon_fraction, w)
            for w in windows
        ]
        dst = rasterio.open(args.out_path, "w", **profile) if args.out_path else None
        by_class: dict[int, dict[str, float]] = {}
        area = 0.0
        try:
            for window, agb, bgb, c, cls, valid in map_blocks(_allometry_block, tasks):
                if dst is not None:
                    dst.write(c, 1, window=window)
                area += valid.sum() * px_ha
                for code in args.coefficients:
                    sel = valid & (cls == code)
                    if sel.any():
                        d = by_class.setdefault(
                            code, {"agb_t": 0.0, "bgb_t": 0.0, "carbon_t": 0.0, "area_ha": 0.0}
                        )
                        d["agb_t"] += float(agb[sel].sum()) * px_ha
                        d["bgb_t"] += float(bgb[sel].sum()) * px_ha
                        d["carbon_t"] += float(c[sel].sum()) * px_ha
                        d["area_ha"] += float(sel.sum()) * px_ha
        finally:
            if dst is not None:
                dst.close()
        tot = {k: sum(d[k] for d in by_class.values()) for k in ("agb_t", "bgb_t", "carbon_t")}
        return AllometryResult(tot["agb_t"], tot["bgb_t"], tot["carbon_t"], area, args.out_path, by_class)
