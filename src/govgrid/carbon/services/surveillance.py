"""Market surveillance (异常交易监控): every match is checked when it is made, and flags go to the supervisor.

- wash trade (对倒): the same beneficial owner on both sides: the same holder name on both accounts, or the
  person placing the order may also operate the seller's account;
- price outlier (价格偏离): more than ``PRICE_BAND`` from the volume-weighted price of the project's last
  ``BAND_TRADES`` matches;
- concentration (集中度): one buyer holding more than ``CONCENTRATION_SHARE`` of a project's matched volume in
  the last ``CONCENTRATION_DAYS`` days (at least ``CONCENTRATION_MIN_T`` tonnes traded), flagged once while
  open.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.carbon.enums import FlagKind, FlagStatus, TradeStatus, require_move
from govgrid.carbon.models import CarbonAccount, MarketFlag, MarketTrade
from govgrid.carbon.services import access, traders
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz.principal import Principal
from govgrid.core.divisions.models import Division
from govgrid.core.errors import NotFoundError, ValidationFailedError

log = logging.getLogger(__name__)

PRICE_BAND = Decimal("0.10")
BAND_TRADES = 20
CONCENTRATION_SHARE = Decimal("0.5")
CONCENTRATION_DAYS = 30
CONCENTRATION_MIN_T = 100
LIVE = (TradeStatus.awaiting_payment, TradeStatus.paid, TradeStatus.settled)
KIND_LABELS = {
    FlagKind.wash_trade: "对倒交易（同一实际控制人）",
    FlagKind.price_outlier: "价格偏离近期区间",
    FlagKind.concentration: "买方集中度过高",
}


def _owner(account: CarbonAccount) -> str:
    """The beneficial owner's key of an account: its holder's name without spaces."""
    return "".join(account.holder_name.split())


def _flag(session: Session, trade: MarketTrade, kind: FlagKind, detail: dict[str, Any]) -> MarketFlag:
    flag = MarketFlag(
        trade_id=trade.id,
        project_id=trade.project_id,
        division_code=trade.division_code,
        kind=kind,
        detail=detail,
        status=FlagStatus.open,
    )
    session.add(flag)
    session.flush()
    log.info(
        "carbon market flag raised", extra={"flag_id": flag.id, "trade_id": trade.id, "kind": kind.value}
    )
    return flag


def check_trade(session: Session, *, actor: Actor, trade: MarketTrade) -> list[MarketFlag]:
    """Run the three checks on a new match; returns the flags raised."""
    flags: list[MarketFlag] = []
    seller, buyer = trade.seller, trade.buyer  # already in the session (the caller loaded both accounts)
    same_name = _owner(seller) == _owner(buyer)
    if same_name or (
        access.principal_of(actor) is not None and traders.is_trader(session, actor=actor, account=seller)
    ):
        reason = "same_holder" if same_name else "same_operator"
        flags.append(_flag(session, trade, FlagKind.wash_trade, {"reason": reason}))
    recent = session.execute(
        select(MarketTrade.price, MarketTrade.quantity)
        .where(
            MarketTrade.project_id == trade.project_id,
            MarketTrade.id != trade.id,
            MarketTrade.status.in_(LIVE),
        )
        .order_by(MarketTrade.id.desc())
        .limit(BAND_TRADES)
    ).all()
    volume = sum(q for _, q in recent)
    if volume:
        vwap = sum((p * q for p, q in recent), Decimal(0)) / volume
        deviation = (trade.price - vwap) / vwap
        if abs(deviation) > PRICE_BAND:
            flags.append(
                _flag(
                    session,
                    trade,
                    FlagKind.price_outlier,
                    {"reference": str(vwap.quantize(Decimal("0.01"))), "deviation": f"{deviation:.1%}"},
                )
            )
    since = trade.created_at - timedelta(days=CONCENTRATION_DAYS)
    rows = session.execute(
        select(MarketTrade.buyer_account_id, func.sum(MarketTrade.quantity))
        .where(
            MarketTrade.project_id == trade.project_id,
            MarketTrade.status.in_(LIVE),
            MarketTrade.created_at >= since,
        )
        .group_by(MarketTrade.buyer_account_id)
    ).all()
    total = sum(int(q) for _, q in rows)
    mine = sum(int(q) for b, q in rows if b == trade.buyer_account_id)
    if total >= CONCENTRATION_MIN_T and Decimal(mine) / total > CONCENTRATION_SHARE:
        already = session.scalar(
            select(MarketFlag.id)
            .join(MarketTrade, MarketTrade.id == MarketFlag.trade_id)
            .where(
                MarketFlag.kind == FlagKind.concentration,
                MarketFlag.status == FlagStatus.open,
                MarketFlag.project_id == trade.project_id,
                MarketTrade.buyer_account_id == trade.buyer_account_id,
            )
            .limit(1)
        )
        if already is None:
            flags.append(
                _flag(
                    session, trade, FlagKind.concentration, {"share": f"{mine / total:.0%}", "volume": total}
                )
            )
    return flags


def list_flags(
    session: Session, *, principal: Principal, status: str | None = None, limit: int = 200
) -> list[MarketFlag]:
    """Flags in the divisions the caller supervises (newest first)."""
    stmt = (
        select(MarketFlag)
        .join(Division, Division.code == MarketFlag.division_code)
        .where(traders.supervised(principal))
        .order_by(MarketFlag.id.desc())
        .limit(limit)
    )
    if status is not None:
        stmt = stmt.where(MarketFlag.status == FlagStatus(status))
    rows = list(session.scalars(stmt))
    audit.record(
        session,
        actor=principal,
        action="carbon.market_flags_read",
        entity_type="carbon_market_flag",
        detail={"count": len(rows), "status": status},
    )
    return rows


def review_flag(session: Session, *, actor: Principal, flag_id: int, note: str) -> MarketFlag:
    """The supervisor closes a flag with a note (谈话提醒, 风险警示, or no finding)."""
    note = note.strip()
    if not note or len(note) > 2000:
        raise ValidationFailedError(
            "请填写处理意见（2000 字以内）(a note of at most 2000 characters is required)",
            details=[{"loc": ["note"], "msg": "1-2000 characters"}],
        )
    flag = session.get(MarketFlag, flag_id)
    if flag is None:
        raise NotFoundError(f"预警 {flag_id} 不存在 (no flag {flag_id})")
    traders.require_supervisor(actor, access.division_path(session, flag.division_code))
    require_move(flag.status, FlagStatus.reviewed, message="该预警已处理 (the flag was already reviewed)")
    flag.status = FlagStatus.reviewed
    flag.note = note
    flag.reviewed_by = access.holder_name(actor)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="carbon.market_flag_review",
        entity_type="carbon_market_flag",
        entity_id=flag.id,
        division_code=flag.division_code,
    )
    log.info("carbon market flag reviewed", extra={"flag_id": flag.id})
    return flag
