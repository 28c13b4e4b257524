"""Benchmark: govgrid carbon stock engine vs InVEST 3.20 Carbon on the same land-cover pair.

Generates baseline/alternate int16 LZW rasters (10 m, 6 wetland classes) in a work dir, then times
our full run (four rasters + summary), our totals-only run, the I/O floor (decode inputs; decode
inputs + write the same four outputs), and, where available, InVEST's ``carbon.execute`` (run in the
venv given by ``--invest-python``, n_workers=-1, fresh workspace, import time excluded). Reports ratios,
total agreement (1e-6 relative) and pixel identity of storage/change rasters.

    python bench/carbon_stock.py --size 8000 --invest-python /tmp/invest-venv/bin/python
    python bench/carbon_stock.py --mosaic --size 30000      # Dask LocalCluster, peak RSS
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

from govgrid.carbon.engine.rasters import row_windows
from govgrid.carbon.engine.stock import CarbonStockModel

POOLS = "lucode,c_above,c_below,c_soil,c_dead\n1,0,0,40,0\n2,0.5,0.3,50,0\n3,8,6,95,2\n4,4,4,85,1\n5,45,11,70,4\n6,3,1,60,0.5\n"
YEARS = (2018, 2023)
VAL = {"price_per_metric_ton_of_c": 50.0, "discount_rate": 5.0, "rate_change": 2.0}

INVEST_SCRIPT = r"""
import json, sys, time
from natcap.invest import carbon
args = json.loads(sys.argv[1])
t = time.perf_counter()
carbon.execute(args)
print(json.dumps({"seconds": time.perf_counter() - t}))
"""


def make_inputs(work: Path, size: int, seed: int = 1) -> tuple[Path, Path, Path]:
    """Blocky class patterns (like classified imagery) written block-wise so large sizes fit in memory."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(1, 7, (size // 40 + 2, size // 40 + 2)).astype(np.int16)
    flips = rng.random(coarse.shape) < 0.2
    coarse_alt = np.where(flips, rng.integers(1, 7, coarse.shape), coarse).astype(np.int16)
    prof = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 1,
        "dtype": "int16",
        "crs": "EPSG:32649",
        "transform": from_origin(600000, 3300000, 10, 10),
        "nodata": -1,
        "compress": "lzw",
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "BIGTIFF": "IF_SAFER",
    }
    paths = []
    for name, grid in (("lulc_bas.tif", coarse), ("lulc_alt.tif", coarse_alt)):
        p = work / name
        paths.append(p)
        if p.exists():
            continue
        with rasterio.open(p, "w", **prof) as dst:
            for w in row_windows(size, size, 1024):
                rows = np.arange(w.row_off, w.row_off + w.height) // 40
                block = grid[rows][:, np.arange(size) // 40]
                noise = rng.random(block.shape) < 0.03
                block = np.where(noise, rng.integers(1, 7, block.shape), block).astype(np.int16)
                dst.write(block, 1, window=w)
    pools = work / "pools.csv"
    pools.write_text(POOLS)
    return paths[0], paths[1], pools


def ours(bas: Path, alt: Path, pools: Path, out: Path, totals_only: bool, **kw) -> tuple[float, dict]:
    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    res = CarbonStockModel().execute(
        {
            "lulc_bas_path": bas,
            "lulc_alt_path": alt,
            "carbon_pools_path": pools,
            "out_dir": out,
            "bas_year": YEARS[0],
            "alt_year": YEARS[1],
            "totals_only": totals_only,
            **VAL,
            **kw,
        }
    )
    return time.perf_counter() - t, {
        k: getattr(res, k) for k in ("storage_bas", "storage_alt", "change", "npv")
    }


def floor(bas: Path, alt: Path, out: Path, write: bool, compress: str) -> float:
    """Decode the inputs (and optionally write four float32 outputs of the same profile)."""
    out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    with rasterio.open(bas) as a, rasterio.open(alt) as b:
        prof = {
            **a.profile,
            "dtype": "float32",
            "compress": compress,
            "num_threads": "ALL_CPUS",
            "nodata": -1,
        }
        dsts = [rasterio.open(out / f"f{i}.tif", "w", **prof) for i in range(4)] if write else []
        for w in row_windows(a.width, a.height, 512):
            x = a.read(1, window=w)
            y = b.read(1, window=w)
            if write:
                arr = (x + y).astype(np.float32)
                for d in dsts:
                    d.write(arr, 1, window=w)
        for d in dsts:
            d.close()
    return time.perf_counter() - t


def invest(py: str, bas: Path, alt: Path, pools: Path, ws: Path) -> tuple[float, dict] | None:
    shutil.rmtree(ws, ignore_errors=True)
    args = {
        "workspace_dir": str(ws),
        "lulc_bas_path": str(bas),
        "lulc_alt_path": str(alt),
        "carbon_pools_path": str(pools),
        "calc_sequestration": True,
        "do_valuation": True,
        "lulc_bas_year": YEARS[0],
        "lulc_alt_year": YEARS[1],
        "n_workers": -1,
        **VAL,
    }
    proc = subprocess.run([py, "-c", INVEST_SCRIPT, json.dumps(args)], capture_output=True, text=True)
    if proc.returncode != 0:
        print("InVEST failed:", proc.stderr[-2000:])
        return None
    secs = json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]
    totals = {}
    for key, name in (
        ("storage_bas", "c_storage_bas.tif"),
        ("storage_alt", "c_storage_alt.tif"),
        ("change", "c_change_bas_alt.tif"),
        ("npv", "npv_alt.tif"),
    ):
        tot = 0.0
        with rasterio.open(ws / name) as src:
            px = abs(src.transform.a * src.transform.e) / 10_000
            for w in row_windows(src.width, src.height, 1024):
                v = src.read(1, window=w)
                tot += float(v[v != src.nodata].sum(dtype=np.float64))
        totals[key] = tot * px
    return secs, totals


