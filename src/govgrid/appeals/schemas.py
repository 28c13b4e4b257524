"""Pydantic schemas of the appeals API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class TicketCreate(BaseModel):
    """A resident's report from the web form or the mobile page (no login)."""

    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1, max_length=4000)
    category_code: str | None = None
    lon: float | None = None
    lat: float | None = None
    address: str | None = Field(default=None, max_length=300)
    division_code: str | None = Field(
        default=None, max_length=32, description="county/township when no point is given"
    )
    reporter_name: str | None = Field(default=None, max_length=50)
    reporter_phone: str | None = Field(default=None, max_length=20)
    channel: Literal["web", "mobile"] = "web"


class HotlineCreate(TicketCreate):
    """A call-taker's record of a hotline call."""

    channel: Literal["hotline"] = "hotline"  # type: ignore[assignment]
    call_ref: str | None = Field(default=None, max_length=64, description="the telephone system's call id")


class TicketCreated(BaseModel):
    """What the reporter keeps: the number and the tracking code."""

    number: str
    tracking_code: str
    state: str
    category_code: str
    proposed_department: str | None


class TicketEventRead(BaseModel):
    """One history step."""

    model_config = ConfigDict(from_attributes=True)

    at: datetime
    kind: str
    actor: str
    from_state: str | None
    to_state: str | None
    department_id: int | None
    note: str | None


class Reporter(BaseModel):
    """The reporter's identity (handling unit and supervisors only)."""

    name: str | None
    phone: str | None
    email: str | None
    address: str | None


class TicketRead(BaseModel):
    """A ticket as staff see it; `reporter` is present only for the handling unit and supervisors."""

    id: int
    number: str | None
    channel: str
    title: str
    description: str
    media_url: str | None
    category_code: str
    category_source: str
    category_confidence: float | None
    category_confirmed: bool
    lon: float | None
    lat: float | None
    division_code: str
    place: str
    location_source: str
    proposed_department_id: int | None
    department_id: int | None
    department_name: str | None
    state: str
    overdue: bool
    created_at: datetime
    dispatched_at: datetime | None
    sign_due: datetime | None
    contact_due: datetime | None
    resolve_due: datetime | None
    signed_at: datetime | None
    contacted_at: datetime | None
    answered_at: datetime | None
    closed_at: datetime | None
    answer: str | None
    escalation_level: int
    escalated_department_id: int | None
    escalation_reason: str | None
    summoned: bool
    accountability: str | None
    reopen_count: int
    rating: str | None
    rating_resolved: bool | None
    merged_into_id: int | None
    city_case_code: str | None
    city_case_result: str | None
    reporter: Reporter | None = None
    reporter_phone_masked: str | None = None
    events: list[TicketEventRead] = []
    duplicates: list[dict[str, Any]] = []


class TicketSummary(BaseModel):
    """A row of a work list (no personal data)."""

    id: int
    number: str | None
    title: str
    category_code: str
    state: str
    division_code: str
    department_id: int | None
    proposed_department_id: int | None
    created_at: datetime
    sign_due: datetime | None
    resolve_due: datetime | None
    escalation_level: int
    overdue: bool


class TicketPage(BaseModel):
    """A page of tickets."""

    items: list[TicketSummary]
    total: int
    limit: int
    offset: int


class DispatchRequest(BaseModel):
    """Confirm (no fields) or change the proposed unit and category."""

    model_config = ConfigDict(extra="forbid")

    department_id: int | None = None
    category_code: str | None = None
    note: str | None = Field(default=None, max_length=2000)


class TextRequest(BaseModel):
    """A text: answer, return reason, contact note."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(default="", max_length=4000)


class RatingRequest(BaseModel):
    """The citizen's rating or an operator's callback survey."""

    model_config = ConfigDict(extra="forbid")

    rating: Literal["satisfied", "basic", "unsatisfied"]
    resolved: bool | None = None
    comment: str | None = Field(default=None, max_length=2000)


class MergeRequest(BaseModel):
    """Merge this ticket into another."""

    model_config = ConfigDict(extra="forbid")

    into_id: int


class SuperviseRequest(BaseModel):
    """A supervisor's comment, summons or accountability mark."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["comment", "summon", "accountability"]
    text: str | None = Field(default=None, max_length=2000)


class PublicTicket(BaseModel):
    """What the tracking page shows: no name, phone or exact address."""

    number: str | None
    state: str
    category_code: str
    title: str | None
    description: str | None
    place: str
    department: str | None
    created_at: datetime
    updated_at: datetime
    resolve_due: datetime | None
    answer: str | None
    rating: str | None
    merged_into: str | None = None
    events: list[TicketEventRead] = []


class RatesConfig(BaseModel):
    """三率 formulas and weights."""

    model_config = ConfigDict(extra="forbid")

    response_basis: Literal["signed", "contacted", "signed_and_contacted"] = "signed_and_contacted"
    resolution_basis: Literal["survey", "closed"] = "survey"
    basic_weight: float = Field(default=1.0, ge=0, le=1)
    weights: dict[str, float] = {"response": 30, "resolution": 35, "satisfaction": 35}


class EscalationReport(BaseModel):
    """What one escalation pass did."""

    to_superior: list[str]
    to_supervisor: list[str]
    auto_closed: list[str]
