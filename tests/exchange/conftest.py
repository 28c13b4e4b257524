"""Exchange test factories: catalog entries with data, built in the rolled-back test transaction."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import select

from govgrid.core.audit.service import SystemActor
from govgrid.core.identity import service as identity
from govgrid.core.identity.models import User
from govgrid.core.privacy import id_number_checksum
from govgrid.exchange.schemas import DataItemIn, RequestCreate, ResourceCreate
from govgrid.exchange.services import catalog, ratelimit, uploads

ACTOR = SystemActor("test")

PEOPLE_ITEMS = [
    DataItemIn(
        name="id_number", label="公民身份号码", type="id_number", required=True, personal=True, sensitive=True
    ),
    DataItemIn(name="name", label="姓名", type="string", required=True, personal=True, mask="name"),
    DataItemIn(name="phone", label="联系电话", type="phone", personal=True),
    DataItemIn(name="address", label="住址", type="string", personal=True, mask="address"),
    DataItemIn(name="village_code", label="所属村代码", type="division", required=True),
    DataItemIn(name="age", label="年龄", type="integer"),
]


def id_number(county: str, born: str, seq: int) -> str:
    """A valid 18-character ID number (correct check digit)."""
    first = f"{county}{born}{seq:03d}"
    return first + id_number_checksum(first)


ZHANG = {
    "id_number": id_number("410527", "19800101", 123),
    "name": "张三丰",
    "phone": "13812345678",
    "address": "内黄县城关镇解放路12号院3号",
    "village_code": "410527100200",
    "age": "46",
}
OUYANG = {
    "id_number": id_number("410527", "19920315", 456),
    "name": "欧阳明",
    "phone": "13987655678",
    "address": "内黄县东庄镇前街5号",
    "village_code": "410527101200",
    "age": "34",
}
LI = {
    "id_number": id_number("140321", "19751120", 789),
    "name": "李四",
    "phone": "15000001111",
    "address": "平定县冠山镇南街8号",
    "village_code": "140321100200",
    "age": "51",
}


def to_csv(rows: list[dict[str, Any]], header: list[str] | None = None) -> bytes:
    """CSV bytes with a header row."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header or list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode()


@pytest.fixture(autouse=True)
def _fresh_rate_limits(database_url):  # the counters are where the configured database says
    ratelimit.RATE_LIMITER.reset()
    yield
    ratelimit.RATE_LIMITER.reset()


def new_resource(
    db,
    provider: str = "410527-tax",
    sharing_type: str = "conditional",
    rows: list[dict] | None = None,
    items: list[DataItemIn] | None = None,
    name: str = "测试人口信息",
    **kw: Any,
):
    """A catalog entry (and its rows, if given) made by the system in the test transaction."""
    data = ResourceCreate(
        class_code=kw.pop("class_code", "T01"),
        provider_department_code=provider,
        name=name,
        abstract=kw.pop("abstract", "测试用的人口基础信息"),
        sharing_type=sharing_type,
        sharing_conditions=kw.pop(
            "sharing_conditions", "仅用于法定职责" if sharing_type == "conditional" else ""
        ),
        items=items or PEOPLE_ITEMS,
        grade=kw.pop("grade", "important"),
        **kw,
    )
    res = catalog.create_resource(db, actor=ACTOR, data=data)
    if rows:
        uploads.upload_records(db, actor=ACTOR, code=res.code, content=to_csv(rows), filename="x.csv")
    db.flush()
    return res


@pytest.fixture()
def make_resource(db):
    """make_resource(provider='410527-tax', sharing_type='conditional', rows=[...], **fields) -> Resource."""
    return lambda **kw: new_resource(db, **kw)


@pytest.fixture()
def people(make_resource):
    """A conditional resource of 内黄县税务局 with three residents (two in 内黄, one in 平定)."""
    return make_resource(rows=[ZHANG, OUYANG, LI])


def principal(db, username: str):
    """The principal of a demo user."""
    return identity.principal_for_user(db.scalar(select(User).where(User.username == username)))


def request_data(code: str, **kw: Any) -> RequestCreate:
    """A sharing request body with sensible defaults."""
    kw.setdefault("purpose", "低保对象家庭成员身份核对")
    kw.setdefault("legal_basis", "《社会救助暂行办法》第十一条")
    return RequestCreate(resource_code=code, **kw)


def exchange_demo_user(db, username: str):
    """One of the exchange demo's department users (`jsh_civil`, `pd_hr`, ...), without the whole demo."""
    from govgrid.exchange.demo import COUNTIES, DEMO_USERS

    prefix, suffix = username.split("_", 1)
    county, (_, cname) = next((c, v) for c, v in COUNTIES.items() if v[0] == prefix)
    _, display, line, role = next(u for u in DEMO_USERS if u[0] == "{p}_" + suffix)
    return identity.ensure_user_with_role(
        db,
        actor=ACTOR,
        username=username,
        password="govgrid-demo-" + "x" * 8,
        display_name=display.format(c=cname),
        department_code=f"{county}-{line}",
        role=role,
        reach="department",
    )
