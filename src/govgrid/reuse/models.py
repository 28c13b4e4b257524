"""Tables of the reuse module: packs in the catalogue (方案包), their installations with the undo record,
typical cases (典型案例) and their ratings. Every row carries its division code and its department."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govgrid.core.db import Base, utcnow
from govgrid.core.departments.models import Department


class Pack(Base):
    """A signed solution pack in the catalogue (one row per pack id and version), exactly as signed."""

    __tablename__ = "reuse_packs"
    __table_args__ = (UniqueConstraint("pack_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pack_id: Mapped[str] = mapped_column(String(80), index=True)
    version: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    module: Mapped[str] = mapped_column(String(32))
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)  # origin 首创地
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)  # who exported it
    document: Mapped[dict[str, Any]] = mapped_column(JSON)  # the signed pack as a whole
    sha256: Mapped[str] = mapped_column(String(64))  # of the canonical (RFC 8785) signed body
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="")

    department: Mapped[Department] = relationship(lazy="joined")


class Installation(Base):
    """A pack installed in a division: the mapping, the changes made and the undo record per section."""

    __tablename__ = "reuse_installations"

    id: Mapped[int] = mapped_column(primary_key=True)
    pack_row_id: Mapped[int] = mapped_column(ForeignKey("reuse_packs.id"), index=True)
    pack_id: Mapped[str] = mapped_column(String(80), index=True)
    version: Mapped[str] = mapped_column(String(32))
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)  # the adopter
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)  # who installed it
    state: Mapped[str] = mapped_column(String(16), index=True)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    undo: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # "module/section" -> undo record
    installed_at: Mapped[datetime] = mapped_column(default=utcnow)
    installed_by: Mapped[str] = mapped_column(String(100), default="")
    uninstalled_at: Mapped[datetime | None] = mapped_column()
    uninstalled_by: Mapped[str | None] = mapped_column(String(100))

    pack: Mapped[Pack] = relationship(lazy="joined")


class Case(Base):
    """A typical case (典型案例) of a division: what it did, its pack, figures before and after."""

    __tablename__ = "reuse_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    origin: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(32), index=True)
    submitted_by: Mapped[str] = mapped_column(String(100), default="")
    nominated_by: Mapped[str | None] = mapped_column(String(100))  # the upper level's department name
    pack_id: Mapped[str | None] = mapped_column(String(80))
    measures_before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    measures_after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    rating_count: Mapped[int] = mapped_column(Integer, default=0)
    rating_sum: Mapped[int] = mapped_column(Integer, default=0)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    department: Mapped[Department] = relationship(lazy="joined")

    @property
    def rating(self) -> float | None:
        """The mean score (1-5), None before the first rating."""
        return round(self.rating_sum / self.rating_count, 1) if self.rating_count else None


class CaseRating(Base):
    """One person's score (1-5) of a case in the library."""

    __tablename__ = "reuse_case_ratings"
    __table_args__ = (UniqueConstraint("case_id", "rater"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("reuse_cases.id"), index=True)
    rater: Mapped[str] = mapped_column(String(120))  # "user:<id>"
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"))  # the rater's division
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
