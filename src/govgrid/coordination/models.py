"""Coordination tables (统筹): tenants, targets, tasks and their assignments, assets, systems, compute pools.

Every row carries the division it belongs to (and the department that keeps it where one does).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govgrid.core.db import Base, UTCDateTime, utcnow
from govgrid.core.departments.models import Department
from govgrid.core.divisions.models import Division


class Tenant(Base):
    """A county (or township) hosted by this deployment (托管): onboarded, with its admin and departments."""

    __tablename__ = "coordination_tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), unique=True)
    division_path: Mapped[str] = mapped_column(String(400), index=True)
    host_division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    admin_username: Mapped[str] = mapped_column(String(64))
    department_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    onboarded_by: Mapped[str] = mapped_column(String(100))
    onboarded_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    division: Mapped[Division] = relationship(lazy="joined", innerjoin=True, foreign_keys=[division_code])


class Target(Base):
    """An indicator target an upper level sets for its subtree (e.g. 按期办结率 >= 95%)."""

    __tablename__ = "coordination_targets"
    __table_args__ = (UniqueConstraint("division_code", "measure_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    division_path: Mapped[str] = mapped_column(String(400), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    measure_key: Mapped[str] = mapped_column(String(64))
    threshold: Mapped[float] = mapped_column(Float)
    better: Mapped[str] = mapped_column(String(8))
    set_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)


class Task(Base):
    """A task an upper level assigns down the tree with a deadline (measure-backed or reported by hand)."""

    __tablename__ = "coordination_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    division_code: Mapped[str] = mapped_column(
        ForeignKey("divisions.code"), index=True
    )  # the assigning level
    division_path: Mapped[str] = mapped_column(String(400), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    measure_key: Mapped[str | None] = mapped_column(String(64))
    target_value: Mapped[float | None] = mapped_column(Float)
    better: Mapped[str] = mapped_column(String(8), default="higher")
    period_start: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    deadline: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    assignments: Mapped[list[Assignment]] = relationship(
        back_populates="task", order_by="Assignment.division_code", lazy="selectin"
    )


class Assignment(Base):
    """One division's part of a task: its state, last reported progress and evidence."""

    __tablename__ = "coordination_assignments"
    __table_args__ = (UniqueConstraint("task_id", "division_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("coordination_tasks.id"), index=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    division_path: Mapped[str] = mapped_column(String(400), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    reported_progress: Mapped[float | None] = mapped_column(Float)  # 0..1, hand-reported tasks only
    evidence: Mapped[str] = mapped_column(Text, default="")
    reported_by: Mapped[str | None] = mapped_column(String(100))
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True))

    task: Mapped[Task] = relationship(back_populates="assignments", lazy="joined", innerjoin=True)
    division: Mapped[Division] = relationship(lazy="joined", innerjoin=True)


class Asset(Base):
    """A piece of hardware (硬): machine room, server, video-conference room, command hall, big screen."""

    __tablename__ = "coordination_assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), index=True)
    name: Mapped[str] = mapped_column(String(200))
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    division_path: Mapped[str] = mapped_column(String(400), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    location: Mapped[str] = mapped_column(String(300), default="")
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    capacity: Mapped[float] = mapped_column(Float, default=0)
    capacity_unit: Mapped[str] = mapped_column(String(16), default="")
    utilisation: Mapped[float] = mapped_column(Float, default=0)  # 0..1
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    department: Mapped[Department] = relationship(lazy="joined", innerjoin=True)


class SoftwareSystem(Base):
    """A software system (软): what it is, which level hosts it, who uses it, may lower levels use it."""

    __tablename__ = "coordination_systems"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), index=True)
    name: Mapped[str] = mapped_column(String(200))
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    division_path: Mapped[str] = mapped_column(String(400), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    platform: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(16), index=True)
    offered_below: Mapped[bool] = mapped_column(Boolean, default=False)  # lower levels may use it (集约化)
    users: Mapped[int] = mapped_column(Integer, default=0)
    budget_wan: Mapped[float] = mapped_column(Float, default=0)  # planned budget, 万元
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("coordination_systems.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    department: Mapped[Department] = relationship(lazy="joined", innerjoin=True)


class ComputePool(Base):
    """A compute pool (算力池) of a region: capacity, cost, which divisions' data may be placed on it."""

    __tablename__ = "coordination_pools"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(100))  # e.g. 宁夏枢纽·中卫集群
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)  # where it stands
    division_path: Mapped[str] = mapped_column(String(400), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    capacity_units: Mapped[int] = mapped_column(Integer)
    used_units: Mapped[int] = mapped_column(Integer, default=0)
    cost_per_unit: Mapped[float] = mapped_column(Float)  # 元 per unit-hour
    # division codes whose subtrees' data may be placed here (数据出域规则); empty: none may
    residency: Mapped[list[Any]] = mapped_column(JSON, default=list)
    scheduler_address: Mapped[str] = mapped_column(String(300), default="")  # a Dask scheduler
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)


class ComputeJob(Base):
    """A batch job placed on a pool (or refused with the reason), with its result."""

    __tablename__ = "coordination_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    data_division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    data_division_path: Mapped[str] = mapped_column(String(400), index=True)
    units: Mapped[int] = mapped_column(Integer)
    pool_id: Mapped[int | None] = mapped_column(ForeignKey("coordination_pools.id"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    cost: Mapped[float | None] = mapped_column(Float)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    submitted_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True))

    pool: Mapped[ComputePool | None] = relationship(lazy="joined")
