"""The appeals module's measures for the coordination port (`core.ports.register_measures`).

- 按期办结率 on-time rate: tickets answered by their resolution deadline, over tickets answered in the period
  plus open tickets already past it (an overdue open ticket counts as late, not as missing);
- 满意率 satisfaction: tickets rated 满意 or 基本满意 over tickets rated in the period.
Counted over the tickets filed in [start, end) in the subtree of the division; aggregates only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from govgrid.appeals.enums import OPEN_STATES, TicketState
from govgrid.appeals.models import Ticket
from govgrid.core import ports
from govgrid.core.divisions import service as divisions

MEASURES = (
    ports.Measure("appeals.on_time_rate", "诉求按期办结率", "Appeals answered on time", "ratio", "higher"),
    ports.Measure("appeals.satisfaction", "诉求满意率", "Appeals satisfaction", "ratio", "higher"),
)


def compute(
    session: Session, *, division_code: str, start: datetime, end: datetime
) -> dict[str, float | None]:
    """On-time rate and satisfaction of the tickets filed in the subtree over [start, end)."""
    path = divisions.get(session, division_code).path
    now = min(end, datetime.now(tz=end.tzinfo))
    answered = Ticket.answered_at.is_not(None)
    late_open = and_(
        Ticket.state.in_([s.value for s in OPEN_STATES]),
        Ticket.resolve_due.is_not(None),
        Ticket.resolve_due < now,
    )
    on_time = and_(answered, or_(Ticket.resolve_due.is_(None), Ticket.answered_at <= Ticket.resolve_due))
    rated = Ticket.rating.is_not(None)
    good = Ticket.rating.in_(("satisfied", "basic"))
    row = session.execute(
        select(
            func.sum(case((or_(answered, late_open), 1), else_=0)),
            func.sum(case((on_time, 1), else_=0)),
            func.sum(case((rated, 1), else_=0)),
            func.sum(case((good, 1), else_=0)),
        ).where(
            divisions.in_subtree(Ticket.division_path, path),
            Ticket.created_at >= start,
            Ticket.created_at < end,
            Ticket.state != TicketState.merged.value,
        )
    ).one()
    due, kept, n_rated, n_good = (int(v or 0) for v in row)
    return {
        "appeals.on_time_rate": kept / due if due else None,
        "appeals.satisfaction": n_good / n_rated if n_rated else None,
    }


def register() -> None:
    """Register the appeals measures with the core port."""
    ports.register_measures(ports.MeasureProvider("appeals", MEASURES, compute))
