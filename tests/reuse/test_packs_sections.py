"""A pack of several sections (一网通办事项 + 数据目录) from 内黄县: signed round trip through the file, one
changed byte and another platform version refused, the dry run writes nothing, a failing section rolls every
section back, and the install API refuses anonymous callers and another division's admin."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.core import ports
from govgrid.core.audit.service import SystemActor
from govgrid.core.departments import service as departments
from govgrid.core.errors import ValidationFailedError
from govgrid.exchange.models import Resource
from govgrid.exchange.schemas import DataItemIn, ResourceCreate
from govgrid.exchange.services import catalog
from govgrid.reuse import packfile
from govgrid.reuse.models import Installation
from govgrid.reuse.services import packs
from govgrid.services.models import ServiceItem
from govgrid.services.services import items
from tests.reuse.conftest import NEIHUANG, PINGDING, principal

ACTOR = SystemActor("packs-test")
API = "/api/v1/reuse"
MODULES = "services,exchange"
KEYS = ["services/items", "exchange/catalog"]


def _state(db: Session) -> dict[str, Any]:
    """What a pack may change in 平定县: its items (every column), its catalog entries, installations."""
    db.flush()
    db.expire_all()
    cols = [c.key for c in ServiceItem.__table__.columns]
    stmt = select(ServiceItem).where(ServiceItem.division_code == PINGDING).order_by(ServiceItem.id)
    own = db.scalars(stmt)
    return {
        "items": [{c: getattr(r, c) for c in cols} for r in own],
        "catalog": list(db.scalars(select(Resource.code).where(Resource.division_code == PINGDING))),
        "installations": db.scalar(select(func.count()).select_from(Installation)),
    }


@pytest.fixture()
def origin(db: Session) -> Session:
    """内黄县 with its service items (社保卡 in 2 days) and a catalog entry of its civil affairs bureau."""
    import govgrid.services.module  # noqa: F401  (registers the services section)
    from govgrid.exchange import packs as exchange_packs

    exchange_packs.register()
    items.ensure_catalogue(db, actor=ACTOR, division_code=NEIHUANG)
    items.ensure_catalogue(db, actor=ACTOR, division_code=PINGDING)
    items.get_item(db, code=f"SX-{NEIHUANG}-004").promised_days = 2
    for div in (NEIHUANG, PINGDING):
        departments.ensure(db, line_code="civil_affairs", division_code=div)
    catalog.create_resource(db, actor=ACTOR, data=ResourceCreate(
        class_code="C05", provider_department_code=f"{NEIHUANG}-civil_affairs", name="低保对象家庭名册",
        sharing_type="unconditional", items=[DataItemIn(name="household_no", label="户号", required=True)],
    ))
    db.flush()
    return db


def test_a_multi_section_pack_round_trips_signed_and_refuses_changed_bytes(origin: Session):
    db = origin
    pack = packs.export_pack(db, actor=principal(db, "nh_gov"), division_code=NEIHUANG, module=MODULES)
    manifest = pack.document["manifest"]
    assert [s["key"] for s in manifest["sections"]] == KEYS
    assert manifest["id"] == f"services-exchange-{NEIHUANG}"
    raw = packfile.to_bytes(pack.document)
    assert packs.import_pack(db, actor=ACTOR, raw=raw).id == pack.id  # the file reads back as the same pack
    tampered = raw.replace(b'"promised_days": 2', b'"promised_days": 1', 1)
    assert tampered != raw
    with pytest.raises(ValidationFailedError, match="签名核验失败"):
        packs.import_pack(db, actor=ACTOR, raw=tampered)
    other = {**manifest, "version": "2.0.0", "govgrid": ">=9.0.0,<10.0.0"}
    with pytest.raises(ValidationFailedError, match="版本不兼容") as refused:
        packs.import_pack(db, actor=ACTOR,
                          raw=packfile.to_bytes(packfile.seal(other, pack.document["sections"])))
    assert packfile.govgrid_version() in refused.value.message and ">=9.0.0" in refused.value.message


def test_the_dry_run_writes_nothing_and_a_failing_section_rolls_every_section_back(origin: Session):
    db = origin
    pd_gov = principal(db, "pd_gov")
    pack = packs.export_pack(db, actor=ACTOR, division_code=NEIHUANG, module=MODULES)
    before = _state(db)
    plans = packs.preview(db, actor=pd_gov, pack=pack, division_code=PINGDING, mapping={})
    assert [p.key for p in plans] == KEYS and all(p.changes for p in plans)
    assert _state(db) == before

    real = ports.PACK_SECTIONS[("exchange", "catalog")]

    def broken(session, *, actor, division_code, plan):
        real.apply(session, actor=actor, division_code=division_code, plan=plan)
        raise ValidationFailedError("目录写入失败 (test)")

    ports.register_pack_section(dataclasses.replace(real, apply=broken))
    try:
        with pytest.raises(ValidationFailedError, match="目录写入失败"), db.begin_nested():  # the request's
            packs.install(db, actor=pd_gov, pack=pack, division_code=PINGDING, mapping={})
    finally:
        ports.register_pack_section(real)
    assert _state(db) == before  # the services section that had been applied is rolled back too

    packs.install(db, actor=pd_gov, pack=pack, division_code=PINGDING, mapping={})
    assert items.get_item(db, code=f"SX-{PINGDING}-004").promised_days == 2
    assert f"C05-{PINGDING}-0001" in _state(db)["catalog"]
    packs.uninstall(db, actor=pd_gov, pack_id=pack.pack_id, division_code=PINGDING)
    after = _state(db)
    assert after["items"] == before["items"] and after["catalog"] == before["catalog"]


def test_the_install_api_refuses_anonymous_and_another_divisions_admin(client, origin: Session, login):
    db = origin
    pack = packs.export_pack(db, actor=ACTOR, division_code=NEIHUANG, module=MODULES)
    body = {"division_code": PINGDING, "mapping": {}}
    before = _state(db)
    assert client.post(f"{API}/packs/{pack.id}/install", json=body).status_code == 401
    nh = login("nh_gov")
    for step in ("preview", "install"):
        assert client.post(f"{API}/packs/{pack.id}/{step}", json=body, headers=nh).status_code == 403
    assert _state(db) == before
    pd = login("pd_gov")
    diff = client.post(f"{API}/packs/{pack.id}/preview", json=body, headers=pd)
    assert diff.status_code == 200 and [p["key"] for p in diff.json()] == KEYS
    bad = client.post(f"{API}/packs/{pack.id}/preview", headers=pd,
                      json={**body, "mapping": {"service_days": {"SX-004": {"promised_days": 99}}}})
    assert bad.status_code == 422 and "法定时限" in json.dumps(bad.json(), ensure_ascii=False)
    r = client.post(f"{API}/packs/export", json={"division_code": NEIHUANG, "module": MODULES},
                    headers=login("nh_gov"))
    assert r.status_code == 201, r.text


def test_the_cli_exports_both_sections_and_its_dry_run_prints_them_writing_nothing(
    monkeypatch, origin: Session, tmp_path
):
    from typer.testing import CliRunner

    from govgrid.reuse import cli

    monkeypatch.setattr(cli, "_start", lambda: None)
    runner, pack_file, mapping_file = CliRunner(), tmp_path / "nh.json", tmp_path / "map.json"
    mapping_file.write_text(json.dumps({"service_days": {"SX-004": {"promised_days": 3}}}), encoding="utf-8")
    out = runner.invoke(cli.app, ["export", "--division", NEIHUANG, "--module", MODULES,
                                  "-o", str(pack_file)])
    assert out.exit_code == 0, out.output
    before = _state(origin)
    dry = runner.invoke(cli.app, ["install", str(pack_file), "--division", PINGDING, "--mapping",
                                  str(mapping_file), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "services/items" in dry.output and "exchange/catalog" in dry.output
    assert "/items/SX-004/promised_days" in dry.output and f"C05-{PINGDING}-0001" in dry.output
    assert _state(origin) == before
    mapping_file.write_text(json.dumps({"lines": {"civil_affairs": "no_such_line"}}), encoding="utf-8")
    refused = runner.invoke(cli.app, ["install", str(pack_file), "--division", PINGDING, "--mapping",
                                      str(mapping_file)])
    assert refused.exit_code == 2 and "参数映射" in refused.output
    assert _state(origin) == before


def test_the_pack_page_preview_lists_every_section_in_chinese(client, origin: Session):
    from tests.conftest import cookie_login, csrf_token

    pack = packs.export_pack(origin, actor=ACTOR, division_code=NEIHUANG, module=MODULES)
    cookie_login(client, origin, "pd_gov")
    catalogue = client.get("/reuse/packs", headers={"Accept": "text/html"})
    assert "一网通办事项与数据目录（合并）" in catalogue.text  # the combined export is offered
    token = csrf_token(client, f"/reuse/packs/{pack.id}")
    page = client.post(f"/reuse/packs/{pack.id}/preview",
                       data={"division_code": PINGDING, "mapping": "{}", "csrf_token": token})
    assert page.status_code == 200 and 'id="diff"' in page.text
    titles = ("政务服务事项、一件事与办理流程", "数据资源目录与共享需求", f"新增目录 C05-{PINGDING}-0001")
    assert all(t in page.text for t in titles)
    assert _state(origin)["installations"] == 0
