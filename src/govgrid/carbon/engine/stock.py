"""Carbon stock from land cover, InVEST 3.20 Carbon Storage and Sequestration compatible (碳储量).

Definitions (InVEST 3.20 ``natcap.invest.carbon``, user's guide "Carbon Storage and Sequestration"):

* storage per pixel (Mg C/ha) = c_above + c_below + c_soil + c_dead of the pixel's ``lucode``,
  summed in float32 in that order; land-cover nodata maps to nodata -1.
* change (sequestration, 固碳量) per pixel = storage_alt - storage_bas (Mg C/ha), nodata -1 where either
  input is nodata.
* valuation constant K = price / n x sum_{t=0}^{n-1} 1 / ((1 + r/100)^t (1 + c/100)^t), n = alt_year -
  bas_year, r the discount rate (%), c the annual price change (%); npv per pixel = change x K
  (currency/ha), nodata = float32 max (about 3.4e38).
* totals (Mg C, currency) = sum of valid pixel values x pixel area (m2) / 10,000. As in InVEST a valid
  pixel whose value equals the nodata value (a change of exactly -1 Mg C/ha) drops out of the totals.

Totals come from one pass over a baseline x alternate cross-tabulation (``np.bincount`` on combined
codes), so they need no output rasters at all.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from pydantic import Field, model_validator

from .crosstab import crosstab
from .pools import POOLS, PoolTable, read_pool_table
from .rasters import (
    RasterInfo,
    check_aligned,
    check_projected_metres,
    float_profile,
    map_blocks,
    progress_bar,
    raster_info,
    read_band,
    row_windows,
)
from .spec import ArgsModel, InputSpec, Model, OutputSpec, Problem

__all__ = [
    "CARBON_NODATA",
    "NPV_NODATA",
    "POOLS",
    "CarbonStockModel",
    "StockArgs",
    "StockResult",
    "crosstab",
    "read_pool_table",
    "run_stock",
    "valuation_constant",
]

CARBON_NODATA = -1.0
NPV_NODATA = float(np.finfo(np.float32).max)
OUTPUT_NAMES = {
    "c_storage_bas": "c_storage_bas.tif",
    "c_storage_alt": "c_storage_alt.tif",
    "c_change_bas_alt": "c_change_bas_alt.tif",
    "npv_alt": "npv_alt.tif",
    "summary": "summary.json",
}
MAX_LUT = 1 << 24  # land-cover code ranges wider than this are refused rather than using huge tables


def valuation_constant(
    bas_year: int, alt_year: int, discount_rate: float, rate_change: float, price: float
) -> float:
    """InVEST's NPV multiplier: price/n x sum_{t=0}^{n-1} [(1+r/100)(1+c/100)]^-t."""
    n = alt_year - bas_year
    ratio = 1.0 / ((1.0 + discount_rate / 100.0) * (1.0 + rate_change / 100.0))
    # closed form of the geometric sum; its limit n when ratio == 1
    total = float(n) if ratio == 1.0 else (1.0 - ratio**n) / (1.0 - ratio)
    return price / n * total


class StockArgs(ArgsModel):
    """Typed inputs of the stock model (InVEST argument names, shortened)."""

    lulc_bas_path: Path
    lulc_alt_path: Path | None = None
    carbon_pools_path: Path
    out_dir: Path | None = None
    bas_year: int | None = None
    alt_year: int | None = None
    price_per_metric_ton_of_c: float | None = None
    discount_rate: float | None = None
    rate_change: float | None = None
    totals_only: bool = False
    scheduler: str | None = None
    block_rows: int = Field(default=512, ge=1)
    workers: int | None = Field(default=None, ge=1)
    compress: str = "lzw"
    progress: bool = False

    @model_validator(mode="after")
    def _need_out_dir(self) -> StockArgs:
        if self.out_dir is None and not self.totals_only:
            raise ValueError("out_dir is required unless totals_only is set")
        return self

    @property
    def do_valuation(self) -> bool:
        """Valuation runs when a price is given."""
        return self.price_per_metric_ton_of_c is not None


