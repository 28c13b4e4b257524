"""City map rules: grid cells, parts, cameras, field units, the case loop (GB/T 30428), dispatch, indicators."""

from __future__ import annotations

import json
import logging
import math
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape
from sqlalchemy import String, and_, cast, func, literal, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from govgrid.citymap import catalog, spatial
from govgrid.citymap.enums import OPEN_STATES, SHANGHAI, CaseState, UnitStatus
from govgrid.citymap.models import (
    Camera,
    Case,
    CaseReport,
    CaseStep,
    FieldUnit,
    GridArea,
    GridCell,
    Part,
    Photo,
    UnitPosition,
)
from govgrid.core.audit import service as audit
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.departments import service as departments
from govgrid.core.departments.models import Department
from govgrid.core.divisions import service as divisions
from govgrid.core.divisions.models import Division
from govgrid.core.errors import BadRequest, Conflict, Forbidden, NotFound, ValidationFailed
from govgrid.core.events import publish
from govgrid.core.geofiles import excerpt
from govgrid.core.ports import CityCaseClosed, report_case_closed
from govgrid.core.workdays import default_calendar

log = logging.getLogger(__name__)

LIVE_EVENT = "citymap.live"  # published after commit; the live map's broadcaster forwards it to listeners
DEDUP_RADIUS_M = 50.0
DEDUP_WINDOW = timedelta(hours=24)
MAX_CELLS_PER_COMMUNITY = 999
ADMIN_ROLES = ("admin", "operator")
DISPATCH_ROLES = ("dispatcher",)
COLLECT_ROLES = ("inspector",)
HANDLER_ROLES = ("handler",)
VERIFY_ROLES = ("inspector", "supervisor", "verifier")
EVALUATE_ROLES = ("supervisor",)
MACHINE_SOURCES = ("video", "iot")
OWN_SOURCES = ("inspector", *MACHINE_SOURCES)
PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp"}
PHOTO_MAX_BYTES = 8 * 1024 * 1024

Actor = Any  # Principal | SystemActor | PublicActor


# ---------------------------------------------------------------------------------------------- helpers


def _who(actor: Actor) -> tuple[str, str | None, str | None]:
    """(kind, id, name to show): people by display name, machines and channels by their audit name."""
    kind, aid, name = actor.audit_identity
    if isinstance(actor, Principal) and actor.display_name:
        name = actor.display_name
    return kind, aid, name


def _division(session: Session, code: str) -> Division:
    return divisions.get(session, code)


def county_of(code: str) -> str:
    """The county code (first six digits) of a division, cell or part code."""
    return code[:6]


def in_territory(
    session: Session, principal: Principal | None, division_code: str, roles: tuple[str, ...]
) -> bool:
    """True if the principal holds one of the roles over the division (its own, or an ancestor with reach)."""
    if principal is None:
        return False
    if principal.is_superuser:
        return True
    stmt = select(Division.code).where(
        Division.code == division_code, territory_clause(principal, Division.path, roles)
    )
    return session.scalar(stmt) is not None


def territory_clause(principal: Principal | None, path_column: Any, roles: tuple[str, ...] | None) -> Any:
    """Predicate over a division path: inside the territory of one of the principal's assignments.

    A department-reach assignment covers its own division and everything below (a county bureau's handler
    works across the county's grid), unlike `policy.division_clause`, which gives it only its own division.
    """
    if principal is None:
        return policy.division_clause(None, path_column, roles)
    if principal.is_superuser:
        return policy.division_clause(principal, path_column, roles)
    parts = [
        path_column.like(a.division_path + "%") for a in principal.assignments if not roles or a.role in roles
    ]
    return or_(*parts) if parts else policy.division_clause(None, path_column, roles)


def _require_territory(
    session: Session, principal: Principal, division_code: str, roles: tuple[str, ...], what: str
) -> None:
    if not in_territory(session, principal, division_code, roles):
        raise Forbidden(
            f"{what}需要在该区域拥有以下角色之一: {', '.join(roles)} "
            f"(requires one of these roles over division {division_code}: {', '.join(roles)})"
        )


def _role_used(principal: Principal, roles: tuple[str, ...]) -> str | None:
    if principal.is_superuser:
        return "admin"
    return next((a.role for a in principal.assignments if a.role in roles), None)


GRID_LINE = "urban_management"  # the bureau that keeps the unit grid and the city parts register (城管局)


def may_manage_grid(principal: Principal, division: Division) -> bool:
    """True for the platform administrator and for an administrator of an urban-management department whose
    division is this one or an ancestor of it: the county bureau keeps the county's grid and parts. No other
    bureau, role or reach may import, generate or delete cells or import parts."""
    if principal.is_superuser:
        return True
    return any(
        a.role == "admin" and a.line_code == GRID_LINE and division.path.startswith(a.division_path)
        for a in principal.assignments
    )


def require_grid_admin(session: Session, actor: Actor, division_code: str) -> Division:
    """The division, if the actor may change its grid and parts (403 otherwise; system actors may)."""
    div = _division(session, division_code)
    if isinstance(actor, Principal) and not may_manage_grid(actor, div):
        raise Forbidden(
            f"只有城市管理部门的管理员可以修改 {div.name} 的网格和部件 "
            f"(only an administrator of the urban management bureau over {div.code} may change its grid and parts)"
        )
    return div


# ------------------------------------------------------------------------------------------ cell index cache


class _IndexCache:
    """A CellIndex per county, rebuilt when the county's grid changes (keyed by count and code range)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[tuple[Any, ...], spatial.CellIndex | None]] = {}

    def get(self, session: Session, county: str) -> spatial.CellIndex | None:
        key = tuple(
            session.execute(
                select(
                    func.count(), func.min(GridCell.code), func.max(GridCell.code), func.sum(GridCell.area_m2)
                ).where(GridCell.county_code == county)
            ).one()
        )
        with self._lock:
            hit = self._cache.get(county)
            if hit is not None and hit[0] == key:
                return hit[1]
        rows = session.execute(
            select(GridCell.code, GridCell.geometry).where(GridCell.county_code == county)
        ).all()
        index = (
            spatial.CellIndex([r[0] for r in rows], [shape(json.loads(r[1])) for r in rows]) if rows else None
        )
        with self._lock:
            self._cache[county] = (key, index)
        return index


cell_indexes = _IndexCache()


@dataclass
class Place:
    """Where a point lies: the grid cell (if any), the deepest division and its path."""

    cell_code: str | None
    division_code: str
    division_path: str
    county_code: str


def locate_point(session: Session, lon: float, lat: float) -> Place:
    """The cell and division of a WGS 84 point; 422 if it lies outside every county."""
    divisions.check_point(lon, lat)
    county = divisions.locate(session, lon, lat, level="county")
    if county is None:
        raise ValidationFailed(
            "位置不在任何县级区划内 (the point lies outside every county)",
            details=[{"loc": ["lon"], "msg": f"{lon},{lat}"}],
        )
    index = cell_indexes.get(session, county.code)
    cell = index.assign_codes([lon], [lat])[0] if index is not None else None
    if cell is not None:
        row = session.execute(
            select(GridCell.division_code, GridCell.division_path).where(GridCell.code == cell)
        ).one()
        return Place(cell, row[0], row[1], county.code)
    deepest = divisions.locate(session, lon, lat) or county
    return Place(None, deepest.code, deepest.path, county.code)


# ------------------------------------------------------------------------------------------------- grid


def _responsible_department(session: Session, division_code: str, county_code: str) -> Department:
    """属地兜底: the community's government, else the street's, else the county urban management bureau."""
    for code in (
        f"{division_code}-government",
        f"{division_code[:9]}-government",
        f"{county_code}-urban_management",
        f"{county_code}-government",
    ):
        dept = session.scalar(select(Department).where(Department.code == code))
        if dept is not None:
            return dept
    raise ValidationFailed(f"区划 {division_code} 没有可负责的部门 (no responsible department exists)")


def _require_admin_over(session: Session, principal: Actor, division_code: str) -> None:
    if isinstance(principal, Principal):
        _require_territory(session, principal, division_code, ADMIN_ROLES, "管理网格和部件")


def _cell_row(
    code: str,
    county: str,
    div: Division,
    geom: Any,
    area: float,
    dept_id: int,
    name: str | None,
    responsible: str | None,
) -> dict[str, Any]:
    minx, miny, maxx, maxy = geom.bounds
    c = geom.representative_point()
    return dict(
        code=code,
        county_code=county,
        division_code=div.code,
        division_path=div.path,
        name=name or f"{div.name}网格{code[-3:]}",
        geometry=json.dumps(mapping(geom), separators=(",", ":")),
        area_m2=round(area, 1),
        min_lon=minx,
        min_lat=miny,
        max_lon=maxx,
        max_lat=maxy,
        center_lon=c.x,
        center_lat=c.y,
        responsible_department_id=dept_id,
        responsible_name=responsible,
    )


def _communities(session: Session, div: Division) -> list[tuple[Division, Any]]:
    """The communities (villages) a township's grid is laid out in, with their boundaries; itself if none."""
    if div.level == "village":
        targets = [div]
    elif div.level == "township":
        targets = [c for c in divisions.children(session, div.code) if c.level == "village"] or [div]
    else:
        raise ValidationFailed(
            "网格只能在乡镇（街道）或村（社区）内生成 (grid cells are laid out in a township or village)",
            details=[{"loc": ["division_code"], "msg": f"{div.code} is a {div.level}"}],
        )
    out = []
    for t in targets:
        raw = session.scalar(select(Division.boundary).where(Division.code == t.code))
        if raw:
            out.append((t, shape(json.loads(raw))))
    if not out:
        raise ValidationFailed(f"区划 {div.code} 没有边界 (the division has no boundary)")
    return out


def _community_prefix(div: Division) -> str:
    """county 6 + street 3 + community 3: a village's own 12 digits, a township's 9 plus 000."""
    return div.code if div.level == "village" else div.code[:9] + "000"


