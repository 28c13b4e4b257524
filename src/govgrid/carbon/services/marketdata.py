"""Market reads (碳汇交易行情与账户): open listings, the public tape, price history and volume per project and
vintage, a trader's listings, orders, trades, holdings and certificates, the settlement queue."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from govgrid.carbon.enums import (
    CreditStatus,
    ListingStatus,
    TradeStatus,
)
from govgrid.carbon.models import (
    CarbonAccount,
    CarbonProject,
    CreditBlock,
    MarketCertificate,
    MarketListing,
    MarketOrder,
    MarketTrade,
)
from govgrid.carbon.services import access, settlement, traders
from govgrid.core.audit import service as audit
from govgrid.core.authz.principal import Principal
from govgrid.core.divisions.models import Division
from govgrid.core.errors import NotFoundError, ValidationFailedError
from govgrid.core.workdays import SHANGHAI

log = logging.getLogger(__name__)


def get_listing(session: Session, *, listing_id: int) -> MarketListing:
    """One listing (public)."""
    listing = session.get(MarketListing, listing_id)
    if listing is None:
        raise NotFoundError(f"挂牌 {listing_id} 不存在 (no listing {listing_id})")
    return listing


def open_listings(session: Session, *, limit: int = 200, offset: int = 0) -> list[MarketListing]:
    """Open listings, newest first (public: no holder identity beyond the project)."""
    stmt = (
        select(MarketListing)
        .where(MarketListing.status == ListingStatus.open)
        .order_by(MarketListing.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(stmt))


def public_trades(session: Session, *, limit: int = 200, offset: int = 0) -> list[MarketTrade]:
    """Settled trades, newest first (the public tape)."""
    stmt: Select[Any] = (
        select(MarketTrade)
        .where(MarketTrade.status == TradeStatus.settled)
        .order_by(MarketTrade.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(stmt))


def price_history(session: Session, *, project_id: int | None = None) -> list[dict[str, Any]]:
    """Per project, vintage and day (Asia/Shanghai): trades, volume, amount, VWAP, high and low (settled)."""
    stmt = select(MarketTrade).where(MarketTrade.status == TradeStatus.settled).order_by(MarketTrade.id)
    if project_id is not None:
        stmt = stmt.where(MarketTrade.project_id == project_id)
    days: dict[tuple[str, str, str], dict[str, Any]] = {}
    for t in session.scalars(stmt):
        day = t.created_at.astimezone(SHANGHAI).date().isoformat()
        key = (t.project.code, f"{t.vintage_start}-{t.vintage_end}", day)
        row = days.setdefault(
            key,
            {
                "project": key[0],
                "vintage": key[1],
                "day": day,
                "trades": 0,
                "volume": 0,
                "amount": Decimal(0),
                "high": t.price,
                "low": t.price,
            },
        )
        row["trades"] += 1
        row["volume"] += t.quantity
        row["amount"] += t.amount
        row["high"] = max(row["high"], t.price)
        row["low"] = min(row["low"], t.price)
    for row in days.values():
        row["vwap"] = settlement.money(row["amount"] / row["volume"])
    return sorted(days.values(), key=lambda r: (r["day"], r["project"], r["vintage"]), reverse=True)


def my_orders(session: Session, *, actor: Principal) -> list[MarketOrder]:
    """The caller's account's orders and bids, newest first."""
    account = traders.trader_account(session, actor=actor)
    return list(
        session.scalars(
            select(MarketOrder).where(MarketOrder.account_id == account.id).order_by(MarketOrder.id.desc())
        )
    )


def my_trades(session: Session, *, actor: Principal) -> list[MarketTrade]:
    """Trades where the caller's account bought or sold, newest first."""
    account = traders.trader_account(session, actor=actor)
    return list(
        session.scalars(
            select(MarketTrade)
            .where(
                (MarketTrade.buyer_account_id == account.id) | (MarketTrade.seller_account_id == account.id)
            )
            .order_by(MarketTrade.id.desc())
        )
    )


