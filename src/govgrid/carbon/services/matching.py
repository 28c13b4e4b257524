"""Batch matching and payment records (批量撮合、批量付款登记): many buyers' orders, or many payment records,
in one transaction, under exactly the per-order rules.

``match_orders`` takes the orders of listed sales and agreement transfers (a bid on a one-way bidding waits
for the close and goes through ``market.place_order``): the listings are read and locked with one query
(``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite has one writer at a time), every order is checked against
its listing as the earlier orders of the batch left it (``market.check_order``: closed, own listing,
agreement counterparty, price below the listing; sold out), filled in part when fewer tonnes remain, and the
orders, trades and listings' remaining tonnes are written with one executemany each. The listing update is
guarded (``WHERE remaining = <as read>``) and its row count checked, so a batch never takes tonnes another
writer took. Surveillance runs on the matches in order (``surveillance.check_matches``); one audit record and
one log line per order, as ``place_order`` writes. A refused order is reported in its outcome and writes
nothing; the tonnes stay reserved until the clearing run delivers them (``clearing.settle_trades``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from govgrid.carbon.enums import ListingMode, ListingStatus, OrderStatus, TradeStatus, require_move
from govgrid.carbon.models import CarbonAccount, MarketListing, MarketMember, MarketOrder, MarketTrade
from govgrid.carbon.services import access, clearing, market, settlement, surveillance, traders
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.errors import AppError, ConflictError, ForbiddenError, NotFoundError

log = logging.getLogger(__name__)

_L: Table = MarketListing.__table__  # type: ignore[assignment]
_O: Table = MarketOrder.__table__  # type: ignore[assignment]
_T: Table = MarketTrade.__table__  # type: ignore[assignment]
# every column an order row is written with but its time: two rows equal in all of them are the same order
_ORDER_KEY = (
    "listing_id",
    "account_id",
    "quantity",
    "price",
    "filled",
    "status",
    "disclose_buyer",
    "created_by",
)
_TAKE = (
    update(_L)
    .where(
        _L.c.id == bindparam("l_id"),
        _L.c.status == ListingStatus.open.value,
        _L.c.remaining == bindparam("l_was"),
    )
    .values(remaining=bindparam("l_left"), status=bindparam("l_status"), closed_at=bindparam("l_closed"))
)
_PAY = (
    update(_T)
    .where(_T.c.id == bindparam("t_id"), _T.c.status == TradeStatus.awaiting_payment.value)
    .values(status=TradeStatus.paid.value, payment_ref=bindparam("t_ref"), paid_at=bindparam("t_at"))
)


@dataclass(frozen=True)
class OrderTicket:
    """One buyer's order in a batch."""

    actor: Principal
    listing_id: int
    quantity: int
    price: Any
    disclose_buyer: bool = False


@dataclass(frozen=True)
class PaymentTicket:
    """One buyer's payment record (付款凭证) in a batch."""

    actor: Principal
    trade_id: int
    payment_ref: str


def _buyer_accounts(session: Session, tickets: Sequence[OrderTicket]) -> dict[Any, CarbonAccount | AppError]:
    """The account each distinct actor trades with (trader bindings read with one query)."""
    user_ids = {t.actor.id for t in tickets if t.actor.kind == "user"}
    bound = dict(
        session.execute(
            select(MarketMember.user_id, CarbonAccount)
            .join(CarbonAccount, CarbonAccount.id == MarketMember.account_id)
            .where(MarketMember.user_id.in_(user_ids))
        ).all()
    )
    out: dict[Any, CarbonAccount | AppError] = {}
    for t in tickets:
        key = t.actor.audit_identity
        if key in out:
            continue
        account = bound.get(t.actor.id) if t.actor.kind == "user" else None
        if account is None:
            try:
                account = traders.trader_account(session, actor=t.actor)
            except AppError as exc:
                out[key] = exc
                continue
        out[key] = account
    return out


