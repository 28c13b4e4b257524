"""API shapes of the institutions module (数据制度); inputs forbid unknown fields."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from govgrid.institutions.enums import Grade, IncidentState, Outcome


class LedgerRowRead(BaseModel):
    """One aggregated use of a resource with its outcome and points."""

    resource_code: str
    resource_name: str
    provider_department_id: int
    provider_name: str
    line_code: str
    consumer_department_id: int | None
    consumer_name: str
    kind: str
    purpose: str
    outcome: Outcome
    calls: int
    rows: int
    points: float
    cases_closed: list[str] = []


class ScoreRead(BaseModel):
    """A provider department's credited contribution."""

    department_id: int
    department_name: str
    line_code: str
    division_code: str
    calls: int
    rows: int
    points: float
    resources: int
    consumers: int
    outcomes: dict[str, int]
    cases_closed: int = 0


class RuleRead(BaseModel):
    """The scoring rule in force (division_code None: the platform default)."""

    division_code: str | None
    version: int
    weights: dict[str, float]
    row_weight: float


class LedgerRead(BaseModel):
    """A division's (or one line's) contribution ledger over a period."""

    division_code: str
    line: str
    start: datetime
    end: datetime
    rule: RuleRead
    scores: list[ScoreRead]
    rows: list[LedgerRowRead]
    cases_closed: int = 0  # closed cases (办结案件) the uses were for, each once


class RuleCreate(BaseModel):
    """A new version of a division's scoring rule."""

    model_config = ConfigDict(extra="forbid")

    weights: dict[str, float] = Field(max_length=10)
    row_weight: float = 0.0
    note: str = Field(default="", max_length=500)


class RegisterEntryRead(BaseModel):
    """A resource in the grading register."""

    model_config = ConfigDict(from_attributes=True)

    resource_code: str
    resource_name: str
    division_code: str
    department_id: int
    line_code: str
    default_grade: Grade
    grade: Grade
    reasons: list[str]
    controls: list[str]
    last_reviewed_at: datetime | None
    next_review_due: datetime


class ReviewCreate(BaseModel):
    """A periodic review: the grade confirmed or raised, with a note."""

    model_config = ConfigDict(extra="forbid")

    grade: Grade
    note: str = Field(default="", max_length=2000)


class SyncRead(BaseModel):
    """What a register sync and incident scan did."""

    added: int
    raised: int
    incidents_filed: int


class IncidentRead(BaseModel):
    """A security incident with its handling."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    source: str
    resource_code: str
    division_code: str
    department_id: int
    grade: Grade
    reason: str
    actor: str
    count: int
    state: IncidentState
    handling: list[dict[str, Any]]
    first_at: datetime
    last_at: datetime
    closed_at: datetime | None


class IncidentMove(BaseModel):
    """Move an incident to a next state with a note on what was done."""

    model_config = ConfigDict(extra="forbid")

    state: IncidentState
    note: str = Field(min_length=1, max_length=2000)
