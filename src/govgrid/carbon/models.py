"""Carbon registry tables (碳汇登记簿): projects, reports, accounts, issuances, credit blocks, alerts.

Serial numbers come from one registry-wide counter row (``carbon_serial_counter``) taken under a row lock, and
every block's first serial is unique, so two issuances can never hand out the same tonne.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govgrid.carbon.enums import AlertStatus, AlertTaskStatus, CreditStatus, ReportStatus, RunStatus
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
    # 非永久性风险等级: sets the buffer share of every issuance (enums.BUFFER_SHARE)
    risk_rating: Mapped[str] = mapped_column(String(16), default="medium", server_default="medium")
    # the parcels (地块) as a GeoJSON MultiPolygon, WGS 84: the overlap check runs on them, not on the outline
    parcels: Mapped[str | None] = mapped_column(Text)
    # the CRS area_ha was measured on (the projected UTM zone of the project): the one area figure shown
    area_crs: Mapped[str] = mapped_column(String(32), default="", server_default="")

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
    verification_opinion: Mapped[str | None] = mapped_column(String(16))  # VerificationOpinion
    # the verifier's findings: [{"finding": text, "resolution": text}]
    verification_findings: Mapped[list[Any] | None] = mapped_column(JSON, default=list)

    project: Mapped[CarbonProject] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (CheckConstraint("vintage_end > vintage_start", name="vintage_period"),)


class ReportFile(Base):
    """A file the engine wrote for a report (HTML report, figures, land-cover rasters); its bytes are in
    core.storage under ``storage_key`` (namespace ``carbon-files``), the row keeps the key, hash and size."""

    __tablename__ = "carbon_report_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("carbon_monitoring_reports.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    # the bytes, in core.storage; always set by add_report_file (nullable in the schema: migration carbon_0005
    # adds it without rebuilding the table)
    storage_key: Mapped[str] = mapped_column(String(96), nullable=True)
    # True only for files the server's own engine run wrote (the demo loader): only those HTML reports are
    # shown as pages; everything uploaded is served as a download.
    generated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("report_id", "name", name="uq_carbon_report_files_report_name"),
        Index("uq_carbon_report_files_storage_key", "storage_key", unique=True),
    )


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
    # the tail of the range held back in the buffer pool (part of ``quantity``), and the rating that set it
    buffer_quantity: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    risk_rating: Mapped[str | None] = mapped_column(String(16))

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
    cancellation_reason: Mapped[str | None] = mapped_column(String(500))
    cancelled_at: Mapped[datetime | None] = mapped_column()

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
    adjustment_id: Mapped[int | None] = mapped_column(ForeignKey("carbon_adjustments.id"), index=True)


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


# ---------------------------------------------------------------- market (碳汇交易, issue 15 items 3-5)
# Money is Numeric(14, 2) read as Decimal (never float); quantities are whole tonnes CO2e.


class MarketMember(Base):
    """A trader (交易员): a user who operates one holding account on the market (an enterprise's staff)."""

    __tablename__ = "carbon_market_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("carbon_accounts.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    account: Mapped[CarbonAccount] = relationship(lazy="joined", innerjoin=True)


class MarketListing(Base):
    """A listing (挂牌): credits of one project and vintage offered by a holder, reserved until sold."""

    __tablename__ = "carbon_market_listings"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("carbon_projects.id"), index=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("carbon_accounts.id"), index=True)
    counterparty_account_id: Mapped[int | None] = mapped_column(ForeignKey("carbon_accounts.id"))
    vintage_start: Mapped[int] = mapped_column(Integer)
    vintage_end: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16), index=True)  # ListingMode
    price: Mapped[Decimal] = mapped_column(Numeric(14, 2))  # CNY per t; the floor for a bidding
    quantity: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)  # not yet matched (reserved, unsold)
    closing_at: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # ListingStatus
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()

    project: Mapped[CarbonProject] = relationship(lazy="joined", innerjoin=True)
    account: Mapped[CarbonAccount] = relationship(foreign_keys=[account_id], lazy="joined", innerjoin=True)

    __table_args__ = (
        CheckConstraint("quantity > 0", name="listing_quantity_positive"),
        CheckConstraint("remaining >= 0 AND remaining <= quantity", name="listing_remaining_range"),
        CheckConstraint("price > 0", name="listing_price_positive"),
    )


class MarketReservation(Base):
    """A credit block reserved for a listing (its status is ``reserved`` while this row exists)."""

    __tablename__ = "carbon_market_reservations"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("carbon_market_listings.id"), index=True)
    block_id: Mapped[int] = mapped_column(ForeignKey("carbon_credit_blocks.id"), unique=True)


class MarketOrder(Base):
    """A buyer's order on a listing, or a bid in a one-way bidding (竞价申报)."""

    __tablename__ = "carbon_market_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("carbon_market_listings.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("carbon_accounts.id"), index=True)
    quantity: Mapped[int] = mapped_column(BigInteger)
    price: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    filled: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(24), index=True)  # OrderStatus
    disclose_buyer: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    listing: Mapped[MarketListing] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (CheckConstraint("quantity > 0", name="order_quantity_positive"),)