@dataclass
class StockResult:
    """Totals in Mg C (and currency for npv), plus where the outputs went."""

    storage_bas: float
    storage_alt: float | None
    change: float | None
    npv: float | None
    valuation_constant: float | None
    pixel_area_ha: float
    area_ha: float
    transitions: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The ``summary.json`` document."""
        doc = asdict(self)
        doc["units"] = {
            "storage_bas": "Mg C",
            "storage_alt": "Mg C",
            "change": "Mg C",
            "npv": "currency",
            "area_ha": "ha",
            "rasters": "Mg C/ha (npv: currency/ha)",
        }
        return doc


def _lut(
    info_dtype: str, values: dict[int, np.float32], vmin: int, vmax: int
) -> tuple[np.ndarray, int, str | None]:
    """A float32 look-up table from code to storage; -1 everywhere else (nodata)."""
    dt = np.dtype(info_dtype)
    if dt.itemsize <= 2:
        # index by the unsigned view so negative codes wrap instead of needing an offset
        udt = np.dtype(f"u{dt.itemsize}")
        lut = np.full(1 << (8 * dt.itemsize), CARBON_NODATA, np.float32)
        for code, v in values.items():
            lut[np.array(code, dtype=dt).astype(udt)] = v
        return lut, 0, udt.str
    lut = np.full(vmax - vmin + 1, CARBON_NODATA, np.float32)
    for code, v in values.items():
        if vmin <= code <= vmax:
            lut[code - vmin] = v
    return lut, vmin, None


def _apply_lut(arr: np.ndarray, lut: np.ndarray, offset: int, view: str | None) -> np.ndarray:
    if view is not None:
        return lut[arr.astype(view)]
    return lut[arr.astype(np.int64) - offset]


def _storage_block(
    task: tuple,
) -> tuple[Any, np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Storage, change and npv arrays for one window."""
    bas_path, alt_path, window, lut_b, lut_a, k = task
    sb = _apply_lut(read_band(bas_path, window), *lut_b)
    if alt_path is None:
        return window, sb, None, None, None
    sa = _apply_lut(read_band(alt_path, window), *lut_a)
    valid = (sb != CARBON_NODATA) & (sa != CARBON_NODATA)
    change = np.where(valid, sa - sb, np.float32(CARBON_NODATA)).astype(np.float32, copy=False)
    npv = None
    if k is not None:
        # InVEST derives npv from the change raster, so change == -1 counts as nodata there too
        npv = np.where(change != CARBON_NODATA, change * np.float32(k), np.float32(NPV_NODATA)).astype(
            np.float32
        )
    return window, sb, sa, change, npv


def _valuation(args: StockArgs) -> float | None:
    """The NPV multiplier when a price is given (check() made sure the years and rates come with it)."""
    price, r, c = args.price_per_metric_ton_of_c, args.discount_rate, args.rate_change
    if price is None or args.bas_year is None or args.alt_year is None or r is None or c is None:
        return None
    return valuation_constant(args.bas_year, args.alt_year, r, c, price)


def _file_key(path: Path) -> tuple[str, int, int]:
    """A file's identity for the scan cache: path, modification time, size."""
    st = path.stat()
    return str(path), st.st_mtime_ns, st.st_size