def _next_serials(session: Session, prefixes: list[str]) -> dict[str, int]:
    out = {}
    for p in prefixes:
        top = session.scalar(select(func.max(GridCell.code)).where(GridCell.code.like(p + "___")))
        out[p] = int(top[-3:]) if top else 0
    return out


def generate_grid(
    session: Session,
    *,
    actor: Actor,
    division_code: str,
    cell_m: float = 100.0,
    within: dict[str, Any] | None = None,
) -> list[GridCell]:
    """Lay square cells of cell_m metres over a township (split by its villages) or a village, optionally only
    inside `within` (e.g. the built-up area); codes per the 15-digit layout; 409 if cells already exist there."""
    div = require_grid_admin(session, actor, division_code)
    if not (20 <= cell_m <= 1000):
        raise ValidationFailed(
            "网格边长须在 20..1000 米之间 (cell size must be 20..1000 m)",
            details=[{"loc": ["cell_m"], "msg": str(cell_m)}],
        )
    clip = None
    if within is not None:
        problems: list[dict[str, Any]] = []
        clip = divisions.parse_boundary(within, problems)
        if problems:
            raise ValidationFailed(
                "范围无效 (invalid area)", details=[{"loc": ["within"], "msg": p["msg"]} for p in problems]
            )
    existing = session.scalar(
        select(func.count()).select_from(GridCell).where(GridCell.division_path.like(div.path + "%"))
    )
    if existing:
        raise Conflict(
            f"{div.name} 已有 {existing} 个网格；请先删除或改用导入 (grid cells already exist there)"
        )
    county = county_of(div.code)
    rows = []
    comms = _communities(session, div)
    serials = _next_serials(session, [_community_prefix(c) for c, _ in comms])
    covered = []
    for comm, boundary in comms:
        region = boundary if clip is None else boundary.intersection(clip)
        if region.is_empty:
            continue
        covered.append(region)
        cells = spatial.square_grid(region, cell_m)
        prefix = _community_prefix(comm)
        if serials[prefix] + len(cells) > MAX_CELLS_PER_COMMUNITY:
            raise ValidationFailed(
                f"{comm.name} 需要 {len(cells)} 个网格，超过每个社区 999 个的编码容量；请限定范围或加大网格 "
                f"(too many cells for the 3-digit serial: limit the area with 'within' or use larger cells)"
            )
        dept = _responsible_department(session, comm.code, county)
        proj = spatial.Projector.around(region)
        for geom in cells:
            serials[prefix] += 1
            rows.append(
                _cell_row(
                    f"{prefix}{serials[prefix]:03d}",
                    county,
                    comm,
                    geom,
                    proj.to_metres(geom).area,
                    dept.id,
                    None,
                    None,
                )
            )
    if not rows:
        raise ValidationFailed("范围内没有可生成的网格 (no cells fall inside the area)")
    objs = [GridCell(**r) for r in rows]
    session.add_all(objs)
    if clip is not None:  # the grid covers part of the division: gaps are measured against that part
        area = shapely.unary_union(covered)
        session.merge(
            GridArea(
                division_code=div.code,
                geometry=json.dumps(mapping(area), separators=(",", ":")),
                area_m2=spatial.Projector.around(area).to_metres(area).area,
            )
        )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="citymap.grid_generate",
        entity_type="division",
        entity_id=div.code,
        division_code=div.code,
        detail={"cells": len(objs), "cell_m": cell_m},
    )
    return objs


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


def import_grid(
    session: Session,
    *,
    actor: Actor,
    division_code: str,
    features: list[dict[str, Any]],
    crs: str | None = None,
) -> tuple[list[GridCell], spatial.GridProblems]:
    """Import cells (GeoJSON features in WGS 84) into a township or village; all or nothing.

    Refused (422, every problem listed): wrong CRS, non-polygons, self-intersections, geometry outside the
    division, overlaps among the new cells or with existing ones, bad or duplicate codes. Gaps are reported.
    """
    div = require_grid_admin(session, actor, division_code)
    problems: list[dict[str, Any]] = []
    msg = check_crs(crs)
    if msg:
        raise ValidationFailed(msg, details=[{"loc": ["crs"], "msg": msg}])
    if not features:
        raise ValidationFailed(
            "没有要素 (no features to import)", details=[{"loc": ["features"], "msg": "empty"}]
        )
    comms = _communities(session, div)
    region = shapely.unary_union([b for _, b in comms])
    grown = region.buffer(1e-5)  # ~1 m of tolerance for boundaries digitised at a different precision
    shapely.prepare(grown)
    geoms: list[Any] = []
    for i, feat in enumerate(features):
        geom_json = feat.get("geometry") if isinstance(feat, dict) else None
        if not isinstance(geom_json, dict):
            problems.append({"loc": ["features", i, "geometry"], "msg": "缺少几何 (missing geometry)"})
            geoms.append(None)
            continue
        local: list[dict[str, Any]] = []
        geom = divisions.parse_boundary(geom_json, local)
        for p in local:
            problems.append({"loc": ["features", i, "geometry"], "msg": p["msg"]})
        if geom is not None and not grown.contains(geom):
            problems.append(
                {
                    "loc": ["features", i, "geometry"],
                    "msg": f"超出区划 {div.name} 的边界 (lies outside division {div.code})",
                }
            )
        geoms.append(geom)
    county = county_of(div.code)
    good = [g for g in geoms if g is not None]
    checked = spatial.validate_grid(good, region) if len(good) == len(geoms) else None
    if checked is not None:
        for i, j, a in checked.overlaps:
            problems.append(
                {
                    "loc": ["features", j, "geometry"],
                    "msg": f"与第 {i} 个要素重叠 {a:.0f} 平方米 (overlaps feature {i})",
                }
            )
        existing = session.execute(
            select(GridCell.code, GridCell.geometry).where(
                GridCell.county_code == county,
                GridCell.min_lon <= region.bounds[2],
                GridCell.max_lon >= region.bounds[0],
                GridCell.min_lat <= region.bounds[3],
                GridCell.max_lat >= region.bounds[1],
            )
        ).all()
        if existing:
            proj = spatial.Projector.around(region)
            tree = shapely.STRtree([shape(json.loads(r[1])) for r in existing])
            for i, g in enumerate(good):
                for k in tree.query(g, predicate="intersects"):
                    a = proj.to_metres(g.intersection(tree.geometries[k])).area
                    if a > 1.0:
                        problems.append(
                            {
                                "loc": ["features", i, "geometry"],
                                "msg": f"与已有网格 {existing[k][0]} 重叠 (overlaps existing cell)",
                            }
                        )
    # codes: given (15 digits, inside one of the communities) or assigned by the community holding the centroid
    serials = _next_serials(session, [_community_prefix(c) for c, _ in comms])
    by_prefix = {_community_prefix(c): c for c, _ in comms}
    seen: set[str] = set()
    codes: list[str | None] = []
    comm_of: list[Division | None] = []
    for i, (feat, geom) in enumerate(zip(features, geoms, strict=True)):
        props = (feat.get("properties") or {}) if isinstance(feat, dict) else {}
        code = str(props.get("code") or "").strip() or None
        comm = None
        if code is not None:
            if not (code.isdigit() and len(code) == 15 and code[:12] in by_prefix):
                problems.append(
                    {
                        "loc": ["features", i, "properties", "code"],
                        "msg": f"网格代码须为 15 位并以所属社区代码开头 (15 digits starting with a community code of {div.code}): {excerpt(code)}",
                    }
                )
            else:
                comm = by_prefix[code[:12]]
        elif geom is not None:
            c = geom.representative_point()
            comm = next((cm for cm, b in comms if b.buffer(1e-5).contains(c)), comms[0][0])
            prefix = _community_prefix(comm)
            serials[prefix] += 1
            code = f"{prefix}{serials[prefix]:03d}"
            if serials[prefix] > MAX_CELLS_PER_COMMUNITY:
                problems.append(
                    {"loc": ["features", i], "msg": "社区网格数超过 999 (more than 999 cells in a community)"}
                )
        if code in seen:
            problems.append(
                {
                    "loc": ["features", i, "properties", "code"],
                    "msg": f"代码重复 (duplicate code) {excerpt(code)}",
                }
            )
        if code:
            seen.add(code)
        codes.append(code)
        comm_of.append(comm)
    if seen:
        taken = set(session.scalars(select(GridCell.code).where(GridCell.code.in_(seen))))
        for i, code in enumerate(codes):
            if code in taken:
                problems.append(
                    {
                        "loc": ["features", i, "properties", "code"],
                        "msg": f"代码已存在 (code already exists) {excerpt(code)}",
                    }
                )
    if problems:
        raise ValidationFailed(
            f"导入被拒绝，共 {len(problems)} 个问题，未写入任何数据 (import refused: nothing was written)",
            details=problems[:200],
        )
    assert checked is not None
    proj = spatial.Projector.around(region)
    objs = []
    for feat, geom, code, comm in zip(features, geoms, codes, comm_of, strict=True):
        props = feat.get("properties") or {}
        dept = _responsible_department(session, comm.code, county)
        objs.append(
            GridCell(
                **_cell_row(
                    code,
                    county,
                    comm,
                    geom,
                    proj.to_metres(geom).area,
                    dept.id,
                    _text(props.get("name"), 100),
                    _text(props.get("responsible"), 100),
                )
            )
        )
    session.add_all(objs)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="citymap.grid_import",
        entity_type="division",
        entity_id=div.code,
        division_code=div.code,
        detail={"cells": len(objs), "gap_m2": round(checked.gap_area_m2)},
    )
    return objs, checked


def _text(value: Any, limit: int) -> str | None:
    """A file's property as text for a column of `limit` characters (None when empty)."""
    if value is None or value == "":
        return None
    return str(value)[:limit]