def match_orders(
    session: Session, *, tickets: Sequence[OrderTicket], now: datetime | None = None
) -> list[clearing.Outcome]:
    """Match many orders on listed sales and agreement transfers in one transaction; one outcome each."""
    now = now or utcnow()
    outcomes = [clearing.Outcome(i) for i in range(len(tickets))]
    if not tickets:
        return outcomes
    buyers = _buyer_accounts(session, tickets)
    session.flush()
    conn = session.connection()
    listings = {
        r["id"]: dict(r)
        for r in conn.execute(
            select(_L).where(_L.c.id.in_({t.listing_id for t in tickets})).with_for_update()
        ).mappings()
    }
    was = {lid: r["remaining"] for lid, r in listings.items()}
    orders: list[dict[str, Any]] = []
    matched: list[tuple[clearing.Outcome, OrderTicket, dict[str, Any]]] = []
    for o, t in zip(outcomes, tickets, strict=True):
        try:
            qty = market.parse_quantity(t.quantity)
            unit = market.parse_price(t.price)
            buyer = buyers[t.actor.audit_identity]
            if isinstance(buyer, AppError):
                raise buyer
            lst = listings.get(t.listing_id)
            if lst is None:
                raise NotFoundError(f"挂牌 {t.listing_id} 不存在 (no listing {t.listing_id})")
            market.check_order(
                status=lst["status"],
                mode=lst["mode"],
                seller_account_id=lst["account_id"],
                counterparty_account_id=lst["counterparty_account_id"],
                floor=lst["price"],
                buyer_account_id=buyer.id,
                price=unit,
            )
            if lst["mode"] == ListingMode.bidding:
                raise ConflictError(
                    "单向竞价请逐笔出价，截止后统一成交 (a bid on a bidding is placed on its own)",
                    code="bidding_not_batched",
                )
            fill = min(qty, lst["remaining"])
            if fill == 0:
                raise market.sold_out()
        except AppError as exc:
            o.error = exc
            continue
        lst["remaining"] -= fill
        if lst["remaining"] == 0:
            lst["status"], lst["closed_at"] = ListingStatus.closed.value, now
        o.filled = fill
        orders.append(
            {
                "listing_id": lst["id"],
                "account_id": buyer.id,
                "quantity": qty,
                "price": unit,
                "filled": fill,
                "status": (OrderStatus.filled if fill == qty else OrderStatus.partially_filled).value,
                "disclose_buyer": t.disclose_buyer,
                "created_by": access.holder_name(t.actor),
                "created_at": now,
            }
        )
        matched.append((o, t, lst))
    if not matched:
        return outcomes
    changed = [lid for lid, r in listings.items() if r["remaining"] != was[lid]]
    done = conn.execute(
        _TAKE,
        [
            {
                "l_id": lid,
                "l_was": was[lid],
                "l_left": listings[lid]["remaining"],
                "l_status": listings[lid]["status"],
                "l_closed": listings[lid]["closed_at"],
            }
            for lid in changed
        ],
    )
    if conn.dialect.supports_sane_multi_rowcount and done.rowcount != len(changed):
        raise ConflictError("挂牌余量已被其他订单占用，请重试 (another writer took the tonnes; retry)")
    order_ids = clearing.insert_ids(conn, _O, orders, _ORDER_KEY)
    trades = [
        {
            "listing_id": lst["id"],
            "order_id": order_id,
            "project_id": lst["project_id"],
            "division_code": lst["division_code"],
            "seller_account_id": lst["account_id"],
            "buyer_account_id": row["account_id"],
            "vintage_start": lst["vintage_start"],
            "vintage_end": lst["vintage_end"],
            "mode": lst["mode"],
            "quantity": row["filled"],
            "price": lst["price"],
            "amount": settlement.money(lst["price"] * row["filled"]),
            "fee": settlement.money(settlement.money(lst["price"] * row["filled"]) * settlement.FEE_RATE),
            "status": TradeStatus.awaiting_payment.value,
            "disclose_buyer": row["disclose_buyer"],
            "pay_by": now + settlement.PAYMENT_WINDOW,
            "created_at": now,
        }
        for (_, _, lst), order_id, row in zip(matched, order_ids, orders, strict=True)
    ]
    trade_ids = clearing.insert_ids(conn, _T, trades, ("order_id",))
    checks = []
    for (o, t, _), order_id, trade_id, tr in zip(matched, order_ids, trade_ids, trades, strict=True):
        o.order_id, o.trade_id = order_id, trade_id
        checks.append(
            (
                t.actor,
                surveillance.Match(
                    trade_id,
                    tr["project_id"],
                    tr["division_code"],
                    tr["seller_account_id"],
                    tr["buyer_account_id"],
                    Decimal(tr["price"]),
                    tr["quantity"],
                    now,
                ),
            )
        )
    surveillance.check_matches(session, matches=checks)
    entries = []
    for (o, t, lst), row in zip(matched, orders, strict=True):
        buyer = buyers[t.actor.audit_identity]
        entries.append(
            {
                "actor": t.actor,
                "action": "carbon.market_order",
                "entity_type": "carbon_market_order",
                "entity_id": o.order_id,
                "division_code": lst["division_code"],
                "department_id": buyer.department_id if isinstance(buyer, CarbonAccount) else None,
                "detail": {
                    "listing_id": lst["id"],
                    "quantity": row["quantity"],
                    "price": str(row["price"]),
                    "filled": o.filled,
                },
            }
        )
        log.info(
            "carbon trade matched",
            extra={
                "trade_id": o.trade_id,
                "listing_id": lst["id"],
                "order_id": o.order_id,
                "quantity": o.filled,
            },
        )
        log.info(
            "carbon order placed",
            extra={
                "order_id": o.order_id,
                "listing_id": lst["id"],
                "filled": o.filled,
                "status": row["status"],
            },
        )
    clearing.record_all(session, entries)
    clearing.expire_loaded(session)
    return outcomes


