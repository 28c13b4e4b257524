"""Market supervision tables (市场监管协同): entities, inspectors, plans, draws, inspections, shared cases.

Every row carries its division code and its department; personal data (法定代表人, inspectors' names) stays in
these tables and leaves them only masked (``core.privacy``) or not at all (public views carry ids and codes).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govgrid.core.db import Base, UTCDateTime, utcnow
from govgrid.core.departments.models import Department
from govgrid.market.enums import (
    CaseKind,
    CaseStatus,
    CreditClass,
    DrawStatus,
    EntityKind,
    InspectionStatus,
    PlanStatus,
    TaxStatus,
)


class MarketEntity(Base):
    """A market entity (市场主体) in the directory (检查对象名录库), keyed by its credit code."""

    __tablename__ = "market_entities"

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[EntityKind] = mapped_column(String(16))
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)  # registrar
    industry: Mapped[str] = mapped_column(String(64), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    legal_rep: Mapped[str] = mapped_column(String(64), default="")  # personal: masked outside the registrar
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    penalties: Mapped[int] = mapped_column(Integer, default=0)
    complaints: Mapped[int] = mapped_column(Integer, default=0)
    abnormal: Mapped[bool] = mapped_column(Boolean, default=False)
    serious_violation: Mapped[bool] = mapped_column(Boolean, default=False)
    tax_status: Mapped[TaxStatus] = mapped_column(String(8), default=TaxStatus.unknown)
    problem_findings: Mapped[int] = mapped_column(Integer, default=0)
    serious_findings: Mapped[int] = mapped_column(Integer, default=0)
    credit_class: Mapped[CreditClass] = mapped_column(String(1), index=True)
    risk_points: Mapped[int] = mapped_column(Integer, default=0)
    risk_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    last_inspector_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(16), default="csv")  # csv | exchange | demo
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)

    department: Mapped[Department] = relationship(lazy="joined", innerjoin=True)


class Inspector(Base):
    """A law-enforcement inspector (执法检查人员名录库) of a department."""

    __tablename__ = "market_inspectors"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    name: Mapped[str] = mapped_column(String(64))  # personal: never public
    badge_no: Mapped[str] = mapped_column(String(32), unique=True)  # 执法证号
    unit_code: Mapped[str] = mapped_column(String(18), default="")  # credit code of the unit they belong to
    fields: Mapped[str] = mapped_column(String(200), default="")  # 执法领域
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    department: Mapped[Department] = relationship(lazy="joined", innerjoin=True)


class InspectorRelation(Base):
    """A declared relation (申报的利害关系) between an inspector and an entity: a conflict for the draws."""

    __tablename__ = "market_inspector_relations"
    __table_args__ = (UniqueConstraint("inspector_id", "credit_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("market_inspectors.id"), index=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)


class InspectionPlan(Base):
    """An inspection plan (抽查计划) of a line in a division: items, sample size, weights, departments."""

    __tablename__ = "market_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer)
    line_code: Mapped[str] = mapped_column(String(32))
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)  # lead department
    # [{"department_id": int, "department": name, "item": text}] (joint: several departments' items)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    department_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # every participating department
    sample_size: Mapped[int] = mapped_column(Integer)
    weights: Mapped[dict[str, int]] = mapped_column(JSON)
    per_group: Mapped[int] = mapped_column(Integer, default=2)
    beacon_source: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[PlanStatus] = mapped_column(String(16), default=PlanStatus.draft)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    department: Mapped[Department] = relationship(lazy="joined", innerjoin=True)


class Draw(Base):
    """The draw of a plan (摇号记录): commitment and frozen lists first, seed and results after."""

    __tablename__ = "market_draws"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("market_plans.id"), unique=True)
    status: Mapped[DrawStatus] = mapped_column(String(16), default=DrawStatus.committed)
    algorithm: Mapped[str] = mapped_column(String(40))
    seed: Mapped[str] = mapped_column(String(64))  # secret until published
    commitment: Mapped[str] = mapped_column(String(64))
    beacon_source: Mapped[str] = mapped_column(String(300), default="")
    beacon: Mapped[str] = mapped_column(String(300), default="")
    entities_hash: Mapped[str] = mapped_column(String(64))
    inspectors_hash: Mapped[str] = mapped_column(String(64))
    entity_count: Mapped[int] = mapped_column(Integer)
    sample_size: Mapped[int] = mapped_column(Integer)
    weights: Mapped[dict[str, int]] = mapped_column(JSON)
    per_group: Mapped[int] = mapped_column(Integer)
    entities_snapshot: Mapped[str] = mapped_column(Text)  # the canonical entity list the hash covers
    inspectors_snapshot: Mapped[str] = mapped_column(Text)  # the canonical inspector list
    targets: Mapped[list[str]] = mapped_column(JSON, default=list)
    assignments: Mapped[list[list[int]]] = mapped_column(JSON, default=list)
    committed_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True), nullable=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)

    plan: Mapped[InspectionPlan] = relationship(lazy="joined", innerjoin=True)


class Inspection(Base):
    """One visit (检查任务) to a drawn target; a joint visit carries every department's items
    (进一次门、查多项事)."""

    __tablename__ = "market_inspections"
    __table_args__ = (UniqueConstraint("plan_id", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("market_plans.id"), index=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("market_entities.id"), index=True)
    credit_code: Mapped[str] = mapped_column(String(18))
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    inspector_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[InspectionStatus] = mapped_column(String(16), default=InspectionStatus.pending)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True), nullable=True)
    city_case_ref: Mapped[str | None] = mapped_column(String(40), nullable=True)

    plan: Mapped[InspectionPlan] = relationship(lazy="joined", innerjoin=True)
    entity: Mapped[MarketEntity] = relationship(lazy="joined", innerjoin=True)


class SharedCase(Base):
    """A finding escalated to a higher level or forwarded to another region (协同案件), with a deadline."""

    __tablename__ = "market_shared_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[CaseKind] = mapped_column(String(16))
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("market_inspections.id"), nullable=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("market_entities.id"), index=True)
    from_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    to_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)  # the sender's
    to_division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    deadline: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    status: Mapped[CaseStatus] = mapped_column(String(16), default=CaseStatus.open)
    reply: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True), nullable=True)

    entity: Mapped[MarketEntity] = relationship(lazy="joined", innerjoin=True)
    from_department: Mapped[Department] = relationship(foreign_keys=[from_department_id], lazy="joined")
    to_department: Mapped[Department] = relationship(foreign_keys=[to_department_id], lazy="joined")
