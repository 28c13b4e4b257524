"""Cameras: positions, viewing direction and stream address (data only: no video is proxied), and the cases in
a camera's range or reported by its analytics."""

from __future__ import annotations

import math

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from govgrid.citymap import spatial
from govgrid.citymap.enums import OPEN_VALUES
from govgrid.citymap.models import Camera, Case
from govgrid.citymap.services import access
from govgrid.citymap.services.common import Actor
from govgrid.citymap.services.places import locate_point
from govgrid.core.audit import service as audit
from govgrid.core.authz.principal import Principal
from govgrid.core.errors import ConflictError, NotFoundError, ValidationFailedError

STREAM_SCHEMES = ("rtsp://", "rtmp://", "http://", "https://")


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
    access.require_camera_admin(session, actor, place.division_code)
    if session.scalar(select(Camera.id).where(Camera.code == code)) is not None:
        raise ConflictError(f"摄像头编号 {code} 已存在 (camera code exists)")
    if stream_url is not None and not stream_url.startswith(STREAM_SCHEMES):
        raise ValidationFailedError(
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


def list_cameras(session: Session, *, principal: Principal, county_code: str | None = None) -> list[Camera]:
    """Cameras in scope."""
    stmt = select(Camera).where(access.cameras_clause(principal))
    if county_code:
        stmt = stmt.where(Camera.county_code == county_code)
    return list(session.scalars(stmt.order_by(Camera.code)))


def camera_cases(
    session: Session, *, principal: Principal, camera_id: int, open_only: bool = True
) -> tuple[Camera, list[Case]]:
    """Cases within the camera's range, and those its analytics reported."""
    cam = session.scalar(select(Camera).where(Camera.id == camera_id, access.cameras_clause(principal)))
    if cam is None:
        raise NotFoundError(f"摄像头 {camera_id} 不存在或不在您的范围内 (no such camera in your scope)")
    dlat = cam.range_m / 111_000
    dlon = dlat / max(0.1, math.cos(math.radians(cam.lat)))
    stmt = select(Case).where(
        access.cases_clause(principal),
        or_(
            Case.camera_id == cam.id,
            and_(
                Case.lon.between(cam.lon - dlon, cam.lon + dlon),
                Case.lat.between(cam.lat - dlat, cam.lat + dlat),
            ),
        ),
    )
    if open_only:
        stmt = stmt.where(Case.state.in_(OPEN_VALUES))
    rows = list(session.scalars(stmt.order_by(Case.reported_at.desc()).limit(500)))
    near = [
        c
        for c in rows
        if c.camera_id == cam.id or float(spatial.haversine_m(cam.lon, cam.lat, c.lon, c.lat)) <= cam.range_m
    ]
    return cam, near
