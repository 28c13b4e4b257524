"""A county onboarded as a tenant gets its starting catalog from a template county, through the outbox relay:
seeded once however often the event is delivered, seen by the county and not by its neighbour."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from govgrid.coordination.services import tenants
from govgrid.core import ports
from govgrid.core.audit.models import AuditRecord
from govgrid.core.db import utcnow
from govgrid.core.events import OutboxEvent, deliver_pending
from govgrid.core.identity import security
from govgrid.core.identity import service as identity
from govgrid.core.identity.models import User
from govgrid.core.modules import module_specs
from govgrid.exchange import onboarding
from govgrid.exchange.models import Resource
from govgrid.exchange.schemas import DataItemIn
from tests.conftest import cookie_login, csrf_token
from tests.coordination.conftest import add_user
from tests.exchange.conftest import PEOPLE_ITEMS, new_resource

PASSWORD = "Ay-" + secrets.token_urlsafe(18)
TEMPLATE, NEW, OTHER = "410527", "410522", "410523"  # 内黄县 (template), 安阳县, 汤阴县: all under 安阳市


def _relay(db: Session) -> int:
    """What the periodic relay does, with its clock past the publisher's grace period."""
    return deliver_pending(db, now=utcnow() + timedelta(minutes=2))


@pytest.fixture()
def template(db: Session) -> list[Resource]:
    """内黄县's catalog: a conditional population base (A01), an open register, a 不予共享 entry."""
    pop = new_resource(db, provider="410527-public_security", name="内黄县人口基础信息", class_code="A01")
    market = new_resource(
        db, provider="410527-market_regulation", name="内黄县市场主体登记信息", class_code="A02",
        sharing_type="unconditional", open_type="open", grade="general",
        items=[
            DataItemIn(name="credit_code", label="统一社会信用代码"),
            DataItemIn(name="name", label="名称")
        ],
    )
    secret = new_resource(
        db, provider="410527-public_security", name="内黄县重点人员信息", class_code="Z09",
        sharing_type="none", items=PEOPLE_ITEMS, related_codes=[pop.code],
    )
    return [pop, market, secret]


def _onboard(db: Session, code: str, monkeypatch) -> None:
    monkeypatch.setattr(security, "hash_password", security.demo_password_hash)
    user = db.scalar(select(User).where(User.username == "ay_gov_onb"))
    user = user or add_user(db, "ay_gov_onb", "410500-government", "admin", "division")
    tenants.onboard(db, actor=identity.principal_for_user(user), division_code=code, admin_password=PASSWORD)
    db.commit()


def test_onboarding_seeds_the_catalog_once_through_the_relay(
    client, db: Session, login, template, monkeypatch
):
    module_specs()  # the modules' subscribers
    _onboard(db, NEW, monkeypatch)
    assert db.scalar(select(Resource.id).where(Resource.division_code == NEW)) is None  # not before delivery
    assert _relay(db) >= 1
    seeded = {r.code: r for r in db.scalars(select(Resource).where(Resource.division_code == NEW))}
    assert set(seeded) == {f"A01-{NEW}-0001", f"A02-{NEW}-0001", f"Z09-{NEW}-0001"}
    pop = seeded[f"A01-{NEW}-0001"]
    assert pop.name == "安阳县人口基础信息" and pop.provider.code == f"{NEW}-public_security"
    assert [i.name for i in pop.items] == [i.name for i in PEOPLE_ITEMS]
    assert pop.sharing_type == "conditional" and pop.grade == "important"
    assert seeded[f"Z09-{NEW}-0001"].related_codes == [f"A01-{NEW}-0001"]
    assert db.scalars(select(AuditRecord.action).where(
        AuditRecord.action == "exchange.catalog.seed", AuditRecord.entity_id == NEW)).all() == [
        "exchange.catalog.seed"]

    # the same event delivered again (a relay that died before marking it): nothing more
    db.execute(update(OutboxEvent).where(OutboxEvent.name == ports.TENANT_ONBOARDED)
               .values(delivered_at=None, available_at=utcnow()))
    db.commit()
    assert _relay(db) >= 1
    assert len(db.scalars(select(Resource.id).where(Resource.division_code == NEW)).all()) == 3

    # the county's admin has them in its own catalog; the neighbour county does not, and may not see the
    # 不予共享 entry nor change any of them
    _onboard(db, OTHER, monkeypatch)
    _relay(db)
    mine = client.get("/api/v1/exchange/resources", params={"mine": True}, headers=login(f"t{NEW}_admin"))
    assert mine.status_code == 200
    assert {r["code"] for r in mine.json()["items"]} == set(seeded)
    other = login(f"t{OTHER}_admin")
    theirs = client.get("/api/v1/exchange/resources", params={"mine": True}, headers=other).json()
    assert not {r["code"] for r in theirs["items"]} & set(seeded)
    assert client.get(f"/api/v1/exchange/resources/Z09-{NEW}-0001", headers=other).status_code == 404
    r = client.patch(f"/api/v1/exchange/resources/A01-{NEW}-0001", headers=other, json={"name": "改名试试"})
    assert r.status_code == 403
    assert db.scalar(select(Resource.name).where(Resource.code == f"A01-{NEW}-0001")) == "安阳县人口基础信息"


def test_no_template_seeds_nothing(db: Session):
    # 宁夏's counties have no catalog in this database: nothing to copy, nothing written, no error
    assert onboarding.seed_catalog(db, division_code="640522") == []


def test_template_is_the_nearest_county_with_entries(db: Session, template):
    from govgrid.core.divisions import service as divisions

    assert onboarding.template_division(db, divisions.get(db, NEW)).code == TEMPLATE
    assert onboarding.template_division(db, divisions.get(db, "411000")) is None  # a city: no city entries
    assert onboarding.template_division(db, divisions.get(db, "140322")) is None  # another province


def test_the_onboarding_page_seeds_the_county_after_its_commit(client, db: Session, template, monkeypatch):
    module_specs()
    monkeypatch.setattr(security, "hash_password", security.demo_password_hash)
    add_user(db, "ay_gov_page", "410500-government", "admin", "division")
    cookie_login(client, db, "ay_gov_page")
    token = csrf_token(client, "/coordination/overview?division=410500")
    r = client.post(
        "/coordination/tenants",
        headers={"X-CSRF-Token": token, "Accept": "text/html"},
        data={"division_code": OTHER, "admin_password": PASSWORD, "back": "410500", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    # delivered by the publishing request right after its commit (the relay is the fallback)
    codes = set(db.scalars(select(Resource.code).where(Resource.division_code == OTHER)))
    assert codes == {f"A01-{OTHER}-0001", f"A02-{OTHER}-0001", f"Z09-{OTHER}-0001"}
    _relay(db)  # whatever the relay finds later changes nothing
    assert len(db.scalars(select(Resource.id).where(Resource.division_code == OTHER)).all()) == 3
