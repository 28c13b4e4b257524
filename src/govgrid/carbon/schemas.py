"""Pydantic schemas of the carbon registry API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from govgrid.core.schemas import ORM

WetlandType = Literal[
    "inland_mineral",
    "inland_organic",
    "tidal_marsh",
    "tidal_freshwater",
    "mangrove",
    "seagrass",
    "lake",
    "riverine",
]


class ProjectCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    department_code: str = Field(
        min_length=8, max_length=64, description="proponent department, e.g. 430611-forestry"
    )
    methodology: str = Field(default="ipcc_inland_wetland", max_length=64)
    wetland_type: WetlandType = "lake"
    tidal: bool = False
    soil: Literal["mineral", "organic"] = "mineral"
    boundary: dict[str, Any] = Field(
        description="GeoJSON Polygon/MultiPolygon in WGS 84, inside the division"
    )
    crediting_start: date
    crediting_end: date
    risk_rating: Literal["low", "medium", "high"] = Field(
        default="medium", description="non-permanence risk rating: sets the buffer share of each issuance"
    )


class ProjectRead(ORM):
    id: int
    code: str
    name: str
    description: str
    division_code: str
    department_id: int
    department_code: str
    department_name: str
    methodology: str
    wetland_type: str
    tidal: bool
    soil: str
    area_ha: float
    bbox: list[float]
    crediting_start: date
    crediting_end: date
    is_demo: bool
    created_at: datetime
    risk_rating: str = "medium"
    area_crs: str = Field(default="", description="the projected CRS area_ha was measured on")


class ProjectPage(BaseModel):
    items: list[ProjectRead]
    total: int
    limit: int
    offset: int


class ReportCreate(BaseModel):
    """A monitoring report: the figures of an engine run (``result.json``) and the SHA-256 of every input."""

    model_config = ConfigDict(extra="forbid")

    vintage_start: int = Field(ge=1990, le=2100)
    vintage_end: int = Field(ge=1990, le=2100)
    methodology: str = Field(max_length=64)
    net_creditable_tco2e: float = Field(ge=0, le=1e9)
    area_ha: float = Field(gt=0, le=1e7)
    input_hashes: dict[str, str] = Field(min_length=1, max_length=50)
    summary: dict[str, Any] = Field(
        default_factory=dict, description="extra figures of the run (stocks, credit steps)"
    )


class ReportRead(ORM):
    id: int
    project_id: int
    project_code: str
    vintage_start: int
    vintage_end: int
    methodology: str
    net_creditable_tco2e: float
    area_ha: float
    input_hashes: dict[str, str]
    summary: dict[str, Any]
    status: str
    submitted_by: str
    submitted_at: datetime
    verifier_name: str | None
    verification_statement: str | None
    verified_at: datetime | None
    files: list[str] = []  # noqa: RUF012 (pydantic copies a mutable default for every instance)
    verification_opinion: str | None = None
    verification_findings: list[dict[str, str]] = []  # noqa: RUF012


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: bool = True
    statement: str = Field(min_length=1, max_length=5000, description="the verification statement (核查意见)")
    opinion: Literal["unqualified", "qualified", "adverse"] | None = Field(
        default=None, description="the verifier's opinion; 'adverse' rejects (default from approve)"
    )
    findings: list[Finding] = Field(default_factory=list, max_length=50)


class Finding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    finding: str = Field(min_length=1, max_length=1000)
    resolution: str = Field(default="", max_length=1000)


class ReversalRequest(BaseModel):
    """A reversal (逆转): loss measured in a later period; buffer credits are cancelled first."""

    model_config = ConfigDict(extra="forbid")

    project_id: int = Field(gt=0)
    quantity: int = Field(gt=0, le=10**9, description="t CO2e lost")
    reason: str = Field(min_length=1, max_length=500)
    report_id: int | None = Field(default=None, gt=0, description="the later report that measured it")


class CorrectionRequest(BaseModel):
    """A correction of an issued report: the corrected figure; the excess is cancelled."""

    model_config = ConfigDict(extra="forbid")

    corrected_tco2e: float = Field(ge=0, le=1e9)
    reason: str = Field(min_length=1, max_length=500)


class AdjustmentRead(ORM):
    id: int
    kind: str
    project_id: int
    report_id: int | None
    original_tco2e: float | None
    corrected_tco2e: float | None
    quantity: int
    from_buffer: int
    from_project: int
    uncovered: int
    reason: str
    created_at: datetime


class IssueRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    report_id: int = Field(gt=0)
    quantity: int | None = Field(
        default=None,
        gt=0,
        le=10**9,
        description="t CO2e to issue; default the whole verified net creditable amount",
    )


class IssuanceRead(ORM):
    id: int
    project_id: int
    project_code: str
    report_id: int
    vintage_start: int
    vintage_end: int
    quantity: int
    serial_start: int
    serial_end: int
    serial: str
    account_id: int
    issued_at: datetime
    buffer_quantity: int = Field(default=0, description="the tail of the range held in the buffer pool")


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    holder_name: str = Field(min_length=1, max_length=200)
    department_code: str | None = Field(
        default=None, max_length=64, description="for a department's account; omit for an external holder"
    )
    division_code: str = Field(default="430000", min_length=6, max_length=32, pattern=r"^\d+$")


class AccountRead(ORM):
    id: int
    number: str
    holder_name: str
    kind: str
    department_id: int | None
    division_code: str
    balance: int = 0
    retired: int = 0


class BlockRead(ORM):
    id: int
    issuance_id: int
    project_id: int
    project_code: str
    vintage_start: int
    vintage_end: int
    serial_start: int
    serial_end: int
    serial: str
    quantity: int
    account_id: int
    status: str
    beneficiary: str | None
    retirement_reason: str | None
    retired_at: datetime | None
    cancellation_reason: str | None = None


class TransferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_account_id: int = Field(gt=0)
    to_account_id: int = Field(gt=0)
    project_id: int | None = Field(default=None, gt=0, description="only credits of this project")
    block_id: int | None = Field(default=None, gt=0, description="only this serial block (its head)")
    quantity: int = Field(gt=0, le=10**9)


class RetireRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: int = Field(gt=0)
    project_id: int | None = Field(default=None, gt=0)
    block_id: int | None = Field(default=None, gt=0, description="only this serial block (its head)")
    quantity: int = Field(gt=0, le=10**9)
    beneficiary: str = Field(min_length=1, max_length=200, description="published in the public registry")
    reason: str = Field(min_length=1, max_length=500)


class MovementRead(ORM):
    id: int
    kind: str
    project_id: int
    from_account_id: int | None
    to_account_id: int | None
    serial_start: int
    serial_end: int
    quantity: int
    beneficiary: str | None
    reason: str | None
    at: datetime


class AlertTaskRead(BaseModel):
    id: int
    alert_id: int
    department_id: int
    department_name: str
    status: str
    note: str | None
    project_id: int
    project_code: str
    project_name: str
    epoch_from: int
    epoch_to: int
    lost_ha: float
    threshold_ha: float
    transitions: dict[str, float]
    created_at: datetime


class AlertTaskUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["open", "done"]
    note: str | None = Field(default=None, max_length=5000)


class LandcoverCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold_ha: float = Field(default=1.0, ge=0, le=1e6)


class AlertRead(BaseModel):
    id: int | None
    project_id: int
    epoch_from: int
    epoch_to: int
    lost_ha: float
    threshold_ha: float
    transitions: dict[str, float]
    raised: bool


class PublicProject(BaseModel):
    code: str
    name: str
    division_code: str
    proponent: str
    methodology: str
    area_ha: float
    area_crs: str = ""
    risk_rating: str = "medium"
    crediting_start: date
    crediting_end: date
    boundary: dict[str, Any]


class PublicIssuance(BaseModel):
    project_code: str
    vintage: str
    serial: str
    quantity: int
    buffer_quantity: int = 0
    issued_at: datetime


class PublicRetirement(BaseModel):
    project_code: str
    vintage: str
    serial: str
    quantity: int
    beneficiary: str | None
    reason: str | None
    retired_at: datetime | None
    certificate: str = ""


class PublicCancellation(BaseModel):
    project_code: str
    vintage: str
    serial: str
    quantity: int
    reason: str | None
    cancelled_at: datetime | None


class PublicRegistry(BaseModel):
    projects: list[PublicProject]
    issuances: list[PublicIssuance]
    retirements: list[PublicRetirement]
    cancellations: list[PublicCancellation] = []
    buffer_pools: list[dict[str, Any]] = []
    totals: dict[str, int]
