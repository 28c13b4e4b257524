"""Request and response shapes of the reuse API (inputs forbid unknown fields)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DIVISION = r"^\d{6,12}$"


class PackExport(BaseModel):
    """Export a division's configuration of a module as a signed pack."""

    model_config = ConfigDict(extra="forbid")
    division_code: str = Field(pattern=DIVISION)
    module: str = Field(min_length=2, max_length=32, pattern=r"^[a-z_]+(,[a-z_]+)*$")
    pack_id: str | None = Field(default=None, max_length=80)


class PackRead(BaseModel):
    """A pack of the catalogue (the manifest as signed)."""

    id: int
    pack_id: str
    version: str
    title: str
    module: str
    division_code: str
    sha256: str
    created_at: datetime
    adopters: int = 0
    manifest: dict[str, Any]


class InstallRequest(BaseModel):
    """Preview or install a pack in a division with a parameter mapping."""

    model_config = ConfigDict(extra="forbid")
    division_code: str = Field(pattern=DIVISION)
    mapping: dict[str, Any] = Field(default_factory=dict)


class ChangeRead(BaseModel):
    """One change of a plan (a JSON Patch op and path, the value before and after, a zh-CN label)."""

    op: str
    path: str
    before: Any = None
    after: Any = None
    label: str


class SectionPlanRead(BaseModel):
    """What installing one section changes."""

    key: str
    title_zh: str
    changes: list[ChangeRead]


class InstallationRead(BaseModel):
    """A pack installed (or uninstalled) in a division."""

    id: int
    pack_id: str
    version: str
    division_code: str
    state: str
    mapping: dict[str, Any]
    changes: list[dict[str, Any]]
    installed_at: datetime
    installed_by: str
    uninstalled_at: datetime | None = None


class InstallResult(BaseModel):
    """An installation and the diff it applied."""

    installation: InstallationRead
    sections: list[SectionPlanRead]


class CaseCreate(BaseModel):
    """Declare (自主申报) or nominate (上级推荐) a typical case."""

    model_config = ConfigDict(extra="forbid")
    division_code: str = Field(pattern=DIVISION)
    title: str = Field(min_length=1, max_length=200)
    summary: str = Field(min_length=1, max_length=4000)
    pack_id: str | None = Field(default=None, max_length=80)
    measures_before: dict[str, float] = Field(default_factory=dict)
    measures_after: dict[str, float] = Field(default_factory=dict)


class CaseDecision(BaseModel):
    """Accept into the library or reject (with a note)."""

    model_config = ConfigDict(extra="forbid")
    accept: bool
    note: str = Field(default="", max_length=2000)


class CasePromote(BaseModel):
    """Recommend for the province or the nation."""

    model_config = ConfigDict(extra="forbid")
    level: Literal["provincial", "national"]


class RatingCreate(BaseModel):
    """A score of a case in the library."""

    model_config = ConfigDict(extra="forbid")
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=500)


class CaseRead(BaseModel):
    """A typical case."""

    id: int
    title: str
    summary: str
    division_code: str
    origin: str
    state: str
    submitted_by: str
    nominated_by: str | None
    pack_id: str | None
    measures_before: dict[str, float]
    measures_after: dict[str, float]
    review_note: str | None
    rating: float | None
    rating_count: int
    next_states: list[str]
    created_at: datetime
