"""Carbon projects: registration (boundary or parcels, division, methodology applicability, crediting period).

A boundary may be a Polygon or a MultiPolygon of parcels (地块), typed in as GeoJSON or uploaded as a GeoJSON,
GeoPackage or zipped Shapefile (read through ``core.geofiles``; projected layers are reprojected to WGS 84).
The parcels are kept for the overlap check; the boundary is their outline; the project's one area figure is
the parcels' area on the projected CRS (the UTM zone of the project).
"""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import Any

from pydantic import ValidationError as PydanticValidationError
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely import transform as shapely_transform
from shapely.geometry import MultiPolygon, mapping, shape
from shapely.ops import unary_union
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.carbon.enums import RiskRating
from govgrid.carbon.models import CarbonProject
from govgrid.carbon.services import access
from govgrid.carbon.spatial import (
    MIN_PROJECT_HA,
    boundary_geometry,
    geodesic_area_ha,
    outline,
    projected_area_ha,
)
from govgrid.core import geofiles
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.departments import service as departments
from govgrid.core.departments.models import Department
from govgrid.core.divisions import service as divisions
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ForbiddenError, NotFoundError, ValidationFailedError

log = logging.getLogger(__name__)


def _methodology_problems(
    methodology: str, name: str, wetland_type: str, tidal: bool, soil: str
) -> list[dict[str, Any]]:
    """The methodology must be known and apply to the project's facts (every reason is one problem)."""
    # imported here: the engine package needs rasterio, scikit-learn, laspy...; the registry stays importable
    # where they are not installed (module.py and demo.py treat the engine as optional too)
    from govgrid.carbon.engine.methodology import REGISTRY, ProjectInfo, get_methodology

    if methodology not in REGISTRY:
        return [
            {"loc": ["methodology"], "msg": f"未知方法学 (unknown methodology); known: {sorted(REGISTRY)}"}
        ]
    try:
        info = ProjectInfo.model_validate(
            {"name": name, "wetland_type": wetland_type, "tidal": tidal, "soil": soil}
        )
    except PydanticValidationError as exc:
        raise ValidationFailedError(
            "项目适用性信息无效 (invalid applicability facts)",
            details=[{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()],
        ) from None
    return [
        {"loc": ["methodology"], "msg": f"方法学不适用 ({methodology} does not apply): {reason}"}
        for reason in get_methodology(methodology).applicability(info)
    ]


def _boundary_problems(session: Session, dept: Department, geom: Any) -> list[dict[str, Any]]:
    """The boundary must lie inside the proponent's division and not be a sliver."""
    raw = session.scalar(select(Division.boundary).where(Division.code == dept.division_code))
    if raw is None:
        return [
            {
                "loc": ["boundary"],
                "msg": f"区划 {dept.division_code} 无边界，无法核对 (division has no boundary)",
            }
        ]
    if not boundary_geometry(raw).buffer(1e-6).covers(geom):
        return [
            {
                "loc": ["boundary"],
                "msg": f"项目边界超出 {dept.division.name} 行政区划 "
                f"(boundary lies outside division {dept.division_code})",
            }
        ]
    if geodesic_area_ha(geom) < MIN_PROJECT_HA:
        return [{"loc": ["boundary"], "msg": "项目面积过小 (project area below 0.01 ha)"}]
    return []


def _next_code(session: Session, division_code: str) -> str:
    """The next free project code of a division: P<division>-<nnn>."""
    seq = (
        session.scalar(
            select(func.count())
            .select_from(CarbonProject)
            .where(CarbonProject.division_code == division_code)
        )
        or 0
    )
    code = f"P{division_code}-{seq + 1:03d}"
    while session.scalar(select(CarbonProject.id).where(CarbonProject.code == code)) is not None:
        seq += 1
        code = f"P{division_code}-{seq + 1:03d}"
    return code


def create_project(
    session: Session,
    *,
    actor: Actor,
    name: str,
    department_code: str,
    methodology: str,
    wetland_type: str,
    tidal: bool,
    soil: str,
    boundary: dict[str, Any],
    crediting_start: date,
    crediting_end: date,
    description: str = "",
    is_demo: bool = False,
    risk_rating: str = RiskRating.medium,
) -> CarbonProject:
    """Register a project after checking boundary, division, methodology applicability and the period."""
    problems: list[dict[str, Any]] = []
    if risk_rating not in set(RiskRating):
        problems.append(
            {"loc": ["risk_rating"], "msg": "风险等级须为 low、medium 或 high (low, medium or high)"}
        )
    try:
        dept = departments.get_by_code(session, department_code)
    except NotFoundError:
        raise ValidationFailedError(
            "项目业主部门不存在 (unknown proponent department)",
            details=[{"loc": ["department_code"], "msg": f"no department {department_code}"}],
        ) from None
    p = access.principal_of(actor)
    if p is not None:
        policy.require(
            session,
            p,
            dept.id,
            access.PROPONENT_ROLES,
            what="该部门的碳汇项目 (this department's carbon projects)",
        )
    geom = divisions.parse_boundary(boundary, problems)
    if crediting_end <= crediting_start:
        problems.append(
            {
                "loc": ["crediting_end"],
                "msg": "计入期结束须晚于开始 (crediting_end must follow crediting_start)",
            }
        )
    problems += _methodology_problems(methodology, name, wetland_type, tidal, soil)
    if geom is not None:
        problems += _boundary_problems(session, dept, geom)
    if problems or geom is None:
        raise ValidationFailedError("项目信息有误 (invalid project)", details=problems)
    code = _next_code(session, dept.division_code)
    parcels = geom if isinstance(geom, MultiPolygon) and len(geom.geoms) > 1 else None
    area_ha, area_crs = projected_area_ha(geom)
    if parcels is not None:
        geom = outline(parcels)
    minx, miny, maxx, maxy = geom.bounds
    project = CarbonProject(
        code=code,
        name=name,
        description=description,
        division_code=dept.division_code,
        department_id=dept.id,
        methodology=methodology,
        wetland_type=wetland_type,
        tidal=tidal,
        soil=soil,
        boundary=json.dumps(mapping(geom)),
        parcels=json.dumps(mapping(parcels)) if parcels is not None else None,
        area_ha=area_ha,
        area_crs=area_crs,
        risk_rating=RiskRating(risk_rating),
        min_lon=minx,
        min_lat=miny,
        max_lon=maxx,
        max_lat=maxy,
        crediting_start=crediting_start,
        crediting_end=crediting_end,
        is_demo=is_demo,
        created_by=access.holder_name(actor),
    )
    session.add(project)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="carbon.project_create",
        entity_type="carbon_project",
        entity_id=project.id,
        division_code=project.division_code,
        department_id=dept.id,
        detail={"code": code, "methodology": methodology, "area_ha": project.area_ha},
    )
    log.info(
        "carbon project registered",
        extra={
            "project_id": project.id,
            "project_code": code,
            "division_code": project.division_code,
            "department_id": dept.id,
        },
    )
    return project