def record_payments(session: Session, *, tickets: Sequence[PaymentTicket]) -> list[clearing.Outcome]:
    """Many buyers' payment records in one transaction (credits move only when the agent confirms them)."""
    outcomes = [clearing.Outcome(i, trade_id=t.trade_id) for i, t in enumerate(tickets)]
    if not tickets:
        return outcomes
    session.flush()
    conn = session.connection()
    trades = {
        r["id"]: r
        for r in conn.execute(
            select(_T).where(_T.c.id.in_({t.trade_id for t in tickets})).with_for_update()
        ).mappings()
    }
    accounts = {
        a.id: a
        for a in session.scalars(
            select(CarbonAccount).where(
                CarbonAccount.id.in_({r["buyer_account_id"] for r in trades.values()})
            )
        )
    }
    allowed = traders.operable_by(session, actors=[t.actor for t in tickets], accounts=accounts.values())
    now = utcnow()
    paid: dict[int, tuple[PaymentTicket, str]] = {}
    late: list[clearing.Outcome] = []
    for o, t in zip(outcomes, tickets, strict=True):
        try:
            ref = settlement.payment_reference(t.payment_ref)
            tr = trades.get(t.trade_id)
            if tr is None:
                raise NotFoundError(f"成交记录 {t.trade_id} 不存在 (no trade {t.trade_id})")
            if tr["buyer_account_id"] not in allowed[t.actor.audit_identity]:
                raise ForbiddenError(
                    "您不是该账户的交易员，不能以该账户交易 (you may not trade for this account)",
                    code="not_trader",
                )
            if t.trade_id in paid:
                raise ConflictError("同一成交在本批次中重复 (the trade appears twice in the batch)")
            if tr["status"] == TradeStatus.awaiting_payment and tr["pay_by"] < now:
                late.append(o)
                continue
            require_move(
                tr["status"],
                TradeStatus.paid,
                message=f"该成交当前状态不能付款（{tr['status']}）(cannot pay now)",
            )
        except AppError as exc:
            o.error = exc
            continue
        paid[t.trade_id] = (t, ref)
    if paid:
        done = conn.execute(
            _PAY, [{"t_id": tid, "t_ref": ref, "t_at": now} for tid, (_, ref) in paid.items()]
        )
        if conn.dialect.supports_sane_multi_rowcount and done.rowcount != len(paid):
            raise ConflictError("成交状态已被其他操作改变，请重试 (a trade changed meanwhile; retry)")
    clearing.record_all(
        session,
        [
            {
                "actor": t.actor,
                "action": "carbon.market_pay",
                "entity_type": "carbon_market_trade",
                "entity_id": tid,
                "division_code": trades[tid]["division_code"],
                "detail": {"amount": str(trades[tid]["amount"]), "payment_ref": ref},
            }
            for tid, (t, ref) in paid.items()
        ],
    )
    for tid in paid:
        log.info("carbon trade paid", extra={"trade_id": tid})
    clearing.expire_loaded(session)
    for o in late:  # the window closed: expire through the per-trade path (releases the reservation)
        o.error = settlement.expire_late(session, actor=tickets[o.index].actor, trade_id=o.trade_id or 0)
    return outcomes