def _json_value(value: Any) -> Any:
    """A file's property as a JSON value (dates and other types become text)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return str(value)[:500]


def grid_validation(
    session: Session, *, principal: Principal, division_code: str
) -> tuple[list[str], spatial.GridProblems]:
    """Codes and problems of the stored grid under a division the caller may read (a role over it)."""
    div = _division(session, division_code)
    if not in_territory(session, principal, div.code, ()):
        raise Forbidden(f"无权查看 {div.name} 的网格 (no access to the grid of division {div.code})")
    return cell_codes_in(session, div.code), validate_stored_grid(session, division_code=div.code)


def validate_stored_grid(session: Session, *, division_code: str) -> spatial.GridProblems:
    """Overlaps, gaps and cells outside the division for the stored grid of a township or village."""
    div = _division(session, division_code)
    rows = session.execute(
        select(GridCell.code, GridCell.geometry)
        .where(GridCell.division_path.like(div.path + "%"))
        .order_by(GridCell.code)
    ).all()
    if not rows:
        raise NotFound(f"{div.name} 没有网格 (no grid cells in this division)")
    return spatial.validate_grid([shape(json.loads(r[1])) for r in rows], grid_region(session, div))


def grid_region(session: Session, div: Division) -> Any:
    """What the division's grid must cover: its boundary, cut to the recorded grid areas of the division, its
    ancestors or its descendants when there are any (a grid over the built-up area only)."""
    raw = session.scalar(select(Division.boundary).where(Division.code == div.code))
    boundary = shape(json.loads(raw)) if raw else None
    ancestors = div.path.strip("/").split("/")
    areas = session.scalars(
        select(GridArea.geometry)
        .join(Division, Division.code == GridArea.division_code)
        .where(or_(GridArea.division_code.in_(ancestors), Division.path.like(div.path + "%")))
    ).all()
    if not areas:
        return boundary
    covered = shapely.unary_union([shape(json.loads(a)) for a in areas])
    return covered if boundary is None else covered.intersection(boundary)


def cell_codes_in(session: Session, division_code: str) -> list[str]:
    """Codes of the cells under a division, in order."""
    div = _division(session, division_code)
    return list(
        session.scalars(
            select(GridCell.code).where(GridCell.division_path.like(div.path + "%")).order_by(GridCell.code)
        )
    )


def delete_grid(session: Session, *, actor: Actor, division_code: str) -> int:
    """Remove every cell under a division (before regenerating)."""
    div = require_grid_admin(session, actor, division_code)
    cells = list(session.scalars(select(GridCell).where(GridCell.division_path.like(div.path + "%"))))
    for c in cells:
        session.delete(c)
    under = select(Division.code).where(Division.path.like(div.path + "%"))
    for area in session.scalars(select(GridArea).where(GridArea.division_code.in_(under))):
        session.delete(area)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="citymap.grid_delete",
        entity_type="division",
        entity_id=div.code,
        division_code=div.code,
        detail={"cells": len(cells)},
    )
    return len(cells)


# ------------------------------------------------------------------------------------------------ parts


def import_parts(
    session: Session,
    *,
    actor: Actor,
    county_code: str,
    features: list[dict[str, Any]],
    crs: str | None = None,
) -> list[Part]:
    """Import city parts (GeoJSON points with class_code and name); all or nothing; codes county+class+serial."""
    county = _division(session, county_code)
    if county.level != "county":
        raise ValidationFailed(
            "部件按县导入 (parts are imported per county)",
            details=[{"loc": ["county_code"], "msg": county.level}],
        )
    require_grid_admin(session, actor, county.code)
    msg = check_crs(crs)
    if msg:
        raise ValidationFailed(msg, details=[{"loc": ["crs"], "msg": msg}])
    if not features:
        raise ValidationFailed(
            "没有要素 (no features to import)", details=[{"loc": ["features"], "msg": "empty"}]
        )
    problems: list[dict[str, Any]] = []
    raw = session.scalar(select(Division.boundary).where(Division.code == county.code))
    boundary = shape(json.loads(raw)).buffer(1e-4) if raw else None
    if boundary is not None:
        shapely.prepare(boundary)
    pts: list[tuple[float, float] | None] = []
    classes: list[str | None] = []
    for i, feat in enumerate(features):
        g = feat.get("geometry") if isinstance(feat, dict) else None
        props = (feat.get("properties") or {}) if isinstance(feat, dict) else {}
        cc = str(props.get("class_code") or "")
        if catalog.get_class("part", cc) is None:
            problems.append(
                {
                    "loc": ["features", i, "properties", "class_code"],
                    "msg": f"未知部件类别 (unknown part class) '{excerpt(cc)}'",
                }
            )
            cc = None
        classes.append(cc)
        if not (
            isinstance(g, dict)
            and g.get("type") == "Point"
            and isinstance(g.get("coordinates"), list)
            and len(g["coordinates"]) >= 2
            and all(isinstance(v, (int, float)) for v in g["coordinates"][:2])
        ):
            problems.append(
                {"loc": ["features", i, "geometry"], "msg": "部件须为点 (a part must be a Point)"}
            )
            pts.append(None)
            continue
        lon, lat = float(g["coordinates"][0]), float(g["coordinates"][1])
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
        pts.append((lon, lat))
    if problems:
        raise ValidationFailed(
            f"导入被拒绝，共 {len(problems)} 个问题，未写入任何数据 (import refused: nothing was written)",
            details=problems[:200],
        )
    index = cell_indexes.get(session, county.code)
    lons = [p[0] for p in pts if p]
    lats = [p[1] for p in pts if p]
    cells = index.assign_codes(lons, lats) if index else [None] * len(lons)
    cell_paths = dict(
        session.execute(
            select(GridCell.code, GridCell.division_path).where(GridCell.code.in_({c for c in cells if c}))
        ).all()
    )
    serial: dict[str, int] = {}
    objs = []
    for feat, (lon, lat), cc, cell in zip(features, pts, classes, cells, strict=True):
        props = feat.get("properties") or {}
        prefix = f"{county.code}{cc}"
        if prefix not in serial:
            top = session.scalar(select(func.max(Part.code)).where(Part.code.like(prefix + "%")))
            serial[prefix] = int(top[-6:]) if top else 0
        serial[prefix] += 1
        klass = catalog.get_class("part", cc)
        objs.append(
            Part(
                code=f"{prefix}{serial[prefix]:06d}",
                class_code=cc,
                name=_text(props.get("name"), 100) or klass.name_zh,
                county_code=county.code,
                division_path=cell_paths.get(cell, county.path),
                cell_code=cell,
                lon=lon,
                lat=lat,
                status=_text(props.get("status"), 16) or "intact",
                attributes={
                    str(k)[:64]: _json_value(v)
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
    return objs


# ----------------------------------------------------------------------------------------------- photos


def save_photo(session: Session, *, actor: Actor, content_type: str, data: bytes) -> Photo:
    """Store a report photo (JPEG, PNG or WebP, at most 8 MB)."""
    if content_type not in PHOTO_TYPES:
        raise ValidationFailed(
            f"照片须为 JPEG/PNG/WebP，收到 {content_type} (photo must be JPEG, PNG or WebP)",
            details=[{"loc": ["file"], "msg": content_type}],
        )
    if not data:
        raise ValidationFailed("照片为空 (empty photo)", details=[{"loc": ["file"], "msg": "empty"}])
    if len(data) > PHOTO_MAX_BYTES:
        raise ValidationFailed(
            "照片超过 8 MB (photo larger than 8 MB)", details=[{"loc": ["file"], "msg": str(len(data))}]
        )
    magic = {"image/jpeg": b"\xff\xd8", "image/png": b"\x89PNG", "image/webp": b"RIFF"}[content_type]
    if not data.startswith(magic):
        raise ValidationFailed(
            "文件内容与类型不符 (file content does not match its type)",
            details=[{"loc": ["file"], "msg": content_type}],
        )
    photo = Photo(content_type=content_type, size=len(data), data=data, uploaded_by=actor.audit_identity[2])
    session.add(photo)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="citymap.photo_upload",
        entity_type="photo",
        entity_id=photo.id,
        detail={"size": len(data)},
    )
    return photo


def get_photo(session: Session, *, principal: Principal, photo_id: int) -> Photo:
    """A photo, if it belongs to a case the caller can see."""
    case_id = session.scalar(
        select(Case.id).where(Case.photo_id == photo_id, visible_clause(principal)).limit(1)
    )
    photo = session.get(Photo, photo_id)
    if photo is None or (case_id is None and photo.uploaded_by != principal.name):
        raise NotFound("照片不存在或无权查看 (no such photo in your scope)")
    return photo


# ------------------------------------------------------------------------------------------------ cases


def visible_clause(principal: Principal | None) -> Any:
    """Cases the principal may read: in its territory (any role) or assigned to a department in its scope."""
    return or_(
        territory_clause(principal, Case.division_path, None), policy.scope(Case.department_id, principal)
    )


def get_case(session: Session, *, principal: Principal, case_id: int, lock: bool = False) -> Case:
    """One case in the caller's scope (404 otherwise, without telling whether it exists); `lock` takes the row
    (SELECT ... FOR UPDATE on PostgreSQL) so two people cannot move the same case at once."""
    stmt = select(Case).where(Case.id == case_id, visible_clause(principal))
    if lock:
        stmt = stmt.with_for_update(of=Case)
    case = session.scalar(stmt)
    if case is None:
        raise NotFound(f"案卷 {case_id} 不存在或不在您的范围内 (no such case in your scope)")
    return case


def read_case(session: Session, *, principal: Principal, case_id: int) -> Case:
    """One case for display; reading a citizen's forwarded report (it may carry personal data) is audited."""
    case = get_case(session, principal=principal, case_id=case_id)
    if case.source not in OWN_SOURCES:
        audit.record(
            session,
            actor=principal,
            action="citymap.case_read",
            entity_type="citymap_case",
            entity_id=case.id,
            division_code=case.division_code,
            department_id=case.department_id,
            purpose="case handling",
        )
    return case


