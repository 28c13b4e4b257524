"""What the live map is told: a unit's move or a case's change, published on the session (delivered only after
commit) as `LIVE_EVENT`; `feed.py` fans it out to the subscribers in scope."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from govgrid.citymap.enums import OPEN_STATES
from govgrid.citymap.models import Case, FieldUnit
from govgrid.core.db import utcnow
from govgrid.core.events import publish

LIVE_EVENT = "citymap.live"  # published after commit; the live map's broadcaster forwards it to listeners


def case_marker(case: Case, now: datetime | None = None) -> dict[str, Any]:
    """The public map fields of a case."""
    now = now or utcnow()
    overdue = case.deadline_at is not None and case.state in OPEN_STATES and case.deadline_at < now
    return {
        "id": case.id,
        "code": case.code,
        "state": case.state,
        "kind": case.kind,
        "class_code": case.class_code,
        "lon": case.lon,
        "lat": case.lat,
        "cell_code": case.cell_code,
        "overdue": overdue,
    }


def case_event(case: Case) -> dict[str, Any]:
    """The live feed's payload for a case: its map fields, and where it belongs (the feed scopes by it)."""
    return {
        "channel": "case",
        "county": case.county_code,
        **case_marker(case),
        "scope": {"path": case.division_path, "department_id": case.department_id},
    }


def unit_marker(unit: FieldUnit) -> dict[str, Any]:
    """The map fields of a unit."""
    return {
        "id": unit.id,
        "code": unit.code,
        "name": unit.name,
        "kind": unit.kind,
        "status": unit.status,
        "lon": unit.lon,
        "lat": unit.lat,
        "skills": list(unit.skills or []),
        "last_seen_at": unit.last_seen_at.isoformat() if unit.last_seen_at else None,
    }


def unit_event(unit: FieldUnit) -> dict[str, Any]:
    """The live feed's payload for a unit: its map fields, and where it belongs (the feed scopes by it)."""
    return {
        "channel": "unit",
        "county": unit.county_code,
        **unit_marker(unit),
        "scope": {"path": unit.division_path, "department_id": unit.department_id},
    }


def publish_case(session: Session, case: Case) -> None:
    """Tell the live map about the case once the transaction commits."""
    publish(session, LIVE_EVENT, data=case_event(case))


def publish_unit(session: Session, unit: FieldUnit) -> None:
    """Tell the live map about the unit once the transaction commits."""
    publish(session, LIVE_EVENT, data=unit_event(unit))
