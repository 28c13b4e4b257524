"""A newly hosted county's starting catalog (托管起步目录), seeded from a template county's entries.

Subscriber of `core.ports.TENANT_ONBOARDED`. The template is the county (same level as the new division) with
the most catalog entries in the nearest ancestor's subtree (the same city first, then the same province; never
across provinces). Each of its entries is copied as catalog metadata only (never its data): the same class,
sharing type, conditions, grade and data items, provided by the new county's department of the same line, its
name and codes moved from the template county to the new one (`A01-410527-0001` -> `A01-410522-0001`).
The copied code is the natural key: an entry whose code exists is kept, so a redelivered event seeds nothing
twice.
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
from govgrid.exchange.models import DataItem, Resource
from govgrid.exchange.schemas import ResourceCreate
from govgrid.exchange.services import catalog

log = logging.getLogger(__name__)

ACTOR = SystemActor("exchange.onboarding")


def template_division(session: Session, division: Division) -> Division | None:
    """The county whose catalog a new county starts from: most entries in the nearest ancestor's subtree."""
    return divisions.richest_peer(session, division, Resource.division_code, Resource.id)


def moved(text: str, template: Division, division: Division) -> str:
    """A code or name of the template county, moved to the new county."""
    return divisions.moved_text(text, template, division)


def seed_catalog(session: Session, *, division_code: str) -> list[str]:
    """Copy the template county's entries into a new county; the codes created (none when already seeded)."""
    division = divisions.get(session, division_code)
    template = template_division(session, division)
    if template is None:
        log.info("exchange onboarding: no template", extra={"division_code": division_code})
        return []
    entries = list(
        session.scalars(
            select(Resource).where(Resource.division_code == template.code).order_by(Resource.code)
        )
    )
    wanted = {moved(r.code, template, division): r for r in entries}
    existing = set(session.scalars(select(Resource.code).where(Resource.code.in_(list(wanted)))))
    created: list[str] = []
    for code, src in wanted.items():
        if code in existing:
            continue
        dept = departments.ensure(session, line_code=src.line_code, division_code=division.code)
        data = ResourceCreate.model_validate({
            "class_code": src.class_code,
            "provider_department_code": dept.code,
            "name": moved(src.name, template, division),
            "abstract": src.abstract,
            "format": src.format,
            "kind": src.kind,
            "api_url": None if src.api_url is None else src.api_url.replace(template.code, division.code),
            "sharing_type": src.sharing_type,
            "sharing_conditions": src.sharing_conditions,
            "sharing_method": src.sharing_method,
            "open_type": src.open_type,
            "update_cycle": src.update_cycle,
            "related_codes": [moved(c, template, division) for c in src.related_codes or []],
            "grade": src.grade,
            "items": [_item(i) for i in src.items],
        })
        catalog.create_resource(session, actor=ACTOR, data=data, code=code)
        created.append(code)
    if created:
        audit.record(
            session,
            actor=ACTOR,
            action="exchange.catalog.seed",
            entity_type="division",
            entity_id=division.code,
            division_code=division.code,
            detail={"template": template.code, "entries": len(created)},
        )
        log.info(
            "exchange catalog seeded",
            extra={"division_code": division.code, "template": template.code, "entries": len(created)},
        )
    session.flush()
    return created


def _item(item: DataItem) -> dict[str, Any]:
    keys = ("name", "label", "type", "required", "personal", "sensitive", "mask")
    return {k: getattr(item, k) for k in keys}


def on_tenant_onboarded(event: DomainEvent) -> None:
    """Handler of TENANT_ONBOARDED: seed the county's catalog in a unit of work of its own."""
    code = str(event.payload.get("division_code") or "")
    if not code:
        return
    with session_scope() as session:
        seed_catalog(session, division_code=code)


def register() -> None:
    """Subscribe to the onboarding event (at import of the exchange module)."""
    subscribe(ports.TENANT_ONBOARDED, on_tenant_onboarded)
