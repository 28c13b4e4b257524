"""Where a point lies on the city map: its grid cell (a cell index per county, cached) and its division."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from shapely.geometry import shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.citymap import spatial
from govgrid.citymap.models import GridCell
from govgrid.core.divisions import service as divisions
from govgrid.core.errors import ValidationFailedError


class CellIndexCache:
    """A CellIndex per county, rebuilt when the county's grid changes (keyed by count, codes and area)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[tuple[Any, ...], spatial.CellIndex | None]] = {}

    def get(self, session: Session, county: str) -> spatial.CellIndex | None:
        """The county's cell index (None without a grid), rebuilt if the grid changed since the last call."""
        key = tuple(
            session.execute(
                select(
                    func.count(), func.min(GridCell.code), func.max(GridCell.code), func.sum(GridCell.area_m2)
                ).where(GridCell.county_code == county)
            ).one()
        )
        with self._lock:
            hit = self._cache.get(county)
            if hit is not None and hit[0] == key:
                return hit[1]
        rows = session.execute(
            select(GridCell.code, GridCell.geometry).where(GridCell.county_code == county)
        ).all()
        index = (
            spatial.CellIndex([r[0] for r in rows], [shape(json.loads(r[1])) for r in rows]) if rows else None
        )
        with self._lock:
            self._cache[county] = (key, index)
        return index


cell_indexes = CellIndexCache()


@dataclass
class Place:
    """Where a point lies: the grid cell (if any), the deepest division and its path."""

    cell_code: str | None
    division_code: str
    division_path: str
    county_code: str


def locate_point(session: Session, lon: float, lat: float) -> Place:
    """The cell and division of a WGS 84 point; 422 if it lies outside every county."""
    divisions.check_point(lon, lat)
    county = divisions.locate(session, lon, lat, level="county")
    if county is None:
        raise ValidationFailedError(
            "位置不在任何县级区划内 (the point lies outside every county)",
            details=[{"loc": ["lon"], "msg": f"{lon},{lat}"}],
        )
    index = cell_indexes.get(session, county.code)
    cell = index.assign_codes([lon], [lat])[0] if index is not None else None
    if cell is not None:
        row = session.execute(
            select(GridCell.division_code, GridCell.division_path).where(GridCell.code == cell)
        ).one()
        return Place(cell, row[0], row[1], county.code)
    deepest = divisions.locate(session, lon, lat) or county
    return Place(None, deepest.code, deepest.path, county.code)
