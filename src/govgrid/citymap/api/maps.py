"""Indicators and the map's layers (GeoJSON)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from govgrid.citymap.api.params import BBOX, CLASS_CODE, COUNTY, DIVISION, GEOJSON
from govgrid.citymap.enums import OPEN_VALUES, CaseState
from govgrid.citymap.services import indicators as evaluation
from govgrid.citymap.services import layers
from govgrid.core.deps import CurrentPrincipal, SessionDep

router = APIRouter()


@router.get("/indicators")
def indicators(
    division_code: DIVISION,
    session: SessionDep,
    principal: CurrentPrincipal,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict:  # a bare `dict`: the published OpenAPI schema stays as it was
    """结案率, 按期结案率, 返工率, 超期数 and department and inspector indices for cases reported in [start, end)
    (default: the 90 days before `end`, which defaults to now)."""  # noqa: E501  (the published OpenAPI text)
    return evaluation.indicators(
        session, principal=principal, division_code=division_code, start=start, end=end
    )


@router.get("/map/grid", openapi_extra={"x-public": True})
def map_grid(county_code: COUNTY, session: SessionDep, division_code: DIVISION | None = None) -> Response:
    """Grid cells with open and overdue counts (public: the grid is the map)."""
    return Response(
        layers.grid_layer(session, county_code=county_code, division_code=division_code), media_type=GEOJSON
    )


@router.get("/map/cases")
def map_cases(
    session: SessionDep,
    principal: CurrentPrincipal,
    county_code: COUNTY | None = None,
    bbox: BBOX = None,
    state: Annotated[list[CaseState] | None, Query()] = None,
    open_only: bool = False,
    class_code: CLASS_CODE = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Response:
    """Cases in scope as GeoJSON points (filter by bbox, states, class and period)."""
    states = [x.value for x in state] if state else (list(OPEN_VALUES) if open_only else None)
    body = layers.cases_layer(
        session,
        principal=principal,
        bbox=layers.check_bbox(bbox),
        county_code=county_code,
        states=states,
        class_code=class_code,
        since=since,
        until=until,
    )
    return Response(body, media_type=GEOJSON)


@router.get("/map/parts", response_model=None)
def map_parts(county_code: COUNTY, session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """City parts in scope as GeoJSON."""
    return layers.parts_layer(session, principal=principal, county_code=county_code)


@router.get("/map/units", response_model=None)
def map_units(county_code: COUNTY, session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Field units in scope as GeoJSON."""
    return layers.units_layer(session, principal=principal, county_code=county_code)


@router.get("/map/cameras", response_model=None)
def map_cameras(county_code: COUNTY, session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Cameras in scope as GeoJSON."""
    return layers.cameras_layer(session, principal=principal, county_code=county_code)


@router.get("/map/heat")
def map_heat(
    county_code: COUNTY,
    session: SessionDep,
    principal: CurrentPrincipal,
    class_code: CLASS_CODE = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[list[float]]:
    """Case density per grid cell for a class and period: [lat, lon, count]."""
    return layers.heat_points(
        session, principal=principal, county_code=county_code, class_code=class_code, since=since, until=until
    )
