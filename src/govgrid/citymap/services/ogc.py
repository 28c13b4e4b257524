"""OGC API - Features collections over the city map tables: one declared provider per collection.

`cases` and `grid-cells` are public (public fields only: no reporter, no description); `parts`, `units` and
`cameras` need a login or an API key and are scoped inside the query by the city map's read rules (`access`).
`OgcError` is an `AppError`: the /ogcapi error renderer writes it in OGC's `{code, description}` format.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.citymap import catalog
from govgrid.citymap.models import Camera, Case, FieldUnit, GridCell, Part
from govgrid.citymap.services import access
from govgrid.core.authz.principal import Principal
from govgrid.core.errors import AppError


class OgcError(AppError):
    """An error of the OGC API: an HTTP status, an OGC exception code (NotFound, Unauthorized,
    InvalidParameterValue) and a description; 401 carries `WWW-Authenticate: Bearer`."""

    def __init__(self, status: int, code: str, description: str) -> None:
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        super().__init__(description, code=code, headers=headers)
        self.status = status
        self.description = description


@dataclass(frozen=True)
class Prop:
    """A published property: name, column, JSON Schema type."""

    name: str
    column: Any
    type: str = "string"


@dataclass(frozen=True)
class Collection:
    """How one collection maps onto a table."""

    id: str
    title: str
    description: str
    model: Any
    id_column: Any
    props: tuple[Prop, ...]
    public: bool
    scope: Callable[[Principal | None], Any] | None
    point: tuple[Any, Any] | None = None  # lon, lat columns
    bounds: tuple[Any, Any, Any, Any] | None = None  # min lon, min lat, max lon, max lat columns
    geometry_column: Any = None  # GeoJSON text column (polygons)
    datetime_column: Any = None
    id_type: str = "string"

    def box(self) -> tuple[Any, Any, Any, Any]:
        """The columns of a row's bounding box: min lon, min lat, max lon, max lat (a point: itself)."""
        if self.point is not None:
            return self.point[0], self.point[1], self.point[0], self.point[1]
        if self.bounds is None:
            raise ValueError(f"collection {self.id} declares neither a point nor bounds")
        return self.bounds


COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in [
        Collection(
            "grid-cells",
            "单元网格 Unit grid cells",
            "GB/T 30428.1 unit grid cells (15-digit codes) with their division.",
            GridCell,
            GridCell.code,
            (
                Prop("code", GridCell.code),
                Prop("name", GridCell.name),
                Prop("division_code", GridCell.division_code),
                Prop("county_code", GridCell.county_code),
                Prop("area_m2", GridCell.area_m2, "number"),
            ),
            public=True,
            scope=None,
            bounds=(GridCell.min_lon, GridCell.min_lat, GridCell.max_lon, GridCell.max_lat),
            geometry_column=GridCell.geometry,
            datetime_column=GridCell.created_at,
        ),
        Collection(
            "cases",
            "城市管理案卷 City management cases",
            "Cases of the GB/T 30428 loop (public fields only).",
            Case,
            Case.id,
            (
                Prop("code", Case.code),
                Prop("state", Case.state),
                Prop("kind", Case.kind),
                Prop("class_code", Case.class_code),
                Prop("source", Case.source),
                Prop("county_code", Case.county_code),
                Prop("division_code", Case.division_code),
                Prop("cell_code", Case.cell_code),
                Prop("rework_count", Case.rework_count, "integer"),
                Prop("reported_at", Case.reported_at, "datetime"),
                Prop("deadline_at", Case.deadline_at, "datetime"),
                Prop("closed_at", Case.closed_at, "datetime"),
            ),
            public=True,
            scope=None,
            point=(Case.lon, Case.lat),
            datetime_column=Case.reported_at,
            id_type="integer",
        ),
        Collection(
            "parts",
            "城市部件 City parts",
            "GB/T 30428.2 city parts (16-digit codes). Authentication required.",
            Part,
            Part.code,
            (
                Prop("code", Part.code),
                Prop("class_code", Part.class_code),
                Prop("name", Part.name),
                Prop("status", Part.status),
                Prop("county_code", Part.county_code),
                Prop("cell_code", Part.cell_code),
            ),
            public=False,
            scope=access.parts_clause,
            point=(Part.lon, Part.lat),
            datetime_column=Part.created_at,
        ),
        Collection(
            "units",
            "处置力量 Field units",
            "Enforcement teams and crews with last-seen positions. Authentication required.",
            FieldUnit,
            FieldUnit.code,
            (
                Prop("code", FieldUnit.code),
                Prop("name", FieldUnit.name),
                Prop("kind", FieldUnit.kind),
                Prop("status", FieldUnit.status),
                Prop("county_code", FieldUnit.county_code),
                Prop("last_seen_at", FieldUnit.last_seen_at, "datetime"),
            ),
            public=False,
            scope=access.units_clause,
            point=(FieldUnit.lon, FieldUnit.lat),
            datetime_column=FieldUnit.last_seen_at,
        ),
        Collection(
            "cameras",
            "视频监控 Cameras",
            "Camera positions, viewing directions and stream addresses. Authentication required.",
            Camera,
            Camera.code,
            (
                Prop("code", Camera.code),
                Prop("name", Camera.name),
                Prop("county_code", Camera.county_code),
                Prop("cell_code", Camera.cell_code),
                Prop("direction_deg", Camera.direction_deg, "number"),
                Prop("fov_deg", Camera.fov_deg, "number"),
                Prop("range_m", Camera.range_m, "number"),
                Prop("stream_url", Camera.stream_url),
            ),
            public=False,
            scope=access.cameras_clause,
            point=(Camera.lon, Camera.lat),
            datetime_column=Camera.created_at,
        ),
    ]
}


