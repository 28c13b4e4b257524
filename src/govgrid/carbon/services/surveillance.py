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
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from govgrid.carbon.enums import FlagKind, FlagStatus, TradeStatus, require_move
from govgrid.carbon.models import CarbonAccount, MarketFlag, MarketTrade
from govgrid.carbon.services import access, traders
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
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


@dataclass(frozen=True)
class Match:
    """What the checks read of a new trade (a row already written, in id order within a batch)."""

    trade_id: int
    project_id: int
    division_code: str
    seller_account_id: int
    buyer_account_id: int
    price: Decimal
    quantity: int
    created_at: datetime


@dataclass
class _ProjectState:
    """One project's recent band and buyer volumes, read once per batch and kept up to date in memory."""

    recent: deque[tuple[Decimal, int]]
    volumes: dict[int, int]
    flagged: set[int]


def _project_state(session: Session, project_id: int, before_id: int, since: datetime) -> _ProjectState:
    recent = session.execute(
        select(MarketTrade.price, MarketTrade.quantity)
        .where(
            MarketTrade.project_id == project_id,
            MarketTrade.id < before_id,
            MarketTrade.status.in_(LIVE),
        )
        .order_by(MarketTrade.id.desc())
        .limit(BAND_TRADES)
    ).all()
    rows = session.execute(
        select(MarketTrade.buyer_account_id, func.sum(MarketTrade.quantity))
        .where(
            MarketTrade.project_id == project_id,
            MarketTrade.id < before_id,
            MarketTrade.status.in_(LIVE),
            MarketTrade.created_at >= since,
        )
        .group_by(MarketTrade.buyer_account_id)
    ).all()
    flagged = session.scalars(
        select(MarketTrade.buyer_account_id)
        .join(MarketFlag, MarketTrade.id == MarketFlag.trade_id)
        .where(
            MarketFlag.kind == FlagKind.concentration,
            MarketFlag.status == FlagStatus.open,
            MarketFlag.project_id == project_id,
        )
    ).all()
    return _ProjectState(
        deque(((p, int(q)) for p, q in reversed(recent)), maxlen=BAND_TRADES),
        {b: int(q) for b, q in rows},
        set(flagged),
    )


def check_matches(session: Session, *, matches: Sequence[tuple[Actor, Match]]) -> list[int]:
    """Run the three checks on new matches (in id order; each sees the ones before it); returns flag ids."""
    if not matches:
        return []
    accounts = {
        a.id: a
        for a in session.scalars(
            select(CarbonAccount).where(
                CarbonAccount.id.in_(
                    {m.seller_account_id for _, m in matches} | {m.buyer_account_id for _, m in matches}
                )
            )
        )
    }
    states: dict[int, _ProjectState] = {}
    sellers = [accounts[i] for i in {m.seller_account_id for _, m in matches}]
    operators: dict[tuple[str, str | None, str | None], set[int]] | None = None
    rows: list[dict[str, Any]] = []
    for actor, m in matches:
        state = states.get(m.project_id)
        if state is None:
            since = m.created_at - timedelta(days=CONCENTRATION_DAYS)
            state = states[m.project_id] = _project_state(session, m.project_id, m.trade_id, since)
        seller, buyer = accounts[m.seller_account_id], accounts[m.buyer_account_id]
        same_name = _owner(seller) == _owner(buyer)
        same_operator = False
        if not same_name and access.principal_of(actor) is not None:
            if operators is None:
                operators = traders.operable_by(session, actors=[a for a, _ in matches], accounts=sellers)
            same_operator = seller.id in operators[actor.audit_identity]
        if same_name or same_operator:
            reason = "same_holder" if same_name else "same_operator"
            rows.append(_flag_row(m, FlagKind.wash_trade, {"reason": reason}))
        volume = sum(q for _, q in state.recent)
        if volume:
            vwap = sum((p * q for p, q in state.recent), Decimal(0)) / volume
            deviation = (m.price - vwap) / vwap
            if abs(deviation) > PRICE_BAND:
                detail = {"reference": str(vwap.quantize(Decimal("0.01"))), "deviation": f"{deviation:.1%}"}
                rows.append(_flag_row(m, FlagKind.price_outlier, detail))
        state.recent.append((m.price, m.quantity))
        state.volumes[m.buyer_account_id] = state.volumes.get(m.buyer_account_id, 0) + m.quantity
        total = sum(state.volumes.values())
        mine = state.volumes[m.buyer_account_id]
        if (
            total >= CONCENTRATION_MIN_T
            and Decimal(mine) / total > CONCENTRATION_SHARE
            and m.buyer_account_id not in state.flagged
        ):
            state.flagged.add(m.buyer_account_id)
            rows.append(
                _flag_row(m, FlagKind.concentration, {"share": f"{mine / total:.0%}", "volume": total})
            )
    if not rows:
        return []
    table: Table = MarketFlag.__table__  # type: ignore[assignment]
    found = {
        (trade_id, kind): flag_id
        for flag_id, trade_id, kind in session.connection().execute(
            insert(table).returning(table.c.id, table.c.trade_id, table.c.kind), rows
        )
    }
    ids = [found[(row["trade_id"], row["kind"])] for row in rows]
    for flag_id, row in zip(ids, rows, strict=True):
        log.info(
            "carbon market flag raised",
            extra={"flag_id": flag_id, "trade_id": row["trade_id"], "kind": row["kind"]},
        )
    return ids


def _flag_row(m: Match, kind: FlagKind, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "trade_id": m.trade_id,
        "project_id": m.project_id,
        "division_code": m.division_code,
        "kind": kind.value,
        "detail": detail,
        "status": FlagStatus.open.value,
        "created_at": utcnow(),
    }


def match_of(trade: MarketTrade) -> Match:
    """The checks' view of a trade row."""
    return Match(
        trade.id,
        trade.project_id,
        trade.division_code,
        trade.seller_account_id,
        trade.buyer_account_id,
        trade.price,
        trade.quantity,
        trade.created_at,
    )


def check_trade(session: Session, *, actor: Actor, trade: MarketTrade) -> list[MarketFlag]:
    """Run the three checks on one new match; returns the flags raised."""
    session.flush()
    ids = check_matches(session, matches=[(actor, match_of(trade))])
    if not ids:
        return []
    return list(session.scalars(select(MarketFlag).where(MarketFlag.id.in_(ids)).order_by(MarketFlag.id)))


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