def my_listings(session: Session, *, actor: Principal) -> list[MarketListing]:
    """The caller's account's listings, newest first."""
    account = traders.trader_account(session, actor=actor)
    return list(
        session.scalars(
            select(MarketListing)
            .where(MarketListing.account_id == account.id)
            .order_by(MarketListing.id.desc())
        )
    )


def get_trade(session: Session, *, actor: Principal, trade_id: int) -> MarketTrade:
    """A trade seen by one of its parties or a supervisor of its division."""
    trade = session.get(MarketTrade, trade_id)
    if trade is None:
        raise NotFoundError(f"成交记录 {trade_id} 不存在 (no trade {trade_id})")
    if not (
        traders.is_trader(session, actor=actor, account=trade.buyer)
        or traders.is_trader(session, actor=actor, account=trade.seller)
    ):
        traders.require_supervisor(actor, access.division_path(session, trade.division_code))
    audit.record(
        session,
        actor=actor,
        action="carbon.market_trade_read",
        entity_type="carbon_market_trade",
        entity_id=trade.id,
        division_code=trade.division_code,
    )
    return trade


def settlement_queue(session: Session, *, principal: Principal) -> list[MarketTrade]:
    """Paid trades waiting for the settlement agent, in the divisions the caller supervises."""
    return list(
        session.scalars(
            select(MarketTrade)
            .join(Division, Division.code == MarketTrade.division_code)
            .where(MarketTrade.status == TradeStatus.paid, traders.supervised(principal))
            .order_by(MarketTrade.id)
        )
    )


def holdings(session: Session, *, actor: Principal) -> dict[str, Any]:
    """The caller's trading account with its tradeable, reserved and retired tonnes."""
    account = traders.trader_account(session, actor=actor)
    rows = dict(
        session.execute(
            select(CreditBlock.status, func.coalesce(func.sum(CreditBlock.quantity), 0))
            .where(CreditBlock.account_id == account.id)
            .group_by(CreditBlock.status)
        ).all()
    )
    return {"account": account, "by_status": {k: int(v) for k, v in rows.items()}}


def tradeable(session: Session, *, actor: Principal) -> list[dict[str, Any]]:
    """The caller's active tonnes per project and vintage: what it may list."""
    account = traders.trader_account(session, actor=actor)
    stmt = (
        select(
            CarbonProject.id,
            CarbonProject.code,
            CarbonProject.name,
            CreditBlock.vintage_start,
            CreditBlock.vintage_end,
            func.sum(CreditBlock.quantity),
        )
        .join(CarbonProject, CarbonProject.id == CreditBlock.project_id)
        .where(CreditBlock.account_id == account.id, CreditBlock.status == CreditStatus.active)
        .group_by(
            CarbonProject.id,
            CarbonProject.code,
            CarbonProject.name,
            CreditBlock.vintage_start,
            CreditBlock.vintage_end,
        )
        .order_by(CarbonProject.code, CreditBlock.vintage_start)
    )
    return [
        {
            "project_id": pid,
            "code": code,
            "name": name,
            "vintage_start": vs,
            "vintage_end": ve,
            "quantity": int(q),
        }
        for pid, code, name, vs, ve, q in session.execute(stmt)
    ]


def account_id_by_number(session: Session, *, number: str) -> int:
    """An account's id from its printed number (CA-000123); 422 naming the counterparty if unknown."""
    found = session.scalar(select(CarbonAccount.id).where(CarbonAccount.number == number))
    if found is None:
        raise ValidationFailedError(
            "受让方账户号不存在 (unknown account)",
            details=[{"loc": ["counterparty_account_id"], "msg": f"no account {number}"}],
        )
    return int(found)


def certificates_by_trade(session: Session, *, trade_ids: list[int]) -> dict[int, list[MarketCertificate]]:
    """Retirement certificates of the given trades, by trade id."""
    out: dict[int, list[MarketCertificate]] = {}
    if not trade_ids:
        return out
    for c in session.scalars(
        select(MarketCertificate)
        .where(MarketCertificate.trade_id.in_(trade_ids))
        .order_by(MarketCertificate.id)
    ):
        out.setdefault(c.trade_id, []).append(c)
    return out
