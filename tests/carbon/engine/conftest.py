"""Shared helpers for engine tests: tiny rasters written to tmp_path, and two synthetic scenes generated once
per session (a Landsat-like image with a nodata collar, a LiDAR tile in feet): nothing is downloaded, nothing
skips offline."""

from __future__ import annotations

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


@pytest.fixture(scope="session")
def landsat_like_stack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Landsat-like 4-band scene (blue, green, red, NIR as 0-255 float DNs) with a nodata collar."""
    from tests.carbon.engine.synthetic import landsat_like_scene

    return landsat_like_scene(tmp_path_factory.mktemp("landsat-like") / "scene_b1234.tif")


@pytest.fixture(scope="session")
def lidar_tile(tmp_path_factory: pytest.TempPathFactory):
    """A LAZ tile in international feet: ground, trees and a roof, with the truth it was built from."""
    from tests.carbon.engine.synthetic import lidar_scene

    return lidar_scene(tmp_path_factory.mktemp("lidar") / "tile.laz")