def list_projects(
    session: Session, *, principal: Principal, limit: int, offset: int
) -> tuple[list[CarbonProject], int]:
    """Projects the caller may see, newest first."""
    stmt = access.project_query().where(access.visible_projects(principal))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(CarbonProject.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), total


def get_project(session: Session, *, principal: Principal, project_id: int) -> CarbonProject:
    """One project the caller may see; 404 if missing, 403 if out of scope."""
    if session.get(CarbonProject, project_id) is None:
        raise NotFoundError(f"碳汇项目 {project_id} 不存在 (no carbon project {project_id})")
    project = session.scalar(
        access.project_query().where(CarbonProject.id == project_id, access.visible_projects(principal))
    )
    if project is None:
        raise ForbiddenError("无权查看该碳汇项目 (this project is outside your scope)")
    return project


def project_boundary(project: CarbonProject) -> dict[str, Any]:
    """The project's boundary as a GeoJSON Feature."""
    return {
        "type": "Feature",
        "geometry": json.loads(project.boundary),
        "properties": {"code": project.code, "name": project.name, "area_ha": project.area_ha},
    }


def project_parcels(project: CarbonProject) -> dict[str, Any]:
    """The project's parcels as a GeoJSON FeatureCollection (the boundary alone when it has no parcels)."""
    geom = json.loads(project.parcels or project.boundary)
    parts = (
        [geom]
        if geom["type"] == "Polygon"
        else [{"type": "Polygon", "coordinates": c} for c in geom["coordinates"]]
    )
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": g, "properties": {"parcel": i + 1}} for i, g in enumerate(parts)
        ],
    }


