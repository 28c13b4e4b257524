"""The exchange section of a solution pack (数据目录): 内黄县's own catalog entries travel as metadata, and
the shared resources its departments use travel as sharing needs that 平定县 files as real sharing requests on
install (they wait in the provider's queue) and withdraws on uninstall while still pending."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.core.audit.service import SystemActor
from govgrid.core.departments import service as departments
from govgrid.core.errors import ValidationFailedError
from govgrid.core.identity import service as identity
from govgrid.core.ports import SharingNeed
from govgrid.exchange.enums import RequestStatus
from govgrid.exchange.models import Resource, SharingRequest, Upload
from govgrid.exchange.schemas import DataItemIn
from govgrid.exchange.services import pack_requests, sharing
from govgrid.reuse import packfile
from govgrid.reuse.services import packs
from tests.exchange.conftest import new_resource
from tests.reuse.conftest import NEIHUANG, PINGDING, principal

ACTOR = SystemActor("packs-test")
SECTION = "exchange/catalog"
CITY = "410500"  # 安阳市: its resource is requested by 内黄县 and will be by the adopter
ITEMS = [
    DataItemIn(name="household_no", label="户号", type="string", required=True),
    DataItemIn(name="village_code", label="所属村代码", type="division", required=True),
    DataItemIn(name="members", label="家庭人口数", type="integer"),
]


def _catalog(db: Session, division: str) -> list[tuple[Any, ...]]:
    db.flush()
    return list(db.execute(select(Resource.code, Resource.name, Resource.provider_department_id)
                           .where(Resource.division_code == division).order_by(Resource.code)))


@pytest.fixture()
def world(db: Session) -> dict[str, Any]:
    """内黄县民政局's 低保 roll (its own entry) and its granted request for 安阳市公安局's household data."""
    from govgrid.exchange import packs as exchange_packs

    exchange_packs.register()  # the exchange's section and sharing requester (another test may swap them)
    for div, line in ((NEIHUANG, "civil_affairs"), (PINGDING, "civil_affairs"), (CITY, "public_security")):
        departments.ensure(db, line_code=line, division_code=div)
    own = new_resource(db, provider=f"{NEIHUANG}-civil_affairs", class_code="C05", name="低保对象家庭名册",
                       items=ITEMS, grade="general", update_cycle="quarterly")
    city = new_resource(db, provider=f"{CITY}-public_security", class_code="A02", name="户籍家庭户信息",
                        items=ITEMS, grade="general")
    secret = new_resource(db, provider=f"{CITY}-public_security", class_code="A03", name="重点人员名单",
                          sharing_type="none", items=ITEMS, grade="general")
    need = SharingNeed(resource_code=city.code, purpose="低保家庭户籍核对",
                       fields=("household_no", "members"), consumer_line="civil_affairs")
    approver = identity.principal_for_user(identity.ensure_user_with_role(
        db, actor=ACTOR, username="city_police_approver", password="govgrid-demo-" + "x" * 8,
        display_name="市公安局审批人", department_code=f"{CITY}-public_security", role="approver",
        reach="department",
    ))
    asked = pack_requests.file_request(db, actor=ACTOR, consumer_department_code=f"{NEIHUANG}-civil_affairs",
                                       need=need)
    sharing.decide(db, actor=approver, request_id=asked, action="approve")  # a granted need travels
    return {"own": own, "city": city, "secret": secret, "approver": approver}


def test_catalog_entries_and_sharing_needs_install_and_uninstall_exactly(db: Session, world: dict[str, Any]):
    nh_gov, pd_gov = principal(db, "nh_gov"), principal(db, "pd_gov")
    pack = packs.export_pack(db, actor=nh_gov, division_code=NEIHUANG, module="exchange")
    manifest, content = pack.document["manifest"], pack.document["sections"][SECTION]
    entry = content["entries"]["C05-0001"]
    assert entry["sharing_type"] == "conditional" and entry["update_cycle"] == "quarterly"
    assert entry["line"] == "civil_affairs" and entry["items"][0]["name"] == "household_no"
    assert "sharing_needs" not in content  # lifted into the manifest
    assert manifest["sharing"] == [{"resource_code": world["city"].code, "purpose": "低保家庭户籍核对",
                                    "fields": ["household_no", "members"], "consumer_line": "civil_affairs"}]

    before = _catalog(db, PINGDING)
    exported_before = packs.export_section(db, actor=pd_gov, division_code=PINGDING, key=SECTION)
    requests_before = db.scalar(select(func.count()).select_from(SharingRequest))
    plans = packs.preview(db, actor=pd_gov, pack=pack, division_code=PINGDING, mapping={})
    labels = {p.key: [c.label for c in p.changes] for p in plans}
    assert labels[SECTION] == [
        f"新增目录 C05-{PINGDING}-0001「低保对象家庭名册」：平定县民政局提供，有条件共享，3 个信息项"
    ]
    assert labels["sharing"] == [f"申请共享资源 {world['city'].code}（申请部门 {PINGDING}-civil_affairs，"
                                 "信息项 household_no、members）"]
    assert _catalog(db, PINGDING) == before  # the dry run writes nothing
    assert db.scalar(select(func.count()).select_from(SharingRequest)) == requests_before

    row, _plans = packs.install(db, actor=pd_gov, pack=pack, division_code=PINGDING, mapping={})
    made = db.scalar(select(Resource).where(Resource.code == f"C05-{PINGDING}-0001"))
    assert made is not None and made.provider.code == f"{PINGDING}-civil_affairs" and len(made.items) == 3
    assert db.scalar(select(func.count()).select_from(Upload).where(Upload.resource_id == made.id)) == 0
    filed = [c["after"] for c in row.changes if c["section"] == "sharing"]
    inbox, _total = sharing.list_requests(db, actor=world["approver"], box="inbox")
    req = next(r for r in inbox if r.id == filed[0])  # in the provider's queue, as any request would be
    assert req.purpose.startswith(f"方案包 exchange-{NEIHUANG}") and req.fields == ["household_no", "members"]

    packs.uninstall(db, actor=pd_gov, pack_id=pack.pack_id, division_code=PINGDING)
    assert _catalog(db, PINGDING) == before
    assert packs.export_section(db, actor=pd_gov, division_code=PINGDING, key=SECTION) == exported_before
    db.refresh(req)
    assert req.status == RequestStatus.withdrawn  # still pending at uninstall: withdrawn


def test_a_decided_request_stays_when_the_pack_is_uninstalled(db: Session, world: dict[str, Any]):
    pd_gov = principal(db, "pd_gov")
    pack = packs.export_pack(db, actor=ACTOR, division_code=NEIHUANG, module="exchange")
    row, _plans = packs.install(db, actor=pd_gov, pack=pack, division_code=PINGDING, mapping={})
    request_id = next(c["after"] for c in row.changes if c["section"] == "sharing")
    sharing.decide(db, actor=world["approver"], request_id=request_id, action="approve")
    packs.uninstall(db, actor=pd_gov, pack_id=pack.pack_id, division_code=PINGDING)
    assert db.get(SharingRequest, request_id).status == RequestStatus.granted
    # installed again: the department holds the grant already, so no second request is filed
    requests = db.scalar(select(func.count()).select_from(SharingRequest))
    row, _plans = packs.install(db, actor=pd_gov, pack=pack, division_code=PINGDING, mapping={})
    assert [c["after"] for c in row.changes if c["section"] == "sharing"] == [0]
    assert db.scalar(select(func.count()).select_from(SharingRequest)) == requests


def test_a_need_outside_the_adopters_reach_is_a_clear_422_in_the_dry_run(db: Session, world: dict[str, Any]):
    pd_gov = principal(db, "pd_gov")
    pack = packs.export_pack(db, actor=ACTOR, division_code=NEIHUANG, module="exchange")
    for code, words in ((world["secret"].code, "不予共享"), ("Z99-999999-0001", "不存在")):
        manifest = {**pack.document["manifest"], "version": "9.0.0" if words == "不予共享" else "9.1.0",
                    "sharing": [{"resource_code": code, "purpose": "核对", "consumer_line": "civil_affairs"}]}
        needing = packs.import_pack(db, actor=ACTOR, raw=packfile.to_bytes(
            packfile.seal(manifest, pack.document["sections"])))
        before = _catalog(db, PINGDING)
        with pytest.raises(ValidationFailedError) as refused:
            packs.preview(db, actor=pd_gov, pack=needing, division_code=PINGDING, mapping={})
        assert refused.value.status == 422 and words in refused.value.details[0]["msg"]
        assert "共享资源" in refused.value.message
        assert _catalog(db, PINGDING) == before


def test_a_provider_line_the_adopter_lacks_is_refused_with_the_hint(db: Session, world: dict[str, Any]):
    pd_gov = principal(db, "pd_gov")
    pack = packs.export_pack(db, actor=ACTOR, division_code=NEIHUANG, module="exchange")
    with pytest.raises(ValidationFailedError) as refused:
        packs.preview(db, actor=pd_gov, pack=pack, division_code=PINGDING,
                      mapping={"lines": {"civil_affairs": "no_such_line"}})
    assert any("参数映射 lines" in d["msg"] for d in refused.value.details)


def test_an_entry_already_called_through_the_gateway_stays_and_uninstall_is_a_409(
    db: Session, world: dict[str, Any]
):
    # the provider read its new entry once (a call-log row names it): removing the entry would break that
    # row's reference, so the uninstall is refused with the reason, never a 500
    from govgrid.core.errors import ConflictError
    from govgrid.exchange.models import GatewayCall

    pd_gov = principal(db, "pd_gov")
    pack = packs.export_pack(db, actor=ACTOR, division_code=NEIHUANG, module="exchange")
    packs.install(db, actor=pd_gov, pack=pack, division_code=PINGDING, mapping={})
    made = db.scalar(select(Resource).where(Resource.code == f"C05-{PINGDING}-0001"))
    db.add(GatewayCall(resource_id=made.id, kind="records", rows=0, response_sha256="0" * 64))
    db.flush()
    with pytest.raises(ConflictError) as refused:
        packs.uninstall(db, actor=pd_gov, pack_id=pack.pack_id, division_code=PINGDING)
    assert refused.value.status == 409 and "调用记录" in str(refused.value)


def test_a_pending_request_does_not_travel_and_a_purpose_carries_no_personal_data(
    db: Session, world: dict[str, Any]
):
    # the pack is read by every adopter: only needs a provider approved, their purpose scrubbed
    schools = new_resource(db, provider=f"{CITY}-public_security", class_code="A04", name="流动人口登记",
                           items=ITEMS, grade="general")
    need = SharingNeed(resource_code=schools.code, purpose="核对 13812345678 张三的家庭",
                       fields=("household_no",), consumer_line="civil_affairs")
    consumer = f"{NEIHUANG}-civil_affairs"
    asked = pack_requests.file_request(db, actor=ACTOR, consumer_department_code=consumer, need=need)
    needs = pack_requests.export_catalog(db, division_code=NEIHUANG)["sharing_needs"]
    assert [n["resource_code"] for n in needs] == [world["city"].code], "the pending request stays home"
    assert pack_requests.file_request(db, actor=ACTOR, consumer_department_code=consumer, need=need) == 0
    sharing.decide(db, actor=world["approver"], request_id=asked, action="approve")
    needs = pack_requests.export_catalog(db, division_code=NEIHUANG)["sharing_needs"]
    purpose = next(n["purpose"] for n in needs if n["resource_code"] == schools.code)
    assert "13812345678" not in purpose


def test_a_verify_only_interface_is_asked_for_verification(db: Session, world: dict[str, Any]):
    # a provider API that only answers verify calls (ID-card checks): the pack's request asks for that,
    # instead of passing the preview and failing the install's compliance check
    checks = new_resource(db, provider=f"{CITY}-public_security", class_code="A05", name="身份核验接口",
                          items=ITEMS, grade="general", kind="api", api_url="https://id.example/check",
                          sharing_method="verify")
    need = SharingNeed(resource_code=checks.code, purpose="低保申请人身份核验", fields=("household_no",),
                       consumer_line="civil_affairs")
    consumer = f"{PINGDING}-civil_affairs"
    assert pack_requests.problem(db, consumer_department_code=consumer, need=need) is None
    filed = pack_requests.file_request(db, actor=ACTOR, consumer_department_code=consumer, need=need)
    assert db.get(SharingRequest, filed).mode == "verify"
