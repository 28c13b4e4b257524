"""City map tables: unit grid cells, city parts, cameras, field units and positions, cases and their steps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from govgrid.core.db import Base, utcnow


class GridCell(Base):
    """A unit grid cell (万米单元网格): 15-digit code = county 6 + street 3 + community 3 + serial 3."""

    __tablename__ = "citymap_grid_cells"

    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    division_code: Mapped[str] = mapped_column(
        ForeignKey("divisions.code"), index=True
    )  # community or street
    division_path: Mapped[str] = mapped_column(String(400), index=True)
    name: Mapped[str] = mapped_column(String(100))
    geometry: Mapped[str] = mapped_column(Text)  # GeoJSON polygon, WGS 84
    area_m2: Mapped[float] = mapped_column(Float)
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    center_lon: Mapped[float] = mapped_column(Float)
    center_lat: Mapped[float] = mapped_column(Float)
    responsible_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    responsible_name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GridArea(Base):
    """The area a division's grid is meant to cover (e.g. the built-up area 建成区), when it is not the whole
    division: gaps are measured against it."""

    __tablename__ = "citymap_grid_areas"

    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), primary_key=True)
    geometry: Mapped[str] = mapped_column(Text)  # GeoJSON (Multi)Polygon, WGS 84
    area_m2: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Part(Base):
    """A city part (部件): 16-digit code = county 6 + major 2 + minor 2 + serial 6."""

    __tablename__ = "citymap_parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    class_code: Mapped[str] = mapped_column(String(4), index=True)
    name: Mapped[str] = mapped_column(String(100))
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    division_path: Mapped[str] = mapped_column(String(400), index=True)
    cell_code: Mapped[str | None] = mapped_column(String(15), index=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="intact")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Camera(Base):
    """A video camera: position, viewing direction and stream address (data only; no video is proxied)."""

    __tablename__ = "citymap_cameras"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    division_path: Mapped[str] = mapped_column(String(400), index=True)
    cell_code: Mapped[str | None] = mapped_column(String(15))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    direction_deg: Mapped[float] = mapped_column(Float, default=0.0)
    fov_deg: Mapped[float] = mapped_column(Float, default=60.0)
    range_m: Mapped[float] = mapped_column(Float, default=150.0)
    stream_url: Mapped[str | None] = mapped_column(String(500))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FieldUnit(Base):
    """A field unit (执法队员, 环卫班组, 维修组) with its live position and status."""

    __tablename__ = "citymap_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(24))
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    division_path: Mapped[str] = mapped_column(String(400), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    skills: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default="available")
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UnitPosition(Base):
    """One position report of a field unit (the track)."""

    __tablename__ = "citymap_unit_positions"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("citymap_units.id", ondelete="CASCADE"))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column()
    speed_mps: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (Index("ix_citymap_unit_positions_unit_at", "unit_id", "at"),)


class Photo(Base):
    """A photo uploaded with a report or a handling feedback."""

    __tablename__ = "citymap_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    # the bytes, in core.storage; always set by save_photo (nullable in the schema: migration citymap_0004
    # adds it without rebuilding a table other tables reference)
    storage_key: Mapped[str] = mapped_column(String(96), nullable=True)
    uploaded_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("uq_citymap_photos_storage_key", "storage_key", unique=True),)


class Case(Base):
    """A case (案卷) walking the GB/T 30428 loop; every step time-stamped for the indicators."""

    __tablename__ = "citymap_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    source: Mapped[str] = mapped_column(String(24))  # inspector, citizen source module, video, iot
    external_ref: Mapped[str | None] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(8))  # part or event
    class_code: Mapped[str] = mapped_column(String(4))
    description: Mapped[str] = mapped_column(Text, default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    cell_code: Mapped[str | None] = mapped_column(String(15), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    division_code: Mapped[str] = mapped_column(String(32))
    division_path: Mapped[str] = mapped_column(String(400), index=True)
    part_code: Mapped[str | None] = mapped_column(String(16))
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("citymap_cameras.id"), index=True)
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("citymap_photos.id"))
    reporter_type: Mapped[str] = mapped_column(String(16))  # user, api_key, public, system
    reporter_id: Mapped[str | None] = mapped_column(String(40))
    reporter_name: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("citymap_units.id"), index=True)
    report_count: Mapped[int] = mapped_column(Integer, default=1)
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    deadline_at: Mapped[datetime | None] = mapped_column(default=None)
    reported_at: Mapped[datetime] = mapped_column()
    filed_at: Mapped[datetime | None] = mapped_column(default=None)
    dispatched_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    arrived_at: Mapped[datetime | None] = mapped_column(default=None)
    handled_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    evaluated_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_on_time: Mapped[bool | None] = mapped_column(Boolean, default=None)
    verifier_id: Mapped[str | None] = mapped_column(String(40))
    evaluation_score: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        Index("ix_citymap_cases_county_state", "county_code", "state"),
        Index("ix_citymap_cases_lon_lat", "lon", "lat"),
        Index("ix_citymap_cases_reported_at", "reported_at"),
        # the county's case list, newest first: read in index order and stop at the page's end (no sort)
        Index("ix_citymap_cases_county_reported", "county_code", "reported_at", "id"),
        UniqueConstraint("source", "external_ref", name="uq_citymap_cases_source_ref"),
    )


class CaseReport(Base):
    """One report of an event; repeated reports of the same event attach to one case (deduplication)."""

    __tablename__ = "citymap_case_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("citymap_cases.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(24))
    external_ref: Mapped[str | None] = mapped_column(String(80))
    reporter_type: Mapped[str] = mapped_column(String(16))
    reporter_id: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text, default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("citymap_cameras.id"))
    duplicate: Mapped[bool] = mapped_column(Boolean, default=False)
    reported_at: Mapped[datetime] = mapped_column()

    __table_args__ = (UniqueConstraint("source", "external_ref", name="uq_citymap_case_reports_source_ref"),)


class CaseStep(Base):
    """One transition of a case: who (and in which role) moved it from which state to which, and when."""

    __tablename__ = "citymap_case_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("citymap_cases.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(24))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(40))
    actor_name: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    # the photo taken at this step (处理反馈: the "after" photo; the report's "before" photo is Case.photo_id)
    photo_id: Mapped[int | None] = mapped_column(Integer, default=None)
    at: Mapped[datetime] = mapped_column()


class ClassOverride(Base):
    """A county's own setting for one GB/T 30428 class (本县类别设置): its deadline in working hours and the
    line (条) that handles it; the standard's value where a column is empty, and only while active."""

    __tablename__ = "citymap_class_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # "part" or "event"
    class_code: Mapped[str] = mapped_column(String(4))
    deadline_hours: Mapped[float | None] = mapped_column(Float, default=None)
    line: Mapped[str | None] = mapped_column(String(40), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("county_code", "kind", "class_code", name="uq_citymap_class_overrides_class"),
    )