def _step(
    session: Session,
    case: Case,
    *,
    actor: Actor,
    action: str,
    from_state: str | None,
    role: str | None,
    note: str | None = None,
    at: datetime | None = None,
) -> None:
    kind, aid, name = _who(actor)
    session.add(
        CaseStep(
            case_id=case.id,
            action=action,
            from_state=from_state,
            to_state=case.state,
            actor_type=kind,
            actor_id=aid,
            actor_name=name,
            role=role,
            note=note,
            at=at or utcnow(),
        )
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"citymap.case_{action}",
        entity_type="citymap_case",
        entity_id=case.id,
        division_code=case.division_code,
        department_id=case.department_id,
        detail={"from": from_state, "to": case.state, "code": case.code},
    )
    publish(session, LIVE_EVENT, data=case_event(case))


def case_event(case: Case) -> dict[str, Any]:
    """The live feed's payload for a case: its map fields, and where it belongs (the feed scopes by it)."""
    return {
        "channel": "case",
        "county": case.county_code,
        **case_marker(case),
        "scope": {"path": case.division_path, "department_id": case.department_id},
    }


def case_marker(case: Case, now: datetime | None = None) -> dict[str, Any]:
    """The public map fields of a case."""
    now = now or utcnow()
    overdue = case.deadline_at is not None and case.state in OPEN_STATES and case.deadline_at < now
    return {
        "id": case.id,
        "code": case.code,
        "state": case.state,
        "kind": case.kind,
        "class_code": case.class_code,
        "lon": case.lon,
        "lat": case.lat,
        "cell_code": case.cell_code,
        "overdue": overdue,
    }


def _new_code(session: Session, county: str, at: datetime) -> str:
    day = at.astimezone(SHANGHAI).strftime("%Y%m%d")
    prefix = f"{county}{day}"
    top = session.scalar(select(func.max(Case.code)).where(Case.code.like(prefix + "%")))
    return f"{prefix}{(int(top[-5:]) + 1) if top else 1:05d}"


def check_instant(value: datetime | None, name: str) -> datetime | None:
    """A time from a query as aware UTC; 422 for a time without a timezone or one outside the range of dates."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationFailed(
            f"时间须带时区，例如 2024-05-01T08:00:00+08:00 (the time needs a timezone): {name}",
            details=[{"loc": ["query", name], "msg": "naive datetime"}],
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValidationFailed(
            f"时间超出范围 (the time is out of range): {name}",
            details=[{"loc": ["query", name], "msg": "out of range"}],
        ) from None


def _check_reported_at(at: datetime | None) -> datetime:
    now = utcnow()
    if at is None:
        return now
    if at.tzinfo is None:
        raise ValidationFailed(
            "时间须带时区 (timestamps need a timezone, e.g. 2024-05-01T08:00:00+08:00)",
            details=[{"loc": ["reported_at"], "msg": "naive datetime"}],
        )
    if at > now + timedelta(minutes=5):
        raise ValidationFailed(
            "上报时间在未来 (report time lies in the future)",
            details=[{"loc": ["reported_at"], "msg": at.isoformat()}],
        )
    if at < now - timedelta(days=30):
        raise ValidationFailed(
            "上报时间早于 30 天前 (report older than 30 days)",
            details=[{"loc": ["reported_at"], "msg": at.isoformat()}],
        )
    return at


@dataclass
class ReportOutcome:
    """The case a report filed or joined, and whether it was a repeat of an open case."""

    case: Case
    duplicate: bool


def report_event(
    session: Session,
    *,
    actor: Actor,
    source: str,
    kind: str,
    class_code: str,
    lon: float,
    lat: float,
    description: str = "",
    external_ref: str | None = None,
    camera_code: str | None = None,
    photo_id: int | None = None,
    part_code: str | None = None,
    reported_at: datetime | None = None,
    check_roles: bool = True,
) -> ReportOutcome:
    """信息收集: a report from an inspector, a sensor or camera, or another module; repeats of an open case of the
    same class within 50 m and 24 h join that case (as do repeats of the same source reference)."""
    klass = catalog.get_class(kind, class_code)
    if klass is None:
        raise ValidationFailed(
            f"未知的{'部件' if kind == 'part' else '事件'}类别 {class_code} (unknown {kind} class)",
            details=[{"loc": ["class_code"], "msg": class_code}],
        )
    at = _check_reported_at(reported_at)
    place = locate_point(session, lon, lat)
    restricted = check_roles and isinstance(actor, Principal)
    role = None
    if restricted:  # before anything about existing cases is looked up or told
        _require_territory(session, actor, place.division_code, COLLECT_ROLES, "信息采集")
        role = _role_used(actor, COLLECT_ROLES)
    if external_ref:
        prior = session.scalar(
            select(CaseReport.case_id).where(
                CaseReport.source == source, CaseReport.external_ref == external_ref
            )
        )
        if prior is not None:
            stmt = select(Case).where(Case.id == prior)
            known = session.scalar(stmt.where(visible_clause(actor)) if restricted else stmt)
            if known is None:
                raise Conflict(
                    "该来源编号已被其他案卷使用 (this source reference is already used by a case outside your scope)",
                    details=[{"loc": ["external_ref"], "msg": "in use"}],
                )
            return ReportOutcome(known, True)
    camera = None
    if camera_code:
        camera = session.scalar(select(Camera).where(Camera.code == camera_code))
        if camera is None:
            raise ValidationFailed(
                f"摄像头 {camera_code} 未登记 (unknown camera)",
                details=[{"loc": ["camera_code"], "msg": camera_code}],
            )
    if part_code and session.scalar(select(Part.id).where(Part.code == part_code)) is None:
        raise ValidationFailed(
            f"部件 {part_code} 不存在 (unknown part)", details=[{"loc": ["part_code"], "msg": part_code}]
        )
    kind_, rid, rname = _who(actor)
    twin = _find_open_twin(session, kind, class_code, lon, lat, at)

    def add_report(case_id: int, duplicate: bool) -> None:
        session.add(
            CaseReport(
                case_id=case_id,
                source=source,
                external_ref=external_ref,
                reporter_type=kind_,
                reporter_id=rid,
                description=description,
                lon=lon,
                lat=lat,
                camera_id=camera.id if camera else None,
                duplicate=duplicate,
                reported_at=at,
            )
        )

    if twin is not None:
        twin.report_count += 1
        add_report(twin.id, True)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="citymap.case_duplicate_report",
            entity_type="citymap_case",
            entity_id=twin.id,
            division_code=twin.division_code,
            detail={"source": source},
        )
        return ReportOutcome(twin, True)
    case = Case(
        code=_new_code(session, place.county_code, at),
        source=source,
        external_ref=external_ref,
        kind=kind,
        class_code=class_code,
        description=description,
        lon=lon,
        lat=lat,
        cell_code=place.cell_code,
        county_code=place.county_code,
        division_code=place.division_code,
        division_path=place.division_path,
        part_code=part_code,
        camera_id=camera.id if camera else None,
        photo_id=photo_id,
        reporter_type=kind_,
        reporter_id=rid,
        reporter_name=rname,
        state=CaseState.collected.value,
        reported_at=at,
    )
    session.add(case)
    session.flush()
    add_report(case.id, False)
    _step(session, case, actor=actor, action="collect", from_state=None, role=role, at=at)
    return ReportOutcome(case, False)


def _find_open_twin(
    session: Session, kind: str, class_code: str, lon: float, lat: float, at: datetime
) -> Case | None:
    dlat = DEDUP_RADIUS_M / 111_000
    dlon = dlat / max(0.1, math.cos(math.radians(lat)))
    rows = list(
        session.scalars(
            select(Case).where(
                Case.kind == kind,
                Case.class_code == class_code,
                Case.state.in_([s.value for s in OPEN_STATES]),
                Case.lon.between(lon - dlon, lon + dlon),
                Case.lat.between(lat - dlat, lat + dlat),
                Case.reported_at >= at - DEDUP_WINDOW,
            )
        )
    )
    best, best_d = None, DEDUP_RADIUS_M
    for c in rows:
        d = float(spatial.haversine_m(lon, lat, c.lon, c.lat))
        if d <= best_d:
            best, best_d = c, d
    return best


def _expect(case: Case, *states: CaseState) -> None:
    if case.state not in [s.value for s in states]:
        raise Conflict(
            f"案卷 {case.code} 当前状态为 {CaseState(case.state).zh}，不能执行此操作 "
            f"(case is '{case.state}'; this step needs {'/'.join(s.value for s in states)})"
        )


def file_case(
    session: Session,
    *,
    principal: Principal,
    case_id: int,
    class_code: str | None = None,
    note: str | None = None,
) -> Case:
    """案卷建立 (command centre dispatcher): accept the report as a case; the deadline clock starts."""
    case = get_case(session, principal=principal, case_id=case_id, lock=True)
    _require_territory(session, principal, case.division_code, DISPATCH_ROLES, "立案")
    _expect(case, CaseState.collected)
    if class_code and class_code != case.class_code:
        if catalog.get_class(case.kind, class_code) is None:
            raise ValidationFailed(
                f"未知类别 {class_code} (unknown class)", details=[{"loc": ["class_code"], "msg": class_code}]
            )
        case.class_code = class_code
    now = utcnow()
    case.state = CaseState.filed.value
    case.filed_at = now
    case.deadline_at = deadline_for(case, now)
    _step(
        session,
        case,
        actor=principal,
        action="file",
        from_state=CaseState.collected.value,
        role=_role_used(principal, DISPATCH_ROLES),
        note=note,
    )
    return case


def deadline_for(case: Case, start: datetime) -> datetime:
    """The handling deadline: the class's office hours on the working-day calendar."""
    klass = catalog.get_class(case.kind, case.class_code) or catalog.CLASSES[("event", "0699")]
    return default_calendar().add_working_hours(start, klass.deadline_hours)


