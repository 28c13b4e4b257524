"""Request and response shapes of the services API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ProcessRead(BaseModel):
    """A stored process version."""

    model_config = ConfigDict(from_attributes=True)

    process_id: str
    version: int
    name: str
    sha256: str
    lanes: dict[str, Any]
    uploaded_by: str
    uploaded_at: datetime


class UploadResult(BaseModel):
    """The answer to a BPMN upload: the process ids it defines, and their stored versions."""

    process_ids: list[str]
    processes: list[ProcessRead]


class ItemRead(BaseModel):
    """A service item or bundle as the catalogue and the guide show it."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    kind: str
    division_code: str
    department_id: int
    legal_basis: str
    statutory_days: int
    promised_days: int
    on_the_spot: bool
    fee: str
    visits: int
    online: bool
    mobile: bool
    materials: list[dict[str, Any]]
    form_fields: list[dict[str, Any]]
    members: list[str]
    process_id: str
    certificate_type: str


class TimelineRead(BaseModel):
    """One timeline entry."""

    model_config = ConfigDict(from_attributes=True)

    at: datetime
    kind: str
    text: str
    actor: str
    division_code: str | None


class TaskRead(BaseModel):
    """A department task of an application."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    spec: str
    name: str
    line_code: str
    role: str
    department_id: int
    open: bool
    decision: str | None
    note: str
    done_by: str | None
    created_at: datetime
    done_at: datetime | None


class ApplicationRead(BaseModel):
    """An application (masked form) with its envelope and clock."""

    model_config = ConfigDict(from_attributes=True)

    number: str
    item_code: str
    item_name: str
    status: str
    mode: str
    accepted_division_code: str
    decided_division_code: str
    department_id: int
    counter_department_id: int | None
    submitted_at: datetime
    due_at: datetime | None
    finished_at: datetime | None
    steps: int
    form: dict[str, Any] = Field(default_factory=dict)
    prefilled: list[dict[str, Any]] = Field(default_factory=list)
    timeline: list[TimelineRead] = Field(default_factory=list)
    tasks: list[TaskRead] = Field(default_factory=list)
    certificate_number: str | None = None


class DecisionIn(BaseModel):
    """A department's decision on a task."""

    model_config = ConfigDict(extra="forbid")

    decision: str = Field(description="approve | reject | supplement")
    note: str = Field("", max_length=1000)


class RatingIn(BaseModel):
    """好差评: 1 (非常不满意) .. 5 (非常满意)."""

    model_config = ConfigDict(extra="forbid")

    score: str = Field(pattern="^[1-5]$")
    comment: str = Field("", max_length=1000)


class FollowUpIn(BaseModel):
    """A supervisor's follow-up of a bad rating."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=2000)


class VerifyIn(BaseModel):
    """A certificate document and its signature, as the holder presents it."""

    model_config = ConfigDict(extra="forbid")

    document: dict[str, Any]
    signature: str = Field(max_length=128)
