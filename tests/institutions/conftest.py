"""Institutions fixtures: roles inserted directly (argon2 is slow by design); catalog resources, served
gateway calls (each with its audit record, as the gateway writes them) and an audited refusal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import cast

import pytest
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from govgrid.core.audit import service as audit
from govgrid.core.audit.service import SystemActor
from govgrid.core.db import utcnow
from govgrid.core.departments import service as departments
from govgrid.core.divisions import service as divisions
from govgrid.core.identity.models import RoleAssignment, User
from govgrid.exchange.models import DataItem, GatewayCall, Resource

SYSTEM = SystemActor("test")
USERS = [
    ("in_hn", "410000-government", "admin", "division"),
    ("in_nh", "410527-government", "admin", "division"),
    ("in_pd", "140321-government", "admin", "division"),
    ("in_nh_police", "410527-public_security", "operator", "department"),
    ("in_nh_viewer", "410527-market_regulation", "viewer", "department"),
]


def add_user(db: Session, username: str, dept_code: str, role: str, reach: str) -> User:
    """A user holding one role (created in the test's transaction, no password)."""
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, display_name=username, password_hash="!", is_demo=True)
        db.add(user)
        db.flush()
    division, line = dept_code.split("-", 1)
    dept = departments.ensure(db, line_code=line, division_code=division)
    db.add(RoleAssignment(user_id=user.id, department_id=dept.id, role=role, reach=reach))
    db.flush()
    return user


@pytest.fixture()
def users(db: Session) -> dict[str, User]:
    """The institutions test roles."""
    made = {}
    for username, dept, role, reach in USERS:
        existing = db.scalar(select(User).where(User.username == username))
        made[username] = existing if existing is not None else add_user(db, username, dept, role, reach)
    return made


def resource(
    db: Session, code: str, dept_code: str, *, sharing: str = "conditional", sensitive: bool = False
) -> Resource:
    """A catalog resource of a provider department (with one personal item when `sensitive`)."""
    division, line = dept_code.split("-", 1)
    dept = departments.ensure(db, line_code=line, division_code=division)
    div = divisions.get(db, division)
    row = Resource(
        code=code,
        class_code=code.split("-")[0],
        name=f"测试资源 {code}",
        provider_department_id=dept.id,
        line_code=line,
        division_code=div.code,
        division_path=div.path,
        sharing_type=sharing,
    )
    row.items = [DataItem(position=0, name="org_name", label="名称", type="string")]
    if sensitive:
        row.items.append(
            DataItem(
                position=1,
                name="id_number",
                label="身份证号",
                type="id_number",
                personal=True,
                sensitive=True,
                mask="id_number",
            )
        )
    db.add(row)
    db.flush()
    return row


def call(
    db: Session,
    res: Resource,
    consumer_code: str,
    *,
    kind: str,
    purpose: str,
    rows: int = 1,
    days_ago: float = 1,
) -> None:
    """One served gateway call with its audit record, as the gateway writes them."""
    division, line = consumer_code.split("-", 1)
    consumer = departments.ensure(db, line_code=line, division_code=division)
    row = {
        "at": utcnow() - timedelta(days=days_ago),
        "resource_id": res.id,
        "grant_id": None,
        "consumer_department_id": consumer.id,
        "kind": kind,
        "rows": rows,
        "response_sha256": "0" * 64,
    }
    audit.record(
        db,
        actor=SYSTEM,
        action=f"exchange.gateway.{kind}",
        entity_type="exchange_resource",
        entity_id=res.code,
        division_code=res.division_code,
        purpose=purpose,
        with_row=(cast(Table, GatewayCall.__table__), "audit_seq", row),
    )


def refusal(db: Session, res: Resource, actor: str = "user:99") -> None:
    """An audited gateway refusal, as the exchange records it after the refused request."""
    audit.record(
        db,
        actor=SYSTEM,
        action="exchange.gateway.denied",
        entity_type="exchange_resource",
        entity_id=res.code,
        detail={"mode": "records", "reason": "no_grant", "who": actor},
    )


@dataclass
class Usage:
    """The resources of the fixture usage."""

    police: Resource
    market: Resource
    pingding: Resource


@pytest.fixture()
def providers() -> None:
    """Every module's port providers registered (as the app does when it loads the modules)."""
    from govgrid.core.modules import module_specs

    module_specs()


@pytest.fixture()
def usage(db: Session, users: dict[str, User], providers: None) -> Usage:
    """内黄县 police population data used for pre-fill, verification and a case; market data synced;
    平定县 data used once; one refused call to the police data."""
    police = resource(db, "T01-410527-0001", "410527-public_security", sensitive=True)
    market = resource(db, "T02-410527-0001", "410527-market_regulation", sharing="unconditional")
    pingding = resource(db, "T03-140321-0001", "140321-human_resources")
    for _ in range(3):
        call(db, police, "410527-administrative_approval", kind="records", purpose="一网通办预填 C-1")
    call(db, police, "410527-civil_affairs", kind="verify", purpose="低保资格核验")
    call(db, police, "410527-civil_affairs", kind="records", purpose="低保复核", rows=50)
    call(db, market, "410527-market_regulation", kind="records", purpose="市场主体名录库同步", rows=200)
    call(db, market, "410527-market_regulation", kind="records", purpose="old", days_ago=400)
    call(db, pingding, "140321-civil_affairs", kind="records", purpose="养老资格认证")
    refusal(db, police)
    return Usage(police, market, pingding)
