"""Exchange tables: catalog entries (政务数据资源) with data items and versions, uploaded records, sharing
requests, grants, the gateway's call log and the search index."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govgrid.core.db import Base, UTCDateTime, utcnow
from govgrid.core.departments.models import Department


class Resource(Base):
    """One catalog entry: the fields of the national compilation guide plus grade and version."""

    __tablename__ = "exchange_resources"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # 资源代码: class code + division + sequence
    class_code: Mapped[str] = mapped_column(String(32), index=True)  # 资源分类
    name: Mapped[str] = mapped_column(String(200))
    provider_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    # Denormalised from the provider so catalog queries filter without joins (a department never moves).
    line_code: Mapped[str] = mapped_column(String(32), index=True)
    division_code: Mapped[str] = mapped_column(String(32), index=True)
    division_path: Mapped[str] = mapped_column(String(200), index=True)
    abstract: Mapped[str] = mapped_column(Text, default="")
    format: Mapped[str] = mapped_column(String(32), default="table")  # table / api / file
    kind: Mapped[str] = mapped_column(
        String(16), default="table"
    )  # table: records stored here; api: provider API
    api_url: Mapped[str | None] = mapped_column(String(500))
    sharing_type: Mapped[str] = mapped_column(String(16), index=True)  # unconditional / conditional / none
    sharing_conditions: Mapped[str] = mapped_column(Text, default="")
    sharing_method: Mapped[str] = mapped_column(String(32), default="interface")
    open_type: Mapped[str] = mapped_column(
        String(16), default="not_open"
    )  # open / conditional_open / not_open
    update_cycle: Mapped[str] = mapped_column(String(16), default="monthly")
    publish_date: Mapped[date | None] = mapped_column(Date)
    related_codes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    grade: Mapped[str] = mapped_column(
        String(16), index=True, default="general"
    )  # general / important / core
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    items: Mapped[list[DataItem]] = relationship(
        order_by="DataItem.position", cascade="all, delete-orphan", lazy="selectin"
    )
    provider: Mapped[Department] = relationship(lazy="select")


class DataItem(Base):
    """A data item (信息项) of a resource: its column name, type and whether it is personal or sensitive."""

    __tablename__ = "exchange_data_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("exchange_resources.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(
        String(16)
    )  # string integer number date boolean division id_number phone
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    personal: Mapped[bool] = mapped_column(Boolean, default=False)
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    mask: Mapped[str] = mapped_column(String(16), default="none")  # none id_number phone name address full

    __table_args__ = (UniqueConstraint("resource_id", "name", name="uq_exchange_data_items_resource_name"),)


class ResourceVersion(Base):
    """A snapshot of a catalog entry as it was at one version."""

    __tablename__ = "exchange_resource_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("exchange_resources.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Upload(Base):
    """One accepted upload of a resource's records; the newest active one is served."""

    __tablename__ = "exchange_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("exchange_resources.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active / superseded
    filename: Mapped[str] = mapped_column(String(200), default="")
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    uploaded_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Record(Base):
    """One row of a resource's data; division_code copies the item of type 'division' (row filters)."""

    __tablename__ = "exchange_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("exchange_uploads.id", ondelete="CASCADE"))
    row_no: Mapped[int] = mapped_column(Integer)
    division_code: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    # 静态脱敏: the record with its personal items masked by their rules, made when stored (the gateway
    # serves it instead of masking per value); mask_key names the rules used. NULL for rows stored before.
    masked: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    mask_key: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (
        Index("ix_exchange_records_upload_id_id", "upload_id", "id"),
        Index("ix_exchange_records_upload_division", "upload_id", "division_code"),
    )


class SharingRequest(Base):
    """A department's request to use a resource: purpose, legal basis, fields, scope, and its decision."""

    __tablename__ = "exchange_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("exchange_resources.id"), index=True)
    consumer_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    provider_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    # Who must answer: the provider, or the data management bureau for 不予共享 resources.
    handler_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    handler_division_path: Mapped[str] = mapped_column(String(200), index=True)
    requested_by: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    fields: Mapped[list[Any]] = mapped_column(JSON, default=list)
    row_filter_division: Mapped[str | None] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16), default="records")  # records / verify
    days: Mapped[int] = mapped_column(Integer, default=365)
    route: Mapped[str] = mapped_column(String(16))  # auto / provider / bureau
    status: Mapped[str] = mapped_column(String(20), index=True)
    compliance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    check_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answer_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text, default="")

    resource: Mapped[Resource] = relationship(lazy="joined", innerjoin=True)


class Grant(Base):
    """A consumer department's right to read a resource: field scope, row filter, expiry, revocation."""

    __tablename__ = "exchange_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_requests.id"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("exchange_resources.id"), index=True)
    consumer_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    mode: Mapped[str] = mapped_column(String(16), default="records")  # records (includes verify) / verify
    fields: Mapped[list[Any] | None] = mapped_column(JSON)  # None: every data item
    clear_fields: Mapped[list[Any]] = mapped_column(JSON, default=list)  # personal items allowed unmasked
    row_filter_division: Mapped[str | None] = mapped_column(String(32))
    rate_limit_per_minute: Mapped[int] = mapped_column(Integer, default=600)
    purpose: Mapped[str] = mapped_column(Text, default="")
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(100))
    revoke_reason: Mapped[str] = mapped_column(Text, default="")

    resource: Mapped[Resource] = relationship(lazy="select")


class GatewayCall(Base):
    """One served gateway call (records, verify, datastore_search): the figures behind the flow matrix."""

    __tablename__ = "exchange_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("exchange_resources.id"), index=True)
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_grants.id"), index=True)
    consumer_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    kind: Mapped[str] = mapped_column(String(16))  # records / verify / datastore
    rows: Mapped[int] = mapped_column(Integer, default=0)
    response_sha256: Mapped[str] = mapped_column(String(64))
    audit_seq: Mapped[int | None] = mapped_column(Integer)


class SearchTerm(Base):
    """Inverted index for catalog search: one jieba token of one resource with a weight (name counts most)."""

    __tablename__ = "exchange_search_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("exchange_resources.id", ondelete="CASCADE"), index=True
    )
    term: Mapped[str] = mapped_column(String(64), index=True)
    weight: Mapped[int] = mapped_column(Integer, default=1)