def identical(a: Path, b: Path) -> bool:
    with rasterio.open(a) as x, rasterio.open(b) as y:
        if x.nodata != y.nodata:
            return False
        return all(
            np.array_equal(x.read(1, window=w), y.read(1, window=w))
            for w in row_windows(x.width, x.height, 1024)
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=8000)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "govgrid-bench-carbon")
    ap.add_argument("--invest-python", default=None, help="python of a venv with natcap.invest")
    ap.add_argument("--compress", default="lzw")
    ap.add_argument(
        "--mosaic", action="store_true", help="run through a Dask LocalCluster and report peak RSS"
    )
    a = ap.parse_args()
    work = a.work / str(a.size)
    work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    bas, alt, pools = make_inputs(work, a.size)
    print(f"inputs {a.size}x{a.size} ready in {time.perf_counter() - t:.1f}s at {work}")
    rows = []
    if a.mosaic:
        from dask.distributed import LocalCluster

        with LocalCluster(
            n_workers=2, threads_per_worker=1, memory_limit="2GB", dashboard_address=None
        ) as cl:
            secs, tot = ours(
                bas,
                alt,
                pools,
                work / "ours_mosaic",
                False,
                scheduler=cl.scheduler_address,
                compress=a.compress,
            )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"mosaic_seconds": secs, "client_peak_rss_mb": peak, "totals": tot}, indent=2))
        return
    full_s, full_tot = ours(bas, alt, pools, work / "ours", False, compress=a.compress)
    tot_s, tot_tot = ours(bas, alt, pools, work / "ours_totals", True)
    dec = floor(bas, alt, work / "floor", False, a.compress)
    io = floor(bas, alt, work / "floor", True, a.compress)
    rows += [
        ("ours: four rasters", full_s),
        ("ours: totals only", tot_s),
        ("floor: decode inputs", dec),
        ("floor: decode + write 4", io),
    ]
    inv = None
    py = a.invest_python or (sys.executable if _has_invest(sys.executable) else None)
    if py:
        inv = invest(py, bas, alt, pools, work / "invest")
    print(f"\n{'run':28s} {'seconds':>9s}")
    for name, s in rows:
        print(f"{name:28s} {s:9.2f}")
    print(
        f"\nours full / decode floor      {full_s / dec:6.2f}x   (target <= 1.5x of decode+write floor: {full_s / io:.2f}x)"
    )
    print(f"ours totals / decode floor    {tot_s / dec:6.2f}x   (target <= 1.5x)")
    if inv is None:
        print("\nInVEST: not available (give --invest-python PATH of a venv with natcap.invest)")
        return
    inv_s, inv_tot = inv
    print(f"{'InVEST 3.20 carbon.execute':28s} {inv_s:9.2f}")
    print(f"\nInVEST / ours full            {inv_s / full_s:6.2f}x   (target >= 8x)")
    print(f"InVEST / ours totals only     {inv_s / tot_s:6.2f}x   (target >= 25x)")
    for k in ("storage_bas", "storage_alt", "change", "npv"):
        rel = abs(full_tot[k] - inv_tot[k]) / max(1e-12, abs(inv_tot[k]))
        rel2 = abs(tot_tot[k] - inv_tot[k]) / max(1e-12, abs(inv_tot[k]))
        print(
            f"total {k:12s} ours {full_tot[k]:.6e} InVEST {inv_tot[k]:.6e} rel.diff {rel:.1e} (totals-only {rel2:.1e}) {'OK' if max(rel, rel2) <= 1e-6 else 'DIFFERS'}"
        )
    for name in ("c_storage_bas.tif", "c_storage_alt.tif", "c_change_bas_alt.tif", "npv_alt.tif"):
        same = identical(work / "ours" / name, work / "invest" / name)
        print(f"{name:24s} pixel-identical: {same}")


def _has_invest(py: str) -> bool:
    return subprocess.run([py, "-c", "import natcap.invest"], capture_output=True).returncode == 0 and bool(
        os.environ.get("GOVGRID_BENCH_INVEST", "1")
    )


if __name__ == "__main__":
    main()
