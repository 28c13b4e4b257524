"""City map fixtures: a small grid in a Pingding village, demo-like users, a unit, a camera, a sensor key."""

from __future__ import annotations

import json
import math

import pytest
import shapely
from shapely.geometry import mapping, shape
from sqlalchemy import select

from govgrid.citymap import spatial
from govgrid.citymap.services import cameras as camera_service
from govgrid.citymap.services import grid as grid_service
from govgrid.citymap.services import units as unit_service
from govgrid.core.audit.service import SystemActor
from govgrid.core.departments.models import Department
from govgrid.core.divisions.models import Division
from govgrid.core.identity import service as identity

ACTOR = SystemActor("tests")
VILLAGE = "140321100200"
TOWN = "140321100"
PASSWORD = "citymap-test-pass"  # a test user's password


def village_area(db, code: str = VILLAGE, w: float = 600, h: float = 500):
    """A w x h metre rectangle around a village's representative point, clipped to the village."""
    div = db.get(Division, code)
    boundary = shape(json.loads(db.scalar(select(Division.boundary).where(Division.code == code))))
    proj = spatial.Projector.around(boundary)
    c = proj.to_metres(shapely.Point(div.center_lon, div.center_lat))
    return proj.to_lonlat(shapely.box(c.x - w / 2, c.y - h / 2, c.x + w / 2, c.y + h / 2)).intersection(
        boundary
    )


@pytest.fixture()
def grid(db):
    """About 30 cells of 100 m in village 140321100200."""
    return grid_service.generate_grid(
        db, actor=ACTOR, division_code=VILLAGE, cell_m=100, within=mapping(village_area(db))
    )


@pytest.fixture()
def users(db):
    """pd_inspector (inspector over the county) and pd_unit01 (a field unit's account)."""
    made = {}
    for username, role, reach in [
        ("pd_inspector", "inspector", "division"),
        ("pd_unit01", "handler", "department"),
    ]:
        made[username] = identity.ensure_user_with_role(
            db,
            actor=ACTOR,
            username=username,
            password=PASSWORD,
            display_name=username,
            department_code="140321-urban_management",
            role=role,
            reach=reach,
        )
    db.flush()
    return made


def offset(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    """A point some metres east and north of another."""
    return lon + east_m / (111_320 * math.cos(math.radians(lat))), lat + north_m / 111_320


@pytest.fixture()
def centre(grid):
    """The representative point of the grid's first cell."""
    return grid[0].center_lon, grid[0].center_lat


@pytest.fixture()
def unit(db, grid, users):
    """An enforcement unit linked to pd_unit01, standing 300 m east of the first cell."""
    lon, lat = offset(grid[0].center_lon, grid[0].center_lat, 300, 0)
    return unit_service.create_unit(
        db,
        actor=ACTOR,
        code="T-ENF-01",
        name="测试执法一组",
        kind="enforcement",
        department_code="140321-urban_management",
        skills=["enforcement", "sanitation"],
        user_id=users["pd_unit01"].id,
        lon=lon,
        lat=lat,
    )


@pytest.fixture()
def camera(db, grid):
    """A camera on the first cell."""
    return camera_service.create_camera(
        db,
        actor=ACTOR,
        code="T-CAM-1",
        name="测试路口",
        lon=grid[0].center_lon,
        lat=grid[0].center_lat,
        direction_deg=90,
        range_m=150,
        stream_url="rtsp://cam.test/1",
    )


@pytest.fixture()
def sensor_key(db):
    """An API key for video/IoT ingest (inspector role over Pingding)."""
    dept = db.scalar(select(Department).where(Department.code == "140321-urban_management"))
    _key, full = identity.create_api_key(
        db, actor=ACTOR, name="sensors", department_id=dept.id, role="inspector", reach="division"
    )
    return {"Authorization": f"Bearer {full}"}


@pytest.fixture()
def urban_admin(db):
    """pd_urban_admin: the administrator of Pingding's urban management bureau (the grid and parts keeper)."""
    user = identity.ensure_user_with_role(
        db,
        actor=ACTOR,
        username="pd_urban_admin",
        password=PASSWORD,
        display_name="平定县城市管理局管理员",
        department_code="140321-urban_management",
        role="admin",
        reach="department",
    )
    db.flush()
    return user


@pytest.fixture()
def pd_civil(db):
    """pd_civil: an operator of Pingding's civil affairs bureau (no business with the grid)."""
    user = identity.ensure_user_with_role(
        db,
        actor=ACTOR,
        username="pd_civil",
        password=PASSWORD,
        display_name="平定县民政局",
        department_code="140321-civil_affairs",
        role="operator",
        reach="department",
    )
    db.flush()
    return user