def _to_wgs84(filename: str, geom: Any, crs: str | None) -> Any:
    """A geometry read from an upload in WGS 84 (reprojected when the layer declares another CRS)."""
    if not crs:
        return geom
    try:
        source = CRS.from_user_input(crs)
    except CRSError:
        raise ValidationFailedError(
            f"{filename}：无法识别坐标系 (unknown coordinate reference system)",
            details=[{"loc": ["boundary_file"], "msg": "unknown CRS"}],
        ) from None
    if source.equals(CRS.from_epsg(4326), ignore_axis_order=True) or source.to_epsg() in (4326, 4490):
        return geom
    to_wgs = Transformer.from_crs(source, 4326, always_xy=True)
    return shapely_transform(geom, lambda x, y: to_wgs.transform(x, y), interleaved=False)


def boundary_from_file(filename: str, data: bytes) -> dict[str, Any]:
    """The boundary (a Polygon, or a MultiPolygon of parcels) of an uploaded GeoJSON/GeoPackage/Shapefile."""
    layer = geofiles.read_vector(filename, data)
    polys = []
    for i, feature in enumerate(layer.features):
        g = feature.get("geometry")
        if not g or g.get("type") not in ("Polygon", "MultiPolygon"):
            raise ValidationFailedError(
                f"{filename}：第 {i + 1} 个要素不是面 (feature {i + 1} is not a polygon)",
                details=[{"loc": ["boundary_file"], "msg": f"feature {i + 1} is not a polygon"}],
            )
        try:
            polys.append(_to_wgs84(filename, shape(g), layer.crs))
        except (ValueError, TypeError, AttributeError, IndexError):  # shapely's errors for malformed rings
            raise ValidationFailedError(
                f"{filename}：第 {i + 1} 个要素的坐标无效 (feature {i + 1} has malformed coordinates)",
                details=[{"loc": ["boundary_file"], "msg": f"feature {i + 1} is malformed"}],
            ) from None
    if not polys:
        raise ValidationFailedError(
            f"{filename}：文件中没有地块 (the file holds no polygon)",
            details=[{"loc": ["boundary_file"], "msg": "no features"}],
        )
    parts = [p for g in polys for p in (g.geoms if isinstance(g, MultiPolygon) else [g])]
    if not all(p.is_valid for p in parts):
        raise ValidationFailedError(
            f"{filename}：地块几何无效（自相交等）(a parcel is not a valid polygon)",
            details=[{"loc": ["boundary_file"], "msg": "invalid polygon"}],
        )
    merged = unary_union(parts) if len(parts) > 1 else parts[0]
    geom = merged if isinstance(merged, MultiPolygon) or len(parts) == 1 else MultiPolygon([merged])
    return dict(mapping(geom))


def parse_date(value: str, loc: str) -> date:
    """A date typed as YYYY-MM-DD; 422 naming the field otherwise."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailedError(
            "日期格式应为 YYYY-MM-DD (date must be YYYY-MM-DD)", details=[{"loc": [loc], "msg": "YYYY-MM-DD"}]
        ) from None


def preview_boundary(session: Session, *, geometry: dict[str, Any]) -> dict[str, Any]:
    """A boundary as the registration form shows it before registering: parcels, area, CRS, problems."""
    problems: list[dict[str, Any]] = []
    geom = divisions.parse_boundary(geometry, problems)
    if geom is None:
        raise ValidationFailedError("项目边界无效 (invalid boundary)", details=problems)
    area_ha, crs = projected_area_ha(geom)
    parts = list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom]
    return {
        "features": {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "geometry": mapping(g), "properties": {"parcel": i + 1}}
                for i, g in enumerate(parts)
            ],
        },
        "area_ha": area_ha,
        "crs": crs,
        "parcels": len(parts),
    }
