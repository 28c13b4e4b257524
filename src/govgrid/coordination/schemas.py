"""Pydantic schemas of the coordination API (inputs forbid unknown fields)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from govgrid.coordination.enums import AssetKind, AssignmentState, Colour, JobState, SystemKind, SystemState

Code = Annotated[str, Field(pattern=r"^\d{6,32}$")]
DivisionCode = Field(min_length=6, max_length=32, pattern=r"^\d{6,32}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TenantOnboard(Strict):
    division_code: str = DivisionCode
    admin_username: str | None = Field(default=None, max_length=64, description="default: t<code>_admin")
    admin_password: str = Field(min_length=12, max_length=200)


class TenantRead(BaseModel):
    division_code: str
    division_name: str
    level: str
    host_division_code: str
    admin_username: str
    departments: int
    onboarded_at: datetime
    onboarded_by: str


class RollupRow(BaseModel):
    division_code: str
    division_name: str
    tenant: bool
    departments: int
    users: int
    measures: dict[str, float | None]
    lagging: list[str]


class Rollup(BaseModel):
    division_code: str
    division_name: str
    start: datetime
    end: datetime
    measures: dict[str, dict[str, str]]
    targets: dict[str, float]
    rows: list[RollupRow]


class MeasureRead(BaseModel):
    key: str
    title_zh: str
    title_en: str
    unit: str
    better: str


class TargetCreate(Strict):
    division_code: str = DivisionCode
    measure_key: str = Field(min_length=3, max_length=64)
    threshold: float = Field(ge=0, le=1_000_000)


class TargetRead(BaseModel):
    id: int
    division_code: str
    measure_key: str
    threshold: float
    better: str
    set_by: str


class TaskCreate(Strict):
    division_code: str = DivisionCode
    title: str = Field(min_length=2, max_length=200)
    description: str = Field(default="", max_length=4000)
    assignees: list[str] = Field(
        default_factory=list,
        max_length=500,
        description="division codes below; empty: every direct child division",
    )
    measure_key: str | None = Field(default=None, max_length=64)
    target_value: float | None = Field(default=None, ge=0, le=1_000_000)
    period_start: datetime | None = None
    deadline: datetime


class ProgressReport(Strict):
    progress: float | None = Field(default=None, ge=0, le=1, description="0..1, hand-reported tasks")
    evidence: str = Field(default="", max_length=4000)
    done: bool = False


class AssignmentRead(BaseModel):
    id: int
    task_id: int
    task_code: str
    task_title: str
    division_code: str
    division_name: str
    state: AssignmentState
    measure_value: float | None
    progress: float | None
    met: bool
    colour: Colour
    days_left: int
    deadline: datetime
    evidence: str


class TaskRead(BaseModel):
    id: int
    code: str
    title: str
    description: str
    division_code: str
    measure_key: str | None
    target_value: float | None
    better: str
    period_start: datetime
    deadline: datetime
    assignments: list[AssignmentRead]


class AssetCreate(Strict):
    department_code: str = Field(min_length=8, max_length=64)
    kind: AssetKind
    name: str = Field(min_length=1, max_length=200)
    location: str = Field(default="", max_length=300)
    lon: float | None = Field(default=None, ge=73, le=136)
    lat: float | None = Field(default=None, ge=3, le=54)
    capacity: float = Field(default=0, ge=0, le=1e9)
    capacity_unit: str = Field(default="", max_length=16)
    utilisation: float = Field(default=0, ge=0, le=1)


class AssetRead(BaseModel):
    id: int
    kind: str
    name: str
    division_code: str
    department_code: str
    location: str
    lon: float | None
    lat: float | None
    capacity: float
    capacity_unit: str
    utilisation: float


class SystemCreate(Strict):
    department_code: str = Field(min_length=8, max_length=64)
    kind: SystemKind
    name: str = Field(min_length=1, max_length=200)
    platform: str = Field(default="", max_length=200)
    state: SystemState = SystemState.planned
    offered_below: bool = False
    users: int = Field(default=0, ge=0, le=100_000_000)
    budget_wan: float = Field(default=0, ge=0, le=1e7)


class SystemRead(BaseModel):
    id: int
    kind: str
    name: str
    division_code: str
    department_code: str
    platform: str
    state: str
    offered_below: bool
    users: int
    budget_wan: float
    duplicate_of: str | None
    duplicate_note: str | None


class UtilisationRow(BaseModel):
    division_code: str
    division_name: str
    kind: str
    count: int
    mean_utilisation: float
    under_used: int


class PoolCreate(Strict):
    code: str = Field(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=200)
    region: str = Field(min_length=1, max_length=100)
    department_code: str = Field(min_length=8, max_length=64)
    capacity_units: int = Field(ge=1, le=10_000_000)
    cost_per_unit: float = Field(ge=0, le=1e6)
    residency: list[Code] = Field(default_factory=list, max_length=100)
    scheduler_address: str = Field(
        default="", max_length=300, pattern=r"^((tcp|tls|inproc)://[^\s]+)?$", description="a Dask scheduler"
    )


class PoolRead(BaseModel):
    id: int
    code: str
    name: str
    region: str
    division_code: str
    capacity_units: int
    used_units: int
    cost_per_unit: float
    residency: list[str]
    has_scheduler: bool


class JobCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    data_division_code: str = DivisionCode
    units: int = Field(ge=1, le=1_000_000)
    size: int = Field(default=256, ge=8, le=4096, description="raster side in cells (the demo reduction)")


class JobRead(BaseModel):
    id: int
    name: str
    data_division_code: str
    units: int
    pool_code: str | None
    state: JobState
    reason: str
    cost: float | None
    result: dict[str, float]
