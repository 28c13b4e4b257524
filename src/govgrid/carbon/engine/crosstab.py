"""Baseline x alternate cross-tabulation of land-cover codes: pixel counts per (baseline, alternate) pair.

One block-wise pass over both rasters, in threads (GDAL releases the GIL while decoding) or as Dask tasks. The
stock model's totals, class coverage and nodata checks all come from this table, so totals need no output
rasters at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from .rasters import map_blocks, progress_bar, read_band, row_windows

CHUNK = 1 << 16  # pixels per combined-code pass (wide codes), so the scratch stays in cache
CHUNK16 = 3 << 17  # pixels per pass for 8/16-bit codes (a multiple of 2 and 3, see PACK)
# with at most this many pair codes, k neighbouring pixels are counted as one code (k, max codes)
PACK = ((3, 40), (2, 128))


def count_pairs(b: np.ndarray, a: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Counts of (baseline, alternate) code pairs in one block: ``(pairs[n, 2], counts[n])``.

    The codes are shifted to the block's own range and combined as ``(b - bmin) * na + (a - amin)``
    chunk by chunk in cache-sized scratch arrays and counted with ``np.bincount``: integer work only,
    no full-size temporaries. Code ranges too wide for a dense count fall back to ``np.unique``.
    """
    b = b.reshape(-1)
    a = a.reshape(-1) if a is not None else None
    bmin, bmax = int(b.min()), int(b.max())
    amin, amax = (int(a.min()), int(a.max())) if a is not None else (0, 0)
    na = amax - amin + 1
    nbins = (bmax - bmin + 1) * na
    narrow = b.dtype.itemsize <= 2 and (a is None or a.dtype.itemsize <= 2)
    wide = b.dtype.itemsize > 4 or (a is not None and a.dtype.itemsize > 4)
    if nbins > 1 << 22 or wide:
        code = b.astype(np.int64) - bmin
        if a is not None:
            code = code * na + (a.astype(np.int64) - amin)
        keys, cnt = np.unique(code, return_counts=True)
    else:
        if narrow and nbins <= 1 << 15:
            counts = _counts_int16(b, a, bmin, amin, na, nbins)
        else:
            counts = _counts_intp(b, a, bmin, amin, na, nbins)
        keys = np.flatnonzero(counts)
        cnt = counts[keys]
    pairs = np.stack([keys // na + bmin, keys % na + amin], axis=1)
    return pairs, cnt


def _counts_int16(
    b: np.ndarray, a: np.ndarray | None, bmin: int, amin: int, na: int, nbins: int
) -> np.ndarray:
    """Dense pair counts for 8/16-bit codes whose combined range fits in int16.

    ``y = b * na + a - (bmin * na + amin)`` is computed in int16; it wraps modulo 2**16, which is
    exact because every final code lies in [0, nbins). With few codes, ``k`` neighbouring pixels form
    one code ``(y0 * nbins + y1) * nbins + ...``, cutting the ``bincount`` work by ``k``; the
    per-pixel counts are the sums of the k marginals of that table.
    """
    i16 = np.int16
    offset = np.array(bmin * na + amin, np.int64).astype(i16)
    k = next((k for k, most in PACK if nbins <= most), 1)
    counts = np.zeros(nbins, np.int64)
    table = np.zeros(nbins**k, np.int64) if k > 1 else counts
    y0 = np.empty(min(CHUNK16, b.size), i16)
    z0 = np.empty(y0.size // k + 1, np.intp)
    for s in range(0, b.size, y0.size):
        bs = b[s : s + y0.size]
        y = y0[: bs.size]
        if a is None:
            np.subtract(bs, offset, out=y, dtype=i16, casting="unsafe")
        else:
            np.multiply(bs, i16(na), out=y, dtype=i16, casting="unsafe")
            np.add(y, a[s : s + y0.size], out=y, dtype=i16, casting="unsafe")
            y -= offset
        if k == 1:
            counts += np.bincount(y, minlength=nbins)
            continue
        h = y.size // k
        z = z0[:h]
        np.copyto(z, y[0 : k * h : k], casting="unsafe")
        for j in range(1, k):
            z *= nbins
            np.add(z, y[j : k * h : k], out=z, dtype=np.intp, casting="unsafe")
        table += np.bincount(z, minlength=table.size)
        if y.size > k * h:
            counts += np.bincount(y[k * h :], minlength=nbins)
    if k > 1:
        cube = table.reshape((nbins,) * k)
        for axis in range(k):
            counts += cube.sum(axis=tuple(i for i in range(k) if i != axis))
    return counts


def _counts_intp(
    b: np.ndarray, a: np.ndarray | None, bmin: int, amin: int, na: int, nbins: int
) -> np.ndarray:
    """Dense pair counts for codes up to 32 bits (``b * na + a`` cannot overflow int64)."""
    counts = np.zeros(nbins, np.int64)
    offset = bmin * na + amin
    y0 = np.empty(min(CHUNK, b.size), np.intp)
    for s in range(0, b.size, y0.size):
        bs = b[s : s + y0.size]
        y = y0[: bs.size]
        np.multiply(bs, na, out=y, dtype=np.intp, casting="unsafe")
        if a is not None:
            np.add(y, a[s : s + y0.size], out=y, dtype=np.intp, casting="unsafe")
        if offset:
            y -= offset
        counts += np.bincount(y, minlength=nbins)
    return counts


def _crosstab_block(task: tuple[str, str | None, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Counts of (baseline, alternate) code pairs in one window (opens the files: for Dask workers)."""
    bas_path, alt_path, window = task
    b = read_band(bas_path, window)
    a = read_band(alt_path, window) if alt_path else None
    return count_pairs(b, a)


def _crosstab_stripes(paths: list[str], windows: list[Any]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Pair counts of several windows read through one open handle per raster into reused buffers."""
    with ExitStack() as stack:
        srcs = [stack.enter_context(rasterio.open(p)) for p in paths]
        rows = max(w.height for w in windows)
        bufs = [np.empty((rows, s.width), s.dtypes[0]) for s in srcs]
        for w in windows:
            arrs = [s.read(1, window=w, out=buf[: w.height]) for s, buf in zip(srcs, bufs, strict=True)]
            yield count_pairs(arrs[0], arrs[1] if len(arrs) > 1 else None)


def _add_pairs(table: dict[tuple[int, int], int], pairs: np.ndarray, cnt: np.ndarray) -> None:
    for (bv, av), c in zip(pairs.tolist(), cnt.tolist(), strict=True):
        table[(bv, av)] = table.get((bv, av), 0) + c


def crosstab(
    bas_path: Path,
    alt_path: Path | None,
    *,
    block_rows: int = 512,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> dict[tuple[int, int], int]:
    """Baseline x alternate cross-tabulation of land-cover codes (pixel counts) in one block-wise pass.

    Locally each of ``workers`` threads (default ``min(4, cpus)``) opens both rasters once and
    decodes every ``workers``-th row stripe into reused buffers (GDAL releases the GIL while
    decoding); with a Dask ``scheduler`` address each stripe is a task that opens the files itself.
    """
    with rasterio.open(bas_path) as src:
        windows = row_windows(src.width, src.height, block_rows)
    table: dict[tuple[int, int], int] = {}
    with progress_bar("cross-tabulating land cover", len(windows), progress) as advance:
        if scheduler is not None:
            tasks = [(str(bas_path), str(alt_path) if alt_path else None, w) for w in windows]
            for pairs, cnt in map_blocks(_crosstab_block, tasks, scheduler=scheduler):
                _add_pairs(table, pairs, cnt)
                advance(1)
            return table
        paths = [str(bas_path)] + ([str(alt_path)] if alt_path else [])
        n = max(1, min(workers or min(4, os.cpu_count() or 1), len(windows)))

        def part(i: int) -> dict[tuple[int, int], int]:
            own: dict[tuple[int, int], int] = {}
            for pairs, cnt in _crosstab_stripes(paths, windows[i::n]):
                _add_pairs(own, pairs, cnt)
                advance(1)
            return own

        if n == 1:
            parts = [part(0)]
        else:
            with ThreadPoolExecutor(n) as pool:
                parts = list(pool.map(part, range(n)))
        for own in parts:
            for key, c in own.items():
                table[key] = table.get(key, 0) + c
    return table
