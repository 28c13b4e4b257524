"""Synthetic scenes for the engine tests, generated from a seed (nothing downloaded, the same scene each run).

- ``landsat_like_scene``: four bands (blue, green, red, NIR) stored as Landsat 7 style 0-255 DNs in float32,
  with a nodata collar (-99999) around a tilted scene footprint, over a landscape of open water, bare ground,
  sparse and dense vegetation whose patches come from a smoothed random field;
- ``lidar_scene``: a LAZ tile in international feet (EPSG:2992, Oregon Lambert, like the real Autzen tile)
  with ground returns (class 2) on a sloping terrain, tree crowns (class 5) and a flat roof (class 6),
  returned with the truth it was built from (point counts, the tallest canopy in metres).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import laspy
import numpy as np
import rasterio
from pyproj import CRS
from rasterio.transform import from_origin
from scipy.ndimage import gaussian_filter

LANDSAT_NODATA = -99999.0
# surface reflectance (blue, green, red, NIR) of each cover type
SIGNATURES = {
    "water": (0.08, 0.07, 0.05, 0.02),  # NDWI about +0.56, NDVI negative
    "bare": (0.16, 0.20, 0.24, 0.255),  # NDVI about 0.03
    "sparse": (0.07, 0.10, 0.12, 0.22),  # NDVI about 0.29
    "dense": (0.03, 0.08, 0.04, 0.38),  # NDVI about 0.81
}
FEET = 0.3048


def landsat_like_scene(path: Path, rows: int = 150, cols: int = 170, seed: int = 7) -> Path:
    """Write the Landsat-like scene (UTM 49N, 30 m pixels) and return its path."""
    rng = np.random.default_rng(seed)
    field = gaussian_filter(rng.normal(size=(rows, cols)), 6)
    field = (field - field.mean()) / field.std()
    cover = np.select([field < -0.9, field < -0.2, field < 0.55], [0, 1, 2], default=3)
    table = np.array(list(SIGNATURES.values()), np.float64)  # (4 covers, 4 bands)
    refl = table[cover].transpose(2, 0, 1)  # (bands, rows, cols)
    # mixed pixels along patch edges, then sensor noise
    refl = np.stack([gaussian_filter(b, 0.7) for b in refl]) + rng.normal(0, 0.01, refl.shape)
    dn = np.clip(np.round(refl * 255), 1, 255).astype(np.float32)
    # the collar: everything outside a footprint tilted by 12 degrees, as in a Landsat path/row scene
    r, c = np.mgrid[0:rows, 0:cols]
    a = np.deg2rad(12)
    u = (c - cols / 2) * np.cos(a) + (r - rows / 2) * np.sin(a)
    v = -(c - cols / 2) * np.sin(a) + (r - rows / 2) * np.cos(a)
    inside = (np.abs(u) < 0.47 * cols) & (np.abs(v) < 0.47 * rows)
    dn[:, ~inside] = LANDSAT_NODATA
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=cols,
        height=rows,
        count=4,
        dtype="float32",
        crs="EPSG:32649",
        transform=from_origin(600000.0, 3270000.0, 30.0, 30.0),
        nodata=LANDSAT_NODATA,
        compress="deflate",
    ) as dst:
        dst.write(dn)
    return path


@dataclass(frozen=True)
class LidarTruth:
    """A generated LiDAR tile and what it holds."""

    path: Path
    n_points: int
    n_ground: int
    tallest_m: float  # the highest canopy or roof point above the ground beneath it


def _ground_ft(x: np.ndarray, y: np.ndarray, x0: float, y0: float) -> np.ndarray:
    """Terrain elevation (ft): a gentle slope with a low swell."""
    return 420.0 + 0.02 * (x - x0) + 8.0 * np.sin((y - y0) / 180.0)


def lidar_scene(path: Path, size_ft: float = 900.0, seed: int = 11) -> LidarTruth:
    """Write the LAZ tile (about 300 m square) and return it with its truth."""
    rng = np.random.default_rng(seed)
    x0, y0 = 636_000.0, 849_000.0
    # ground: a jittered grid every 6 ft
    gx, gy = np.meshgrid(np.arange(0, size_ft, 6.0), np.arange(0, size_ft, 6.0))
    gx = gx.ravel() + x0 + rng.uniform(0, 6.0, gx.size)
    gy = gy.ravel() + y0 + rng.uniform(0, 6.0, gy.size)
    gz = _ground_ft(gx, gy, x0, y0) + rng.normal(0, 0.1, gx.size)
    # trees: cone-shaped crowns 8-24 m tall, radius a third of the height; one tree of exactly 26 m
    heights_m = np.r_[rng.uniform(8, 24, 39), 26.0]
    tx = x0 + rng.uniform(60, size_ft - 60, heights_m.size)
    ty = y0 + rng.uniform(60, size_ft - 60, heights_m.size)
    vx, vy, vz = [], [], []
    for cx, cy, h_m in zip(tx, ty, heights_m, strict=True):
        h = h_m / FEET
        radius = h / 3
        n = 150
        rr = radius * np.sqrt(rng.uniform(0, 1, n))
        th = rng.uniform(0, 2 * np.pi, n)
        px, py = cx + rr * np.cos(th), cy + rr * np.sin(th)
        pz = _ground_ft(px, py, x0, y0) + h * (1 - rr / radius) * rng.uniform(0.9, 1.0, n)
        # the apex itself, so the tallest height is known exactly
        vx += [*px, cx]
        vy += [*py, cy]
        vz += [*pz, _ground_ft(np.array([cx]), np.array([cy]), x0, y0)[0] + h]
    # a flat roof of 12 m over a 120 ft x 90 ft footprint
    bx = x0 + rng.uniform(100, 220, 1500)
    by = y0 + rng.uniform(500, 590, 1500)
    bz = _ground_ft(bx, by, x0, y0) + 12.0 / FEET
    x = np.r_[gx, vx, bx]
    y = np.r_[gy, vy, by]
    z = np.r_[gz, vz, bz]
    cls = np.r_[np.full(gx.size, 2), np.full(len(vx), 5), np.full(bx.size, 6)].astype(np.uint8)
    header = laspy.LasHeader(point_format=3, version="1.4")
    header.offsets = [x0, y0, 0.0]
    header.scales = [0.01, 0.01, 0.01]
    header.add_crs(CRS.from_epsg(2992))
    las = laspy.LasData(header)
    las.x, las.y, las.z, las.classification = x, y, z, cls
    las.write(path)
    return LidarTruth(path=path, n_points=int(x.size), n_ground=int(gx.size), tallest_m=26.0)
