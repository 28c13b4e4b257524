"""Economic monitoring tables: the indicator registry, import batches, observations with vintages, alerts.

An observation row is never updated: a revised figure is a new row with the next ``vintage`` number, and the
previous row's ``current`` flag is cleared (the only column that ever changes), so every published
figure stays readable (数据版本, vintages).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govgrid.core.db import Base, utcnow
from govgrid.core.departments.models import Department
from govgrid.economy.enums import AlertStatus


class Indicator(Base):
    """One indicator of the registry (指标): code, name, unit, frequency, source line, level, definition."""

    __tablename__ = "economy_indicators"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(32))  # 计量单位, e.g. 亿元, 万千瓦时, 户
    frequency: Mapped[str] = mapped_column(String(16))
    line_code: Mapped[str] = mapped_column(String(64))  # 来源条线: the department line that reports it
    division_level: Mapped[str] = mapped_column(String(16), default="county")  # 统计层级
    definition: Mapped[str] = mapped_column(Text, default="")  # 指标解释
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportBatch(Base):
    """One upload or one scheduled pull: who brought which rows in, from where."""

    __tablename__ = "economy_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(200), default="")
    resource_ref: Mapped[str] = mapped_column(String(200), default="")  # exchange resource for a pull
    rows: Mapped[int] = mapped_column(Integer, default=0)  # new vintages written
    unchanged: Mapped[int] = mapped_column(Integer, default=0)  # rows equal to the current figure
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Feed(Base):
    """A scheduled pull (定时拉取) of one indicator from a resource of the data exchange, under the grant of
    the consumer department, as the user who set it up."""

    __tablename__ = "economy_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_code: Mapped[str] = mapped_column(String(100))
    indicator_id: Mapped[int] = mapped_column(ForeignKey("economy_indicators.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)  # whose grant
    division_field: Mapped[str] = mapped_column(String(64))
    period_field: Mapped[str] = mapped_column(String(64))
    value_field: Mapped[str] = mapped_column(String(64))
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)  # equality filters on granted items
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))  # the pull runs as this user
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_run_at: Mapped[datetime | None] = mapped_column()
    last_status: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    indicator: Mapped[Indicator] = relationship(lazy="joined", innerjoin=True)


class Observation(Base):
    """One figure of one indicator for one division and month, in one vintage (never overwritten)."""

    __tablename__ = "economy_observations"

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("economy_indicators.id"))
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)  # reporting dept
    period: Mapped[str] = mapped_column(String(7))  # 'YYYY-MM' (a quarter is stored as its last month)
    value: Mapped[float] = mapped_column(Float)
    vintage: Mapped[int] = mapped_column(Integer, default=1)
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("economy_batches.id"))
    source: Mapped[str] = mapped_column(String(16))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint(
            "indicator_id", "division_code", "period", "vintage", name="uq_economy_observations_vintage"
        ),
        Index("ix_economy_observations_series", "division_code", "indicator_id", "current", "period"),
    )


class Alert(Base):
    """An anomaly or cross-check finding, routed to the responsible department as a task with a deadline."""

    __tablename__ = "economy_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    indicator_id: Mapped[int] = mapped_column(ForeignKey("economy_indicators.id"))
    partner_indicator_id: Mapped[int | None] = mapped_column(ForeignKey("economy_indicators.id"))
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)  # task owner
    period: Mapped[str] = mapped_column(String(7))
    value: Mapped[float] = mapped_column(Float)
    expected_low: Mapped[float] = mapped_column(Float)
    expected_high: Mapped[float] = mapped_column(Float)
    value_unit: Mapped[str] = mapped_column(String(32))  # the unit of value and band (a growth rate is %)
    score: Mapped[float] = mapped_column(Float)  # how far outside the band, in robust standard deviations
    explanation: Mapped[str] = mapped_column(Text)
    explanation_en: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=AlertStatus.open)
    due_at: Mapped[datetime] = mapped_column()
    note: Mapped[str] = mapped_column(Text, default="")
    handled_by: Mapped[str | None] = mapped_column(String(64))
    handled_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    indicator: Mapped[Indicator] = relationship(foreign_keys=[indicator_id], lazy="joined", innerjoin=True)
    partner: Mapped[Indicator | None] = relationship(foreign_keys=[partner_indicator_id], lazy="joined")
    department: Mapped[Department] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (
        UniqueConstraint("kind", "indicator_id", "division_code", "period", name="uq_economy_alerts_finding"),
    )
