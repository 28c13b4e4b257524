"""Block-wise raster plumbing: input checks, row-stripe windows, progress, and local or Dask execution.

Every raster model reads and writes through windows so inputs larger than memory work; the block
function is a plain picklable callable, so the same code runs on local threads or on a Dask cluster
(``dask.distributed.Client(address)``).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.windows import Window
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from .spec import Problem

INTEGER_KINDS = ("i", "u")


@dataclass(frozen=True)
class RasterInfo:
    """What validation needs to know about a raster without reading its pixels."""

    path: Path
    crs: Any
    transform: Any
    width: int
    height: int
    count: int
    dtype: str
    nodata: float | None
    bounds: tuple[float, float, float, float]

    @property
    def res(self) -> tuple[float, float]:
        """Pixel size (x, y) in CRS units, positive."""
        return abs(self.transform.a), abs(self.transform.e)

    @property
    def pixel_area_ha(self) -> float:
        """Pixel area in hectares (CRS assumed in metres)."""
        return abs(self.transform.a * self.transform.e) / 10_000.0


def raster_info(key: str, path: Path | str | None, problems: list[Problem]) -> RasterInfo | None:
    """Open a raster's header, appending a problem under ``key`` when it cannot be read."""
    if path is None:
        return None
    p = Path(path)
    if not p.exists():
        problems.append(Problem(key, f"file not found: {p}"))
        return None
    try:
        with rasterio.open(p) as src:
            return RasterInfo(
                p,
                src.crs,
                src.transform,
                src.width,
                src.height,
                src.count,
                src.dtypes[0],
                src.nodata,
                tuple(src.bounds),
            )
    except rasterio.errors.RasterioIOError as exc:
        problems.append(Problem(key, f"not a readable raster: {exc}"))
        return None


def check_projected_metres(key: str, info: RasterInfo, problems: list[Problem]) -> None:
    """Area-based outputs need a projected CRS in metres."""
    if info.crs is None:
        problems.append(Problem(key, "raster has no coordinate reference system"))
    elif not info.crs.is_projected:
        problems.append(Problem(key, f"CRS {info.crs.to_string()} is not projected; pixel areas need metres"))
    else:
        factor = info.crs.linear_units_factor[1] if info.crs.linear_units_factor else 1.0
        if abs(factor - 1.0) > 1e-9:
            problems.append(Problem(key, f"CRS linear unit is not the metre (factor {factor})"))


def check_aligned(
    ref_key: str, ref: RasterInfo, key: str, other: RasterInfo, problems: list[Problem]
) -> None:
    """Report CRS, resolution, overlap and grid mismatches of ``other`` against ``ref``."""
    if ref.crs != other.crs:
        problems.append(Problem(key, f"CRS mismatch: {other.crs} differs from {ref_key}'s {ref.crs}"))
        return
    if not np.allclose(ref.res, other.res, rtol=1e-9):
        problems.append(Problem(key, f"resolution mismatch: {other.res} differs from {ref_key}'s {ref.res}"))
    l1, b1, r1, t1 = ref.bounds
    l2, b2, r2, t2 = other.bounds
    if min(r1, r2) <= max(l1, l2) or min(t1, t2) <= max(b1, b2):
        problems.append(
            Problem(key, f"empty overlap: extent {other.bounds} does not intersect {ref_key}'s {ref.bounds}")
        )
        return
    if (ref.width, ref.height) != (other.width, other.height) or not ref.transform.almost_equals(
        other.transform
    ):
        problems.append(
            Problem(
                key,
                f"grid not aligned with {ref_key} ({other.width}x{other.height} at {other.bounds[:2]} vs "
                f"{ref.width}x{ref.height} at {ref.bounds[:2]}); resample to the same grid first",
            )
        )


def row_windows(width: int, height: int, rows: int) -> list[Window]:
    """Full-width row stripes of ``rows`` rows: few, large reads keep decoding efficient."""
    return [Window(0, r, width, min(rows, height - r)) for r in range(0, height, rows)]


def tile_windows(width: int, height: int, size: int) -> list[Window]:
    """Square tiles for mosaics too wide for a full-width stripe to fit comfortably in memory."""
    return [
        Window(c, r, min(size, width - c), min(size, height - r))
        for r in range(0, height, size)
        for c in range(0, width, size)
    ]


@contextmanager
def progress_bar(description: str, total: int, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """A rich progress bar; yields an ``advance(n)`` callable."""
    if not enabled:

        def skip(n: int = 1) -> None:
            return None

        yield skip
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    ) as prog:
        task = prog.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            prog.update(task, advance=n)

        yield advance


def map_blocks(
    fn: Callable[..., Any],
    items: Sequence[Any],
    *,
    scheduler: str | None = None,
    client: Any = None,
    workers: int | None = None,
    max_in_flight: int | None = None,
) -> Iterator[Any]:
    """Apply ``fn`` to each item, yielding results in order with a bounded number in flight.

    Locally a thread pool is used (GDAL and numpy release the GIL); with a scheduler address or a
    ``dask.distributed.Client`` the same function runs on the cluster's workers.
    """
    workers = workers or min(4, os.cpu_count() or 1)
    window = max_in_flight or 2 * workers
    if scheduler is not None or client is not None:
        from dask.distributed import Client

        own = client is None
        cl = client if client is not None else Client(scheduler)
        try:
            window = max_in_flight or 2 * max(1, len(cl.nthreads()))
            yield from _bounded(lambda it: cl.submit(fn, it, pure=False), lambda f: f.result(), items, window)
        finally:
            if own:
                cl.close()
        return
    if workers == 1:
        for it in items:
            yield fn(it)
        return
    with ThreadPoolExecutor(workers) as pool:
        yield from _bounded(lambda it: pool.submit(fn, it), lambda f: f.result(), items, window)


def _bounded(submit: Callable, result: Callable, items: Iterable[Any], window: int) -> Iterator[Any]:
    """Keep at most ``window`` submissions pending so memory stays bounded."""
    pending: deque = deque()
    for it in items:
        pending.append(submit(it))
        if len(pending) >= window:
            yield result(pending.popleft())
    while pending:
        yield result(pending.popleft())


def float_profile(
    info: RasterInfo, nodata: float, compress: str | None, blocksize: int = 256
) -> dict[str, Any]:
    """GeoTIFF profile for a float32 output on the same grid as ``info``."""
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": info.width,
        "height": info.height,
        "count": 1,
        "dtype": "float32",
        "crs": info.crs,
        "transform": info.transform,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": blocksize,
        "blockysize": blocksize,
        "BIGTIFF": "IF_SAFER",
    }
    if compress and compress.lower() != "none":
        profile["compress"] = compress
        profile["num_threads"] = "ALL_CPUS"
    return profile


def read_band(path: Path | str, window: Window | None = None) -> np.ndarray:
    """Read band 1 (optionally a window) of a raster."""
    with rasterio.open(path) as src:
        return src.read(1, window=window)
