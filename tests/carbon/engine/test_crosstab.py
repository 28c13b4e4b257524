"""Cross-tabulation: the fast integer paths agree with a plain dictionary count for every code layout."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from govgrid.carbon.engine.crosstab import CHUNK, CHUNK16, count_pairs, crosstab


def _reference(b: np.ndarray, a: np.ndarray | None) -> dict[tuple[int, int], int]:
    bs = b.ravel().tolist()
    as_ = a.ravel().tolist() if a is not None else [0] * len(bs)
    return dict(Counter(zip(bs, as_, strict=True)))


def _as_dict(pairs: np.ndarray, cnt: np.ndarray) -> dict[tuple[int, int], int]:
    return {(int(p[0]), int(p[1])): int(c) for p, c in zip(pairs, cnt, strict=True)}


CASES = [
    # (dtype, low, high): few classes (packed), many classes, negative and high unsigned codes
    ("uint8", 1, 7),  # 36 pair codes: three pixels per code
    ("uint8", 3, 13),  # 100 pair codes: two pixels per code
    ("int8", -128, 127),
    ("uint8", 0, 256),
    ("int16", -3, 4),
    ("int16", -32768, -32700),
    ("int16", 100, 400),
    ("uint16", 65500, 65536),
    ("uint16", 0, 3000),
    ("int32", -5, 5),
    ("int32", 100_000, 100_900),
    ("uint32", 4_000_000_000, 4_000_000_010),
    ("int64", -(2**40), -(2**40) + 7),
]


@pytest.mark.parametrize(("dtype", "low", "high"), CASES)
@pytest.mark.parametrize("size", [1, 2, 7, CHUNK + 3, CHUNK16 + 1, CHUNK16 + 2, 2 * CHUNK16])
def test_count_pairs_matches_reference(dtype, low, high, size):
    rng = np.random.default_rng(size)
    b = rng.integers(low, high, size, dtype=np.int64).astype(dtype)
    a = rng.integers(low, high, size, dtype=np.int64).astype(dtype)
    assert _as_dict(*count_pairs(b, a)) == _reference(b, a)
    assert _as_dict(*count_pairs(b, None)) == _reference(b, None)


def test_count_pairs_mixed_dtypes_and_wide_ranges():
    rng = np.random.default_rng(3)
    b = rng.integers(0, 200, 5000).astype(np.uint8)
    a = rng.integers(-20000, 20000, 5000).astype(np.int16)  # too many bins: np.unique path
    assert _as_dict(*count_pairs(b, a)) == _reference(b, a)
    c = np.array([-32768, 32767, 0, -32768], np.int16)
    assert _as_dict(*count_pairs(c, c[::-1].copy())) == _reference(c, c[::-1])


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_crosstab_threads_agree(make_raster, workers):
    rng = np.random.default_rng(7)
    bas = rng.integers(1, 6, (37, 29)).astype(np.int16)
    alt = rng.integers(1, 6, (37, 29)).astype(np.int16)
    bas[0, 0] = -1
    pb = make_raster("b.tif", bas, nodata=-1)
    pa = make_raster("a.tif", alt, nodata=-1)
    expected = _reference(bas, alt)
    assert crosstab(pb, pa, block_rows=5, workers=workers) == expected
    assert crosstab(pb, None, block_rows=4, workers=workers) == _reference(bas, None)