def reject_case(session: Session, *, principal: Principal, case_id: int, reason: str) -> Case:
    """不予立案: the command centre declines the report (not a city-management matter, or not real)."""
    case = get_case(session, principal=principal, case_id=case_id, lock=True)
    _require_territory(session, principal, case.division_code, DISPATCH_ROLES, "不予立案")
    _expect(case, CaseState.collected)
    case.state = CaseState.rejected.value
    case.result = reason
    _step(
        session,
        case,
        actor=principal,
        action="reject",
        from_state=CaseState.collected.value,
        role=_role_used(principal, DISPATCH_ROLES),
        note=reason,
    )
    _tell_source(session, case, f"不予立案: {reason}")
    return case


def default_department(session: Session, case: Case) -> Department:
    """The county department of the class's line (falls back to urban management)."""
    klass = catalog.get_class(case.kind, case.class_code) or catalog.CLASSES[("event", "0699")]
    for line in (klass.line, "urban_management"):
        dept = session.scalar(select(Department).where(Department.code == f"{case.county_code}-{line}"))
        if dept is not None:
            return dept
    raise ValidationFailed("没有可派遣的处置部门 (no handling department exists in this county)")


def dispatch_case(
    session: Session,
    *,
    principal: Principal,
    case_id: int,
    department_code: str | None = None,
    unit_id: int | None = None,
    note: str | None = None,
) -> Case:
    """任务派遣 (dispatcher): hand the case to a department and optionally a field unit."""
    case = get_case(session, principal=principal, case_id=case_id, lock=True)
    _require_territory(session, principal, case.division_code, DISPATCH_ROLES, "派遣")
    _expect(case, CaseState.filed)
    unit = None
    if unit_id is not None:
        unit = session.get(FieldUnit, unit_id)
        if unit is None or unit.county_code != case.county_code:
            raise ValidationFailed(
                "处置力量不存在或不属于本县 (no such field unit in this county)",
                details=[{"loc": ["unit_id"], "msg": str(unit_id)}],
            )
        if unit.status == UnitStatus.off_duty.value:
            raise Conflict(f"{unit.name} 不在岗 (the unit is off duty)")
        dept = departments.get(session, unit.department_id)
    elif department_code:
        dept = session.scalar(select(Department).where(Department.code == department_code))
        if dept is None:
            raise ValidationFailed(
                f"部门 {department_code} 不存在 (unknown department)",
                details=[{"loc": ["department_code"], "msg": department_code}],
            )
    else:
        dept = default_department(session, case)
    if county_of(dept.division_code) != case.county_code:
        raise ValidationFailed(
            "只能派遣给本县的部门 (dispatch to a department of the same county)",
            details=[{"loc": ["department_code"], "msg": dept.code}],
        )
    case.state = CaseState.dispatched.value
    case.department_id = dept.id
    case.unit_id = unit.id if unit else None
    case.dispatched_at = utcnow()
    _step(
        session,
        case,
        actor=principal,
        action="dispatch",
        from_state=CaseState.filed.value,
        role=_role_used(principal, DISPATCH_ROLES),
        note=note or (unit.name if unit else dept.name),
    )
    return case


def _require_handler(session: Session, principal: Principal, case: Case) -> str:
    """The assigned department's handler, or the field unit's own account."""
    if case.unit_id is not None:
        unit = session.get(FieldUnit, case.unit_id)
        if unit is not None and principal.kind == "user" and unit.user_id == principal.id:
            return "field_unit"
    if case.department_id is None or not policy.can_act(
        session, principal, case.department_id, HANDLER_ROLES
    ):
        raise Forbidden(
            "只有承办部门的处置人员或派遣的处置力量可以处理此案卷 "
            "(only a handler of the assigned department or the dispatched unit may handle this case)"
        )
    return _role_used(principal, HANDLER_ROLES) or "handler"


def _set_unit(session: Session, case: Case, status: UnitStatus) -> None:
    if case.unit_id is None:
        return
    unit = session.get(FieldUnit, case.unit_id)
    if unit is not None and unit.status != UnitStatus.off_duty.value:
        unit.status = status.value
        publish(session, LIVE_EVENT, data=unit_event(unit))


def acknowledge_case(
    session: Session, *, principal: Principal, case_id: int, note: str | None = None
) -> Case:
    """任务处理 begins: the department or unit signs for the task (the unit sets off)."""
    case = get_case(session, principal=principal, case_id=case_id, lock=True)
    role = _require_handler(session, principal, case)
    _expect(case, CaseState.dispatched)
    case.state = CaseState.handling.value
    case.acknowledged_at = utcnow()
    _set_unit(session, case, UnitStatus.en_route)
    _step(
        session,
        case,
        actor=principal,
        action="acknowledge",
        from_state=CaseState.dispatched.value,
        role=role,
        note=note,
    )
    return case


def arrive_case(session: Session, *, principal: Principal, case_id: int) -> Case:
    """The unit is on site: response time = arrival - dispatch."""
    case = get_case(session, principal=principal, case_id=case_id, lock=True)
    role = _require_handler(session, principal, case)
    _expect(case, CaseState.handling)
    if case.arrived_at is None:
        case.arrived_at = utcnow()
    _set_unit(session, case, UnitStatus.on_site)
    _step(session, case, actor=principal, action="arrive", from_state=CaseState.handling.value, role=role)
    return case


def feedback_case(
    session: Session, *, principal: Principal, case_id: int, result: str, photo_id: int | None = None
) -> Case:
    """处理反馈: the handler reports the work done; the supervision centre verifies next."""
    case = get_case(session, principal=principal, case_id=case_id, lock=True)
    role = _require_handler(session, principal, case)
    _expect(case, CaseState.handling)
    if not result.strip():
        raise ValidationFailed(
            "请填写处理结果 (describe what was done)", details=[{"loc": ["result"], "msg": "empty"}]
        )
    case.state = CaseState.handled.value
    case.handled_at = utcnow()
    case.result = result
    if case.arrived_at is None:
        case.arrived_at = case.handled_at
    _set_unit(session, case, UnitStatus.available)
    _step(
        session,
        case,
        actor=principal,
        action="feedback",
        from_state=CaseState.handling.value,
        role=role,
        note=result if photo_id is None else f"{result} [photo {photo_id}]",
    )
    return case


def verify_case(
    session: Session, *, principal: Principal, case_id: int, passed: bool, note: str | None = None
) -> Case:
    """核查结案 (supervision centre): closed if fixed, else back to handling as rework (返工)."""
    case = get_case(session, principal=principal, case_id=case_id, lock=True)
    _require_territory(session, principal, case.division_code, VERIFY_ROLES, "核查")
    _expect(case, CaseState.handled)
    now = utcnow()
    case.verifier_id = str(principal.id)
    if passed:
        case.state = CaseState.closed.value
        case.closed_at = now
        case.closed_on_time = case.deadline_at is None or now <= case.deadline_at
        _step(
            session,
            case,
            actor=principal,
            action="verify_pass",
            from_state=CaseState.handled.value,
            role=_role_used(principal, VERIFY_ROLES),
            note=note,
        )
        _tell_source(session, case, case.result or "已处置 (handled)")
    else:
        case.state = CaseState.handling.value
        case.rework_count += 1
        case.handled_at = None
        _step(
            session,
            case,
            actor=principal,
            action="verify_fail",
            from_state=CaseState.handled.value,
            role=_role_used(principal, VERIFY_ROLES),
            note=note or "核查未通过，返工 (rework)",
        )
    return case


def evaluate_case(
    session: Session, *, principal: Principal, case_id: int, score: int, note: str | None = None
) -> Case:
    """综合评价 (supervisor): a 1..5 score of the handling."""
    case = get_case(session, principal=principal, case_id=case_id, lock=True)
    _require_territory(session, principal, case.division_code, EVALUATE_ROLES, "综合评价")
    _expect(case, CaseState.closed)
    if not 1 <= score <= 5:
        raise ValidationFailed(
            "评分须为 1..5 (score must be 1..5)", details=[{"loc": ["score"], "msg": str(score)}]
        )
    case.state = CaseState.evaluated.value
    case.evaluated_at = utcnow()
    case.evaluation_score = score
    _step(
        session,
        case,
        actor=principal,
        action="evaluate",
        from_state=CaseState.closed.value,
        role=_role_used(principal, EVALUATE_ROLES),
        note=note,
    )
    return case


def _tell_source(session: Session, case: Case, result: str) -> None:
    """A case that came from another module (through the declared port) reports its outcome back."""
    if case.source in OWN_SOURCES or not case.external_ref:
        return
    report_case_closed(
        session,
        CityCaseClosed(
            source=case.source,
            external_ref=case.external_ref,
            case_code=case.code,
            result=result,
            closed_at=utcnow().isoformat(),
        ),
    )


def case_steps(session: Session, *, principal: Principal, case_id: int) -> list[CaseStep]:
    """The time-stamped history of a case."""
    get_case(session, principal=principal, case_id=case_id)
    return list(
        session.scalars(
            select(CaseStep).where(CaseStep.case_id == case_id).order_by(CaseStep.at, CaseStep.id)
        )
    )


def list_cases(
    session: Session,
    *,
    principal: Principal,
    county_code: str | None = None,
    state: str | None = None,
    cell_code: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    overdue: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Case], int]:
    """Cases in the caller's scope, newest first."""
    stmt = select(Case).where(visible_clause(principal))
    if county_code:
        stmt = stmt.where(Case.county_code == county_code)
    if state:
        stmt = stmt.where(Case.state == state)
    if cell_code:
        stmt = stmt.where(Case.cell_code == cell_code)
    if bbox:
        stmt = stmt.where(Case.lon.between(bbox[0], bbox[2]), Case.lat.between(bbox[1], bbox[3]))
    if overdue:
        stmt = stmt.where(Case.state.in_([s.value for s in OPEN_STATES]), Case.deadline_at < utcnow())
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = list(
        session.scalars(stmt.order_by(Case.reported_at.desc(), Case.id.desc()).limit(limit).offset(offset))
    )
    return items, total


