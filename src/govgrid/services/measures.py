"""The services module's measures for the coordination port (`core.ports.register_measures`).

- 网上可办率 online share: service items of the subtree that can be done fully online, over all its items;
- 即办件率 on-the-spot share: items done on the spot (即办件), over all its items.
A catalogue figure: the items existing at `end` (created before it); aggregates only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from govgrid.core import ports
from govgrid.core.divisions import service as divisions
from govgrid.core.divisions.models import Division
from govgrid.services.models import ServiceItem

MEASURES = (
    ports.Measure("services.online_rate", "网上可办率", "Items fully online", "ratio", "higher"),
    ports.Measure("services.on_the_spot_rate", "即办件率", "Items done on the spot", "ratio", "higher"),
)


def compute(
    session: Session, *, division_code: str, start: datetime, end: datetime
) -> dict[str, float | None]:
    """Online and on-the-spot shares of the service items in the subtree (existing at `end`)."""
    path = divisions.get(session, division_code).path
    row = session.execute(
        select(
            func.count(ServiceItem.id),
            func.sum(case((ServiceItem.online.is_(True), 1), else_=0)),
            func.sum(case((ServiceItem.on_the_spot.is_(True), 1), else_=0)),
        )
        .join(Division, Division.code == ServiceItem.division_code)
        .where(divisions.in_subtree(Division.path, path), ServiceItem.created_at < end)
    ).one()
    n, online, spot = (int(v or 0) for v in row)
    return {
        "services.online_rate": online / n if n else None,
        "services.on_the_spot_rate": spot / n if n else None,
    }


def register() -> None:
    """Register the services measures with the core port."""
    ports.register_measures(ports.MeasureProvider("services", MEASURES, compute))