def readable(coll: Collection, principal: Principal | None) -> bool:
    """True if the caller may read the collection's items (public ones: anyone; others: a login or API key,
    whose items are then scoped to the caller's territory)."""
    return coll.public or principal is not None


def readable_collections(principal: Principal | None) -> list[Collection]:
    """The collections the caller may read: the only ones listed to it."""
    return [c for c in COLLECTIONS.values() if readable(c, principal)]


def get_collection(collection_id: str, principal: Principal | None) -> Collection:
    """A collection by id; 404 if unknown, 401 if it needs a login the caller lacks."""
    coll = COLLECTIONS.get(collection_id)
    if coll is None:
        raise OgcError(
            404, "NotFound", f"没有集合 {collection_id} (no such collection); see /ogcapi/collections"
        )
    if not readable(coll, principal):
        raise OgcError(
            401, "Unauthorized", f"集合 {collection_id} 需要登录或 API 密钥 (authentication required)"
        )
    return coll


def _scoped(coll: Collection, principal: Principal | None, stmt: Any) -> Any:
    """The statement limited to the rows the caller may read (public collections: all)."""
    if coll.scope is not None:
        stmt = stmt.where(coll.scope(principal))
    return stmt


def extent(session: Session, coll: Collection, principal: Principal | None) -> dict[str, Any]:
    """The collection's spatial (and temporal) extent from its rows."""
    x0, y0, x1, y1 = coll.box()
    cols = (func.min(x0), func.min(y0), func.max(x1), func.max(y1))
    stmt = _scoped(
        coll, principal, select(*cols, func.min(coll.datetime_column), func.max(coll.datetime_column))
    )
    row = session.execute(stmt.select_from(coll.model)).one()
    bbox = [float(v) for v in row[:4]] if row[0] is not None else [-180.0, -90.0, 180.0, 90.0]
    t0, t1 = row[4], row[5]
    return {
        "spatial": {"bbox": [bbox], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
        "temporal": {
            "interval": [[t0.isoformat() if t0 else None, t1.isoformat() if t1 else None]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        },
    }


def parse_datetime(raw: str) -> tuple[datetime | None, datetime | None]:
    """An RFC 3339 instant or interval ('a/b', '../b', 'a/..') -> (start, end) inclusive."""

    def one(v: str) -> datetime | None:
        if v in ("", ".."):
            return None
        try:
            dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            raise OgcError(
                400, "InvalidParameterValue", f"datetime 无效 (invalid RFC 3339 datetime): {v}"
            ) from None
        if dt.tzinfo is None:
            raise OgcError(
                400, "InvalidParameterValue", f"datetime 须带时区 (datetime needs a timezone or Z): {v}"
            )
        try:
            return dt.astimezone(UTC)
        except OverflowError:
            raise OgcError(
                400, "InvalidParameterValue", f"datetime 超出范围 (datetime out of range): {v}"
            ) from None

    if "/" in raw:
        a, b = raw.split("/", 1)
        start, end = one(a), one(b)
        if start and end and end < start:
            raise OgcError(
                400, "InvalidParameterValue", "datetime 区间结束早于开始 (interval end before start)"
            )
        return start, end
    t = one(raw)
    if t is None:
        raise OgcError(400, "InvalidParameterValue", "datetime 无效 (invalid datetime)")
    return t, t


def _convert(prop: Prop, raw: str) -> Any:
    try:
        if prop.type == "integer":
            return int(raw)
        if prop.type == "number":
            return float(raw)
        if prop.type == "datetime":
            return parse_datetime(raw)[0]
    except ValueError:
        pass
    else:
        return raw
    raise OgcError(400, "InvalidParameterValue", f"{prop.name} 须为 {prop.type} (must be {prop.type}): {raw}")


def query_items(
    session: Session,
    coll: Collection,
    principal: Principal | None,
    *,
    bbox: tuple[float, ...] | None,
    dt: tuple[datetime | None, datetime | None] | None,
    filters: dict[str, str],
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """Features matching bbox, datetime and property equality filters, paged; and the number matched."""
    props = {p.name: p for p in coll.props}
    stmt = _scoped(coll, principal, select(coll.model))
    for name, raw in filters.items():
        stmt = stmt.where(props[name].column == _convert(props[name], raw))
    if bbox is not None:
        x0, y0, x1, y1 = bbox
        min_x, min_y, max_x, max_y = coll.box()
        stmt = stmt.where(min_x <= x1, max_x >= x0, min_y <= y1, max_y >= y0)
    if dt is not None:
        if dt[0] is not None:
            stmt = stmt.where(coll.datetime_column >= dt[0])
        if dt[1] is not None:
            stmt = stmt.where(coll.datetime_column <= dt[1])
    matched = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(session.scalars(stmt.order_by(coll.id_column).limit(limit).offset(offset)))
    return [feature(coll, r) for r in rows], matched


def get_item(session: Session, coll: Collection, principal: Principal | None, fid: str) -> dict[str, Any]:
    """One feature by id (404 when absent or out of scope)."""
    key: Any = fid
    if coll.id_type == "integer":
        if not fid.isdigit():
            raise OgcError(404, "NotFound", f"要素 {fid} 不存在 (no such feature)")
        key = int(fid)
    row = session.scalar(_scoped(coll, principal, select(coll.model).where(coll.id_column == key)))
    if row is None:
        raise OgcError(404, "NotFound", f"要素 {fid} 不存在 (no such feature in {coll.id})")
    return feature(coll, row)


def feature(coll: Collection, row: Any) -> dict[str, Any]:
    """A GeoJSON feature with the collection's public properties."""
    props: dict[str, Any] = {}
    for p in coll.props:
        v = getattr(row, p.column.key)
        props[p.name] = v.isoformat() if isinstance(v, datetime) else v
    if coll.id == "cases":
        klass = catalog.get_class(row.kind, row.class_code)
        props["class_name"] = klass.name_zh if klass else None
    if coll.id == "units":
        props["skills"] = list(row.skills or [])
    geom = None
    if coll.geometry_column is not None:
        geom = json.loads(getattr(row, coll.geometry_column.key))
    elif coll.point is not None:
        lon, lat = getattr(row, coll.point[0].key), getattr(row, coll.point[1].key)
        geom = {"type": "Point", "coordinates": [lon, lat]} if lon is not None else None
    fid = getattr(row, coll.id_column.key)
    return {"type": "Feature", "id": fid, "geometry": geom, "properties": props}


def queryables(coll: Collection, base: str) -> dict[str, Any]:
    """The JSON Schema of the properties one may filter on."""
    types = {
        "string": {"type": "string"},
        "integer": {"type": "integer"},
        "number": {"type": "number"},
        "datetime": {"type": "string", "format": "date-time"},
    }
    properties = {p.name: {"title": p.name, **types[p.type]} for p in coll.props}
    properties["geometry"] = {"$ref": "https://geojson.org/schema/Geometry.json"}
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": f"{base}/collections/{coll.id}/queryables",
        "type": "object",
        "title": coll.title,
        "properties": properties,
    }