# -------------------------------------------------------------------------------------- port: other modules


def file_from_port(
    session: Session,
    *,
    actor: Actor,
    source: str,
    external_ref: str,
    category: str,
    description: str,
    lon: float,
    lat: float,
    reported_at: str | None,
) -> ReportOutcome:
    """A citizen's event forwarded by another module (CITY_EVENT_REPORTED): mapped to a GB/T 30428 class."""
    klass = catalog.map_source_category(category, description)
    at = None
    if reported_at:
        try:
            at = datetime.fromisoformat(reported_at)
        except ValueError:
            at = None
    if at is not None and (at.tzinfo is None or at < utcnow() - timedelta(days=30) or at > utcnow()):
        at = None  # the forwarding time counts when the source's own stamp is unusable
    return report_event(
        session,
        actor=actor,
        source=source,
        kind=klass.kind,
        class_code=klass.code,
        lon=lon,
        lat=lat,
        description=description,
        external_ref=external_ref,
        reported_at=at,
        check_roles=False,
    )


# ------------------------------------------------------------------------------------------ field units


def unit_marker(unit: FieldUnit) -> dict[str, Any]:
    """The map fields of a unit."""
    return {
        "id": unit.id,
        "code": unit.code,
        "name": unit.name,
        "kind": unit.kind,
        "status": unit.status,
        "lon": unit.lon,
        "lat": unit.lat,
        "skills": list(unit.skills or []),
        "last_seen_at": unit.last_seen_at.isoformat() if unit.last_seen_at else None,
    }


def unit_event(unit: FieldUnit) -> dict[str, Any]:
    """The live feed's payload for a unit: its map fields, and where it belongs (the feed scopes by it)."""
    return {
        "channel": "unit",
        "county": unit.county_code,
        **unit_marker(unit),
        "scope": {"path": unit.division_path, "department_id": unit.department_id},
    }


def units_clause(principal: Principal | None) -> Any:
    """Units the principal may see: its territory or its departments."""
    return or_(
        territory_clause(principal, FieldUnit.division_path, None),
        policy.scope(FieldUnit.department_id, principal),
    )


def create_unit(
    session: Session,
    *,
    actor: Actor,
    code: str,
    name: str,
    kind: str,
    department_code: str,
    skills: list[str],
    user_id: int | None = None,
    lon: float | None = None,
    lat: float | None = None,
) -> FieldUnit:
    """Register a field unit of a department."""
    dept = session.scalar(select(Department).where(Department.code == department_code))
    if dept is None:
        raise ValidationFailed(
            f"部门 {department_code} 不存在 (unknown department)",
            details=[{"loc": ["department_code"], "msg": department_code}],
        )
    if isinstance(actor, Principal):
        policy.require(
            session,
            actor,
            dept.id,
            ADMIN_ROLES + DISPATCH_ROLES,
            what="该部门的处置力量 (this department's units)",
        )
    bad = [s for s in skills if s not in catalog.SKILLS]
    if bad or not skills:
        raise ValidationFailed(
            f"技能须为 {', '.join(catalog.SKILLS)} 之一 (unknown skill)",
            details=[{"loc": ["skills"], "msg": ", ".join(bad) or "empty"}],
        )
    if session.scalar(select(FieldUnit.id).where(FieldUnit.code == code)) is not None:
        raise Conflict(f"处置力量编号 {code} 已存在 (unit code exists)")
    div = _division(session, dept.division_code)
    unit = FieldUnit(
        code=code,
        name=name,
        kind=kind,
        county_code=county_of(div.code),
        division_path=div.path,
        department_id=dept.id,
        user_id=user_id,
        skills=skills,
        lon=lon,
        lat=lat,
        status=UnitStatus.available.value,
        last_seen_at=utcnow() if lon is not None else None,
    )
    session.add(unit)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="citymap.unit_create",
        entity_type="citymap_unit",
        entity_id=unit.id,
        department_id=dept.id,
        division_code=div.code,
        detail={"code": code},
    )
    return unit


def get_unit(session: Session, *, principal: Principal, unit_id: int) -> FieldUnit:
    """One unit in scope (404 otherwise)."""
    unit = session.scalar(select(FieldUnit).where(FieldUnit.id == unit_id, units_clause(principal)))
    if unit is None:
        raise NotFound(f"处置力量 {unit_id} 不存在或不在您的范围内 (no such unit in your scope)")
    return unit


def list_units(
    session: Session, *, principal: Principal, county_code: str | None = None, status: str | None = None
) -> list[FieldUnit]:
    """Units in scope."""
    stmt = select(FieldUnit).where(units_clause(principal))
    if county_code:
        stmt = stmt.where(FieldUnit.county_code == county_code)
    if status:
        stmt = stmt.where(FieldUnit.status == status)
    return list(session.scalars(stmt.order_by(FieldUnit.code)))


def _may_move(session: Session, principal: Principal, unit: FieldUnit) -> bool:
    if principal.kind == "user" and unit.user_id == principal.id:
        return True
    return policy.can_act(
        session, principal, unit.department_id, ("handler", "operator", "dispatcher", "admin")
    )


def report_positions(
    session: Session,
    *,
    actor: Principal,
    unit_id: int,
    points: list[tuple[float, float, datetime | None, float | None]],
) -> FieldUnit:
    """Position reports (the unit's phone or a GPS gateway key): the track grows, last-seen moves on."""
    unit = session.get(FieldUnit, unit_id)
    if unit is None:
        raise NotFound(f"处置力量 {unit_id} 不存在 (no such unit)")
    if not _may_move(session, actor, unit):
        raise Forbidden("只能上报本单位处置力量的位置 (you may report positions of your own units only)")
    if not points:
        raise ValidationFailed("没有位置 (no positions)", details=[{"loc": ["positions"], "msg": "empty"}])
    now = utcnow()
    rows = []
    for i, (lon, lat, at, speed) in enumerate(points):
        problems = []
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            problems.append("坐标须为 WGS 84 经纬度 (WGS 84 lon/lat)")
        at = at or now
        if at.tzinfo is None:
            problems.append("时间须带时区 (timestamp needs a timezone)")
        elif at > now + timedelta(minutes=5):
            problems.append("时间在未来 (timestamp in the future)")
        elif at < now - timedelta(days=7):
            problems.append("时间早于 7 天前 (older than 7 days)")
        if speed is not None and not (0 <= speed <= 70):
            problems.append("速度须在 0..70 米/秒 (speed must be 0..70 m/s)")
        if problems:
            raise ValidationFailed(
                "位置报告无效，未写入 (invalid position report: nothing written)",
                details=[{"loc": ["positions", i], "msg": "; ".join(problems)}],
            )
        rows.append(UnitPosition(unit_id=unit.id, lon=lon, lat=lat, at=at, speed_mps=speed))
    session.add_all(rows)
    latest = max(rows, key=lambda r: r.at)
    if unit.last_seen_at is None or latest.at >= unit.last_seen_at:
        unit.lon, unit.lat, unit.last_seen_at = latest.lon, latest.lat, latest.at
    session.flush()
    publish(session, LIVE_EVENT, data=unit_event(unit))
    return unit


def set_unit_status(session: Session, *, principal: Principal, unit_id: int, status: str) -> FieldUnit:
    """The unit's own status (available, en route, on site, off duty)."""
    unit = session.get(FieldUnit, unit_id)
    if unit is None:
        raise NotFound(f"处置力量 {unit_id} 不存在 (no such unit)")
    if not _may_move(session, principal, unit):
        raise Forbidden("只能修改本单位处置力量的状态 (you may change your own units only)")
    try:
        unit.status = UnitStatus(status).value
    except ValueError:
        raise ValidationFailed(
            f"未知状态 {status} (unknown status)", details=[{"loc": ["status"], "msg": status}]
        ) from None
    session.flush()
    audit.record(
        session,
        actor=principal,
        action="citymap.unit_status",
        entity_type="citymap_unit",
        entity_id=unit.id,
        department_id=unit.department_id,
        detail={"status": status},
    )
    publish(session, LIVE_EVENT, data=unit_event(unit))
    return unit


def unit_track(
    session: Session, *, principal: Principal, unit_id: int, since: datetime | None = None, limit: int = 500
) -> list[UnitPosition]:
    """A unit's recent positions, oldest first."""
    since = check_instant(since, "since")
    unit = get_unit(session, principal=principal, unit_id=unit_id)
    since = since or utcnow() - timedelta(hours=24)
    rows = list(
        session.scalars(
            select(UnitPosition)
            .where(UnitPosition.unit_id == unit.id, UnitPosition.at >= since)
            .order_by(UnitPosition.at.desc())
            .limit(limit)
        )
    )
    return rows[::-1]


# ------------------------------------------------------------------------------------------------ dispatch


@dataclass
class Proposal:
    """A proposed unit for a case."""

    case_id: int
    unit: FieldUnit
    distance_m: float
    eta_min: float


SPEED_MPS = 5.0  # ~18 km/h through town: a plain ETA figure


def _available_units(session: Session, county: str) -> list[FieldUnit]:
    return list(
        session.scalars(
            select(FieldUnit)
            .where(
                FieldUnit.county_code == county,
                FieldUnit.status == UnitStatus.available.value,
                FieldUnit.lon.is_not(None),
                FieldUnit.lat.is_not(None),
            )
            .order_by(FieldUnit.id)
        )
    )


