"""`load_demo`: the exchange's demo users, catalog, data and requests for the three seed counties."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from govgrid.core.audit.service import SystemActor
from govgrid.core.errors import NotFoundError
from govgrid.core.identity import service as identity
from govgrid.core.identity.models import User
from govgrid.core.modules import DemoContext
from govgrid.exchange.demo.catalogue import COUNTIES, DEMO_USERS, ENTRIES, UPPER
from govgrid.exchange.demo.items import ITEMS_BY_KEY, simple_items
from govgrid.exchange.demo.people import csv_bytes, population_rows, table_rows
from govgrid.exchange.demo.requests import load_requests
from govgrid.exchange.models import Resource
from govgrid.exchange.schemas import ResourceCreate
from govgrid.exchange.services import access, catalog, uploads

ACTOR = SystemActor("demo-loader")
SEED = 20260101  # the demo is the same on every machine
PUBLISHED = date(2025, 6, 30)
RESIDENTS_PER_COUNTY = 240
# Social security (B01) and relief lists (B03) refer to the county's population base (A01).
RELATED_TO_POPULATION = ("B01", "B03")


def _ensure_users(session: Session, ctx: DemoContext) -> dict[str, User]:
    password = ctx.password
    users: dict[str, User] = {}
    for county, (prefix, cname) in COUNTIES.items():
        for uname, display, line, role in DEMO_USERS:
            u = uname.format(p=prefix)
            users[u] = identity.ensure_user_with_role(
                session,
                actor=ACTOR,
                username=u,
                password=password,
                display_name=display.format(c=cname),
                department_code=f"{county}-{line}",
                role=role,
                reach="department",
                is_demo=True,
            )
            ctx.users[u] = f"{display.format(c=cname)} · {role} (department)"
    return users


def _loaded(session: Session) -> bool:
    try:
        access.find_resource(session, code="A01-410527-0001")
    except NotFoundError:
        return False
    return True


def _county_entries(session: Session, rng: random.Random, county: str, cname: str) -> None:
    people = population_rows(rng, county, RESIDENTS_PER_COUNTY)
    related: list[Resource] = []
    for cls, line, name, abstract, sharing, cond, open_type, cycle, grade, key, kind in ENTRIES:
        fields: dict[str, Any] = {
            "class_code": cls,
            "provider_department_code": f"{county}-{line}",
            "name": name.format(c=cname),
            "abstract": abstract,
            "format": "API" if kind == "api" else "数据库表",
            "kind": kind,
            "api_url": f"https://dsj.example.gov.cn/{county}/estate/verify" if kind == "api" else None,
            "sharing_type": sharing,
            "sharing_conditions": cond,
            "open_type": open_type,
            "sharing_method": "verify" if kind == "api" else "interface",
            "update_cycle": cycle,
            "publish_date": PUBLISHED,
            "grade": grade,
            "items": ITEMS_BY_KEY[key],
        }
        res = catalog.create_resource(session, actor=ACTOR, data=ResourceCreate.model_validate(fields))
        rows = table_rows(key, rng, county, people)
        if rows:
            uploads.upload_records(
                session, actor=ACTOR, code=res.code, content=csv_bytes(rows), filename=f"{key}.csv"
            )
        if cls in RELATED_TO_POPULATION:
            related.append(res)
    # Set after the entries exist (not a new version of them, as the demo has always had it).
    for res in related:
        res.related_codes = [f"A01-{county}-0001"]


def _upper_entries(session: Session) -> None:
    for cls, div, line, name, abstract, sharing, open_type, cycle, grade in UPPER:
        fields: dict[str, Any] = {
            "class_code": cls,
            "provider_department_code": f"{div}-{line}",
            "name": name,
            "abstract": abstract,
            "sharing_type": sharing,
            "open_type": open_type,
            "update_cycle": cycle,
            "publish_date": PUBLISHED,
            "grade": grade,
            "items": simple_items(
                ("division_code", "区划代码", "division"),
                ("indicator", "指标", "string"),
                ("value", "数值", "number"),
            ),
        }
        catalog.create_resource(session, actor=ACTOR, data=ResourceCreate.model_validate(fields))


def load_demo(session: Session, ctx: DemoContext) -> None:
    """Catalog, data and requests for the three counties (idempotent: skipped when the catalog exists)."""
    users = _ensure_users(session, ctx)
    if _loaded(session):
        return
    rng = random.Random(SEED)  # noqa: S311  (synthetic demo data, reproducible on purpose; not for security)
    for county, (_prefix, cname) in COUNTIES.items():
        _county_entries(session, rng, county, cname)
    _upper_entries(session)
    session.flush()
    load_requests(session, ctx, users)
