"""The unit grid (单元网格, GB/T 30428.1): generate square cells, import cells from GeoJSON, validate,
delete.

Codes are 15 digits: county 6 + street 3 + community 3 + serial 3 (a township without villages gets community
000). Only the grid keeper changes cells (`access.require_grid_admin`).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from govgrid.citymap import spatial
from govgrid.citymap.models import GridArea, GridCell
from govgrid.citymap.services import access
from govgrid.citymap.services.common import Actor, county_of
from govgrid.citymap.services.features import check_crs, text_value
from govgrid.core.audit import service as audit
from govgrid.core.authz.principal import Principal
from govgrid.core.departments.models import Department
from govgrid.core.divisions import service as divisions
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from govgrid.core.geofiles import excerpt

log = logging.getLogger(__name__)

MAX_CELLS_PER_COMMUNITY = 999
Problems = list[dict[str, Any]]


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
    raise ValidationFailedError(f"区划 {division_code} 没有可负责的部门 (no responsible department exists)")


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
    return {
        "code": code,
        "county_code": county,
        "division_code": div.code,
        "division_path": div.path,
        "name": name or f"{div.name}网格{code[-3:]}",
        "geometry": json.dumps(mapping(geom), separators=(",", ":")),
        "area_m2": round(area, 1),
        "min_lon": minx,
        "min_lat": miny,
        "max_lon": maxx,
        "max_lat": maxy,
        "center_lon": c.x,
        "center_lat": c.y,
        "responsible_department_id": dept_id,
        "responsible_name": responsible,
    }


def _communities(session: Session, div: Division) -> list[tuple[Division, Any]]:
    """The communities (villages) a township's grid is laid out in, with their boundaries; itself if none."""
    if div.level == "village":
        targets = [div]
    elif div.level == "township":
        targets = [c for c in divisions.children(session, div.code) if c.level == "village"] or [div]
    else:
        raise ValidationFailedError(
            "网格只能在乡镇（街道）或村（社区）内生成 (grid cells are laid out in a township or village)",
            details=[{"loc": ["division_code"], "msg": f"{div.code} is a {div.level}"}],
        )
    out = []
    for t in targets:
        raw = session.scalar(select(Division.boundary).where(Division.code == t.code))
        if raw:
            out.append((t, shape(json.loads(raw))))
    if not out:
        raise ValidationFailedError(f"区划 {div.code} 没有边界 (the division has no boundary)")
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
    inside `within` (e.g. the built-up area); codes per the 15-digit layout; 409 if cells exist there."""
    div = access.require_grid_admin(session, actor, division_code)
    if not (20 <= cell_m <= 1000):
        raise ValidationFailedError(
            "网格边长须在 20..1000 米之间 (cell size must be 20..1000 m)",
            details=[{"loc": ["cell_m"], "msg": str(cell_m)}],
        )
    clip = None
    if within is not None:
        problems: Problems = []
        clip = divisions.parse_boundary(within, problems)
        if problems:
            raise ValidationFailedError(
                "范围无效 (invalid area)", details=[{"loc": ["within"], "msg": p["msg"]} for p in problems]
            )
    existing = session.scalar(
        select(func.count()).select_from(GridCell).where(GridCell.division_path.like(div.path + "%"))
    )
    if existing:
        raise ConflictError(
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
            raise ValidationFailedError(
                f"{comm.name} 需要 {len(cells)} 个网格，超过每个社区 999 个的编码容量；请限定范围或加大网格 "
                f"(too many cells for the 3-digit serial: limit the area with 'within' or use larger cells)"
            )
        dept = _responsible_department(session, comm.code, county)
        proj = spatial.Projector.around(region)
        for geom in cells:
            serials[prefix] += 1
            code = f"{prefix}{serials[prefix]:03d}"
            area = proj.to_metres(geom).area
            rows.append(_cell_row(code, county, comm, geom, area, dept.id, None, None))
    if not rows:
        raise ValidationFailedError("范围内没有可生成的网格 (no cells fall inside the area)")
    objs = [GridCell(**r) for r in rows]
    session.add_all(objs)
    if clip is not None:  # the grid covers part of the division: gaps are measured against that part
        area_geom = shapely.unary_union(covered)
        session.merge(
            GridArea(
                division_code=div.code,
                geometry=json.dumps(mapping(area_geom), separators=(",", ":")),
                area_m2=spatial.Projector.around(area_geom).to_metres(area_geom).area,
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
    log.info("grid generated", extra={"division_code": div.code, "cells": len(objs)})
    return objs


def _check_geometries(
    features: list[dict[str, Any]], div: Division, grown: Any, problems: Problems
) -> list[Any]:
    """Each feature's polygon (None where it is missing or unusable); problems for bad or outside geometry."""
    geoms: list[Any] = []
    for i, feat in enumerate(features):
        geom_json = feat.get("geometry") if isinstance(feat, dict) else None
        if not isinstance(geom_json, dict):
            problems.append({"loc": ["features", i, "geometry"], "msg": "缺少几何 (missing geometry)"})
            geoms.append(None)
            continue
        local: Problems = []
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
    return geoms


