"""Cameras: list, register, and the cases a camera sees."""

from __future__ import annotations

from fastapi import APIRouter

from govgrid.citymap import schemas as s
from govgrid.citymap.api.params import COUNTY
from govgrid.citymap.models import Camera
from govgrid.citymap.services import cameras, cases
from govgrid.core.deps import CurrentPrincipal, SessionDep

router = APIRouter()


@router.get("/cameras", response_model=list[s.CameraRead])
def list_cameras(
    session: SessionDep, principal: CurrentPrincipal, county_code: COUNTY | None = None
) -> list[Camera]:
    """Cameras in scope."""
    return cameras.list_cameras(session, principal=principal, county_code=county_code)


@router.post("/cameras", response_model=s.CameraRead, status_code=201)
def create_camera(body: s.CameraCreate, session: SessionDep, principal: CurrentPrincipal) -> Camera:
    """Register a camera (admin/operator of the area)."""
    return cameras.create_camera(session, actor=principal, **body.model_dump())


@router.get("/cameras/{camera_id}/cases", response_model=s.CameraCases)
def camera_cases(
    camera_id: int, session: SessionDep, principal: CurrentPrincipal, open_only: bool = True
) -> s.CameraCases:
    """The cases in a camera's range and those its analytics reported."""
    cam, found = cameras.camera_cases(session, principal=principal, camera_id=camera_id, open_only=open_only)
    return s.CameraCases(camera=s.CameraRead.model_validate(cam), cases=[cases.case_read(c) for c in found])
