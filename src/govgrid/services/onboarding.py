"""A newly hosted county's starting service items (托管起步事项), copied from a template county's items.

Subscriber of `core.ports.TENANT_ONBOARDED`. The template is the county (same level) with the most service
items in the nearest ancestor's subtree (the same city first, then the same province; never across provinces).
Each item and bundle (一件事) is copied with its guide (materials, pre-fill sources, form, time limits, fee,
visits, process), decided by the new county's department of the same line; codes, bundle members and the
catalog resources it pre-fills from are moved to the new county (`SX-410527-001` -> `SX-410522-001`,
`A01-410527-0001` -> `A01-410522-0001`: the entry the exchange seeds from the same event). The item code is
the natural key: an item whose code exists is kept, so a redelivered event seeds nothing twice.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core import ports
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import SystemActor
from govgrid.core.db import session_scope
from govgrid.core.departments import service as departments
from govgrid.core.divisions import service as divisions
from govgrid.core.divisions.models import Division
from govgrid.core.events import DomainEvent, subscribe
from govgrid.services.models import ServiceItem

log = logging.getLogger(__name__)

ACTOR = SystemActor("services.onboarding")
COPIED = (
    "name", "kind", "legal_basis", "statutory_days", "promised_days", "on_the_spot", "fee", "visits",
    "online", "mobile", "materials", "prefill", "form_fields", "members", "process_id", "certificate_type",
)


def template_division(session: Session, division: Division) -> Division | None:
    """The county whose items a new county starts from: most items in the nearest ancestor's subtree."""
    return divisions.richest_peer(session, division, ServiceItem.division_code, ServiceItem.id)


def moved(value: Any, template: Division, division: Division) -> Any:
    """A value of the template's item (codes, names, nested JSON) moved to the new county."""
    if isinstance(value, str):
        return divisions.moved_text(value, template, division)
    if isinstance(value, list):
        return [moved(v, template, division) for v in value]
    if isinstance(value, dict):
        return {k: moved(v, template, division) for k, v in value.items()}
    return value


def seed_items(session: Session, *, division_code: str) -> list[str]:
    """Copy the template county's items into a new county; the codes created (none when already seeded)."""
    division = divisions.get(session, division_code)
    template = template_division(session, division)
    if template is None:
        log.info("services onboarding: no template", extra={"division_code": division_code})
        return []
    items = list(session.scalars(
        select(ServiceItem).where(ServiceItem.division_code == template.code).order_by(ServiceItem.code)
    ))
    wanted = {moved(i.code, template, division): i for i in items}
    existing = set(session.scalars(select(ServiceItem.code).where(ServiceItem.code.in_(list(wanted)))))
    created: list[str] = []
    for code, src in wanted.items():
        if code in existing:
            continue
        dept = departments.ensure(session, line_code=src.department.line_code, division_code=division.code)
        fields = {k: moved(getattr(src, k), template, division) for k in COPIED}
        session.add(ServiceItem(code=code, department_id=dept.id, division_code=division.code, **fields))
        created.append(code)
    if created:
        session.flush()
        audit.record(
            session,
            actor=ACTOR,
            action="services.items.seed",
            entity_type="division",
            entity_id=division.code,
            division_code=division.code,
            detail={"template": template.code, "items": created},
        )
        log.info(
            "service items seeded",
            extra={"division_code": division.code, "template": template.code, "items": len(created)},
        )
    return created


def on_tenant_onboarded(event: DomainEvent) -> None:
    """Handler of TENANT_ONBOARDED: seed the county's service items in a unit of work of its own."""
    code = str(event.payload.get("division_code") or "")
    if not code:
        return
    with session_scope() as session:
        seed_items(session, division_code=code)


def register() -> None:
    """Subscribe to the onboarding event (at import of the services module)."""
    subscribe(ports.TENANT_ONBOARDED, on_tenant_onboarded)
