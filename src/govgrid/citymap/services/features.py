"""GeoJSON features brought in by an import (grid cells, city parts): the declared CRS and property values."""

from __future__ import annotations

import math
from typing import Any

from govgrid.core.geofiles import excerpt

ACCEPTED_CRS = {
    "EPSG:4326",
    "OGC:CRS84",
    "EPSG:4490",
    "URN:OGC:DEF:CRS:OGC:1.3:CRS84",
    "URN:OGC:DEF:CRS:EPSG::4326",
    "URN:OGC:DEF:CRS:EPSG::4490",
    "CRS84",
}


def check_crs(crs: str | None) -> str | None:
    """A message if the declared CRS is not WGS 84 / CGCS2000 geographic, else None (undeclared = WGS 84)."""
    if not crs:
        return None
    norm = crs.strip().upper()
    if norm in ACCEPTED_CRS:
        return None
    try:
        from pyproj import CRS

        parsed = CRS.from_user_input(crs)
        if parsed.to_epsg() in (4326, 4490) or parsed.equals(CRS.from_epsg(4326), ignore_axis_order=True):
            return None
        found = excerpt(parsed.to_string(), 80)
    except Exception:  # pyproj raises CRSError and others for unreadable definitions
        found = excerpt(crs, 80)
    return (
        f"坐标系须为 WGS 84 (EPSG:4326) 或 CGCS2000 (EPSG:4490) 经纬度，收到 {found} "
        f"(coordinates must be WGS 84 or CGCS2000 longitude/latitude; reproject first)"
    )


def geojson_crs(doc: dict[str, Any]) -> str | None:
    """The CRS named by a legacy GeoJSON 'crs' member, if any."""
    crs = doc.get("crs")
    if isinstance(crs, dict):
        return str((crs.get("properties") or {}).get("name") or "") or None
    return None


def text_value(value: Any, limit: int) -> str | None:
    """A file's property as text for a column of `limit` characters (None when empty)."""
    if value is None or value == "":
        return None
    return str(value)[:limit]


def json_value(value: Any) -> Any:
    """A file's property as a JSON value (dates and other types become text)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return str(value)[:500]
