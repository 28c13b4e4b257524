"""Division table: materialised path for fast ancestor/descendant queries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govgrid.core.db import Base, utcnow


class Division(Base):
    """One node of the administrative tree (块)."""

    __tablename__ = "divisions"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16), index=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("divisions.code"), index=True)
    # '/000000/430000/430600/430611/': prefix match gives the subtree in one indexed range scan.
    path: Mapped[str] = mapped_column(String(400), unique=True)
    depth: Mapped[int] = mapped_column(Integer)
    boundary: Mapped[str | None] = mapped_column(Text, deferred=True)  # GeoJSON geometry (WGS 84)
    min_lon: Mapped[float | None] = mapped_column(Float)
    min_lat: Mapped[float | None] = mapped_column(Float)
    max_lon: Mapped[float | None] = mapped_column(Float)
    max_lat: Mapped[float | None] = mapped_column(Float)
    center_lon: Mapped[float | None] = mapped_column(Float)
    center_lat: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16), default="gb2260")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_divisions_name", "name"),)