def _check_overlaps(
    session: Session,
    county: str,
    region: Any,
    good: list[Any],
    checked: spatial.GridProblems,
    problems: Problems,
) -> None:
    """Problems for new cells overlapping each other or the county's stored cells (more than 1 m²)."""
    for i, j, a in checked.overlaps:
        msg = f"与第 {i} 个要素重叠 {a:.0f} 平方米 (overlaps feature {i})"
        problems.append({"loc": ["features", j, "geometry"], "msg": msg})
    existing = session.execute(
        select(GridCell.code, GridCell.geometry).where(
            GridCell.county_code == county,
            GridCell.min_lon <= region.bounds[2],
            GridCell.max_lon >= region.bounds[0],
            GridCell.min_lat <= region.bounds[3],
            GridCell.max_lat >= region.bounds[1],
        )
    ).all()
    if not existing:
        return
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


def _assign_codes(
    session: Session,
    features: list[dict[str, Any]],
    geoms: list[Any],
    comms: list[tuple[Division, Any]],
    div: Division,
    problems: Problems,
) -> list[tuple[dict[str, Any], Any, str, Division]]:
    """(feature, geometry, code, community) per feature: the code given (15 digits inside one of the
    communities) or assigned by the community holding the centroid; problems for bad, duplicate or taken
    codes."""
    serials = _next_serials(session, [_community_prefix(c) for c, _ in comms])
    by_prefix = {_community_prefix(c): c for c, _ in comms}
    seen: set[str] = set()
    codes: list[str | None] = []
    ready: list[tuple[dict[str, Any], Any, str, Division]] = []
    for i, (feat, geom) in enumerate(zip(features, geoms, strict=True)):
        props = (feat.get("properties") or {}) if isinstance(feat, dict) else {}
        code = str(props.get("code") or "").strip() or None
        comm = None
        if code is not None:
            if not (code.isdigit() and len(code) == 15 and code[:12] in by_prefix):
                problems.append(
                    {
                        "loc": ["features", i, "properties", "code"],
                        "msg": "网格代码须为 15 位并以所属社区代码开头 "
                        f"(15 digits starting with a community code of {div.code}): {excerpt(code)}",
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
        if code and comm is not None and geom is not None:
            ready.append((feat, geom, code, comm))
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
    return ready


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
    div = access.require_grid_admin(session, actor, division_code)
    problems: Problems = []
    msg = check_crs(crs)
    if msg:
        raise ValidationFailedError(msg, details=[{"loc": ["crs"], "msg": msg}])
    if not features:
        raise ValidationFailedError(
            "没有要素 (no features to import)", details=[{"loc": ["features"], "msg": "empty"}]
        )
    comms = _communities(session, div)
    region = shapely.unary_union([b for _, b in comms])
    grown = region.buffer(1e-5)  # ~1 m of tolerance for boundaries digitised at a different precision
    shapely.prepare(grown)
    geoms = _check_geometries(features, div, grown, problems)
    county = county_of(div.code)
    good = [g for g in geoms if g is not None]
    checked = spatial.validate_grid(good, region) if len(good) == len(geoms) else None
    if checked is not None:
        _check_overlaps(session, county, region, good, checked, problems)
    ready = _assign_codes(session, features, geoms, comms, div, problems)
    if problems or checked is None or len(ready) != len(features):
        log.info("grid import refused", extra={"division_code": div.code, "problems": len(problems)})
        raise ValidationFailedError(
            f"导入被拒绝，共 {len(problems)} 个问题，未写入任何数据 (import refused: nothing was written)",
            details=problems[:200],
        )
    proj = spatial.Projector.around(region)
    objs = []
    for feat, geom, code, comm in ready:
        props = feat.get("properties") or {}
        dept = _responsible_department(session, comm.code, county)
        name, responsible = text_value(props.get("name"), 100), text_value(props.get("responsible"), 100)
        row = _cell_row(code, county, comm, geom, proj.to_metres(geom).area, dept.id, name, responsible)
        objs.append(GridCell(**row))
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
    log.info("grid imported", extra={"division_code": div.code, "cells": len(objs)})
    return objs, checked


def grid_validation(
    session: Session, *, principal: Principal, division_code: str
) -> tuple[list[str], spatial.GridProblems]:
    """Codes and problems of the stored grid under a division the caller may read (a role over it, or the grid
    keeper)."""
    div = divisions.get(session, division_code)
    if not access.may_read_grid(session, principal, div):
        raise ForbiddenError(f"无权查看 {div.name} 的网格 (no access to the grid of division {div.code})")
    return cell_codes_in(session, div.code), validate_stored_grid(session, division_code=div.code)


def validate_stored_grid(session: Session, *, division_code: str) -> spatial.GridProblems:
    """Overlaps, gaps and cells outside the division for the stored grid of a township or village."""
    div = divisions.get(session, division_code)
    rows = session.execute(
        select(GridCell.code, GridCell.geometry)
        .where(GridCell.division_path.like(div.path + "%"))
        .order_by(GridCell.code)
    ).all()
    if not rows:
        raise NotFoundError(f"{div.name} 没有网格 (no grid cells in this division)")
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
    div = divisions.get(session, division_code)
    return list(
        session.scalars(
            select(GridCell.code).where(GridCell.division_path.like(div.path + "%")).order_by(GridCell.code)
        )
    )


def delete_grid(session: Session, *, actor: Actor, division_code: str) -> int:
    """Remove every cell under a division (before regenerating)."""
    div = access.require_grid_admin(session, actor, division_code)
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
    log.info("grid deleted", extra={"division_code": div.code, "cells": len(cells)})
    return len(cells)
