"""API shapes of economic monitoring (inputs forbid unknown fields)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class IndicatorCreate(BaseModel):
    """A new registry entry."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]{1,31}$")
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=100)
    unit: str = Field(min_length=1, max_length=32)
    frequency: Literal["monthly", "quarterly"] = "monthly"
    line_code: str = Field(min_length=1, max_length=64)
    division_level: str = "county"
    definition: str = Field(default="", max_length=2000)


class IndicatorRead(BaseModel):
    """A registry entry."""

    code: str
    name_zh: str
    name_en: str
    unit: str
    frequency: str
    line_code: str
    division_level: str
    definition: str


class ObservationRead(BaseModel):
    """One figure in one vintage."""

    indicator: str
    division: str
    period: str
    value: float
    unit: str
    vintage: int
    current: bool
    source: str
    recorded_at: datetime


class SeriesRead(BaseModel):
    """The current figures of one indicator in one division, with derived growth rates."""

    indicator: str
    division: str
    unit: str
    periods: list[str]
    values: list[float | None]
    yoy_pct: list[float | None]
    ytd_pct: list[float | None]
    demo: bool


class ImportResult(BaseModel):
    """What an upload wrote."""

    batch_id: int
    rows: int  # new vintages (first figures and revisions)
    revised: int  # of which revisions of an existing figure
    unchanged: int  # rows equal to the current figure (nothing written)


class AlertRead(BaseModel):
    """An open anomaly or cross-check alert (the interface others rely on)."""

    id: int
    kind: str
    indicator: str
    indicator_name: str
    partner_indicator: str | None
    division: str
    period: str
    value: float
    unit: str
    expected_low: float
    expected_high: float
    score: float
    explanation: str
    status: str
    department: str
    due_at: datetime


class AlertUpdate(BaseModel):
    """The responsible department's answer to an alert."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["open", "resolved", "dismissed"]
    note: str = Field(default="", max_length=2000)


class ScanResult(BaseModel):
    """What a monitoring run found."""

    division: str
    series: int
    new_alerts: int


class FeedCreate(BaseModel):
    """A scheduled pull of one indicator from a data-exchange resource."""

    model_config = ConfigDict(extra="forbid")

    resource_code: str = Field(min_length=1, max_length=100)
    indicator: str = Field(pattern=r"^[A-Z][A-Z0-9_]{1,31}$")
    department_id: int = Field(ge=1, description="the consumer department whose grant is used")
    division_field: str = Field(min_length=1, max_length=64)
    period_field: str = Field(min_length=1, max_length=64)
    value_field: str = Field(min_length=1, max_length=64)
    filters: dict[str, str] = Field(default_factory=dict, max_length=10)


class FeedRead(BaseModel):
    """A scheduled pull and how its last run went."""

    id: int
    resource_code: str
    indicator: str
    department_id: int
    division_field: str
    period_field: str
    value_field: str
    filters: dict[str, str]
    active: bool
    last_run_at: datetime | None
    last_status: str
