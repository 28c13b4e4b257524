"""LiDAR: a hand-made point cloud with known heights, allometry by hand, and a generated tile in feet."""

from __future__ import annotations

import laspy
import numpy as np
import pytest
import rasterio

from govgrid.carbon.engine.lidar import (
    HEIGHT_NODATA,
    Allometry,
    AllometryModel,
    CanopyHeightModel,
    allometric_carbon,
)


def write_las(path, x, y, z, cls, crs="EPSG:32649"):
    from pyproj import CRS

    header = laspy.LasHeader(point_format=3, version="1.4")
    header.offsets = [float(np.min(x)), float(np.min(y)), 0.0]
    header.scales = [0.01, 0.01, 0.01]
    header.add_crs(CRS.from_user_input(crs))
    las = laspy.LasData(header)
    las.x, las.y, las.z, las.classification = x, y, z, cls
    las.write(path)
    return path


def test_chm_on_a_known_cloud(tmp_path):
    # 4 x 4 m at 2 m cells; ground at 10 + 0.5 x column-cell; one tree of 12 m in the top-left cell
    gx, gy = np.meshgrid(np.arange(0.5, 4, 1.0), np.arange(0.5, 4, 1.0))
    gx, gy = gx.ravel() + 500000, gy.ravel() + 3260000
    gz = 10 + 0.5 * ((gx - 500000) // 2)
    tx, ty, tz = np.array([500000.9]), np.array([3260003.5]), np.array([22.0])
    path = write_las(
        tmp_path / "t.laz",
        np.r_[gx, tx],
        np.r_[gy, ty],
        np.r_[gz, tz],
        np.r_[np.full(gx.size, 2), [5]].astype(np.uint8),
    )
    res = CanopyHeightModel().execute({"las_path": path, "out_dir": tmp_path / "o", "resolution_m": 2.0})
    with rasterio.open(res.chm_path) as src:
        chm = src.read(1)
        assert src.crs.to_epsg() == 32649
    assert chm.shape == (2, 2)
    assert chm[0, 0] == pytest.approx(12.0, abs=0.02)  # 22 - ground 10
    assert chm[1, 1] == pytest.approx(0.0, abs=0.02)
    with rasterio.open(res.dtm_path) as src:
        assert src.read(1)[0, 1] == pytest.approx(10.5, abs=0.02)
    assert res.n_ground == 16


def test_allometry_by_hand(tmp_path, make_raster):
    h = np.array([[10.0, 4.0], [0.0, HEIGHT_NODATA]], np.float32)
    chm = make_raster("chm.tif", h, res=100.0, nodata=HEIGHT_NODATA)
    lc = make_raster("lc.tif", np.array([[5, 3], [3, 5]], np.uint8), res=100.0)
    coef = {5: Allometry(a=2.0, b=1.5, root_shoot=0.25), 3: Allometry(a=1.0, b=1.0, root_shoot=1.0)}
    res = AllometryModel().execute(
        {"chm_path": chm, "landcover_path": lc, "coefficients": coef, "out_path": tmp_path / "c.tif"}
    )
    agb5 = 2.0 * 10.0**1.5
    assert res.by_class[5]["agb_t"] == pytest.approx(agb5)  # one 1-ha cell
    assert res.by_class[5]["bgb_t"] == pytest.approx(agb5 * 0.25)
    assert res.by_class[3]["carbon_t"] == pytest.approx((4.0 + 4.0) * 0.47)
    assert res.carbon_t == pytest.approx(agb5 * 1.25 * 0.47 + 8 * 0.47)
    _, _, c = allometric_carbon(np.array([9.0]), np.array([5]), coef, 0.5)
    assert c[0] == pytest.approx(2 * 27 * 1.25 * 0.5)


def test_allometry_problems(tmp_path, make_raster):
    chm = make_raster("chm.tif", np.ones((2, 2), np.float32), res=1.0)
    lc = make_raster("lc.tif", np.ones((3, 3), np.uint8), res=1.0)
    problems = AllometryModel().validate(
        {
            "chm_path": chm,
            "landcover_path": lc,
            "coefficients": {5: {"a": 1, "b": 1}},
            "carbon_fraction": 1.5,
            "default_class": 7,
        }
    )
    keys = {p.key for p in problems}
    assert {"carbon_fraction", "coefficients.5.a"} <= keys or {"carbon_fraction"} <= keys
    problems = AllometryModel().validate(
        {"chm_path": chm, "landcover_path": lc, "coefficients": {5: {"a": 1, "b": 1}}, "default_class": 7}
    )
    assert {p.key for p in problems} == {"default_class", "landcover_path"}


def test_generated_tile_in_feet(lidar_tile, tmp_path):
    with laspy.open(lidar_tile.path) as fh:
        las = fh.read()
    n_ground = int(np.count_nonzero(las.classification == 2))
    assert n_ground == lidar_tile.n_ground > 1000
    res = CanopyHeightModel().execute({"las_path": lidar_tile.path, "out_dir": tmp_path, "resolution_m": 3.0})
    assert res.n_ground == n_ground and res.n_points == len(las.points) == lidar_tile.n_points
    with rasterio.open(res.chm_path) as src:
        chm = src.read(1, masked=True)
        assert src.crs.to_epsg() == 2992
        assert src.res[0] == pytest.approx(3.0 / 0.3048)  # 3 m cells in the file's feet
    # heights come out in metres: the tallest apex is 26 m above the ground; trees and the roof cover little
    assert res.max_height_m == pytest.approx(lidar_tile.tallest_m, abs=0.5)
    assert np.ma.median(chm) < 5
    assert chm.min() >= 0
