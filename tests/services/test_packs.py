"""The services section of a solution pack (一网通办): 内黄县's service items and bundles, with their time
limits and BPMN, exported by codes, installed in 平定县 with a mapping (its lines, its working-day limits),
diff first, and uninstalled back to exactly the state before."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.core.audit.service import SystemActor
from govgrid.core.departments import service as departments
from govgrid.core.errors import ValidationFailedError
from govgrid.reuse.services import packs
from govgrid.services.models import ProcessDefinition, ServiceItem
from govgrid.services.services import items
from tests.reuse.conftest import NEIHUANG, PINGDING, principal

ACTOR = SystemActor("packs-test")
SECTION = "services/items"
MAPPING: dict[str, Any] = {"lines": {"civil_affairs": "human_resources"},
                           "service_days": {"SX-004": {"promised_days": 3}}}


def _state(db: Session, division: str) -> list[dict[str, Any]]:
    """Every column of the division's items (ids included), in code order."""
    db.flush()
    db.expire_all()
    stmt = select(ServiceItem).where(ServiceItem.division_code == division).order_by(ServiceItem.code)
    rows = db.scalars(stmt)
    cols = [c.key for c in ServiceItem.__table__.columns]
    return [{c: getattr(r, c) for c in cols} for r in rows]


@pytest.fixture()
def counties(db: Session) -> Session:
    """内黄县 with its own practice (社保卡 in 2 days, a 老年人优待证 item); 平定县 with the shipped one."""
    import govgrid.services.module  # noqa: F401  (registers the services pack section)

    items.ensure_catalogue(db, actor=ACTOR, division_code=NEIHUANG)
    items.ensure_catalogue(db, actor=ACTOR, division_code=PINGDING)
    card = items.get_item(db, code=f"SX-{NEIHUANG}-004")
    card.promised_days, card.visits = 2, 0
    civil = departments.ensure(db, line_code="civil_affairs", division_code=NEIHUANG)
    db.add(ServiceItem(code=f"SX-{NEIHUANG}-099", name="老年人优待证办理", department_id=civil.id,
                       division_code=NEIHUANG, statutory_days=10, promised_days=1, on_the_spot=True,
                       materials=[{"code": "id_card", "name": "居民身份证", "required": True,
                                   "held": {"resource": f"A01-{NEIHUANG}-0001"}}],
                       form_fields=[{"name": "applicant_name", "label": "姓名", "required": True}],
                       process_id="birth_bundle"))
    db.flush()
    return db


def test_items_and_bpmn_install_in_another_county_and_uninstall_exactly(counties: Session):
    db = counties
    nh_gov, pd_gov = principal(db, "nh_gov"), principal(db, "pd_gov")
    pack = packs.export_pack(db, actor=nh_gov, division_code=NEIHUANG, module="services")
    content = pack.document["sections"][SECTION]
    assert content["items"]["SX-004"]["promised_days"] == 2
    assert "birth_bundle" in content["processes"] and "<" in content["processes"]["birth_bundle"]["bpmn"]
    text = json.dumps(pack.document["sections"], ensure_ascii=False)
    assert NEIHUANG not in text and "department_id" not in text  # codes only, no ids, no origin division
    assert content["items"]["SX-099"]["materials"][0]["held"]["resource"] == "A01-{division}-0001"

    before = _state(db, PINGDING)
    exported_before = packs.export_section(db, actor=pd_gov, division_code=PINGDING, key=SECTION)
    procs = db.scalar(select(func.count()).select_from(ProcessDefinition))
    plans = packs.preview(db, actor=pd_gov, pack=pack, division_code=PINGDING, mapping=MAPPING)
    labels = [c.label for p in plans for c in p.changes]
    assert any("社会保障卡申领" in x and "承诺时限" in x and "→ 3" in x for x in labels), labels
    assert any(x.startswith("新增事项 老年人优待证办理") and "人力资源" in x for x in labels), labels
    assert _state(db, PINGDING) == before  # the diff writes nothing

    packs.install(db, actor=pd_gov, pack=pack, division_code=PINGDING, mapping=MAPPING)
    assert items.get_item(db, code=f"SX-{PINGDING}-004").promised_days == 3  # the adopter's own limit
    added = items.get_item(db, code=f"SX-{PINGDING}-099")
    assert added.department.code == f"{PINGDING}-human_resources"  # civil affairs mapped to its own line
    assert added.materials[0]["held"]["resource"] == f"A01-{PINGDING}-0001"
    assert db.scalar(select(func.count()).select_from(ProcessDefinition)) == procs  # same BPMN: reused

    packs.uninstall(db, actor=pd_gov, pack_id=pack.pack_id, division_code=PINGDING)
    assert _state(db, PINGDING) == before
    assert packs.export_section(db, actor=pd_gov, division_code=PINGDING, key=SECTION) == exported_before


def test_a_line_the_adopter_lacks_and_a_limit_over_the_statutory_one_are_refused(counties: Session):
    db = counties
    pd_gov = principal(db, "pd_gov")
    pack = packs.export_pack(db, actor=ACTOR, division_code=NEIHUANG, module="services")
    before = _state(db, PINGDING)
    with pytest.raises(ValidationFailedError) as bad_line:
        packs.preview(db, actor=pd_gov, pack=pack, division_code=PINGDING,
                      mapping={"lines": {"civil_affairs": "no_such_line"}})
    assert any("参数映射 lines" in d["msg"] for d in bad_line.value.details)
    with pytest.raises(ValidationFailedError) as too_long:
        packs.install(db, actor=pd_gov, pack=pack, division_code=PINGDING,
                      mapping={"service_days": {"SX-004": {"promised_days": 30}}})
    assert any("超过法定时限" in d["msg"] for d in too_long.value.details)
    assert _state(db, PINGDING) == before


def test_a_pack_never_turns_a_shared_process_back_to_an_older_version(counties: Session):
    # every county runs the newest BPMN version of a process: a pack exported before an upgrade must not
    # install its (older) copy as the newest again
    from govgrid.services.services import processes

    db = counties
    nh_gov, pd_gov = principal(db, "nh_gov"), principal(db, "pd_gov")
    pack = packs.export_pack(db, actor=nh_gov, division_code=NEIHUANG, module="services")
    old = pack.document["sections"][SECTION]["processes"]["birth_bundle"]["bpmn"]
    newer = old.replace("</bpmn:definitions>", "<!-- 2026 修订 --></bpmn:definitions>")
    assert newer != old
    upgraded = processes.store(db, actor=ACTOR, data=newer.encode("utf-8"))
    latest = processes.latest(db, process_id="birth_bundle")
    assert latest.id in [r.id for r in upgraded]
    plans = packs.preview(db, actor=pd_gov, pack=pack, division_code=PINGDING, mapping=MAPPING)
    assert not [c for p in plans for c in p.changes if c.path.startswith("/processes/")]
    packs.install(db, actor=pd_gov, pack=pack, division_code=PINGDING, mapping=MAPPING)
    assert processes.latest(db, process_id="birth_bundle").id == latest.id, "the upgrade stays the newest"
