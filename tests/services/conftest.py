"""Services fixtures: the catalogue of 内黄县 and 君山区, the department users, a resident with a verified
identity and a population resource of 内黄县公安局 holding that resident (committed once per session)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core import db as coredb
from govgrid.core.audit.service import SystemActor
from govgrid.core.identity import service as identity
from govgrid.core.identity.models import User
from govgrid.core.modules import DemoContext
from govgrid.demo import DEMO_PASSWORD

DATA = Path(__file__).parent / "data"
ACTOR = SystemActor("services-tests")
WORLD: dict[str, Any] = {}
PDF = b"%PDF-1.4\n% test\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00test\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
HOME, AWAY = "410527", "430611"
BIRTH, FOOD = f"YJS-{HOME}-BIRTH", f"YJS-{HOME}-FOOD"


def _csv(rows: list[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode()


def seed(session: Session) -> dict[str, Any]:
    """Catalogue, users, the resident's profile and a population resource of 内黄县公安局 holding them."""
    import govgrid.exchange.module  # noqa: F401  (registers the exchange's data provider with core.ports)
    from govgrid.exchange.schemas import DataItemIn, ResourceCreate
    from govgrid.exchange.services import catalog, uploads
    from govgrid.services import demo
    from govgrid.services.models import ApplicantProfile, ServiceItem

    demo.ensure_setup(session, DemoContext(password=DEMO_PASSWORD))
    citizen_id = session.scalar(select(User.id).where(User.username == demo.CITIZEN))
    idn = session.scalar(select(ApplicantProfile.id_number).where(ApplicantProfile.user_id == citizen_id))
    if session.scalar(select(User.id).where(User.username == "sv_other")) is None:
        identity.create_user(
            session,
            actor=ACTOR,
            username="sv_other",
            password=DEMO_PASSWORD,
            display_name="另一位居民",
            is_demo=True,
        )
    items = [
        DataItemIn(
            name="id_number",
            label="公民身份号码",
            type="id_number",
            required=True,
            personal=True,
            sensitive=True,
        ),
        DataItemIn(name="name", label="姓名", type="string", required=True, personal=True, mask="name"),
        DataItemIn(name="phone", label="联系电话", type="phone", personal=True),
        DataItemIn(name="address", label="住址", type="string", personal=True, mask="address"),
        DataItemIn(name="household_no", label="户号", type="string"),
        DataItemIn(name="village_code", label="所属村代码", type="division", required=True),
    ]
    res = catalog.create_resource(
        session,
        actor=ACTOR,
        data=ResourceCreate(
            class_code="A01",
            provider_department_code=f"{HOME}-public_security",
            name="内黄县人口基础信息（测试）",
            abstract="一网通办测试用人口信息",
            sharing_type="conditional",
            sharing_conditions="仅用于法定职责",
            items=items,
            grade="important",
        ),
    )
    rows = [
        {
            "id_number": idn,
            "name": "李梅",
            "phone": "13812345678",
            "address": "内黄县城关镇解放路12号",
            "household_no": "410527100123",
            "village_code": "410527100200",
        }
    ]
    uploads.upload_records(session, actor=ACTOR, code=res.code, content=_csv(rows), filename="p.csv")
    for item in session.scalars(select(ServiceItem).where(ServiceItem.division_code == HOME)):
        item.prefill = [{**rule, "resource": res.code} for rule in item.prefill]
    session.flush()
    return {"resource": res.code, "id_number": idn, "name": "李梅"}


def seed_live() -> None:
    """`seed` for a live server's database (run by tests/live.py's `prepare`)."""
    with coredb.session_scope() as session:
        seed(session)


def ensure_world() -> dict[str, Any]:
    """Commit the services world once per process."""
    if not WORLD:
        with coredb.session_scope() as session:
            WORLD.update(seed(session))
    return WORLD


@pytest.fixture(scope="session")
def services_world(database_url: str) -> dict[str, Any]:
    """The committed services world."""
    return ensure_world()


@pytest.fixture()
def world(services_world: dict[str, Any], db: Session) -> dict[str, Any]:
    """The world inside the test's rolled-back transaction."""
    return services_world


def principal(db: Session, username: str):
    """A user's principal with its roles."""
    uid = db.scalar(select(User.id).where(User.username == username))
    assert uid is not None, username
    return identity.load_user_principal(db, uid)


BIRTH_FORM = {
    "child_name": "李小满",
    "child_gender": "女",
    "birth_date": "2026-11-20",
    "hospital": "内黄县人民医院",
}


def apply(
    client,
    headers: dict[str, str],
    item: str = BIRTH,
    form: dict[str, str] | None = None,
    files: list[tuple[str, str, bytes]] | None = None,
    **data: str,
):
    """POST an application through the API (files: (material code, name, bytes))."""
    files = [("child_photo", "p.jpg", JPEG)] if files is None else files
    import json

    body = {
        "item_code": item,
        "form": json.dumps(BIRTH_FORM if form is None else form, ensure_ascii=False),
        "material_codes": [c for c, _n, _b in files],
        **data,
    }
    return client.post(
        "/api/v1/services/applications",
        headers=headers,
        data=body,
        files=[("files", (n, b)) for _c, n, b in files],
    )


def decide(client, headers: dict[str, str], task_id: int, decision: str = "approve", note: str = ""):
    """POST a decision on a task."""
    return client.post(
        f"/api/v1/services/tasks/{task_id}/decision",
        headers=headers,
        json={"decision": decision, "note": note},
    )


def open_task(client, headers: dict[str, str], number: str) -> dict[str, Any]:
    """The caller's open task on an application (asserts there is one)."""
    rows = [
        t for t in client.get("/api/v1/services/tasks", headers=headers).json() if t["application"] == number
    ]
    assert rows, f"no open task for {number}"
    return rows[0]
