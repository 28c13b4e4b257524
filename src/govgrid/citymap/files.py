"""Reading uploaded vector files (GeoJSON, GeoPackage, zipped Shapefile) with pyogrio into GeoJSON features."""

from __future__ import annotations

import json
import math
import os
import tempfile
from typing import Any

import shapely
from shapely.geometry import mapping

from govgrid.core.errors import ValidationFailed

SUFFIXES = (".geojson", ".json", ".gpkg", ".zip")


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def read_features(filename: str, data: bytes) -> tuple[list[dict[str, Any]], str | None]:
    """(features, CRS) of the first layer of an uploaded file; 422 on anything unreadable."""
    name = (filename or "").lower()
    if not name.endswith(SUFFIXES):
        raise ValidationFailed(
            "文件须为 .geojson、.gpkg 或打包的 Shapefile (.zip) (unsupported file type)",
            details=[{"loc": ["file"], "msg": filename or "?"}],
        )
    if not data:
        raise ValidationFailed("文件为空 (empty file)", details=[{"loc": ["file"], "msg": "empty"}])
    if name.endswith((".geojson", ".json")):
        try:
            doc = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValidationFailed(
                "不是有效的 GeoJSON (not valid GeoJSON)", details=[{"loc": ["file"], "msg": str(exc)}]
            ) from None
        if (
            not isinstance(doc, dict)
            or doc.get("type") != "FeatureCollection"
            or not isinstance(doc.get("features"), list)
        ):
            raise ValidationFailed(
                "须为 GeoJSON FeatureCollection (must be a FeatureCollection)",
                details=[{"loc": ["file"], "msg": str(doc.get("type") if isinstance(doc, dict) else "?")}],
            )
        crs = (
            (doc.get("crs") or {}).get("properties", {}).get("name")
            if isinstance(doc.get("crs"), dict)
            else None
        )
        return doc["features"], crs
    import pyogrio.raw

    suffix = os.path.splitext(name)[1]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "upload" + suffix)
        with open(path, "wb") as fh:
            fh.write(data)
        source = f"/vsizip/{path}" if suffix == ".zip" else path
        try:
            meta, _fids, geoms, fields = pyogrio.raw.read(source)
        except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError and GDAL errors
            raise ValidationFailed(
                "无法读取文件 (cannot read the file)", details=[{"loc": ["file"], "msg": str(exc)[:300]}]
            ) from None
    names = list(meta.get("fields", []))
    features = []
    for i, wkb in enumerate(geoms):
        geom = shapely.from_wkb(wkb) if wkb is not None else None
        props = {n: _clean(fields[j][i]) for j, n in enumerate(names)}
        features.append(
            {"type": "Feature", "geometry": mapping(geom) if geom is not None else None, "properties": props}
        )
    return features, meta.get("crs")
