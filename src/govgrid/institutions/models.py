"""Institutions tables (数据制度): scoring rules (versioned per division), the security register with its
reviews, security incidents, and the case closures other modules report. Every row carries its division
(and department where one keeps it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govgrid.core.db import Base, UTCDateTime, utcnow


class ScoringRule(Base):
    """A division's rule turning data use into credited contribution (贡献计分规则), versioned."""

    __tablename__ = "institutions_scoring_rules"
    __table_args__ = (UniqueConstraint("division_code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    division_path: Mapped[str] = mapped_column(String(400), index=True)
    version: Mapped[int] = mapped_column(Integer)
    weights: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    row_weight: Mapped[float] = mapped_column(Float, default=0.0)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)


class RegisterEntry(Base):
    """A catalog resource in the security register (分类分级台账): its grade, controls and next review."""

    __tablename__ = "institutions_register"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_code: Mapped[str] = mapped_column(String(64), unique=True)
    resource_name: Mapped[str] = mapped_column(String(200))
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    division_path: Mapped[str] = mapped_column(String(400), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    line_code: Mapped[str] = mapped_column(String(32), index=True)
    default_grade: Mapped[str] = mapped_column(String(16))
    grade: Mapped[str] = mapped_column(String(16), index=True)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    controls: Mapped[list[Any]] = mapped_column(JSON, default=list)
    last_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True))
    next_review_due: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), index=True)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)

    reviews: Mapped[list[Review]] = relationship(
        order_by="Review.id", cascade="all, delete-orphan", lazy="selectin", back_populates="entry"
    )


class Review(Base):
    """A periodic review (定期评估) of a register entry: who, when, the grade confirmed or raised, a note."""

    __tablename__ = "institutions_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("institutions_register.id", ondelete="CASCADE"), index=True
    )
    grade: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    reviewed_by: Mapped[str] = mapped_column(String(100))
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)

    entry: Mapped[RegisterEntry] = relationship(back_populates="reviews")


class Incident(Base):
    """A security incident (安全事件) filed from module data (a gateway refusal), with its handling."""

    __tablename__ = "institutions_incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # natural key of the source: filed once
    source: Mapped[str] = mapped_column(String(32))
    resource_code: Mapped[str] = mapped_column(String(64), index=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    division_path: Mapped[str] = mapped_column(String(400), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    grade: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(100))  # who made the refused calls ("user:12")
    count: Mapped[int] = mapped_column(Integer, default=1)
    audit_seqs: Mapped[list[Any]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), index=True)
    handling: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{at, by, state, note}]
    first_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    last_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True))


class CaseClosure(Base):
    """A case reported closed by the module that handled it (the declared port event CITY_CASE_CLOSED):
    the ledger's "cases closed" (办结案件) counts the data uses whose purpose named it."""

    __tablename__ = "institutions_case_closures"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_code: Mapped[str] = mapped_column(String(64), unique=True)  # the closing module's case code
    source: Mapped[str] = mapped_column(String(32))  # where the case came from (e.g. appeals)
    external_ref: Mapped[str] = mapped_column(String(64), index=True)  # the source's reference (ticket no.)
    result: Mapped[str] = mapped_column(String(200), default="")
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)
