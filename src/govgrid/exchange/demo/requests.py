"""Demo sharing requests in every state (granted after approval, auto-granted, across regions, refused,
pending, overdue, 不予共享 routed to the data bureau, withdrawn, a revoked grant) and some gateway reads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.identity import service as identity
from govgrid.core.identity.models import User
from govgrid.core.modules import DemoContext
from govgrid.exchange.models import SharingRequest
from govgrid.exchange.schemas import RequestCreate
from govgrid.exchange.services import deadlines, gateway, grants, sharing


def backdate(req: SharingRequest, days_ago: float, decided_after_hours: float | None = None) -> None:
    """Move a request's submission, deadlines and decision back, as if filed `days_ago` days ago."""
    when = utcnow() - timedelta(days=days_ago)
    deadlines.set_deadlines(req, when)
    if decided_after_hours is not None and req.decided_at is not None:
        req.decided_at = when + timedelta(hours=decided_after_hours)
        if req.checked_at is not None:
            req.checked_at = min(req.checked_at, req.decided_at)


def load_requests(session: Session, ctx: DemoContext, users: dict[str, User]) -> None:
    """Requests in every state, a revoked grant, and some gateway calls for the flow matrix."""

    def who(username: str) -> Principal:
        return identity.principal_for_user(users[username])

    nh_civil, nh_police = who("nh_civil"), who("nh_police")
    nh_hr = who("nh_hr")
    pd_civil, pd_hr = who("pd_civil"), who("pd_hr")
    jsh_forestry, jsh_civil = who("jsh_forestry"), who("jsh_civil")

    def ask(caller: Principal, code: str, purpose: str, **kw: Any) -> SharingRequest:
        return sharing.submit_request(
            session, actor=caller, data=RequestCreate(resource_code=code, purpose=purpose, **kw)
        )

    # Granted after approval: civil affairs checks residents of one township for minimum-living-allowance
    # reviews.
    r1 = ask(
        nh_civil,
        "A01-410527-0001",
        "低保对象家庭成员身份核对（城关镇年度复核）",
        legal_basis="《社会救助暂行办法》第十一条",
        fields=["id_number", "name", "gender", "phone", "village_code"],
        row_filter_division="410527100",
    )
    sharing.decide(session, actor=nh_police, request_id=r1.id, action="accept")
    sharing.decide(session, actor=nh_police, request_id=r1.id, action="approve", reason="符合共享条件")
    backdate(r1, 20, decided_after_hours=30)
    # Auto-granted unconditional request (same level) and one across regions.
    r2 = ask(nh_hr, "A02-410527-0001", "核验参保单位的登记状态")
    backdate(r2, 15, decided_after_hours=0.01)
    r3 = ask(pd_hr, "A03-430611-0001", "湿地碳汇项目的跨区域对标分析")
    backdate(r3, 9, decided_after_hours=0.01)
    # Refused with reasons.
    r4 = ask(
        nh_civil,
        "B01-410527-0001",
        "了解参保情况",
        fields=["id_number", "name", "monthly_base"],
        legal_basis="工作需要",
    )
    sharing.decide(
        session,
        actor=nh_hr,
        request_id=r4.id,
        action="refuse",
        reason="缴费基数不属于救助审核所需字段，不符合最小必要原则；请去掉 monthly_base 后重新申请",
    )
    backdate(r4, 12, decided_after_hours=52)
    # Pending check, within deadline.
    ask(
        jsh_civil,
        "A01-430611-0001",
        "特困人员身份核验",
        mode="verify",
        fields=["id_number", "name"],
        legal_basis="《特困人员认定办法》第十六条",
    )
    # Pending approval and overdue (the level above sees it).
    r6 = ask(
        pd_civil,
        "A01-140321-0001",
        "临时救助对象户籍核对",
        fields=["id_number", "name", "village_code"],
        legal_basis="《社会救助暂行办法》第四十八条",
    )
    sharing.decide(session, actor=who("pd_police"), request_id=r6.id, action="accept")
    backdate(r6, 14)
    # Pending check and overdue.
    r7 = ask(
        nh_civil, "C02-410527-0001", "新生儿落户与救助衔接", fields=["cert_no", "born_on", "village_code"]
    )
    backdate(r7, 10)
    # 不予共享 with a cited legal basis: routed to the data management bureau.
    ask(
        nh_civil,
        "C01-410527-0001",
        "困难企业职工救助的纳税状况核对",
        legal_basis="《社会救助暂行办法》第五十九条（有关单位应当如实提供）",
        fields=["credit_code", "period"],
    )
    # Withdrawn.
    r9 = ask(jsh_forestry, "B02-430611-0001", "湿地周边部件巡查")
    if r9.status == "granted":
        r9b = ask(jsh_forestry, "B03-430611-0001", "湿地周边低保户走访", fields=["village_code", "category"])
        sharing.withdraw(session, actor=jsh_forestry, request_id=r9b.id)
    # A grant that was revoked.
    r10 = ask(
        pd_hr,
        "A01-140321-0001",
        "养老保险待遇资格认证",
        fields=["id_number", "name"],
        legal_basis="《社会保险法》第七十五条",
    )
    pd_police = who("pd_police")
    sharing.decide(session, actor=pd_police, request_id=r10.id, action="approve", reason="同意")
    backdate(r10, 30, decided_after_hours=70)
    g10 = grants.grant_for_request(session, request_id=r10.id)
    if g10 is None:  # approve always creates the grant
        raise RuntimeError("demo: the approved request has no grant")
    gateway.read_records(session, actor=pd_hr, code="A01-140321-0001", limit=20, purpose="资格认证抽查")
    grants.revoke_grant(
        session, actor=pd_police, grant_id=g10.id, reason="认证工作已结束，按最小必要原则收回"
    )
    # Gateway calls through live grants.
    for _ in range(3):
        gateway.read_records(session, actor=nh_civil, code="A01-410527-0001", limit=50, purpose="低保复核")
    gateway.read_records(session, actor=nh_hr, code="A02-410527-0001", limit=100)
    gateway.read_records(session, actor=pd_hr, code="A03-430611-0001", limit=80)
    ctx.printed.append(
        "数据共享 exchange: /exchange (catalog), /exchange/requests, /exchange/matrix; CKAN at /ckan; "
        "DCAT at /catalog.ttl and /catalog.jsonld. Try nh_hr (requests A01-410527-0001), nh_police (approves "
        "it), nh_civil (already holds a grant on it: 我的授权 -> 查看授权数据)."
    )
