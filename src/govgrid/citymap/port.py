"""The declared port: citizens' events forwarded by another module (CITY_EVENT_REPORTED) become cases here.

Core delivers the event only after the publisher's transaction has committed and closed, so the case is filed
inline, in its own unit of work; a refused event leaves the source's ticket untouched.
"""

from __future__ import annotations

import logging
from typing import Any

from govgrid.citymap.services import ingest
from govgrid.core.audit.service import SystemActor
from govgrid.core.db import session_scope
from govgrid.core.errors import AppError
from govgrid.core.events import DomainEvent, subscribe
from govgrid.core.ports import CITY_EVENT_REPORTED

log = logging.getLogger(__name__)
ACTOR = SystemActor("citymap-port")


def file_event(payload: dict[str, Any]) -> int | None:
    """File (or merge) a case from another module's report; the case id, or None if refused."""
    p = payload
    try:
        with session_scope() as session:
            out = ingest.file_from_port(
                session,
                actor=ACTOR,
                source=str(p["source"]),
                external_ref=str(p["external_ref"]),
                category=str(p.get("category") or ""),
                description=str(p.get("description") or ""),
                lon=float(p["lon"]),
                lat=float(p["lat"]),
                reported_at=p.get("reported_at"),
            )
            case_id = out.case.id
        log.info(
            "city event filed",
            extra={
                "source": p["source"],
                "external_ref": p["external_ref"],
                "case_id": case_id,
                "duplicate": out.duplicate,
            },
        )
        return case_id
    except (AppError, KeyError, TypeError, ValueError) as exc:
        # The source keeps its ticket; nothing comes back, and it can handle the matter itself.
        log.warning(
            "city event refused",
            extra={
                "source": p.get("source"),
                "external_ref": p.get("external_ref"),
                "error": exc.code if isinstance(exc, AppError) else type(exc).__name__,
            },
        )
        return None


def on_city_event(ev: DomainEvent) -> None:
    """File a forwarded city event as a case (or merge it into a duplicate)."""
    file_event(dict(ev.payload))


subscribe(CITY_EVENT_REPORTED, on_city_event)
