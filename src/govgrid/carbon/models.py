"""Carbon registry tables (碳汇登记簿): projects, reports, accounts, issuances, credit blocks, alerts.

Serial numbers come from one registry-wide counter row (``carbon_serial_counter``) taken under a row lock, and
every block's first serial is unique, so two issuances can never hand out the same tonne.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govgrid.carbon.enums import AlertStatus, AlertTaskStatus, CreditStatus, ReportStatus
from govgrid.core.db import Base, utcnow
from govgrid.core.departments.models import Department


class CarbonProject(Base):
    """A wetland carbon project: boundary, methodology, crediting period, proponent department."""

    __tablename__ = "carbon_projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    methodology: Mapped[str] = mapped_column(String(64))
    wetland_type: Mapped[str] = mapped_column(String(32))
    tidal: Mapped[bool] = mapped_column(Boolean, default=False)
    soil: Mapped[str] = mapped_column(String(16), default="mineral")
    boundary: Mapped[str] = mapped_column(Text)  # GeoJSON geometry, WGS 84
    area_ha: Mapped[float] = mapped_column(Float)
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    crediting_start: Mapped[date] = mapped_column(Date)
    crediting_end: Mapped[date] = mapped_column(Date)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    department: Mapped[Department] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (CheckConstraint("crediting_end > crediting_start", name="crediting_period"),)


class MonitoringReport(Base):
    """One monitoring period's engine run: results, input hashes, output files; verified by a third party."""

    __tablename__ = "carbon_monitoring_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("carbon_projects.id"), index=True)
    vintage_start: Mapped[int] = mapped_column(Integer)
    vintage_end: Mapped[int] = mapped_column(Integer)
    methodology: Mapped[str] = mapped_column(String(64))
    net_creditable_tco2e: Mapped[float] = mapped_column(Float)
    area_ha: Mapped[float] = mapped_column(Float)
    input_hashes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default=ReportStatus.submitted, index=True)
    submitted_by: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    verifier_name: Mapped[str | None] = mapped_column(String(100))
    verifier_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    verification_statement: Mapped[str | None] = mapped_column(Text)
    verified_at: Mapped[datetime | None] = mapped_column()

    project: Mapped[CarbonProject] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (CheckConstraint("vintage_end > vintage_start", name="vintage_period"),)


class ReportFile(Base):
    """A file the engine wrote for a report (HTML report, figures, land-cover rasters), kept as a blob."""

    __tablename__ = "carbon_report_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("carbon_monitoring_reports.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    # True only for files the server's own engine run wrote (the demo loader): only those HTML reports are
    # shown as pages; everything uploaded is served as a download.
    generated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("report_id", "name", name="uq_carbon_report_files_report_name"),)


class CarbonAccount(Base):
    """A holding account: a department's, or a named external holder's (an enterprise buying credits)."""

    __tablename__ = "carbon_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    holder_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # AccountKind
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True, unique=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SerialCounter(Base):
    """The registry's single serial counter: the next unused serial number (row id 1, locked on issuance)."""

    __tablename__ = "carbon_serial_counter"

    id: Mapped[int] = mapped_column(primary_key=True)
    next_serial: Mapped[int] = mapped_column(BigInteger)


class Issuance(Base):
    """Credits issued for one verified monitoring report: one contiguous serial range."""

    __tablename__ = "carbon_issuances"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("carbon_projects.id"), index=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("carbon_monitoring_reports.id"), unique=True)
    vintage_start: Mapped[int] = mapped_column(Integer)
    vintage_end: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(BigInteger)
    serial_start: Mapped[int] = mapped_column(BigInteger, unique=True)
    serial_end: Mapped[int] = mapped_column(BigInteger, unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("carbon_accounts.id"))
    issued_by: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)

    project: Mapped[CarbonProject] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("serial_end - serial_start + 1 = quantity", name="range_matches_quantity"),
    )


class CreditBlock(Base):
    """A contiguous range of serial numbers held by one account, active or retired.

    Partial transfers and retirements split a block: the block keeps the head of its range and a new block
    takes the tail, so the blocks of an issuance always partition its range exactly.
    """

    __tablename__ = "carbon_credit_blocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    issuance_id: Mapped[int] = mapped_column(ForeignKey("carbon_issuances.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("carbon_projects.id"), index=True)
    vintage_start: Mapped[int] = mapped_column(Integer)
    vintage_end: Mapped[int] = mapped_column(Integer)
    serial_start: Mapped[int] = mapped_column(BigInteger, unique=True)
    serial_end: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(BigInteger)
    account_id: Mapped[int] = mapped_column(ForeignKey("carbon_accounts.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=CreditStatus.active, index=True)
    beneficiary: Mapped[str | None] = mapped_column(String(200))
    retirement_reason: Mapped[str | None] = mapped_column(String(500))
    retired_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    project: Mapped[CarbonProject] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("serial_end - serial_start + 1 = quantity", name="range_matches_quantity"),
    )


class CreditMovement(Base):
    """The ledger: every issue, transfer and retirement with the serial range it moved."""

    __tablename__ = "carbon_movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # MovementKind
    project_id: Mapped[int] = mapped_column(ForeignKey("carbon_projects.id"), index=True)
    block_id: Mapped[int] = mapped_column(ForeignKey("carbon_credit_blocks.id"), index=True)
    from_account_id: Mapped[int | None] = mapped_column(ForeignKey("carbon_accounts.id"))
    to_account_id: Mapped[int | None] = mapped_column(ForeignKey("carbon_accounts.id"))
    serial_start: Mapped[int] = mapped_column(BigInteger)
    serial_end: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(BigInteger)
    beneficiary: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(String(500))
    actor_name: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ProtectionAlert(Base):
    """Wetland lost to cropland or built-up land inside a project between two epochs (湿地保护预警)."""

    __tablename__ = "carbon_protection_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("carbon_projects.id"), index=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("carbon_monitoring_reports.id"), index=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    epoch_from: Mapped[int] = mapped_column(Integer)
    epoch_to: Mapped[int] = mapped_column(Integer)
    lost_ha: Mapped[float] = mapped_column(Float)
    threshold_ha: Mapped[float] = mapped_column(Float)
    transitions: Mapped[dict[str, Any]] = mapped_column(default=dict)  # "3->6": hectares
    status: Mapped[str] = mapped_column(String(16), default=AlertStatus.open, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    project: Mapped[CarbonProject] = relationship(lazy="joined", innerjoin=True)


class AlertTask(Base):
    """One department's task for an alert (forestry and ecology-environment of the county)."""

    __tablename__ = "carbon_alert_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("carbon_protection_alerts.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=AlertTaskStatus.open, index=True)
    note: Mapped[str | None] = mapped_column(Text)
    done_by: Mapped[str | None] = mapped_column(String(64))
    done_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    alert: Mapped[ProtectionAlert] = relationship(lazy="joined", innerjoin=True)
    department: Mapped[Department] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (UniqueConstraint("alert_id", "department_id", name="uq_carbon_alert_tasks_alert_dept"),)