class MarketTrade(Base):
    """A match (成交): settled delivery versus payment; fees and the revenue split on settlement."""

    __tablename__ = "carbon_market_trades"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("carbon_market_listings.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("carbon_market_orders.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("carbon_projects.id"), index=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    seller_account_id: Mapped[int] = mapped_column(ForeignKey("carbon_accounts.id"), index=True)
    buyer_account_id: Mapped[int] = mapped_column(ForeignKey("carbon_accounts.id"), index=True)
    vintage_start: Mapped[int] = mapped_column(Integer)
    vintage_end: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int] = mapped_column(BigInteger)
    price: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    amount: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    fee: Mapped[Decimal] = mapped_column(Numeric(14, 2))  # 交易手续费, charged to the seller
    status: Mapped[str] = mapped_column(String(24), index=True)  # TradeStatus
    disclose_buyer: Mapped[bool] = mapped_column(Boolean, default=False)
    pay_by: Mapped[datetime] = mapped_column()
    payment_ref: Mapped[str | None] = mapped_column(String(64))
    paid_at: Mapped[datetime | None] = mapped_column()
    settled_by: Mapped[str | None] = mapped_column(String(64))
    settled_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    project: Mapped[CarbonProject] = relationship(lazy="joined", innerjoin=True)
    seller: Mapped[CarbonAccount] = relationship(foreign_keys=[seller_account_id], lazy="joined")
    buyer: Mapped[CarbonAccount] = relationship(foreign_keys=[buyer_account_id], lazy="joined")

    __table_args__ = (CheckConstraint("quantity > 0", name="trade_quantity_positive"),)


class MarketDelivery(Base):
    """A block delivered to the buyer by a trade (the purchased serials the buyer may retire)."""

    __tablename__ = "carbon_market_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("carbon_market_trades.id"), index=True)
    block_id: Mapped[int] = mapped_column(ForeignKey("carbon_credit_blocks.id"), unique=True)


class BenefitShare(Base):
    """A configured share of a project's sale revenue (利益分配比例), in basis points (10000 = 100%)."""

    __tablename__ = "carbon_benefit_shares"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("carbon_projects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # village_collective | protection_fund | developer | other
    name: Mapped[str] = mapped_column(String(200))
    share_bp: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("share_bp > 0 AND share_bp <= 10000", name="share_range"),
        UniqueConstraint("project_id", "name", name="uq_carbon_benefit_shares_project_name"),
    )


class BenefitEntry(Base):
    """A beneficiary's ledger line (收益分配台账): its part of one settled trade's net revenue."""

    __tablename__ = "carbon_benefit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("carbon_market_trades.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("carbon_projects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200), index=True)
    share_bp: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MarketFlag(Base):
    """A surveillance flag on a trade (异常交易): wash trade, price outlier, concentration."""

    __tablename__ = "carbon_market_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("carbon_market_trades.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("carbon_projects.id"), index=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    kind: Mapped[str] = mapped_column(String(24), index=True)  # FlagKind
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # FlagStatus
    note: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    trade: Mapped[MarketTrade] = relationship(lazy="joined", innerjoin=True)


class MarketCertificate(Base):
    """A retirement certificate (注销证明) for purchased credits retired for a named event or company."""

    __tablename__ = "carbon_market_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("carbon_market_trades.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("carbon_projects.id"), index=True)
    quantity: Mapped[int] = mapped_column(BigInteger)
    beneficiary: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(500))
    serials: Mapped[list[Any]] = mapped_column(default=list)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    project: Mapped[CarbonProject] = relationship(lazy="joined", innerjoin=True)


class Adjustment(Base):
    """A compensating entry (补偿分录): a reversal or a correction, cancelling credits; nothing is edited.

    ``quantity`` tonnes were to be cancelled: ``from_buffer`` came out of the buffer pool first, then
    ``from_project`` out of the project's own holdings; ``uncovered`` is what neither could cover.
    """

    __tablename__ = "carbon_adjustments"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # AdjustmentKind
    project_id: Mapped[int] = mapped_column(ForeignKey("carbon_projects.id"), index=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("carbon_monitoring_reports.id"), index=True)
    original_tco2e: Mapped[float | None] = mapped_column(Float)
    corrected_tco2e: Mapped[float | None] = mapped_column(Float)
    quantity: Mapped[int] = mapped_column(BigInteger)
    from_buffer: Mapped[int] = mapped_column(BigInteger, default=0)
    from_project: Mapped[int] = mapped_column(BigInteger, default=0)
    uncovered: Mapped[int] = mapped_column(BigInteger, default=0)
    reason: Mapped[str] = mapped_column(String(500))
    actor_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    project: Mapped[CarbonProject] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)


class AssessmentRun(Base):
    """An engine run started from the pages (核算任务): its progress, and the report it submitted."""

    __tablename__ = "carbon_assessment_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("carbon_projects.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.queued, index=True)
    stage: Mapped[str] = mapped_column(String(32), default="queued")
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent
    message: Mapped[str | None] = mapped_column(Text)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("carbon_monitoring_reports.id"))
    started_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()

    project: Mapped[CarbonProject] = relationship(lazy="joined", innerjoin=True)
