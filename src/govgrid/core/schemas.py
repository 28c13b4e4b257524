"""Pydantic schemas of the core API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A page of items with the total and the offset of the next page."""

    items: list[T]
    total: int
    limit: int
    offset: int
    next_offset: int | None = None

    @classmethod
    def of(cls, items: list[T], total: int, limit: int, offset: int) -> Page[T]:
        """Build a page, computing next_offset."""
        nxt = offset + limit if offset + limit < total else None
        return cls(items=items, total=total, limit=limit, offset=offset, next_offset=nxt)


class ORM(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class DivisionRef(ORM):
    code: str
    name: str
    level: str


class DivisionRead(DivisionRef):
    parent_code: str | None
    depth: int
    bbox: list[float] | None = None
    center: list[float] | None = None
    ancestors: list[DivisionRef] = []
    source: str


class DivisionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parent_code: str = Field(min_length=6, max_length=32, pattern=r"^\d+$")
    code: str = Field(min_length=7, max_length=32, pattern=r"^\d+$")
    name: str = Field(min_length=1, max_length=100)
    level: str = Field(description="township, village or grid")
    boundary: dict[str, Any] | None = Field(
        default=None, description="GeoJSON Polygon/MultiPolygon in WGS 84"
    )


class LineRead(ORM):
    code: str
    name_zh: str
    name_en: str


class DepartmentRead(ORM):
    id: int
    code: str
    name: str
    line_code: str
    division_code: str
    division_name: str
    parent_id: int | None


class DepartmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_code: str = Field(min_length=1, max_length=32)
    division_code: str = Field(min_length=6, max_length=32, pattern=r"^\d+$")
    name: str | None = Field(default=None, max_length=200)


class AssignmentRead(BaseModel):
    department_id: int
    department_name: str
    line_code: str
    division_code: str
    role: str
    reach: str


class MeRead(BaseModel):
    kind: str
    id: int
    username: str
    display_name: str
    is_superuser: bool
    locale: str
    assignments: list[AssignmentRead]


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105  (the OAuth 2 token type, not a secret)
    expires_in: int


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)
    display_name: str | None = Field(default=None, max_length=100)
    department_id: int | None = Field(default=None, description="the department the account belongs to "
                                      "(default: the first department I administer)")


class UserRead(ORM):
    id: int
    username: str
    display_name: str
    is_active: bool


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=8, max_length=200)


class RoleAssign(BaseModel):
    model_config = ConfigDict(extra="forbid")

    department_id: int
    role: str
    reach: str = "department"


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    department_id: int
    role: str = "operator"
    valid_days: int = Field(default=365, ge=1, le=730, description="the key stops working after these days")


class ApiKeyRotate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_days: int = Field(default=7, ge=0, le=30, description="days the old key keeps working (0: now)")
    valid_days: int = Field(default=365, ge=1, le=730)


class ApiKeyRead(ORM):
    id: int
    name: str
    prefix: str
    department_id: int
    role: str
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None = None
    replaced_by_id: int | None = None


class SessionRead(BaseModel):
    id: int
    user_id: int
    username: str
    kind: str
    created_at: datetime
    expires_at: datetime


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="shown once; store it now")


class AuditRead(ORM):
    seq: int
    at: datetime
    actor_type: str
    actor_name: str | None
    action: str
    entity_type: str | None
    entity_id: str | None
    division_code: str | None
    department_id: int | None
    purpose: str | None
    detail: dict[str, Any]
    hash: str


class AuditVerifyRead(BaseModel):
    ok: bool
    checked: int
    broken_seq: int | None
    reason: str | None


class MatrixCell(BaseModel):
    department_id: int
    name: str
    open_work: dict[str, int] = Field(
        default_factory=dict, description="open items by kind, e.g. open tickets"
    )


class MatrixRead(BaseModel):
    lines: list[LineRead]
    divisions: list[DivisionRef]
    cells: dict[str, dict[str, MatrixCell]] = Field(description="line_code -> division_code -> department")