def propose_units(session: Session, *, principal: Principal, case_id: int, k: int = 3) -> list[Proposal]:
    """The nearest available units with the skill the case's class needs."""
    case = get_case(session, principal=principal, case_id=case_id)
    _require_territory(session, principal, case.division_code, DISPATCH_ROLES, "派遣建议")
    units = _available_units(session, case.county_code)
    klass = catalog.get_class(case.kind, case.class_code) or catalog.CLASSES[("event", "0699")]
    if not units:
        return []
    index = spatial.UnitIndex(
        [u.id for u in units],
        [u.lon for u in units],
        [u.lat for u in units],
        [list(u.skills or []) for u in units],
    )
    ids, dist = index.nearest([case.lon], [case.lat], [klass.skill], k=k)
    by_id = {u.id: u for u in units}
    return [
        Proposal(case.id, by_id[int(i)], float(d), float(d) / SPEED_MPS / 60)
        for i, d in zip(ids[0], dist[0], strict=True)
        if i >= 0
    ]


def batch_propose(
    session: Session, *, principal: Principal, county_code: str, case_ids: list[int] | None = None
) -> tuple[list[Proposal], list[int], float, float]:
    """One unit per waiting case with the least total distance (linear_sum_assignment); returns proposals,
    the cases left without a unit, and the total metres of the optimum and of the greedy baseline."""
    county = _division(session, county_code)
    _require_territory(session, principal, county.code, DISPATCH_ROLES, "批量派遣")
    stmt = select(Case).where(
        Case.county_code == county.code, Case.state == CaseState.filed.value, visible_clause(principal)
    )
    if case_ids:
        stmt = stmt.where(Case.id.in_(case_ids))
    cases = list(session.scalars(stmt.order_by(Case.id)))
    units = _available_units(session, county.code)
    if not cases or not units:
        return [], [c.id for c in cases], 0.0, 0.0
    skills = [
        (catalog.get_class(c.kind, c.class_code) or catalog.CLASSES[("event", "0699")]).skill for c in cases
    ]
    args = (
        [c.lon for c in cases],
        [c.lat for c in cases],
        skills,
        [u.lon for u in units],
        [u.lat for u in units],
        [list(u.skills or []) for u in units],
    )
    best = spatial.batch_assign(*args)
    greedy = spatial.greedy_assign(*args)
    props = [Proposal(cases[r].id, units[c], d, d / SPEED_MPS / 60) for r, c, d in best]
    taken = {cases[r].id for r, _, _ in best}
    return (
        props,
        [c.id for c in cases if c.id not in taken],
        sum(p[2] for p in best),
        sum(p[2] for p in greedy),
    )


# ------------------------------------------------------------------------------------------------ cameras


def create_camera(
    session: Session,
    *,
    actor: Actor,
    code: str,
    name: str,
    lon: float,
    lat: float,
    direction_deg: float = 0.0,
    fov_deg: float = 60.0,
    range_m: float = 150.0,
    stream_url: str | None = None,
) -> Camera:
    """Register a camera at a point (its cell is found from the grid)."""
    place = locate_point(session, lon, lat)
    _require_admin_over(session, actor, place.division_code)
    if session.scalar(select(Camera.id).where(Camera.code == code)) is not None:
        raise Conflict(f"摄像头编号 {code} 已存在 (camera code exists)")
    if stream_url is not None and not stream_url.startswith(("rtsp://", "rtmp://", "http://", "https://")):
        raise ValidationFailed(
            "视频流地址须为 rtsp/rtmp/http(s) (stream URL must be rtsp, rtmp or http(s))",
            details=[{"loc": ["stream_url"], "msg": stream_url}],
        )
    cam = Camera(
        code=code,
        name=name,
        county_code=place.county_code,
        division_path=place.division_path,
        cell_code=place.cell_code,
        lon=lon,
        lat=lat,
        direction_deg=direction_deg % 360,
        fov_deg=fov_deg,
        range_m=range_m,
        stream_url=stream_url,
    )
    session.add(cam)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="citymap.camera_create",
        entity_type="citymap_camera",
        entity_id=cam.id,
        division_code=place.division_code,
        detail={"code": code},
    )
    return cam


def cameras_clause(principal: Principal | None) -> Any:
    """Cameras in the principal's territory."""
    return territory_clause(principal, Camera.division_path, None)


def list_cameras(session: Session, *, principal: Principal, county_code: str | None = None) -> list[Camera]:
    """Cameras in scope."""
    stmt = select(Camera).where(cameras_clause(principal))
    if county_code:
        stmt = stmt.where(Camera.county_code == county_code)
    return list(session.scalars(stmt.order_by(Camera.code)))


def camera_cases(
    session: Session, *, principal: Principal, camera_id: int, open_only: bool = True
) -> tuple[Camera, list[Case]]:
    """Cases within the camera's range, and those its analytics reported."""
    cam = session.scalar(select(Camera).where(Camera.id == camera_id, cameras_clause(principal)))
    if cam is None:
        raise NotFound(f"摄像头 {camera_id} 不存在或不在您的范围内 (no such camera in your scope)")
    dlat = cam.range_m / 111_000
    dlon = dlat / max(0.1, math.cos(math.radians(cam.lat)))
    stmt = select(Case).where(
        visible_clause(principal),
        or_(
            Case.camera_id == cam.id,
            and_(
                Case.lon.between(cam.lon - dlon, cam.lon + dlon),
                Case.lat.between(cam.lat - dlat, cam.lat + dlat),
            ),
        ),
    )
    if open_only:
        stmt = stmt.where(Case.state.in_([s.value for s in OPEN_STATES]))
    rows = list(session.scalars(stmt.order_by(Case.reported_at.desc()).limit(500)))
    near = [
        c
        for c in rows
        if c.camera_id == cam.id or float(spatial.haversine_m(cam.lon, cam.lat, c.lon, c.lat)) <= cam.range_m
    ]
    return cam, near


# ------------------------------------------------------------------------------------------------ indicators


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def indicators(
    session: Session,
    *,
    principal: Principal,
    division_code: str,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, Any]:
    """GB/T 30428.4-style evaluation for cases filed in [start, end) under a division.

    due = filed cases whose deadline fell in the period or that closed in it; 结案率 = closed / due,
    按期结案率 = closed on time / due; 返工率 = cases reworked at least once / cases that reached feedback;
    超期数 = due cases not closed by their deadline. Per department and per supervisor (reporter) as well.
    """
    end = check_instant(end, "end") or utcnow()
    start = check_instant(start, "start")
    if start is None:
        try:
            start = end - timedelta(days=90)  # the default period: the 90 days before `end`
        except OverflowError:
            raise ValidationFailed(
                "时间超出范围 (the time is out of range): end",
                details=[{"loc": ["query", "end"], "msg": "out of range"}],
            ) from None
    div = _division(session, division_code)
    if not in_territory(
        session,
        principal,
        div.code,
        ("admin", "operator", "supervisor", "dispatcher", "viewer", "inspector", "verifier"),
    ):
        raise Forbidden("无权查看该区域的考核指标 (no access to this division's indicators)")
    if end <= start:
        raise ValidationFailed(
            "结束时间须晚于开始时间 (end must be after start)", details=[{"loc": ["end"], "msg": ""}]
        )
    now = utcnow()
    rows = session.execute(
        select(
            Case.id,
            Case.state,
            Case.filed_at,
            Case.deadline_at,
            Case.closed_at,
            Case.closed_on_time,
            Case.rework_count,
            Case.department_id,
            Case.handled_at,
            Case.reporter_type,
            Case.reporter_id,
            Case.reporter_name,
            Case.source,
            Case.dispatched_at,
            Case.arrived_at,
            Case.report_count,
        ).where(Case.division_path.like(div.path + "%"), Case.reported_at >= start, Case.reported_at < end)
    ).all()
    horizon = min(now, end)

    def summary(items: list[Any]) -> dict[str, Any]:
        filed = [r for r in items if r.filed_at is not None]
        due = [
            r
            for r in filed
            if (r.deadline_at is not None and r.deadline_at <= horizon) or r.closed_at is not None
        ]
        closed = [r for r in due if r.closed_at is not None]
        on_time = [r for r in closed if r.closed_on_time]
        overdue = [r for r in due if not r.closed_on_time]
        fed_back = [r for r in filed if r.handled_at is not None or r.closed_at is not None or r.rework_count]
        reworked = [r for r in fed_back if r.rework_count > 0]
        responses = [
            (r.arrived_at - r.dispatched_at).total_seconds() / 60
            for r in filed
            if r.arrived_at is not None and r.dispatched_at is not None
        ]
        return {
            "reported": len(items),
            "filed": len(filed),
            "due": len(due),
            "closed": len(closed),
            "closed_on_time": len(on_time),
            "closure_rate": _rate(len(closed), len(due)),
            "on_time_closure_rate": _rate(len(on_time), len(due)),
            "rework_rate": _rate(len(reworked), len(fed_back)),
            "reworked": len(reworked),
            "overdue": len(overdue),
            "open_overdue": sum(
                1
                for r in filed
                if r.state in OPEN_VALUES and r.deadline_at is not None and r.deadline_at < now
            ),
            "median_response_min": round(float(np.median(responses)), 1) if responses else None,
        }

    by_dept: dict[int, list[Any]] = {}
    for r in rows:
        if r.department_id is not None:
            by_dept.setdefault(r.department_id, []).append(r)
    names = dict(
        session.execute(select(Department.id, Department.name).where(Department.id.in_(by_dept))).all()
    )
    depts = []
    for dept_id, items in sorted(by_dept.items()):
        s = summary(items)
        handled = [r for r in items if r.handled_at is not None or r.closed_at is not None]
        depts.append(
            {
                "department_id": dept_id,
                "department": names.get(dept_id),
                "assigned": len(items),
                "handled": len(handled),
                "handling_rate": _rate(len(handled), len(items)),
                "on_time_rate": s["on_time_closure_rate"],
                "rework_rate": s["rework_rate"],
                "overdue": s["overdue"],
            }
        )
    by_reporter: dict[tuple[str, str | None], list[Any]] = {}
    for r in rows:
        if r.source == "inspector":
            by_reporter.setdefault((r.reporter_name or "?", r.reporter_id), []).append(r)
    checks = _verification_checks(session, [r.id for r in rows])
    sups = []
    names = sorted({name for name, _ in by_reporter} | set(checks))
    for name in names:
        items = [r for (n, _rid), rs in by_reporter.items() if n == name for r in rs]
        valid = [r for r in items if r.filed_at is not None]
        done, on_time = checks.get(name, (0, 0))
        sups.append(
            {
                "inspector": name,
                "reported": len(items),
                "valid_reports": len(valid),
                "valid_rate": _rate(len(valid), len(items)),
                "verified": done,
                "verified_on_time": on_time,
                "on_time_verification_rate": _rate(on_time, done),
            }
        )
    return {
        "division_code": div.code,
        "division_name": div.name,
        "start": start.isoformat(),
        "end": end.isoformat(),
        **summary(rows),
        "departments": depts,
        "inspectors": sups,
    }


