"""Pydantic schemas of the market-supervision API (inputs forbid unknown fields)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from govgrid.market.enums import CaseKind, Outcome

ClassLetter = Literal["A", "B", "C", "D"]
TaxLetter = Literal["A", "B", "M", "C", "D", "unknown"]


def default_weights() -> dict[ClassLetter, int]:
    """A 1, B 2, C 4, D 8: a D-class entity is eight times as likely to be drawn as an A-class one."""
    return {"A": 1, "B": 2, "C": 4, "D": 8}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EntityCreate(Strict):
    credit_code: str = Field(min_length=18, max_length=18, description="统一社会信用代码 (GB 32100)")
    name: str = Field(min_length=1, max_length=200)
    department_code: str = Field(
        min_length=8, max_length=64, description="registrar, e.g. 410527-market_regulation"
    )
    division_code: str | None = Field(default=None, max_length=32, description="default: the registrar's")
    industry: str = Field(default="", max_length=64)
    address: str = Field(default="", max_length=300)
    legal_rep: str = Field(default="", max_length=64)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    penalties: int = Field(default=0, ge=0, le=1000)
    complaints: int = Field(default=0, ge=0, le=100000)
    abnormal: bool = False
    serious_violation: bool = False
    tax_status: TaxLetter = "unknown"


class EntityRead(BaseModel):
    credit_code: str
    name: str
    kind: str
    division_code: str
    department_code: str
    industry: str
    address: str
    legal_rep: str
    credit_class: str
    risk_points: int
    risk_reasons: list[str]
    is_demo: bool


class EntityPage(BaseModel):
    items: list[EntityRead]
    total: int
    counts: dict[str, int]


class ImportReport(BaseModel):
    created: int
    updated: int
    classes: dict[str, int]


class SyncRequest(Strict):
    department_code: str = Field(min_length=8, max_length=64, description="the registrar")
    resource_code: str = Field(
        min_length=3, max_length=64, description="shared resource, e.g. A02-410527-0002"
    )
    limit: int = Field(default=5000, ge=1, le=50_000)


class SyncReport(ImportReport):
    resource_code: str
    refused_count: int
    refused: list[dict[str, object]]


class InspectorCreate(Strict):
    department_code: str = Field(min_length=8, max_length=64)
    name: str = Field(min_length=1, max_length=64)
    badge_no: str = Field(min_length=4, max_length=32, pattern=r"^[0-9A-Za-z-]+$", description="执法证号")
    unit_code: str = Field(default="", max_length=18, description="credit code of the inspector's unit")
    fields: str = Field(default="", max_length=200)


class InspectorRead(BaseModel):
    id: int
    department_code: str
    name: str
    badge_no: str
    unit_code: str
    fields: str
    relations: list[str]


class RelationCreate(Strict):
    credit_code: str = Field(min_length=18, max_length=18)
    note: str = Field(default="", max_length=200)


class PlanItem(Strict):
    department_code: str = Field(min_length=8, max_length=64)
    item: str = Field(min_length=1, max_length=200, description="抽查事项")


class PlanCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    year: int = Field(ge=2000, le=2100)
    department_code: str = Field(min_length=8, max_length=64, description="lead department (牵头部门)")
    items: list[PlanItem] = Field(min_length=1, max_length=50)
    sample_size: int = Field(ge=1, le=1_000_000)
    weights: dict[ClassLetter, int] = Field(default_factory=default_weights)
    per_group: int = Field(default=2, ge=1, le=5, description="inspectors per department per target")
    beacon_source: str = Field(default="", max_length=300, description="public value named in advance")


class PlanRead(BaseModel):
    id: int
    code: str
    name: str
    year: int
    line_code: str
    division_code: str
    department_code: str
    items: list[dict[str, object]]
    sample_size: int
    weights: dict[str, int]
    per_group: int
    beacon_source: str
    status: str
    draw_id: int | None
    created_at: datetime


class DrawRequest(Strict):
    beacon: str = Field(default="", max_length=300)


class DrawPublic(BaseModel):
    """A draw as anyone sees it: the seed is null until published; targets and inspectors are aligned."""

    id: int
    plan: str
    plan_name: str
    division_code: str
    status: str
    algorithm: str
    committed_at: datetime
    commitment: str
    seed: str | None
    beacon_source: str
    beacon: str | None
    entities_hash: str
    inspectors_hash: str
    entity_count: int
    sample_size: int
    weights: dict[str, int]
    per_group: int
    published_at: datetime | None
    targets: list[str]
    inspectors: list[list[int]]


class InspectionRead(BaseModel):
    id: int
    plan_code: str
    credit_code: str
    entity_name: str
    division_code: str
    inspector_ids: list[int]
    items: list[dict[str, object]]
    status: str
    outcome: str | None
    summary: str
    recorded_at: datetime | None


class ResultCreate(Strict):
    outcome: Outcome
    summary: str = Field(default="", max_length=2000)
    city_case: bool = Field(default=False, description="report a city-management event to the city map")


class PublicResult(BaseModel):
    plan: str
    plan_name: str
    credit_code: str
    entity_name: str
    division_code: str
    items: list[str]
    outcome: str
    outcome_label: str
    summary: str
    recorded_at: datetime | None


class CaseCreate(Strict):
    inspection_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    credit_code: str = Field(min_length=18, max_length=18)
    kind: CaseKind
    from_department_code: str = Field(min_length=8, max_length=64)
    to_department_code: str = Field(min_length=8, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    days: int = Field(default=10, ge=1, le=60, description="working days to answer")


class CaseReply(Strict):
    reply: str = Field(default="", max_length=5000)


class CaseRead(BaseModel):
    id: int
    number: str
    kind: str
    credit_code: str
    entity_name: str
    from_department: str
    to_department: str
    title: str
    description: str
    deadline: datetime
    status: str
    reply: str
    created_at: datetime