class CarbonStockModel(Model[StockArgs]):
    """Carbon storage, sequestration and valuation from two land-cover maps and a pool table."""

    name = "carbon_stock"
    args_type = StockArgs
    inputs = (
        InputSpec("lulc_bas_path", "baseline land-cover raster (integer codes, projected CRS in metres)"),
        InputSpec("lulc_alt_path", "alternate land-cover raster on the same grid", required=False),
        InputSpec("carbon_pools_path", "CSV: lucode, c_above, c_below, c_soil, c_dead", units="Mg C/ha"),
        InputSpec("bas_year", "calendar year of the baseline map", units="year AD", required=False),
        InputSpec("alt_year", "calendar year of the alternate map", units="year AD", required=False),
        InputSpec("price_per_metric_ton_of_c", "price of carbon", units="currency/Mg C", required=False),
        InputSpec("discount_rate", "annual market discount rate", units="%", required=False),
        InputSpec("rate_change", "annual change in the price of carbon", units="%", required=False),
    )
    outputs = (
        OutputSpec("c_storage_bas.tif", "baseline carbon storage", "Mg C/ha", "float32", CARBON_NODATA),
        OutputSpec("c_storage_alt.tif", "alternate carbon storage", "Mg C/ha", "float32", CARBON_NODATA),
        OutputSpec(
            "c_change_bas_alt.tif", "alternate minus baseline storage", "Mg C/ha", "float32", CARBON_NODATA
        ),
        OutputSpec("npv_alt.tif", "net present value of the change", "currency/ha", "float32", NPV_NODATA),
        OutputSpec("summary.json", "totals storage_bas, storage_alt, change (Mg C) and npv (currency)"),
    )

    def __init__(self) -> None:
        self._scan_cache: dict[tuple, dict[tuple[int, int], int]] = {}
        self._pools: PoolTable | None = None
        self._infos: tuple[RasterInfo, RasterInfo | None] | None = None

    def _scan(self, args: StockArgs) -> dict[tuple[int, int], int]:
        key = tuple(_file_key(p) for p in (args.lulc_bas_path, args.lulc_alt_path) if p)
        if key not in self._scan_cache:
            self._scan_cache = {
                key: crosstab(
                    args.lulc_bas_path,
                    args.lulc_alt_path,
                    block_rows=args.block_rows,
                    scheduler=args.scheduler,
                    workers=args.workers,
                    progress=args.progress,
                )
            }
        return self._scan_cache[key]

    def check(self, args: StockArgs) -> list[Problem]:
        """Header, alignment, table, range and class-coverage checks; all problems at once."""
        problems: list[Problem] = []
        bas = raster_info("lulc_bas_path", args.lulc_bas_path, problems)
        alt = raster_info("lulc_alt_path", args.lulc_alt_path, problems)
        for key, info in (("lulc_bas_path", bas), ("lulc_alt_path", alt)):
            if info is None:
                continue
            if np.dtype(info.dtype).kind not in "iu":
                problems.append(Problem(key, f"land-cover raster must hold integer codes, not {info.dtype}"))
            check_projected_metres(key, info, problems)
        if bas is not None and alt is not None:
            check_aligned("lulc_bas_path", bas, "lulc_alt_path", alt, problems)
        pools = read_pool_table(args.carbon_pools_path, "carbon_pools_path", problems)
        if args.do_valuation:
            if args.lulc_alt_path is None:
                problems.append(Problem("lulc_alt_path", "valuation needs an alternate land-cover map"))
            for k in ("bas_year", "alt_year", "discount_rate", "rate_change"):
                if getattr(args, k) is None:
                    problems.append(Problem(k, "required when a price is given (valuation)"))
            if args.price_per_metric_ton_of_c is not None and args.price_per_metric_ton_of_c < 0:
                problems.append(Problem("price_per_metric_ton_of_c", "out of range: price must be >= 0"))
        if args.bas_year is not None and args.alt_year is not None and args.alt_year <= args.bas_year:
            problems.append(
                Problem("alt_year", f"out of range: {args.alt_year} must be after bas_year {args.bas_year}")
            )
        for k in ("discount_rate", "rate_change"):
            v = getattr(args, k)
            if v is not None and not (-100.0 < v <= 1000.0):
                problems.append(Problem(k, f"out of range: {v}% (expected > -100 and <= 1000)"))
        int_ok = {
            key: info is not None and np.dtype(info.dtype).kind in "iu"
            for key, info in (("lulc_bas_path", bas), ("lulc_alt_path", alt))
        }
        aligned = not any(p.key == "lulc_alt_path" for p in problems)
        # class coverage and nodata need the pixels: one cross-tabulation pass (cached for execute when
        # the pair is aligned; each raster alone otherwise, so its own problems are still reported)
        present: dict[str, set[int]] = {}
        if int_ok["lulc_bas_path"] and (args.lulc_alt_path is None or (int_ok["lulc_alt_path"] and aligned)):
            table = self._scan(args)
            present["lulc_bas_path"] = {pair[0] for pair in table}
            if args.lulc_alt_path is not None:
                present["lulc_alt_path"] = {pair[1] for pair in table}
        else:
            for key, path in (("lulc_bas_path", args.lulc_bas_path), ("lulc_alt_path", args.lulc_alt_path)):
                if int_ok[key] and path is not None:
                    single = crosstab(path, None, block_rows=args.block_rows, workers=args.workers)
                    present[key] = {pair[0] for pair in single}
        for key, info in (("lulc_bas_path", bas), ("lulc_alt_path", alt)):
            if key not in present or info is None:
                continue
            codes = present[key]
            nodata = None
            if info.nodata is not None and float(info.nodata).is_integer():
                nodata = int(info.nodata)
            data_codes = codes - ({nodata} if nodata is not None else set())
            if not data_codes:
                problems.append(Problem(key, "raster holds only nodata pixels"))
            if pools is not None:
                missing = sorted(data_codes - set(pools.pools))
                if missing:
                    shown = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
                    problems.append(Problem(key, f"classes missing from the carbon pool table: {shown}"))
                if nodata is not None and nodata in pools.pools:
                    problems.append(Problem(key, f"nodata value {nodata} is also a lucode in the pool table"))
            if len(codes) > 1 and max(codes) - min(codes) >= MAX_LUT:
                problems.append(Problem(key, f"land-cover codes span more than {MAX_LUT} values"))
        self._pools = pools
        self._infos = (bas, alt) if bas is not None else None
        return problems

    def run(self, args: StockArgs) -> StockResult:
        """Compute totals from the cross-tabulation and, unless totals_only, write the four rasters."""
        if self._pools is None or self._infos is None:
            raise RuntimeError("run() needs the pools and rasters check() read: call execute()")
        bas, alt = self._infos
        table = self._scan(args)
        per_class = self._pools.totals32()
        nod_b = bas.nodata
        nod_a = alt.nodata if alt else None

        def stor(code: int, nod: float | None) -> np.float32:
            if nod is not None and code == nod:
                return np.float32(CARBON_NODATA)
            return per_class[code]

        k = _valuation(args)
        tot_b = tot_a = tot_c = tot_n = 0.0
        transitions = []
        px = bas.pixel_area_ha
        n_valid = 0
        for (bv, av), cnt in sorted(table.items()):
            sb = stor(bv, nod_b)
            if sb != CARBON_NODATA:
                tot_b += float(sb) * cnt
                n_valid += cnt
            if alt is None:
                continue
            sa = stor(av, nod_a)
            if sa != CARBON_NODATA:
                tot_a += float(sa) * cnt
            if sb != CARBON_NODATA and sa != CARBON_NODATA:
                ch = np.float32(sa - sb)
                if ch != CARBON_NODATA:
                    tot_c += float(ch) * cnt
                    if k is not None:
                        tot_n += float(np.float32(ch * np.float32(k))) * cnt
                transitions.append({"lucode_bas": bv, "lucode_alt": av, "pixels": cnt, "area_ha": cnt * px})
        result = StockResult(
            storage_bas=tot_b * px,
            storage_alt=tot_a * px if alt else None,
            change=tot_c * px if alt else None,
            npv=tot_n * px if k is not None else None,
            valuation_constant=k,
            pixel_area_ha=px,
            area_ha=n_valid * px,
            transitions=transitions,
        )
        if not args.totals_only and args.out_dir is not None:  # StockArgs requires out_dir here
            result.outputs = self._write(args, args.out_dir, bas, alt, per_class, k)
        if args.out_dir is not None:
            args.out_dir.mkdir(parents=True, exist_ok=True)
            summary_path = args.out_dir / OUTPUT_NAMES["summary"]
            result.outputs["summary"] = str(summary_path)
            summary_path.write_text(json.dumps(result.summary(), indent=2))
        return result

    def _write(
        self,
        args: StockArgs,
        out: Path,
        bas: RasterInfo,
        alt: RasterInfo | None,
        per_class: dict[int, np.float32],
        k: float | None,
    ) -> dict[str, str]:
        """Write the storage, change and npv rasters block by block; their paths by output name."""
        out.mkdir(parents=True, exist_ok=True)
        codes = list(per_class)
        vmin, vmax = min(codes), max(codes)
        lut_b = _lut(bas.dtype, per_class, vmin, vmax)
        lut_a = _lut(alt.dtype, per_class, vmin, vmax) if alt else None
        # Rows per block a multiple of the 256-pixel output tiles so whole tiles are flushed each time
        rows = max(256, (args.block_rows // 256) * 256)
        windows = row_windows(bas.width, bas.height, rows)
        tasks = [
            (str(args.lulc_bas_path), str(args.lulc_alt_path) if alt else None, w, lut_b, lut_a, k)
            for w in windows
        ]
        names = (
            ["c_storage_bas"]
            + (["c_storage_alt", "c_change_bas_alt"] if alt else [])
            + (["npv_alt"] if k is not None else [])
        )
        paths = {n: out / OUTPUT_NAMES[n] for n in names}
        dsts = {
            n: rasterio.open(
                p, "w", **float_profile(bas, NPV_NODATA if n == "npv_alt" else CARBON_NODATA, args.compress)
            )
            for n, p in paths.items()
        }
        try:
            with progress_bar("writing carbon rasters", len(tasks), args.progress) as advance:
                for window, sb, sa, change, npv in map_blocks(
                    _storage_block, tasks, scheduler=args.scheduler, workers=args.workers
                ):
                    dsts["c_storage_bas"].write(sb, 1, window=window)
                    if alt:
                        dsts["c_storage_alt"].write(sa, 1, window=window)
                        dsts["c_change_bas_alt"].write(change, 1, window=window)
                    if k is not None and alt:
                        dsts["npv_alt"].write(npv, 1, window=window)
                    advance(1)
        finally:
            for d in dsts.values():
                d.close()
        return {n: str(p) for n, p in paths.items()}


def run_stock(**kwargs: Any) -> StockResult:
    """Convenience: validate and execute the stock model with keyword arguments."""
    return CarbonStockModel().execute(kwargs)
