"""Request and response shapes of the city map API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CODE4 = r"^\d{4}$"


class GridGenerate(BaseModel):
    """Lay a square grid over a township or village (optionally only inside `within`)."""

    model_config = ConfigDict(extra="forbid")
    division_code: str = Field(pattern=r"^\d{9,12}$")
    cell_m: float = Field(100.0, ge=20, le=1000)
    within: dict[str, Any] | None = None


class FeatureImport(BaseModel):
    """A GeoJSON FeatureCollection to import (WGS 84)."""

    model_config = ConfigDict(extra="allow")
    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]] = Field(max_length=20000)
    crs: dict[str, Any] | None = None


class GridCellRead(BaseModel):
    """One grid cell (without geometry)."""

    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    division_code: str
    area_m2: float
    center_lon: float
    center_lat: float
    responsible_department_id: int
    responsible_name: str | None


class ImportResult(BaseModel):
    """What an import wrote."""

    imported: int
    codes: list[str]
    gap_area_m2: float | None = None


class GridValidation(BaseModel):
    """The stored grid's overlaps, gaps and cells outside."""

    ok: bool
    cells: int
    invalid: list[dict[str, Any]]
    overlaps: list[dict[str, Any]]
    outside: list[dict[str, Any]]
    gap_area_m2: float
    region_area_m2: float


class ReportCreate(BaseModel):
    """信息收集 by a grid inspector (photo uploaded first, then referenced)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["event", "part"] = "event"
    class_code: str = Field(pattern=CODE4)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    description: str = Field("", max_length=2000)
    photo_id: int | None = None
    part_code: str | None = Field(None, pattern=r"^\d{16}$")
    reported_at: datetime | None = None


class IngestItem(BaseModel):
    """An event from video analytics or an IoT sensor."""

    model_config = ConfigDict(extra="forbid")
    source: Literal["video", "iot"]
    external_ref: str = Field(min_length=1, max_length=80)
    kind: Literal["event", "part"] = "event"
    class_code: str = Field(pattern=CODE4)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    description: str = Field("", max_length=2000)
    camera_code: str | None = Field(None, max_length=40)
    part_code: str | None = Field(None, pattern=r"^\d{16}$")
    observed_at: datetime | None = None


class IngestBatch(BaseModel):
    """Up to 500 machine events at once (each deduplicated)."""

    model_config = ConfigDict(extra="forbid")
    items: list[IngestItem] = Field(min_length=1, max_length=500)


class ReportResult(BaseModel):
    """The case a report created or joined."""

    case_id: int
    case_code: str
    duplicate: bool
    state: str
    cell_code: str | None


class CaseRead(BaseModel):
    """A case for those in scope (reporter identity included)."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    source: str
    external_ref: str | None
    kind: str
    class_code: str
    class_name: str | None = None
    description: str
    lon: float
    lat: float
    cell_code: str | None
    division_code: str
    state: str
    state_zh: str | None = None
    department_id: int | None
    unit_id: int | None
    camera_id: int | None
    photo_id: int | None
    reporter_name: str | None
    report_count: int
    rework_count: int
    deadline_at: datetime | None
    reported_at: datetime
    filed_at: datetime | None
    dispatched_at: datetime | None
    acknowledged_at: datetime | None
    arrived_at: datetime | None
    handled_at: datetime | None
    closed_at: datetime | None
    evaluated_at: datetime | None
    closed_on_time: bool | None
    evaluation_score: int | None
    result: str | None
    overdue: bool = False
    response_minutes: float | None = None


class CasePage(BaseModel):
    """A page of cases."""

    items: list[CaseRead]
    total: int
    limit: int
    offset: int


class CaseStepRead(BaseModel):
    """One time-stamped step."""

    model_config = ConfigDict(from_attributes=True)
    action: str
    from_state: str | None
    to_state: str
    actor_name: str | None
    role: str | None
    note: str | None
    photo_id: int | None = None
    at: datetime


class FileCase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    class_code: str | None = Field(None, pattern=CODE4)
    note: str | None = Field(None, max_length=1000)


class RejectCase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=1000)


class DispatchCase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    department_code: str | None = Field(None, max_length=64)
    unit_id: int | None = None
    note: str | None = Field(None, max_length=1000)


class RedispatchCase(BaseModel):
    """改派: another department or unit, and why."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=1000)
    department_code: str | None = Field(None, max_length=64)
    unit_id: int | None = None


class SendBackCase(BaseModel):
    """回退: why the case is not the handler's to handle."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=1000)


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(None, max_length=1000)


class FeedbackCase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    result: str = Field(min_length=1, max_length=2000)
    photo_id: int | None = None


class VerifyCase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    passed: bool
    note: str | None = Field(None, max_length=1000)


class EvaluateCase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    score: int = Field(ge=1, le=5)
    note: str | None = Field(None, max_length=1000)


class UnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=100)
    kind: Literal["enforcement", "sanitation", "repair", "greening"]
    department_code: str = Field(max_length=64)
    skills: list[str] = Field(min_length=1, max_length=8)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)


class UnitRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    kind: str
    department_id: int
    skills: list[str]
    status: str
    lon: float | None
    lat: float | None
    last_seen_at: datetime | None


class PositionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lon: float
    lat: float
    at: datetime | None = None
    speed_mps: float | None = None


class PositionBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    positions: list[PositionIn] = Field(min_length=1, max_length=1000)


class PositionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    lon: float
    lat: float
    at: datetime
    speed_mps: float | None


class UnitStatusBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["available", "en_route", "on_site", "off_duty"]


class ProposalRead(BaseModel):
    case_id: int
    unit: UnitRead
    distance_m: float
    eta_min: float


class BatchProposeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    county_code: str = Field(pattern=r"^\d{6}$")
    case_ids: list[int] | None = Field(None, max_length=5000)


class BatchProposalRead(BaseModel):
    proposals: list[ProposalRead]
    unassigned: list[int]
    total_distance_m: float
    greedy_distance_m: float


class CameraCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=100)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    direction_deg: float = Field(0.0, ge=0, lt=360)
    fov_deg: float = Field(60.0, gt=0, le=360)
    range_m: float = Field(150.0, gt=0, le=2000)
    stream_url: str | None = Field(None, max_length=500)


class CameraRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    lon: float
    lat: float
    direction_deg: float
    fov_deg: float
    range_m: float
    stream_url: str | None
    cell_code: str | None


class CameraCases(BaseModel):
    camera: CameraRead
    cases: list[CaseRead]


class ClassRead(BaseModel):
    kind: str
    code: str
    name_zh: str
    name_en: str
    deadline_hours: float
    line: str
    skill: str


class CountyClassRead(ClassRead):
    """A class as a county runs it: its own deadline and line where it set them, the standard's beside."""

    standard_deadline_hours: float
    standard_line: str
    overridden: bool  # the county has an active setting for this class
    setting_active: bool | None  # the county's row: active, inactive, or None for no row


class ClassSetting(BaseModel):
    """A county's own setting for one class (empty fields keep the standard's value)."""

    model_config = ConfigDict(extra="forbid")
    deadline_hours: float | None = Field(None, ge=0.5, le=720)
    line: str | None = Field(None, pattern=r"^[a-z0-9_]{2,40}$")
    active: bool = True
