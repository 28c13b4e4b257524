"""Spatial math of the registry (pure): areas on the projected CRS, overlaps of parcels.

The registry's one area figure (项目面积) is the area on the projected CRS of the project: the WGS 84 UTM
zone of its centroid (the CRS the engine's rasters of a project use). Geodesic areas on the ellipsoid are
kept for overlap slivers, where the difference does not matter.
"""

from __future__ import annotations

import json
from typing import Any

import shapely
from pyproj import Geod, Transformer
from shapely.geometry import MultiPolygon, Polygon, shape
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


def utm_epsg(geom: BaseGeometry) -> int:
    """The EPSG code of the WGS 84 UTM zone holding the geometry's centroid."""
    c = geom.centroid
    zone = int((c.x + 180) // 6) + 1
    return (32600 if c.y >= 0 else 32700) + min(max(zone, 1), 60)


def projected_area_ha(geom: BaseGeometry) -> tuple[float, str]:
    """The area of a WGS 84 geometry on its UTM zone in hectares (rounded to 0.0001), and that CRS."""
    epsg = utm_epsg(geom)
    to_utm = Transformer.from_crs(4326, epsg, always_xy=True)
    projected = shapely.transform(geom, lambda x, y: to_utm.transform(x, y), interleaved=False)
    return round(projected.area / 10_000.0, 4), f"EPSG:{epsg}"


def outline(parcels: BaseGeometry) -> BaseGeometry:
    """The project outline of its parcels: their union with the holes between them filled."""
    merged = parcels.buffer(0)
    polys = list(merged.geoms) if isinstance(merged, MultiPolygon) else [merged]
    filled = [Polygon(p.exterior) for p in polys if isinstance(p, Polygon)]
    return filled[0] if len(filled) == 1 else MultiPolygon(filled)
