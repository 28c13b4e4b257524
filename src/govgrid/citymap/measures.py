"""The city map's measures for the coordination port (`core.ports.register_measures`).

- 结案率 case closure rate: cases filed in [start, end) in the subtree that are closed (or evaluated), over
  the cases filed;
- 按期结案率 on-time closure: of those closed, the share closed by their deadline.
Aggregates only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from govgrid.citymap.enums import CaseState
from govgrid.citymap.models import Case
from govgrid.core import ports
from govgrid.core.divisions import service as divisions

MEASURES = (
    ports.Measure("citymap.closure_rate", "城管案件结案率", "City cases closed", "ratio", "higher"),
    ports.Measure(
        "citymap.on_time_closure", "城管案件按期结案率", "City cases closed on time", "ratio", "higher"
    ),
)
CLOSED = (CaseState.closed.value, CaseState.evaluated.value)


def compute(
    session: Session, *, division_code: str, start: datetime, end: datetime
) -> dict[str, float | None]:
    """Closure and on-time closure of the cases filed in the subtree over [start, end)."""
    path = divisions.get(session, division_code).path
    closed = Case.state.in_(CLOSED)
    row = session.execute(
        select(
            func.count(Case.id),
            func.sum(case((closed, 1), else_=0)),
            func.sum(case(((closed & Case.closed_on_time.is_(True)), 1), else_=0)),
        ).where(
            divisions.in_subtree(Case.division_path, path),
            Case.filed_at.is_not(None),
            Case.filed_at >= start,
            Case.filed_at < end,
        )
    ).one()
    filed, n_closed, on_time = (int(v or 0) for v in row)
    return {
        "citymap.closure_rate": n_closed / filed if filed else None,
        "citymap.on_time_closure": on_time / n_closed if n_closed else None,
    }


def register() -> None:
    """Register the city map measures with the core port."""
    ports.register_measures(ports.MeasureProvider("citymap", MEASURES, compute))
