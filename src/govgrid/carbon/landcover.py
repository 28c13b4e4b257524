"""Land-cover loss for protection alerts (湿地保护预警): wetland turned to cropland or built-up land.

Domain code: pure functions over class arrays and two uploaded GeoTIFFs (the engine's land-cover rasters);
``services.alerts`` turns a loss over the threshold into an alert with tasks for the county's forestry and
ecology-environment departments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# The engine's Junshan classes (govgrid.carbon.engine.remote_sensing.WETLAND_CLASSES).
WETLAND = (1, 2, 3, 4)  # open water, mudflat, reed marsh, sedge meadow
LOSS = (6, 7)  # cropland, built-up
CLASS_NAMES = {
    1: "开阔水面 open water",
    2: "泥滩 mudflat",
    3: "芦苇沼泽 reed marsh",
    4: "苔草草甸 sedge meadow",
    5: "林地 forest",
    6: "耕地 cropland",
    7: "建设用地 built-up",
}
DEFAULT_THRESHOLD_HA = 1.0


class RastersNotComparableError(ValueError):
    """Two land-cover rasters that cannot be compared; the message is ours and fit for the user."""


@dataclass
class LandCoverLoss:
    """Hectares of wetland lost between two epochs, in total and per transition 'from->to'."""

    lost_ha: float
    transitions: dict[str, float] = field(default_factory=dict)
    pixels: int = 0


def detect_loss(
    before: np.ndarray,
    after: np.ndarray,
    pixel_area_ha: float,
    inside: np.ndarray | None = None,
    wetland: tuple[int, ...] = WETLAND,
    loss: tuple[int, ...] = LOSS,
) -> LandCoverLoss:
    """Area changed from a wetland class to a loss class; ``inside`` masks the project (True = counted)."""
    if before.shape != after.shape:
        raise ValueError(f"land-cover arrays differ in shape: {before.shape} vs {after.shape}")
    if pixel_area_ha <= 0:
        raise ValueError("pixel area must be positive")
    changed = np.isin(before, wetland) & np.isin(after, loss)
    if inside is not None:
        changed &= inside.astype(bool)
    transitions: dict[str, float] = {}
    for a in wetland:
        for b in loss:
            n = int(np.count_nonzero(changed & (before == a) & (after == b)))
            if n:
                transitions[f"{a}->{b}"] = round(n * pixel_area_ha, 4)
    n = int(np.count_nonzero(changed))
    return LandCoverLoss(lost_ha=round(n * pixel_area_ha, 4), transitions=transitions, pixels=n)


def loss_from_rasters(
    before: bytes,
    after: bytes,
    boundary: dict[str, Any],
    names: tuple[str, str] = ("before.tif", "after.tif"),
) -> LandCoverLoss:
    """Wetland loss between two land-cover GeoTIFFs (same grid), counted inside a WGS 84 project boundary.

    The bytes are uploads: they are opened only through ``core.geofiles.open_raster`` (TIFF magic, the GTiff
    driver pinned, hardened GDAL), so a VRT or a GDAL path dressed up as a GeoTIFF never reaches GDAL.
    Raises ``RastersNotComparableError`` (a message fit for the user) when the two rasters cannot be
    compared."""
    import shapely
    from pyproj import Transformer
    from rasterio.features import geometry_mask
    from shapely.geometry import mapping, shape

    from govgrid.core.geofiles import open_raster

    with open_raster(names[0], before) as a, open_raster(names[1], after) as b:
        if (a.width, a.height) != (b.width, b.height) or a.transform != b.transform:
            raise RastersNotComparableError(
                "两期地类栅格网格不一致 (the two land-cover rasters are not on the same grid)"
            )
        if a.crs is None:
            raise RastersNotComparableError("地类栅格没有坐标系 (a land-cover raster has no CRS)")
        to_raster = Transformer.from_crs(4326, a.crs, always_xy=True)
        geom = shapely.transform(shape(boundary), lambda x, y: to_raster.transform(x, y), interleaved=False)
        inside = geometry_mask(
            [mapping(geom)], out_shape=(a.height, a.width), transform=a.transform, invert=True
        )
        px_ha = abs(a.transform.a * a.transform.e) / 10_000.0
        return detect_loss(a.read(1), b.read(1), px_ha, inside)
