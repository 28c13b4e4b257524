"""Declared ports between modules: event names and payloads that one module publishes and another consumes.

Modules never import each other; they publish these events with `core.events.publish` (delivered after commit)
and subscribe with `core.events.subscribe`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy.orm import Session

from govgrid.core.events import publish

# A citizen concern (e.g. an appeals ticket) that is a city-management event:
# the city map files it as an event.
CITY_EVENT_REPORTED = "citymap.event_reported"
# The city map closed a case that came from another module: the source can tell the citizen.
CITY_CASE_CLOSED = "citymap.case_closed"


@dataclass(frozen=True)
class CityEventReport:
    """A city-management event reported by another module (payload of CITY_EVENT_REPORTED)."""

    source: str  # the publishing module, e.g. "appeals"
    external_ref: str  # the source's id, e.g. the ticket number
    category: str  # the source's category code (the consumer maps it to a GB/T 30428 event class)
    description: str
    lon: float
    lat: float
    division_code: str | None
    reported_at: str  # ISO 8601 with timezone


@dataclass(frozen=True)
class CityCaseClosed:
    """The outcome of a forwarded event (payload of CITY_CASE_CLOSED)."""

    source: str
    external_ref: str
    case_code: str
    result: str
    closed_at: str


def report_city_event(session: Session, report: CityEventReport) -> None:
    """Publish a city event for the city map (delivered after the caller's commit)."""
    publish(session, CITY_EVENT_REPORTED, **asdict(report))


def report_case_closed(session: Session, closed: CityCaseClosed) -> None:
    """Publish the closure of a forwarded case back to its source."""
    publish(session, CITY_CASE_CLOSED, **asdict(closed))
