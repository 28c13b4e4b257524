"""City parts (部件, GB/T 30428.2): the register of lamps, manholes, bins, imported per county, all or
nothing.

Codes are 16 digits: county 6 + major 2 + minor 2 + serial 6. Only the grid keeper imports parts.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import shapely
from shapely.geometry import shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.citymap import catalog
from govgrid.citymap.enums import CaseKind
from govgrid.citymap.models import GridCell, Part
from govgrid.citymap.services import access
from govgrid.citymap.services.common import Actor
from govgrid.citymap.services.features import check_crs, json_value, text_value
from govgrid.citymap.services.places import cell_indexes
from govgrid.core.audit import service as audit
from govgrid.core.divisions import service as divisions
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ValidationFailedError
from govgrid.core.geofiles import excerpt

log = logging.getLogger(__name__)

DEFAULT_STATUS = (
    "intact"  # a part's status is free text from the register's file; intact unless it says otherwise
)


def _point(g: Any) -> tuple[float, float] | None:
    """(lon, lat) of a GeoJSON Point with numeric coordinates, else None."""
    if not (
        isinstance(g, dict)
        and g.get("type") == "Point"
        and isinstance(g.get("coordinates"), list)
        and len(g["coordinates"]) >= 2
        and all(isinstance(v, (int, float)) for v in g["coordinates"][:2])
    ):
        return None
    return float(g["coordinates"][0]), float(g["coordinates"][1])


def _check_features(
    features: list[dict[str, Any]], county: Division, boundary: Any
) -> tuple[list[tuple[float, float] | None], list[str | None], list[dict[str, Any]]]:
    """Each feature's point and class code (None where unusable), and every problem found."""
    problems: list[dict[str, Any]] = []
    pts: list[tuple[float, float] | None] = []
    classes: list[str | None] = []
    for i, feat in enumerate(features):
        g = feat.get("geometry") if isinstance(feat, dict) else None
        props = (feat.get("properties") or {}) if isinstance(feat, dict) else {}
        cc = str(props.get("class_code") or "")
        known = catalog.get_class(CaseKind.part, cc) is not None
        if not known:
            problems.append(
                {
                    "loc": ["features", i, "properties", "class_code"],
                    "msg": f"未知部件类别 (unknown part class) '{excerpt(cc)}'",
                }
            )
        classes.append(cc if known else None)
        pt = _point(g)
        if pt is None:
            problems.append(
                {"loc": ["features", i, "geometry"], "msg": "部件须为点 (a part must be a Point)"}
            )
            pts.append(None)
            continue
        lon, lat = pt
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            problems.append(
                {"loc": ["features", i, "geometry"], "msg": "坐标须为 WGS 84 经纬度 (WGS 84 lon/lat)"}
            )
            pts.append(None)
            continue
        if boundary is not None and not boundary.contains(shapely.Point(lon, lat)):
            problems.append(
                {"loc": ["features", i, "geometry"], "msg": f"不在 {county.name} 境内 (outside the county)"}
            )
        pts.append(pt)
    return pts, classes, problems


def import_parts(
    session: Session,
    *,
    actor: Actor,
    county_code: str,
    features: list[dict[str, Any]],
    crs: str | None = None,
) -> list[Part]:
    """Import city parts (GeoJSON points with class_code, name); all or nothing; code county+class+serial."""
    county = divisions.get(session, county_code)
    if county.level != "county":
        raise ValidationFailedError(
            "部件按县导入 (parts are imported per county)",
            details=[{"loc": ["county_code"], "msg": county.level}],
        )
    access.require_grid_admin(session, actor, county.code)
    msg = check_crs(crs)
    if msg:
        raise ValidationFailedError(msg, details=[{"loc": ["crs"], "msg": msg}])
    if not features:
        raise ValidationFailedError(
            "没有要素 (no features to import)", details=[{"loc": ["features"], "msg": "empty"}]
        )
    raw = session.scalar(select(Division.boundary).where(Division.code == county.code))
    boundary = shape(json.loads(raw)).buffer(1e-4) if raw else None
    if boundary is not None:
        shapely.prepare(boundary)
    pts, classes, problems = _check_features(features, county, boundary)
    found = [
        (f, p, c) for f, p, c in zip(features, pts, classes, strict=True) if p is not None and c is not None
    ]
    if problems or len(found) != len(features):
        log.info("parts import refused", extra={"county_code": county.code, "problems": len(problems)})
        raise ValidationFailedError(
            f"导入被拒绝，共 {len(problems)} 个问题，未写入任何数据 (import refused: nothing was written)",
            details=problems[:200],
        )
    index = cell_indexes.get(session, county.code)
    lons = [p[0] for _, p, _ in found]
    lats = [p[1] for _, p, _ in found]
    cells = index.assign_codes(lons, lats) if index else [None] * len(lons)
    cell_paths = dict(
        session.execute(
            select(GridCell.code, GridCell.division_path).where(GridCell.code.in_({c for c in cells if c}))
        ).all()
    )
    serial: dict[str, int] = {}
    objs = []
    for (feat, (lon, lat), cc), cell in zip(found, cells, strict=True):
        props = feat.get("properties") or {}
        prefix = f"{county.code}{cc}"
        if prefix not in serial:
            top = session.scalar(select(func.max(Part.code)).where(Part.code.like(prefix + "%")))
            serial[prefix] = int(top[-6:]) if top else 0
        serial[prefix] += 1
        klass = catalog.class_or_other(CaseKind.part, cc)
        objs.append(
            Part(
                code=f"{prefix}{serial[prefix]:06d}",
                class_code=cc,
                name=text_value(props.get("name"), 100) or klass.name_zh,
                county_code=county.code,
                division_path=cell_paths.get(cell or "", county.path),
                cell_code=cell,
                lon=lon,
                lat=lat,
                status=text_value(props.get("status"), 16) or DEFAULT_STATUS,
                attributes={
                    str(k)[:64]: json_value(v)
                    for k, v in props.items()
                    if k not in ("class_code", "name", "status")
                },
            )
        )
    session.add_all(objs)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="citymap.parts_import",
        entity_type="division",
        entity_id=county.code,
        division_code=county.code,
        detail={"parts": len(objs)},
    )
    log.info("parts imported", extra={"county_code": county.code, "parts": len(objs)})
    return objs