OPEN_VALUES = tuple(s.value for s in OPEN_STATES)
VERIFY_HOURS = 2.0  # 按时核查: the supervision centre checks a feedback within two office hours


def _verification_checks(session: Session, case_ids: list[int]) -> dict[str, tuple[int, int]]:
    """Per verifier: (checks done, checks done within VERIFY_HOURS office hours of the feedback) — 按时核查率."""
    if not case_ids:
        return {}
    cal = default_calendar()
    out: dict[str, list[int]] = {}
    last_feedback: dict[int, datetime] = {}
    for chunk in range(0, len(case_ids), 5000):
        rows = session.execute(
            select(CaseStep.case_id, CaseStep.action, CaseStep.at, CaseStep.actor_name)
            .where(
                CaseStep.case_id.in_(case_ids[chunk : chunk + 5000]),
                CaseStep.action.in_(("feedback", "verify_pass", "verify_fail")),
            )
            .order_by(CaseStep.case_id, CaseStep.at, CaseStep.id)
        ).all()
        for case_id, action, at, name in rows:
            if action == "feedback":
                last_feedback[case_id] = at
                continue
            fb = last_feedback.get(case_id)
            tally = out.setdefault(name or "?", [0, 0])
            tally[0] += 1
            if fb is not None and at <= cal.add_working_hours(fb, VERIFY_HOURS):
                tally[1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


# ------------------------------------------------------------------------------------------------ map layers


def grid_layer(session: Session, *, county_code: str, division_code: str | None = None) -> str:
    """Grid cells with open and overdue case counts (GeoJSON), for the map's choropleth."""
    now = utcnow()
    counts = dict(
        session.execute(
            select(Case.cell_code, func.count())
            .where(Case.county_code == county_code, Case.state.in_(OPEN_VALUES), Case.cell_code.is_not(None))
            .group_by(Case.cell_code)
        ).all()
    )
    overdue = dict(
        session.execute(
            select(Case.cell_code, func.count())
            .where(
                Case.county_code == county_code,
                Case.state.in_(OPEN_VALUES),
                Case.cell_code.is_not(None),
                Case.deadline_at < now,
            )
            .group_by(Case.cell_code)
        ).all()
    )
    stmt = select(
        GridCell.code, GridCell.name, GridCell.geometry, GridCell.division_code, GridCell.area_m2
    ).where(GridCell.county_code == county_code)
    if division_code:
        div = _division(session, division_code)
        stmt = stmt.where(GridCell.division_path.like(div.path + "%"))
    parts = []
    for code, name, geom, div_code, area in session.execute(stmt.order_by(GridCell.code)):
        props = {
            "code": code,
            "name": name,
            "division_code": div_code,
            "area_m2": area,
            "open": counts.get(code, 0),
            "overdue": overdue.get(code, 0),
        }
        parts.append(
            f'{{"type":"Feature","id":"{code}","geometry":{geom},"properties":{json.dumps(props, ensure_ascii=False)}}}'
        )
    return '{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}"


def cases_layer(
    session: Session,
    *,
    principal: Principal | None,
    bbox: tuple[float, float, float, float] | None,
    county_code: str | None = None,
    states: list[str] | None = None,
    class_code: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200_000,
) -> str:
    """Cases as GeoJSON (public map fields only); 422 for a period without a timezone.

    The database writes each feature and joins them (group_concat on SQLite, string_agg on PostgreSQL through
    `aggregate_strings`), so 100,000 cases come back as one string instead of 100,000 rows. Every text value is a
    code or an enum value, so nothing needs JSON escaping.
    """
    overdue = sql_case(
        (
            and_(Case.deadline_at.is_not(None), Case.deadline_at < utcnow(), Case.state.in_(OPEN_VALUES)),
            "true",
        ),
        else_="false",
    )
    feature = (
        literal('{"type":"Feature","id":')
        + cast(Case.id, String)
        + literal(',"geometry":{"type":"Point","coordinates":[')
        + cast(Case.lon, String)
        + literal(",")
        + cast(Case.lat, String)
        + literal(']},"properties":{"code":"')
        + Case.code
        + literal('","state":"')
        + Case.state
        + literal('","kind":"')
        + Case.kind
        + literal('","class_code":"')
        + Case.class_code
        + literal('","overdue":')
        + overdue
        + literal("}}")
    ).label("f")
    since, until = check_instant(since, "since"), check_instant(until, "until")
    stmt = select(feature)
    if principal is not None:
        stmt = stmt.where(visible_clause(principal))
    if county_code:
        stmt = stmt.where(Case.county_code == county_code)
    if bbox:
        stmt = stmt.where(Case.lon.between(bbox[0], bbox[2]), Case.lat.between(bbox[1], bbox[3]))
    if states:
        stmt = stmt.where(Case.state.in_(states))
    if class_code:
        stmt = stmt.where(Case.class_code == class_code)
    if since:
        stmt = stmt.where(Case.reported_at >= since)
    if until:
        stmt = stmt.where(Case.reported_at < until)
    sub = stmt.limit(limit).subquery()
    joined = session.scalar(select(func.aggregate_strings(sub.c.f, ",")))
    return '{"type":"FeatureCollection","features":[' + (joined or "") + "]}"


def point_layer(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Point features from dicts with lon/lat."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": r["id"],
                "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                "properties": {k: v for k, v in r.items() if k not in ("lon", "lat")},
            }
            for r in rows
            if r.get("lon") is not None
        ],
    }


def parts_layer(session: Session, *, principal: Principal, county_code: str) -> dict[str, Any]:
    """City parts in scope as GeoJSON."""
    rows = session.execute(
        select(Part.id, Part.code, Part.class_code, Part.name, Part.status, Part.lon, Part.lat)
        .where(Part.county_code == county_code, territory_clause(principal, Part.division_path, None))
        .order_by(Part.code)
    ).all()
    return point_layer(
        [
            {
                "id": r.id,
                "code": r.code,
                "class_code": r.class_code,
                "name": r.name,
                "status": r.status,
                "lon": r.lon,
                "lat": r.lat,
            }
            for r in rows
        ]
    )


def cameras_layer(session: Session, *, principal: Principal, county_code: str) -> dict[str, Any]:
    """Cameras in scope as GeoJSON, with their open case counts nearby."""
    cams = list_cameras(session, principal=principal, county_code=county_code)
    return point_layer(
        [
            {
                "id": c.id,
                "code": c.code,
                "name": c.name,
                "direction_deg": c.direction_deg,
                "fov_deg": c.fov_deg,
                "range_m": c.range_m,
                "stream_url": c.stream_url,
                "lon": c.lon,
                "lat": c.lat,
            }
            for c in cams
        ]
    )


def heat_points(
    session: Session,
    *,
    principal: Principal,
    county_code: str,
    class_code: str | None,
    since: datetime | None,
    until: datetime | None,
) -> list[list[float]]:
    """[lat, lon, weight] per grid cell with cases of a class in a period (the heat layer)."""
    since, until = check_instant(since, "since"), check_instant(until, "until")
    stmt = (
        select(GridCell.center_lat, GridCell.center_lon, func.count(Case.id))
        .join(Case, Case.cell_code == GridCell.code)
        .where(Case.county_code == county_code, visible_clause(principal))
    )
    if class_code:
        stmt = stmt.where(Case.class_code == class_code)
    if since:
        stmt = stmt.where(Case.reported_at >= since)
    if until:
        stmt = stmt.where(Case.reported_at < until)
    rows = session.execute(stmt.group_by(GridCell.code, GridCell.center_lat, GridCell.center_lon)).all()
    return [[float(a), float(b), int(n)] for a, b, n in rows]


def check_bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    """Parse 'minlon,minlat,maxlon,maxlat' (400 on anything else)."""
    if raw is None or raw == "":
        return None
    try:
        vals = [float(v) for v in raw.split(",")]
    except ValueError:
        raise BadRequest("bbox 须为 minlon,minlat,maxlon,maxlat (bbox must be four numbers)") from None
    if len(vals) == 6:
        vals = [vals[0], vals[1], vals[3], vals[4]]
    if len(vals) != 4 or not (-180 <= vals[0] <= vals[2] <= 180 and -90 <= vals[1] <= vals[3] <= 90):
        raise BadRequest(
            "bbox 须为 minlon,minlat,maxlon,maxlat 且范围有效 (bbox must be minlon,minlat,maxlon,maxlat)"
        )
    return (vals[0], vals[1], vals[2], vals[3])


def open_work(session: Session, department_ids: list[int]) -> dict[int, int]:
    """Open cases (not yet closed) per assigned department."""
    rows = session.execute(
        select(Case.department_id, func.count())
        .where(Case.department_id.in_(department_ids), Case.state.in_([st.value for st in OPEN_STATES]))
        .group_by(Case.department_id)
    ).all()
    return {d: n for d, n in rows if d is not None}
