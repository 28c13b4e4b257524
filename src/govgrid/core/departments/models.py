"""Lines and departments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govgrid.core.db import Base, utcnow
from govgrid.core.divisions.models import Division


class Line(Base):
    """A vertical line of government work (条), e.g. tax or civil affairs."""

    __tablename__ = "lines"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(100))
    sort: Mapped[int] = mapped_column(Integer, default=0)


class Department(Base):
    """One line in one division, e.g. 内黄县税务局 (the tax line in 410527)."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    line_code: Mapped[str] = mapped_column(ForeignKey("lines.code"), index=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    division: Mapped[Division] = relationship(lazy="joined", innerjoin=True)
    line: Mapped[Line] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (
        UniqueConstraint("line_code", "division_code", "name", name="uq_departments_line_division_name"),
    )
