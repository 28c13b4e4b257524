"""Benefit sharing (收益分配): each settled sale's net revenue split by the project's configured shares
(village collectives 村集体经济组织, the wetland protection fund 湿地保护基金, the project developer
项目业主), a ledger per beneficiary and a public summary per project.

Shares are basis points summing to 10000; a project without configured shares pays its developer (the
proponent department) in full. Amounts are split to the cent by largest remainder, so the entries of a trade
always add up to its net revenue exactly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from govgrid.carbon.models import BenefitEntry, BenefitShare, CarbonProject, MarketTrade
from govgrid.carbon.services import access
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz import policy
from govgrid.core.errors import ForbiddenError, NotFoundError, ValidationFailedError

log = logging.getLogger(__name__)

KINDS = ("village_collective", "protection_fund", "developer", "other")
KIND_LABELS = {
    "village_collective": "村集体经济组织",
    "protection_fund": "湿地保护基金",
    "developer": "项目业主",
    "other": "其他",
}
FULL = 10000


@dataclass(frozen=True)
class Share:
    """One configured share: who, what kind, basis points."""

    kind: str
    name: str
    share_bp: int


def _project(session: Session, project_id: int) -> CarbonProject:
    project = session.get(CarbonProject, project_id)
    if project is None:
        raise NotFoundError(f"项目 {project_id} 不存在 (no project {project_id})")
    return project


def set_shares(session: Session, *, actor: Actor, project_id: int, shares: list[Share]) -> list[BenefitShare]:
    """Replace a project's shares (its proponent or the registry administrator); they must total 100 %."""
    project = _project(session, project_id)
    p = access.principal_of(actor)
    if p is not None and not (
        policy.can_act(session, p, project.department_id, access.PROPONENT_ROLES)
        or access.is_registry_admin(p, access.division_path(session, project.division_code))
    ):
        raise ForbiddenError(
            "只有项目业主或登记簿管理员可以设置收益分配 "
            "(only the proponent or the registry administrator sets the shares)"
        )
    problems = []
    for i, s in enumerate(shares):
        if s.kind not in KINDS:
            problems.append({"loc": ["shares", i, "kind"], "msg": f"one of {', '.join(KINDS)}"})
        if not s.name.strip() or len(s.name) > 200:
            problems.append({"loc": ["shares", i, "name"], "msg": "1-200 characters"})
        if not 0 < s.share_bp <= FULL:
            problems.append({"loc": ["shares", i, "share_bp"], "msg": "1-10000 basis points"})
    if len({s.name.strip() for s in shares}) != len(shares):
        problems.append({"loc": ["shares"], "msg": "each beneficiary once"})
    if sum(s.share_bp for s in shares) != FULL:
        problems.append(
            {"loc": ["shares"], "msg": f"total {sum(s.share_bp for s in shares)} bp, must be 10000"}
        )
    if problems:
        raise ValidationFailedError(
            "分配比例须为正、受益方不重复且合计 100% (shares must be positive, distinct and total 100 %)",
            details=problems,
        )
    session.execute(delete(BenefitShare).where(BenefitShare.project_id == project.id))
    rows = [
        BenefitShare(
            project_id=project.id,
            kind=s.kind,
            name=s.name.strip(),
            share_bp=s.share_bp,
            created_by=access.holder_name(actor),
        )
        for s in shares
    ]
    session.add_all(rows)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="carbon.benefit_shares",
        entity_type="carbon_project",
        entity_id=project.id,
        division_code=project.division_code,
        department_id=project.department_id,
        detail={"shares": [[s.kind, s.name, s.share_bp] for s in shares]},
    )
    log.info("carbon benefit shares set", extra={"project_id": project.id, "count": len(rows)})
    return rows


def shares_of(session: Session, *, project_id: int) -> list[Share]:
    """A project's configured shares (its developer in full when none are configured)."""
    rows = session.scalars(
        select(BenefitShare).where(BenefitShare.project_id == project_id).order_by(BenefitShare.id)
    ).all()
    if rows:
        return [Share(r.kind, r.name, r.share_bp) for r in rows]
    project = _project(session, project_id)
    return [Share("developer", project.department.name, FULL)]


def split_amount(net: Decimal, shares: list[Share]) -> list[Decimal]:
    """Split ``net`` (two decimals) by basis points to the cent; largest remainders get the leftover cents."""
    cents = int((net * 100).to_integral_value())
    raw = [cents * s.share_bp for s in shares]
    base = [r // FULL for r in raw]
    left = cents - sum(base)
    order = sorted(range(len(shares)), key=lambda i: (-(raw[i] % FULL), i))
    for i in order[:left]:
        base[i] += 1
    return [Decimal(c) / 100 for c in base]


def split_revenue(session: Session, *, trade: MarketTrade) -> list[BenefitEntry]:
    """Write the ledger entries of one settled trade: its amount less the fee, by the project's shares."""
    shares = shares_of(session, project_id=trade.project_id)
    net = trade.amount - trade.fee
    entries = [
        BenefitEntry(
            trade_id=trade.id,
            project_id=trade.project_id,
            kind=s.kind,
            name=s.name,
            share_bp=s.share_bp,
            amount=amount,
        )
        for s, amount in zip(shares, split_amount(net, shares), strict=True)
    ]
    session.add_all(entries)
    session.flush()
    return entries


def trade_entries(session: Session, *, trade_id: int) -> list[BenefitEntry]:
    """The ledger entries of one trade."""
    return list(
        session.scalars(
            select(BenefitEntry).where(BenefitEntry.trade_id == trade_id).order_by(BenefitEntry.id)
        )
    )


def ledger(session: Session, *, name: str, limit: int = 200) -> list[BenefitEntry]:
    """One beneficiary's ledger (public: beneficiaries are collectives, funds and departments)."""
    return list(
        session.scalars(
            select(BenefitEntry)
            .where(BenefitEntry.name == name)
            .order_by(BenefitEntry.id.desc())
            .limit(limit)
        )
    )


def public_summary(session: Session) -> list[dict[str, Any]]:
    """Per project and beneficiary: kind, number of trades, total received (public)."""
    stmt = (
        select(
            CarbonProject.id,
            CarbonProject.code,
            CarbonProject.name,
            BenefitEntry.kind,
            BenefitEntry.name,
            func.count(BenefitEntry.id),
            func.coalesce(func.sum(BenefitEntry.amount), 0),
        )
        .join(CarbonProject, CarbonProject.id == BenefitEntry.project_id)
        .group_by(
            CarbonProject.id, CarbonProject.code, CarbonProject.name, BenefitEntry.kind, BenefitEntry.name
        )
        .order_by(CarbonProject.code, BenefitEntry.name)
    )
    out: dict[int, dict[str, Any]] = {}
    for pid, code, pname, kind, bname, count, total in session.execute(stmt):
        proj = out.setdefault(
            pid, {"project_id": pid, "code": code, "name": pname, "total": Decimal(0), "beneficiaries": []}
        )
        amount = Decimal(total).quantize(Decimal("0.01"))
        proj["beneficiaries"].append(
            {
                "kind": kind,
                "kind_label": KIND_LABELS.get(kind, kind),
                "name": bname,
                "trades": count,
                "amount": amount,
            }
        )
        proj["total"] += amount
    return list(out.values())
