"""Spatial math of the registry (pure): geodesic areas on the WGS 84 ellipsoid, overlaps of boundaries."""

from __future__ import annotations

import json
from typing import Any

from pyproj import Geod
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

OVERLAP_TOLERANCE_HA = 0.01  # 100 m2: slivers from digitising are not double issuance
MIN_PROJECT_HA = 0.01
_geod = Geod(ellps="WGS84")


def geodesic_area_ha(geom: Any) -> float:
    """Area of a WGS 84 polygon on the ellipsoid, in hectares."""
    area, _ = _geod.geometry_area_perimeter(geom)
    return abs(area) / 10_000.0


def boundary_geometry(boundary_json: str) -> BaseGeometry:
    """A stored GeoJSON boundary (text) as a shapely geometry."""
    return shape(json.loads(boundary_json))


def overlap_ha(a: BaseGeometry, b: BaseGeometry) -> float:
    """Hectares two WGS 84 geometries share (0 when they only touch)."""
    if not a.intersects(b):
        return 0.0
    inter = a.intersection(b)
    return geodesic_area_ha(inter) if not inter.is_empty and inter.area > 0 else 0.0
