"""Field units: list, register, positions and track, status."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from govgrid.citymap import schemas as s
from govgrid.citymap.api.params import COUNTY
from govgrid.citymap.models import FieldUnit, UnitPosition
from govgrid.citymap.services import units
from govgrid.core.deps import CurrentPrincipal, SessionDep

router = APIRouter()


@router.get("/units", response_model=list[s.UnitRead])
def list_units(
    session: SessionDep,
    principal: CurrentPrincipal,
    county_code: COUNTY | None = None,
    status: Annotated[str | None, Query(pattern="^(available|en_route|on_site|off_duty)$")] = None,
) -> list[FieldUnit]:
    """Field units in scope with last-seen positions."""
    return units.list_units(session, principal=principal, county_code=county_code, status=status)


@router.post("/units", response_model=s.UnitRead, status_code=201)
def create_unit(body: s.UnitCreate, session: SessionDep, principal: CurrentPrincipal) -> FieldUnit:
    """Register a field unit (admin or dispatcher of its department)."""
    return units.create_unit(
        session,
        actor=principal,
        code=body.code,
        name=body.name,
        kind=body.kind,
        department_code=body.department_code,
        skills=body.skills,
        lon=body.lon,
        lat=body.lat,
    )


@router.get("/units/{unit_id}", response_model=s.UnitRead)
def get_unit(unit_id: int, session: SessionDep, principal: CurrentPrincipal) -> FieldUnit:
    """One unit."""
    return units.get_unit(session, principal=principal, unit_id=unit_id)


@router.post("/units/{unit_id}/positions", response_model=s.UnitRead)
def report_positions(
    unit_id: int, body: s.PositionBatch, session: SessionDep, principal: CurrentPrincipal
) -> FieldUnit:
    """Position reports from the unit's phone or a GPS gateway."""
    return units.report_positions(
        session,
        actor=principal,
        unit_id=unit_id,
        points=[(p.lon, p.lat, p.at, p.speed_mps) for p in body.positions],
    )


@router.get("/units/{unit_id}/track", response_model=list[s.PositionRead])
def unit_track(
    unit_id: int, session: SessionDep, principal: CurrentPrincipal, since: datetime | None = None
) -> list[UnitPosition]:
    """The unit's positions (last 24 h unless `since`)."""
    return units.unit_track(session, principal=principal, unit_id=unit_id, since=since)


@router.post("/units/{unit_id}/status", response_model=s.UnitRead)
def unit_status(
    unit_id: int, body: s.UnitStatusBody, session: SessionDep, principal: CurrentPrincipal
) -> FieldUnit:
    """Set a unit's status."""
    return units.set_unit_status(session, principal=principal, unit_id=unit_id, status=body.status)
