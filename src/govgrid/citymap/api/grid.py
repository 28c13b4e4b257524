"""The class catalogue, the unit grid and the city parts register."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Path, UploadFile

from govgrid.citymap import catalog
from govgrid.citymap import schemas as s
from govgrid.citymap.api import uploads
from govgrid.citymap.api.params import COUNTY, DIVISION
from govgrid.citymap.services import access, classes, features, grid, parts
from govgrid.core.deps import CurrentPrincipal, SessionDep

router = APIRouter()
COUNTY_PATH = Annotated[str, Path(pattern=r"^\d{6}$")]
KIND_PATH = Annotated[str, Path(pattern=r"^(part|event)$")]
CODE_PATH = Annotated[str, Path(pattern=r"^\d{4}$")]
VECTOR_FILE = Annotated[UploadFile, File(description=".geojson, .gpkg or zipped Shapefile")]


@router.get("/classes", response_model=list[s.ClassRead], openapi_extra={"x-public": True})
def list_classes() -> list[s.ClassRead]:
    """The GB/T 30428 part and event classes with deadlines (public reference data)."""
    return [s.ClassRead(**c.__dict__) for c in catalog.catalogue()]


def _county_class(c: classes.CountyClass) -> s.CountyClassRead:
    """A county's class as the API shows it."""
    return s.CountyClassRead(
        **c.klass.__dict__,
        standard_deadline_hours=c.standard.deadline_hours,
        standard_line=c.standard.line,
        overridden=c.override is not None and c.override.active,
        setting_active=None if c.override is None else c.override.active,
    )


@router.get("/counties/{county_code}/classes", response_model=list[s.CountyClassRead])
def county_classes(
    county_code: COUNTY_PATH, session: SessionDep, principal: CurrentPrincipal
) -> list[s.CountyClassRead]:
    """Every class as the county runs it (本县类别设置), with the standard's deadline and line beside."""
    return [
        _county_class(c)
        for c in classes.county_catalogue(session, principal=principal, county_code=county_code)
    ]


@router.put("/counties/{county_code}/classes/{kind}/{class_code}", response_model=s.CountyClassRead)
def set_county_class(
    county_code: COUNTY_PATH,
    kind: KIND_PATH,
    class_code: CODE_PATH,
    body: s.ClassSetting,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> s.CountyClassRead:
    """Set the county's own deadline (working hours) and handling line for a class."""
    classes.set_override(
        session,
        actor=principal,
        county_code=county_code,
        kind=kind,
        code=class_code,
        deadline_hours=body.deadline_hours,
        line=body.line,
        active=body.active,
    )
    found = classes.county_catalogue(session, principal=principal, county_code=county_code)
    return next(_county_class(c) for c in found if (c.standard.kind, c.standard.code) == (kind, class_code))


@router.delete("/counties/{county_code}/classes/{kind}/{class_code}", status_code=204)
def clear_county_class(
    county_code: COUNTY_PATH,
    kind: KIND_PATH,
    class_code: CODE_PATH,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> None:
    """Remove the county's setting for a class: its new cases run under the standard again."""
    classes.clear_override(session, actor=principal, county_code=county_code, kind=kind, code=class_code)


@router.post("/grid/generate", response_model=s.ImportResult, status_code=201)
def generate_grid(body: s.GridGenerate, session: SessionDep, principal: CurrentPrincipal) -> s.ImportResult:
    """Lay ~cell_m x cell_m cells over a township (split by villages) or village."""
    cells = grid.generate_grid(
        session, actor=principal, division_code=body.division_code, cell_m=body.cell_m, within=body.within
    )
    return s.ImportResult(imported=len(cells), codes=[c.code for c in cells])


@router.post("/grid/import", response_model=s.ImportResult, status_code=201)
def import_grid(
    body: s.FeatureImport, division_code: DIVISION, session: SessionDep, principal: CurrentPrincipal
) -> s.ImportResult:
    """Import cells from a GeoJSON FeatureCollection (WGS 84); all or nothing."""
    cells, checked = grid.import_grid(
        session,
        actor=principal,
        division_code=division_code,
        features=body.features,
        crs=features.geojson_crs(body.model_dump()),
    )
    return s.ImportResult(
        imported=len(cells), codes=[c.code for c in cells], gap_area_m2=round(checked.gap_area_m2, 1)
    )


@router.post("/grid/upload", response_model=s.ImportResult, status_code=201)
def upload_grid(
    division_code: DIVISION, session: SessionDep, principal: CurrentPrincipal, file: VECTOR_FILE
) -> s.ImportResult:
    """Import cells from a file (GeoJSON, GeoPackage, zipped Shapefile); all or nothing."""
    access.require_grid_admin(session, principal, division_code)  # before a byte of the file is parsed
    data = uploads.read_upload(file.filename or "", file.file, limits=uploads.GRID_LIMITS)
    cells, checked = grid.import_grid(
        session, actor=principal, division_code=division_code, features=data.features, crs=data.crs
    )
    return s.ImportResult(
        imported=len(cells), codes=[c.code for c in cells], gap_area_m2=round(checked.gap_area_m2, 1)
    )


@router.get("/grid/validate", response_model=s.GridValidation)
def validate_grid(
    division_code: DIVISION, session: SessionDep, principal: CurrentPrincipal
) -> s.GridValidation:
    """Overlaps, gaps and cells outside the division for the stored grid (needs a role over the division)."""
    codes, p = grid.grid_validation(session, principal=principal, division_code=division_code)
    return s.GridValidation(
        ok=p.ok,
        cells=len(codes),
        invalid=[{"code": codes[i], "msg": m} for i, m in p.invalid],
        overlaps=[{"a": codes[i], "b": codes[j], "area_m2": round(a, 1)} for i, j, a in p.overlaps],
        outside=[{"code": codes[i], "area_m2": round(a, 1)} for i, a in p.outside],
        gap_area_m2=round(p.gap_area_m2, 1),
        region_area_m2=round(p.region_area_m2, 1),
    )


@router.delete("/grid", status_code=200)
def delete_grid(division_code: DIVISION, session: SessionDep, principal: CurrentPrincipal) -> dict[str, int]:
    """Delete the grid under a division (before regenerating or re-importing)."""
    return {"deleted": grid.delete_grid(session, actor=principal, division_code=division_code)}


@router.post("/parts/import", response_model=s.ImportResult, status_code=201)
def import_parts(
    body: s.FeatureImport, county_code: COUNTY, session: SessionDep, principal: CurrentPrincipal
) -> s.ImportResult:
    """Import city parts from GeoJSON points (properties: class_code, name, status); all or nothing."""
    found = parts.import_parts(
        session,
        actor=principal,
        county_code=county_code,
        features=body.features,
        crs=features.geojson_crs(body.model_dump()),
    )
    return s.ImportResult(imported=len(found), codes=[p.code for p in found])


@router.post("/parts/upload", response_model=s.ImportResult, status_code=201)
def upload_parts(
    county_code: COUNTY, session: SessionDep, principal: CurrentPrincipal, file: VECTOR_FILE
) -> s.ImportResult:
    """Import city parts from a file; all or nothing."""
    access.require_grid_admin(session, principal, county_code)  # before a byte of the file is parsed
    data = uploads.read_upload(file.filename or "", file.file, limits=uploads.PARTS_LIMITS)
    found = parts.import_parts(
        session, actor=principal, county_code=county_code, features=data.features, crs=data.crs
    )
    return s.ImportResult(imported=len(found), codes=[p.code for p in found])
