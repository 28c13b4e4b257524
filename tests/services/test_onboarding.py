"""A county onboarded as a tenant gets its starting service items (事项, 一件事) from a template county
through the outbox relay: codes, bundle members and pre-fill sources moved to the county, seeded once."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from govgrid.coordination.services import tenants
from govgrid.core import ports
from govgrid.core.audit.service import SystemActor
from govgrid.core.db import utcnow
from govgrid.core.divisions import service as divisions
from govgrid.core.events import OutboxEvent, deliver_pending
from govgrid.core.identity import security
from govgrid.core.identity import service as identity
from govgrid.core.modules import module_specs
from govgrid.services import onboarding
from govgrid.services.models import ServiceItem
from govgrid.services.services import items
from tests.coordination.conftest import add_user

PASSWORD = "Ay-" + secrets.token_urlsafe(18)
TEMPLATE, NEW = "410527", "410522"  # 内黄县 (template) and 安阳县, both under 安阳市


def _codes(db: Session, division: str) -> set[str]:
    return set(db.scalars(select(ServiceItem.code).where(ServiceItem.division_code == division)))


def test_onboarding_seeds_the_items_once_through_the_relay(client, db: Session, monkeypatch):
    module_specs()  # the modules' subscribers
    items.ensure_catalogue(db, actor=SystemActor("test"), division_code=TEMPLATE)
    template = _codes(db, TEMPLATE)
    monkeypatch.setattr(security, "hash_password", security.demo_password_hash)
    user = add_user(db, "ay_gov_onb", "410500-government", "admin", "division")
    tenants.onboard(db, actor=identity.principal_for_user(user), division_code=NEW, admin_password=PASSWORD)
    db.commit()
    assert not _codes(db, NEW)  # nothing before the relay delivers the event
    assert deliver_pending(db, now=utcnow() + timedelta(minutes=2)) >= 1

    seeded = {i.code: i for i in db.scalars(select(ServiceItem).where(ServiceItem.division_code == NEW))}
    assert set(seeded) == {c.replace(f"-{TEMPLATE}-", f"-{NEW}-") for c in template}
    birth = seeded[f"YJS-{NEW}-BIRTH"]
    assert birth.members == [f"SX-{NEW}-00{i}" for i in (1, 2, 3, 4)]
    first = seeded[f"SX-{NEW}-001"]
    src = db.scalar(select(ServiceItem).where(ServiceItem.code == f"SX-{TEMPLATE}-001"))
    assert src is not None
    assert first.department.code == f"{NEW}-{src.department.line_code}"
    assert (first.name, first.statutory_days, first.promised_days, first.process_id) == (
        src.name, src.statutory_days, src.promised_days, src.process_id)
    prefill = [p["resource"] for p in first.prefill]
    assert prefill and all(r.startswith(f"A01-{NEW}-") for r in prefill)  # the entry the exchange seeds

    # redelivered: nothing more
    db.execute(update(OutboxEvent).where(OutboxEvent.name == ports.TENANT_ONBOARDED)
               .values(delivered_at=None, available_at=utcnow()))
    db.commit()
    assert deliver_pending(db, now=utcnow() + timedelta(minutes=2)) >= 1
    assert len(_codes(db, NEW)) == len(template)

    # the county's guide lists its items; its neighbour's guide does not
    r = client.get("/api/v1/services/items", params={"division": NEW})
    assert r.status_code == 200 and {i["code"] for i in r.json()} == set(seeded)
    other = client.get("/api/v1/services/items", params={"division": "410523"}).json()
    assert not {i["code"] for i in other} & set(seeded)


def test_no_template_seeds_nothing(db: Session):
    assert onboarding.template_division(db, divisions.get(db, "640522")) is None
    assert onboarding.seed_items(db, division_code="640522") == []
    assert not _codes(db, "640522")
