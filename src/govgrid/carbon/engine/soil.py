"""Soil organic carbon (土壤有机碳): stock per sample, variogram, ordinary kriging and its variance, LOO CV.

Stock per sample (IPCC 2006 Vol. 4, eq. 2.23 convention; carbon.md):

    SOC stock (t C/ha) = SOC (%) x bulk density (g/cm3) x depth (cm) x (1 - coarse fraction)

SOC given as a mass fraction (g/g) is multiplied by 100 first. Kriging uses pykrige's ordinary
kriging with a fitted spherical/exponential/gaussian variogram; leave-one-out cross-validation
(pykrige's scikit-learn ``Krige`` estimator with ``LeaveOneOut``) gives the prediction error.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import rasterio
from pydantic import Field
from pykrige.ok import OrdinaryKriging
from pykrige.rk import Krige
from rasterio.transform import from_origin
from sklearn.model_selection import LeaveOneOut, cross_val_predict

from .rasters import raster_info
from .spec import ArgsModel, InputSpec, Model, OutputSpec, Problem, ValidationError

SOIL_NODATA = -9999.0
COLUMNS = ("x", "y", "soc", "bulk_density_g_cm3", "depth_cm", "coarse_fraction")


def soc_stock(
    soc: np.ndarray, bulk_density: np.ndarray, depth_cm: np.ndarray, coarse: np.ndarray, soc_units: str
) -> np.ndarray:
    """t C/ha = SOC% x BD (g/cm3) x depth (cm) x (1 - coarse); SOC as fraction is x100 first."""
    pct = np.asarray(soc, float) * (100.0 if soc_units == "fraction" else 1.0)
    return (
        pct
        * np.asarray(bulk_density, float)
        * np.asarray(depth_cm, float)
        * (1.0 - np.asarray(coarse, float))
    )


class SoilArgs(ArgsModel):
    """Inputs of the soil model."""

    samples_path: Path
    soc_units: Literal["percent", "fraction"] = "percent"
    out_dir: Path | None = None
    template_path: Path | None = Field(default=None, description="raster whose grid the kriged map uses")
    resolution_m: float = Field(default=100.0, gt=0)
    variogram_model: Literal["spherical", "exponential", "gaussian", "linear"] = "spherical"
    nlags: int = Field(default=8, ge=3)
    block_rows: int = Field(default=64, ge=1)


@dataclass
class SoilResult:
    """Per-sample stocks, kriging fit and cross-validation, map totals."""

    stocks_t_ha: list[float]
    mean_stock_t_ha: float
    variogram_model: str
    variogram_parameters: dict[str, float]
    loo_rmse_t_ha: float
    loo_mean_error_t_ha: float
    map_mean_t_ha: float | None
    map_total_t: float | None
    map_area_ha: float | None
    mean_kriging_sd_t_ha: float | None
    stock_path: Path | None
    variance_path: Path | None


def read_samples(
    path: Path, problems: list[Problem], key: str = "samples_path"
) -> dict[str, np.ndarray] | None:
    """Read the samples CSV into float columns, reporting missing columns and non-numbers."""
    if not path.exists():
        problems.append(Problem(key, f"file not found: {path}"))
        return None
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        cols = [c.strip() for c in reader.fieldnames or []]
        missing = [c for c in COLUMNS if c not in cols]
        if missing:
            problems.append(Problem(key, f"missing columns: {', '.join(missing)}"))
            return None
        data: dict[str, list[float]] = {c: [] for c in COLUMNS}
        for i, raw in enumerate(reader, start=2):
            row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
            try:
                vals = {c: float(row[c]) for c in COLUMNS}
            except ValueError:
                problems.append(Problem(key, f"line {i}: a value is empty (nodata) or not a number"))
                continue
            for c in COLUMNS:
                data[c].append(vals[c])
    return {c: np.array(v) for c, v in data.items()}


def _range_problems(d: dict[str, np.ndarray], soc_units: str, key: str) -> list[Problem]:
    problems = []
    soc_max = 60.0 if soc_units == "percent" else 0.6

    def bad(col: str, lo: float, hi: float, unit: str, lo_open: bool = False) -> None:
        v = d[col]
        out = np.flatnonzero((v <= lo if lo_open else v < lo) | (v > hi))
        if out.size:
            problems.append(
                Problem(
                    key,
                    f"out of range: {col} must be in {'(' if lo_open else '['}{lo}, {hi}] {unit}; "
                    f"lines {', '.join(str(i + 2) for i in out[:10])}",
                )
            )

    bad("soc", 0.0, soc_max, "%" if soc_units == "percent" else "g/g")
    if soc_units == "fraction" and (d["soc"] > 1).any():
        problems.append(
            Problem("soc_units", "SOC values above 1 look like percent, but soc_units is 'fraction'")
        )
    bad("bulk_density_g_cm3", 0.05, 2.65, "g/cm3")
    bad("depth_cm", 0.0, 300.0, "cm", lo_open=True)
    bad("coarse_fraction", 0.0, 0.99, "(fraction)")
    return problems


class SoilCarbonModel(Model[SoilArgs]):
    """Soil organic carbon stock from samples, kriged to a raster with its variance."""

    name = "soil_carbon"
    args_type = SoilArgs
    inputs = (
        InputSpec("samples_path", "CSV x, y (map CRS), soc, bulk_density_g_cm3, depth_cm, coarse_fraction"),
        InputSpec("soc_units", "'percent' (%) or 'fraction' (g/g) for the soc column"),
        InputSpec("template_path", "raster defining the output grid", required=False),
        InputSpec("resolution_m", "cell size when no template is given", "m"),
    )
    outputs = (
        OutputSpec("soc_stock.tif", "kriged soil organic carbon stock", "t C/ha", "float32", SOIL_NODATA),
        OutputSpec("soc_variance.tif", "ordinary-kriging variance", "(t C/ha)^2", "float32", SOIL_NODATA),
    )

    def check(self, args: SoilArgs) -> list[Problem]:
        """Columns, value ranges and units, enough distinct locations, samples over the template."""
        problems: list[Problem] = []
        d = read_samples(args.samples_path, problems)
        if d is not None:
            problems += _range_problems(d, args.soc_units, "samples_path")
            n_loc = len({(x, y) for x, y in zip(d["x"], d["y"], strict=True)})
            if n_loc < 6:
                problems.append(
                    Problem("samples_path", f"{n_loc} distinct locations; kriging needs at least 6")
                )
        if args.template_path is not None:
            info = raster_info("template_path", args.template_path, problems)
            if info is not None and d is not None and len(d["x"]):
                left, bottom, right, top = info.bounds
                inside = (d["x"] >= left) & (d["x"] <= right) & (d["y"] >= bottom) & (d["y"] <= top)
                if not inside.any():
                    problems.append(
                        Problem("samples_path", "empty overlap: no sample lies within template_path")
                    )
        return problems

    def run(self, args: SoilArgs) -> SoilResult:
        """Stocks, variogram fit, LOO cross-validation and (with out_dir) the kriged rasters."""
        d = read_samples(args.samples_path, [])
        if d is None:  # check() read the same file without problems
            raise ValidationError([Problem("samples_path", "the samples could not be read")])
        stock = soc_stock(
            d["soc"], d["bulk_density_g_cm3"], d["depth_cm"], d["coarse_fraction"], args.soc_units
        )
        x, y = d["x"], d["y"]
        ok = OrdinaryKriging(x, y, stock, variogram_model=args.variogram_model, nlags=args.nlags)
        names = {
            "linear": ("slope", "nugget"),
        }.get(args.variogram_model, ("psill", "range", "nugget"))
        params = {n: float(v) for n, v in zip(names, ok.variogram_model_parameters, strict=False)}
        est = Krige(method="ordinary", variogram_model=args.variogram_model, nlags=args.nlags)
        loo = cross_val_predict(est, np.column_stack([x, y]), stock, cv=LeaveOneOut())
        err = loo - stock
        result = SoilResult(
            stocks_t_ha=[float(v) for v in stock],
            mean_stock_t_ha=float(stock.mean()),
            variogram_model=args.variogram_model,
            variogram_parameters=params,
            loo_rmse_t_ha=float(np.sqrt(np.mean(err**2))),
            loo_mean_error_t_ha=float(err.mean()),
            map_mean_t_ha=None,
            map_total_t=None,
            map_area_ha=None,
            mean_kriging_sd_t_ha=None,
            stock_path=None,
            variance_path=None,
        )
        if args.out_dir is not None:
            self._krige_to_raster(args, args.out_dir, ok, x, y, result)
        return result

    def _krige_to_raster(
        self,
        args: SoilArgs,
        out_dir: Path,
        ok: OrdinaryKriging,
        x: np.ndarray,
        y: np.ndarray,
        result: SoilResult,
    ) -> None:
        if args.template_path is not None:
            with rasterio.open(args.template_path) as t:
                transform, width, height, crs = t.transform, t.width, t.height, t.crs
        else:
            res = args.resolution_m
            x0, y1 = np.floor(x.min() / res) * res, np.ceil(y.max() / res) * res
            width = int(np.ceil((x.max() - x0) / res)) + 1
            height = int(np.ceil((y1 - y.min()) / res)) + 1
            transform, crs = from_origin(x0, y1, res, res), None
        xs = transform.c + transform.a * (np.arange(width) + 0.5)
        out_dir.mkdir(parents=True, exist_ok=True)
        profile = {
            "driver": "GTiff",
            "width": width,
            "height": height,
            "count": 1,
            "dtype": "float32",
            "crs": crs,
            "transform": transform,
            "nodata": SOIL_NODATA,
            "compress": "deflate",
        }
        sp, vp = out_dir / "soc_stock.tif", out_dir / "soc_variance.tif"
        total = sd_sum = 0.0
        n = 0
        with rasterio.open(sp, "w", **profile) as s_dst, rasterio.open(vp, "w", **profile) as v_dst:
            # row stripes keep kriging memory (n_samples x cells) bounded on large grids
            for r0 in range(0, height, args.block_rows):
                rows = min(args.block_rows, height - r0)
                ys = transform.f + transform.e * (np.arange(r0, r0 + rows) + 0.5)
                z, ss = ok.execute("grid", xs, ys)
                z = np.asarray(z, np.float32)
                ss = np.maximum(np.asarray(ss, np.float32), 0)
                win = rasterio.windows.Window(0, r0, width, rows)
                s_dst.write(z, 1, window=win)
                v_dst.write(ss, 1, window=win)
                total += float(z.sum())
                sd_sum += float(np.sqrt(ss).sum())
                n += z.size
        px_ha = abs(transform.a * transform.e) / 10_000.0
        result.map_mean_t_ha = total / n
        result.map_total_t = total * px_ha
        result.map_area_ha = n * px_ha
        result.mean_kriging_sd_t_ha = sd_sum / n
        result.stock_path, result.variance_path = sp, vp
