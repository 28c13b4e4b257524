"""The map's GeoJSON layers: grid cells with open and overdue counts (public), and cases, parts, units,
cameras and the heat layer in the caller's scope."""

from __future__ import annotations

from datetime import datetime
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from sqlalchemy import String, and_, cast, func, literal, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from govgrid.citymap.enums import OPEN_VALUES
from govgrid.citymap.models import Case, GridCell, Part
from govgrid.citymap.services import access, cameras, live, units
from govgrid.citymap.services.common import check_instant
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.divisions import service as divisions
from govgrid.core.errors import BadRequestError

Bbox = tuple[float, float, float, float]


def check_bbox(raw: str | None) -> Bbox | None:
    """Parse 'minlon,minlat,maxlon,maxlat' (400 on anything else)."""
    if raw is None or raw == "":
        return None
    try:
        vals = [float(v) for v in raw.split(",")]
    except ValueError:
        raise BadRequestError("bbox 须为 minlon,minlat,maxlon,maxlat (bbox must be four numbers)") from None
    if len(vals) == 6:
        vals = [vals[0], vals[1], vals[3], vals[4]]
    if len(vals) != 4 or not (-180 <= vals[0] <= vals[2] <= 180 and -90 <= vals[1] <= vals[3] <= 90):
        raise BadRequestError(
            "bbox 须为 minlon,minlat,maxlon,maxlat 且范围有效 (bbox must be minlon,minlat,maxlon,maxlat)"
        )
    return (vals[0], vals[1], vals[2], vals[3])


def grid_layer(session: Session, *, county_code: str, division_code: str | None = None) -> str:
    """Grid cells with open and overdue case counts (GeoJSON), for the map's choropleth."""
    now = utcnow()
    open_here = (Case.county_code == county_code, Case.state.in_(OPEN_VALUES), Case.cell_code.is_not(None))
    counts = dict(
        session.execute(select(Case.cell_code, func.count()).where(*open_here).group_by(Case.cell_code)).all()
    )
    overdue = dict(
        session.execute(
            select(Case.cell_code, func.count())
            .where(*open_here, Case.deadline_at < now)
            .group_by(Case.cell_code)
        ).all()
    )
    stmt = select(
        GridCell.code, GridCell.name, GridCell.geometry, GridCell.division_code, GridCell.area_m2
    ).where(GridCell.county_code == county_code)
    if division_code:
        div = divisions.get(session, division_code)
        stmt = stmt.where(GridCell.division_path.like(div.path + "%"))
    # One string per cell with the standard library's C string encoder: the same JSON as json.dumps of the
    # properties, at a fraction of the cost (the layer has hundreds of cells and is read on every map view).
    esc = encode_basestring
    parts = [
        f'{{"type":"Feature","id":{esc(code)},"geometry":{geom},"properties":{{"code":{esc(code)},'
        f'"name":{esc(name)},"division_code":{esc(div_code)},"area_m2":{_number(area)},'
        f'"open":{counts.get(code, 0)},"overdue":{overdue.get(code, 0)}}}}}'
        for code, name, geom, div_code, area in session.execute(stmt.order_by(GridCell.code))
    ]
    return '{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}"


def _number(value: float | None) -> str:
    """A JSON number (or null), written as json.dumps writes a finite float."""
    return "null" if value is None else float.__repr__(float(value))


def cases_layer(
    session: Session,
    *,
    principal: Principal | None,
    bbox: Bbox | None,
    county_code: str | None = None,
    states: list[str] | None = None,
    class_code: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200_000,
) -> str:
    """Cases as GeoJSON (public map fields only); 422 for a period without a timezone.

    The database writes each feature and joins them (group_concat on SQLite, string_agg on PostgreSQL through
    `aggregate_strings`), so 100,000 cases come back as one string instead of 100,000 rows. Every text value
    is a code or an enum value, so nothing needs JSON escaping.
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
        stmt = stmt.where(access.cases_clause(principal))
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
    """Point features from dicts with lon/lat (rows without a position are left out)."""
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
        .where(Part.county_code == county_code, access.parts_clause(principal))
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


def units_layer(session: Session, *, principal: Principal, county_code: str) -> dict[str, Any]:
    """Field units in scope as GeoJSON."""
    found = units.list_units(session, principal=principal, county_code=county_code)
    return point_layer([live.unit_marker(u) for u in found])


def cameras_layer(session: Session, *, principal: Principal, county_code: str) -> dict[str, Any]:
    """Cameras in scope as GeoJSON."""
    cams = cameras.list_cameras(session, principal=principal, county_code=county_code)
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
        .where(Case.county_code == county_code, access.cases_clause(principal))
    )
    if class_code:
        stmt = stmt.where(Case.class_code == class_code)
    if since:
        stmt = stmt.where(Case.reported_at >= since)
    if until:
        stmt = stmt.where(Case.reported_at < until)
    rows = session.execute(stmt.group_by(GridCell.code, GridCell.center_lat, GridCell.center_lon)).all()
    return [[float(a), float(b), int(n)] for a, b, n in rows]
