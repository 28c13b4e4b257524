"""Exchange API schemas: catalog entries, uploads, requests, grants, gateway answers, flow metrics."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SharingType = Literal["unconditional", "conditional", "none"]
OpenType = Literal["open", "conditional_open", "not_open"]
Grade = Literal["general", "important", "core"]
ItemType = Literal["string", "integer", "number", "date", "boolean", "division", "id_number", "phone"]
MaskRule = Literal["none", "id_number", "phone", "name", "address", "full"]
UpdateCycle = Literal["realtime", "daily", "weekly", "monthly", "quarterly", "yearly", "irregular"]
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"


class DataItemIn(BaseModel):
    """A data item (信息项) as written by the provider."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, description="column key, e.g. id_number")
    label: str = Field(min_length=1, max_length=100, description="中文名称, e.g. 公民身份号码")
    type: ItemType = "string"
    required: bool = False
    personal: bool = False
    sensitive: bool = False
    mask: MaskRule | None = Field(
        default=None, description="masking rule; defaults from the type for personal items"
    )


class DataItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    label: str
    type: str
    required: bool
    personal: bool
    sensitive: bool
    mask: str


class ResourceBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2, max_length=200)
    abstract: str = Field(default="", max_length=4000)
    format: str = Field(default="table", max_length=32)
    kind: Literal["table", "api"] = "table"
    api_url: str | None = Field(default=None, max_length=500)
    sharing_type: SharingType
    sharing_conditions: str = Field(default="", max_length=2000)
    sharing_method: Literal["interface", "file", "verify"] = "interface"
    open_type: OpenType = "not_open"
    update_cycle: UpdateCycle = "monthly"
    publish_date: date | None = None
    related_codes: list[str] = Field(default_factory=list, max_length=50)
    grade: Grade = "general"


class ResourceCreate(ResourceBase):
    """A new catalog entry; the resource code is assigned from the class code and the provider's division."""

    class_code: str = Field(pattern=r"^[A-Z][0-9A-Z]{0,15}$", description="资源分类, e.g. A01 (population)")
    provider_department_code: str = Field(max_length=64, description="e.g. 410527-public_security")
    items: list[DataItemIn] = Field(min_length=1, max_length=200)


class ResourceUpdate(BaseModel):
    """Changed fields of an entry; every accepted change makes a new version."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=2, max_length=200)
    abstract: str | None = Field(default=None, max_length=4000)
    sharing_type: SharingType | None = None
    sharing_conditions: str | None = Field(default=None, max_length=2000)
    open_type: OpenType | None = None
    update_cycle: UpdateCycle | None = None
    publish_date: date | None = None
    related_codes: list[str] | None = Field(default=None, max_length=50)
    grade: Grade | None = None
    api_url: str | None = Field(default=None, max_length=500)
    items: list[DataItemIn] | None = Field(default=None, min_length=1, max_length=200)


class ResourceRead(BaseModel):
    code: str
    class_code: str
    name: str
    abstract: str
    format: str
    kind: str
    api_url: str | None
    provider_department_id: int
    provider_department_code: str
    provider_name: str
    line_code: str
    division_code: str
    sharing_type: str
    sharing_conditions: str
    sharing_method: str
    open_type: str
    update_cycle: str
    publish_date: date | None
    related_codes: list[str]
    grade: str
    version: int
    updated_at: datetime
    items: list[DataItemRead]
    records_version: int | None = None
    records_count: int | None = None
    score: float | None = None


class ResourcePage(BaseModel):
    items: list[ResourceRead]
    total: int
    limit: int
    offset: int


class VersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    changed_by: str | None
    created_at: datetime
    snapshot: dict[str, Any]


class UploadRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    version: int
    status: str
    filename: str
    row_count: int
    sha256: str
    uploaded_by: str | None
    created_at: datetime


class RequestCreate(BaseModel):
    """A sharing request: what, for what, on which legal basis, which fields, which rows."""

    model_config = ConfigDict(extra="forbid")

    resource_code: str = Field(max_length=64)
    consumer_department_code: str | None = Field(
        default=None, max_length=64, description="defaults to your department"
    )
    purpose: str = Field(min_length=1, max_length=2000)
    legal_basis: str = Field(default="", max_length=2000)
    fields: list[str] = Field(default_factory=list, max_length=200, description="empty: every data item")
    row_filter_division: str | None = Field(
        default=None, pattern=r"^\d{6}(\d{3}){0,2}$", description="only rows of this division"
    )
    mode: Literal["records", "verify"] = "records"
    days: int = Field(default=365, ge=1, le=1095)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["accept", "approve", "refuse"]
    reason: str = Field(default="", max_length=2000)
    clear_fields: list[str] = Field(default_factory=list, max_length=200)
    days: int | None = Field(default=None, ge=1, le=1095)
    rate_limit_per_minute: int | None = Field(default=None, ge=1, le=100000)


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=2, max_length=2000)


class RequestRead(BaseModel):
    id: int
    resource_code: str
    resource_name: str
    sharing_type: str
    consumer_department_id: int
    provider_department_id: int
    handler_department_id: int
    requested_by: str
    purpose: str
    legal_basis: str
    fields: list[str]
    row_filter_division: str | None
    mode: str
    days: int
    route: str
    status: str
    overdue: bool
    compliance: dict[str, Any]
    submitted_at: datetime
    check_due_at: datetime
    answer_due_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    reason: str
    grant_id: int | None = None


class RequestPage(BaseModel):
    items: list[RequestRead]
    total: int
    limit: int
    offset: int


class GrantRead(BaseModel):
    id: int
    request_id: int | None
    resource_code: str
    resource_name: str
    consumer_department_id: int
    mode: str
    fields: list[str] | None
    clear_fields: list[str]
    row_filter_division: str | None
    rate_limit_per_minute: int
    purpose: str
    granted_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoke_reason: str
    status: str


class RecordsPage(BaseModel):
    resource_code: str
    version: int | None
    fields: list[str]
    masked_fields: list[str]
    records: list[dict[str, Any]]
    limit: int
    offset: int
    has_more: bool
    next_after: int | None
    total: int | None = None
    grant_id: int | None
    response_sha256: str


class VerifyIn(BaseModel):
    """Values to check, e.g. {"id_number": "...", "name": "..."}; the answer is only consistent or not."""

    model_config = ConfigDict(extra="forbid")

    values: dict[str, str] = Field(min_length=1, max_length=10)
    purpose: str = Field(default="", max_length=500)


class VerifyRead(BaseModel):
    resource_code: str
    consistent: bool
    result: Literal["一致", "不一致"]
    grant_id: int | None


class FlowCell(BaseModel):
    provider_line: str
    consumer_line: str
    requested: int = 0
    granted: int = 0
    refused: int = 0
    pending: int = 0
    overdue: int = 0
    median_approval_hours: float | None = None
    calls: int = 0
    rows: int = 0


class FlowLevel(BaseModel):
    relation: Literal["same", "up", "down", "across"]
    requested: int = 0
    granted: int = 0
    refused: int = 0
    overdue: int = 0
    median_approval_hours: float | None = None
    calls: int = 0
    rows: int = 0


class FlowMatrix(BaseModel):
    division_code: str
    scope: Literal["territory", "departments"] = Field(
        default="territory",
        description="territory: every flow touching the division (division-reach roles, the data management "
        "bureau); departments: only the flows of the caller's own departments",
    )
    start: datetime
    end: datetime
    totals: FlowCell
    cells: list[FlowCell]
    levels: list[FlowLevel]
    stuck: list[RequestRead]
