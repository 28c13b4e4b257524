"""Acceptance of solution packs (issue 19): 内黄县's appeals configuration exported as a signed pack installs
in 平定县 with a parameter mapping, diff first; afterwards Pingding's appeals route and clock by it; uninstall
restores the previous state exactly; a tampered pack (one byte) and an incompatible version are refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.appeals.services import escalation, intake
from govgrid.core.audit.service import PublicActor, SystemActor
from govgrid.core.departments import service as departments
from govgrid.core.errors import ConflictError, ForbiddenError, ValidationFailedError
from govgrid.reuse import packfile
from govgrid.reuse.models import Installation, Pack
from govgrid.reuse.services import packs
from tests.reuse.conftest import MAPPING, NEIHUANG, PINGDING, SECTION, principal

START = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Beijing


def _village_ticket(db: Session):
    return intake.create_ticket(
        db, actor=PublicActor("web"),
        data=intake.TicketInput(channel="web", description="村务公开不及时，村委会账目不清",
                                category_code="village_affairs", county_code=PINGDING),
    )


def test_a_neihuang_pack_installs_in_pingding_and_uninstalls_exactly(neihuang: Session):
    db = neihuang
    nh_gov, pd_gov = principal(db, "nh_gov"), principal(db, "pd_gov")
    pack = packs.export_pack(db, actor=nh_gov, division_code=NEIHUANG, module="appeals")
    raw = packfile.to_bytes(pack.document)
    manifest = pack.document["manifest"]
    assert manifest["id"] == f"appeals-{NEIHUANG}" and manifest["version"] == "1.0.0"
    assert manifest["origin"]["division_code"] == NEIHUANG and manifest["parameters"]["type"] == "object"
    assert pack.document["signature"]["alg"] == "Ed25519"

    before_export = packs.export_section(db, actor=pd_gov, division_code=PINGDING, key=SECTION)
    civil = departments.get_by_code(db, f"{PINGDING}-civil_affairs").id
    first = _village_ticket(db)
    assert first.proposed_department_id != civil  # territorial before: the township/village answers
    _s, _c, resolve_before = escalation.deadlines(db, category_code="village_affairs", start=START,
                                                  division_code=first.division_code)

    # the file goes to Pingding: checked, previewed (nothing written), installed
    imported = packs.import_pack(db, actor=pd_gov, raw=raw)
    assert imported.id == pack.id  # the same signed pack answers its catalogue row
    plans = packs.preview(db, actor=pd_gov, pack=imported, division_code=PINGDING, mapping=MAPPING)
    labels = [c.label for p in plans for c in p.changes]
    assert any("村务管理" in x and "民政" in x for x in labels), labels  # petition mapped to civil affairs
    paths = {(c.path, c.after) for p in plans for c in p.changes}
    assert ("/categories/garbage/resolve_days", 2) in paths
    assert packs.export_section(db, actor=pd_gov, division_code=PINGDING, key=SECTION) == before_export

    row, _ = packs.install(db, actor=pd_gov, pack=imported, division_code=PINGDING, mapping=MAPPING)
    assert row.state == "installed" and row.changes
    second = _village_ticket(db)
    assert second.proposed_department_id == civil  # Pingding's appeals now route by the pack
    _s, _c, resolve_after = escalation.deadlines(db, category_code="village_affairs", start=START,
                                                 division_code=second.division_code)
    assert resolve_after < resolve_before  # 5 working days instead of the default 7
    with pytest.raises(ConflictError):
        packs.install(db, actor=pd_gov, pack=imported, division_code=PINGDING, mapping=MAPPING)

    packs.uninstall(db, actor=pd_gov, pack_id=pack.pack_id, division_code=PINGDING)
    assert packs.export_section(db, actor=pd_gov, division_code=PINGDING, key=SECTION) == before_export
    third = _village_ticket(db)
    assert third.proposed_department_id == first.proposed_department_id
    assert escalation.deadlines(db, category_code="village_affairs", start=START,
                                division_code=third.division_code)[2] == resolve_before


def test_a_pack_with_one_byte_changed_is_refused(neihuang: Session):
    db = neihuang
    pack = packs.export_pack(db, actor=SystemActor("test"), division_code=NEIHUANG, module="appeals")
    raw = packfile.to_bytes(pack.document)
    at = raw.index(b'"resolve_days": 5')
    tampered = raw[: at + 16] + b"4" + raw[at + 17:]  # 5 working days become 4
    assert len(tampered) == len(raw) and tampered != raw
    count = db.scalar(select(func.count()).select_from(Pack))
    with pytest.raises(ValidationFailedError, match="签名核验失败"):
        packs.import_pack(db, actor=principal(db, "pd_gov"), raw=tampered)
    broken = raw[:10] + b"\x00" + raw[11:]
    with pytest.raises(ValidationFailedError, match="无法读取"):
        packs.import_pack(db, actor=principal(db, "pd_gov"), raw=broken)
    assert db.scalar(select(func.count()).select_from(Pack)) == count


def test_a_pack_for_another_platform_version_is_refused_with_the_reason(neihuang: Session):
    db = neihuang
    pack = packs.export_pack(db, actor=SystemActor("test"), division_code=NEIHUANG, module="appeals")
    manifest = {**pack.document["manifest"], "govgrid": ">=9.0.0,<10.0.0", "version": "9.0.0"}
    future = packfile.seal(manifest, pack.document["sections"])  # properly signed, wrong version
    with pytest.raises(ValidationFailedError) as refused:
        packs.import_pack(db, actor=principal(db, "pd_gov"), raw=packfile.to_bytes(future))
    assert "版本不兼容" in refused.value.message and packfile.govgrid_version() in refused.value.message


def test_a_bad_mapping_is_refused_and_nothing_is_written(neihuang: Session):
    db = neihuang
    pd_gov = principal(db, "pd_gov")
    pack = packs.export_pack(db, actor=SystemActor("test"), division_code=NEIHUANG, module="appeals")
    before = packs.export_section(db, actor=pd_gov, division_code=PINGDING, key=SECTION)
    with pytest.raises(ValidationFailedError) as bad:
        packs.install(db, actor=pd_gov, pack=pack, division_code=PINGDING,
                      mapping={"deadlines": {"garbage": {"resolve_days": 0}}, "colour": "red"})
    assert {tuple(d["loc"][:2]) for d in bad.value.details} >= {("mapping", "deadlines")}
    with pytest.raises(ValidationFailedError, match="参数映射"):
        packs.install(db, actor=pd_gov, pack=pack, division_code=PINGDING,
                      mapping={"lines": {"petition": "no_such_line"}})
    assert packs.export_section(db, actor=pd_gov, division_code=PINGDING, key=SECTION) == before
    assert db.scalar(select(func.count()).select_from(Installation)) == 0


def test_only_an_admin_over_the_division_installs_or_exports(neihuang: Session):
    db = neihuang
    pack = packs.export_pack(db, actor=SystemActor("test"), division_code=NEIHUANG, module="appeals")
    with pytest.raises(ForbiddenError):  # Neihuang's admin may not change Pingding
        packs.install(db, actor=principal(db, "nh_gov"), pack=pack, division_code=PINGDING, mapping={})
    with pytest.raises(ForbiddenError):  # a viewer of Pingding may not either
        packs.install(db, actor=principal(db, "pd_viewer"), pack=pack, division_code=PINGDING, mapping={})
    with pytest.raises(ForbiddenError):
        packs.export_pack(db, actor=principal(db, "pd_gov"), division_code=NEIHUANG, module="appeals")


def test_a_later_pack_on_the_same_settings_must_be_uninstalled_first(neihuang: Session):
    db = neihuang
    pd_gov = principal(db, "pd_gov")
    first = packs.export_pack(db, actor=SystemActor("test"), division_code=NEIHUANG, module="appeals")
    second = packs.export_pack(db, actor=SystemActor("test"), division_code=NEIHUANG, module="appeals",
                               pack_id="appeals-neihuang-copy")
    before = packs.export_section(db, actor=pd_gov, division_code=PINGDING, key=SECTION)
    packs.install(db, actor=pd_gov, pack=first, division_code=PINGDING, mapping={})
    packs.install(db, actor=pd_gov, pack=second, division_code=PINGDING, mapping=MAPPING)
    with pytest.raises(ConflictError, match="appeals-neihuang-copy"):
        packs.uninstall(db, actor=pd_gov, pack_id=first.pack_id, division_code=PINGDING)
    packs.uninstall(db, actor=pd_gov, pack_id=second.pack_id, division_code=PINGDING)
    packs.uninstall(db, actor=pd_gov, pack_id=first.pack_id, division_code=PINGDING)
    assert packs.export_section(db, actor=pd_gov, division_code=PINGDING, key=SECTION) == before


def test_exporting_again_bumps_the_version_and_names_adopters(neihuang: Session):
    db = neihuang
    system = SystemActor("test")
    first = packs.export_pack(db, actor=system, division_code=NEIHUANG, module="appeals")
    packs.install(db, actor=system, pack=first, division_code=PINGDING, mapping=MAPPING)
    again = packs.export_pack(db, actor=system, division_code=NEIHUANG, module="appeals")
    assert again.version == "1.1.0" and again.document["manifest"]["adopters"] == [PINGDING]
    assert json.loads(packfile.to_bytes(again.document))["manifest"]["fixtures"]


def test_sharing_requests_the_pack_needs_are_filed_on_install(neihuang: Session):
    from govgrid.core import ports

    db = neihuang
    pack = packs.export_pack(db, actor=SystemActor("test"), division_code=NEIHUANG, module="appeals")
    need = {"resource_code": "hr_wage_arrears", "purpose": "欠薪诉求核查", "consumer_line": "human_resources"}
    manifest = {**pack.document["manifest"], "version": "1.5.0", "sharing": [need]}
    needing = packs.import_pack(db, actor=SystemActor("test"),
                                raw=packfile.to_bytes(packfile.seal(manifest, pack.document["sections"])))
    filed: list[tuple[str, str]] = []

    def requester(session, *, actor, consumer_department_code, need):
        filed.append((consumer_department_code, need.resource_code))
        return 41

    kept = (list(ports.SHARING_REQUESTERS), list(ports.SHARING_CHECKERS), list(ports.SHARING_WITHDRAWERS))
    ports.register_sharing_requester(requester)
    try:
        row, _ = packs.install(db, actor=principal(db, "pd_gov"), pack=needing, division_code=PINGDING,
                               mapping={})
    finally:
        ports.SHARING_REQUESTERS[:], ports.SHARING_CHECKERS[:], ports.SHARING_WITHDRAWERS[:] = kept
    assert filed == [(f"{PINGDING}-human_resources", "hr_wage_arrears")]
    assert any(c["section"] == "sharing" and c["after"] == 41 for c in row.changes)
    bad = {**manifest, "version": "1.6.0", "sharing": [{"resource_code": ""}]}
    with pytest.raises(ValidationFailedError, match="共享需求"):
        packs.import_pack(db, actor=SystemActor("test"),
                          raw=packfile.to_bytes(packfile.seal(bad, pack.document["sections"])))
