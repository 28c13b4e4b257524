"""Carbon projects: registration (boundary, division, methodology applicability, crediting period)."""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import Any

from pydantic import ValidationError as PydanticValidationError
from shapely.geometry import mapping
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.carbon.models import CarbonProject
from govgrid.carbon.services import access
from govgrid.carbon.spatial import MIN_PROJECT_HA, boundary_geometry, geodesic_area_ha
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
) -> CarbonProject:
    """Register a project after checking boundary, division, methodology applicability and the period."""
    problems: list[dict[str, Any]] = []
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
        area_ha=round(geodesic_area_ha(geom), 4),
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
