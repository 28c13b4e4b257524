"""The market (碳汇交易): listings (挂牌) in three modes, orders and matching with partial fills, one-way
bidding (单向竞价) closed at its closing time, and the public market data.

- ``listed`` (挂牌转让): a buyer takes tonnes at the seller's price (an order priced below it is refused);
- ``agreement`` (协议转让): the same, open to the one named counterparty account only;
- ``bidding`` (单向竞价): bids at or above the floor until ``closing_at``; at the close bids rank by price
  then time, the highest win, the last winner may be filled in part, each winner pays its own bid.

No double spend: an order locks its listing row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite has one
writer at a time) and takes its tonnes with a guarded ``UPDATE ... WHERE remaining >= n`` whose row count is
checked; the tonnes themselves are reserved blocks that only settlement moves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from govgrid.carbon.enums import (
    ListingMode,
    ListingStatus,
    OrderStatus,
    require_move,
)
from govgrid.carbon.models import (
    CarbonProject,
    MarketListing,
    MarketOrder,
    MarketTrade,
)
from govgrid.carbon.services import access, accounts, settlement, traders
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz.principal import Principal
from govgrid.core.db import rowcount, utcnow
from govgrid.core.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError

log = logging.getLogger(__name__)

MAX_QUANTITY = 10_000_000
MAX_PRICE = Decimal("100000")
MODE_LABELS = {
    ListingMode.listed: "挂牌转让",
    ListingMode.agreement: "协议转让",
    ListingMode.bidding: "单向竞价",
}


def _invalid(loc: str, msg: str, message: str) -> ValidationFailedError:
    return ValidationFailedError(message, details=[{"loc": [loc], "msg": msg}])


def parse_price(value: Any) -> Decimal:
    """A price in CNY per tonne: positive, at most two decimals (tick 0.01), below the ceiling."""
    try:
        price = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise _invalid("price", "a number", "价格须为数字 (price must be a number)") from None
    if not price.is_finite() or price <= 0 or price > MAX_PRICE or price != price.quantize(Decimal("0.01")):
        raise _invalid(
            "price",
            "0.01-100000, two decimals",
            "价格须为 0.01 至 100000 元/吨、最多两位小数 (price must be 0.01-100000 CNY/t, tick 0.01)",
        )
    return price.quantize(Decimal("0.01"))


def parse_quantity(value: int) -> int:
    """A quantity in whole tonnes: a positive integer up to the ceiling."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_QUANTITY:
        raise _invalid(
            "quantity", "1-10000000", "数量须为 1 至 10000000 吨的整数 (quantity must be 1-10000000 t)"
        )
    return value


def _locked_listing(session: Session, listing_id: int) -> MarketListing:
    listing = session.scalar(
        select(MarketListing)
        .where(MarketListing.id == listing_id)
        .with_for_update(of=MarketListing)
        .execution_options(populate_existing=True)
    )
    if listing is None:
        raise NotFoundError(f"挂牌 {listing_id} 不存在 (no listing {listing_id})")
    return listing


def create_listing(
    session: Session,
    *,
    actor: Principal,
    project_id: int,
    vintage_start: int,
    vintage_end: int,
    mode: str,
    quantity: int,
    price: Any,
    account_id: int | None = None,
    counterparty_account_id: int | None = None,
    closing_at: datetime | None = None,
) -> MarketListing:
    """A holder lists credits of one project and vintage; the tonnes are reserved at once."""
    if mode not in tuple(ListingMode):
        raise _invalid("mode", "listed|agreement|bidding", "交易方式须为挂牌、协议或竞价 (unknown mode)")
    kind = ListingMode(mode)
    qty = parse_quantity(quantity)
    unit = parse_price(price)
    if account_id is None:
        account = traders.trader_account(session, actor=actor)
    else:
        account = accounts.require_account(session, account_id=account_id, loc="account_id")
    traders.require_trader(session, actor=actor, account=account)
    project = session.get(CarbonProject, project_id)
    if project is None:
        raise _invalid("project_id", f"no project {project_id}", "项目不存在 (unknown project)")
    now = utcnow()
    if kind == ListingMode.agreement:
        if counterparty_account_id is None:
            raise _invalid(
                "counterparty_account_id", "required", "协议转让须指定受让方账户 (name the counterparty)"
            )
        other = accounts.require_account(
            session, account_id=counterparty_account_id, loc="counterparty_account_id"
        )
        if other.id == account.id:
            raise _invalid("counterparty_account_id", "another account", "受让方不能是本账户 (not yourself)")
    elif counterparty_account_id is not None:
        raise _invalid("counterparty_account_id", "agreement only", "只有协议转让指定受让方 (agreement only)")
    if kind == ListingMode.bidding:
        if closing_at is None or closing_at.tzinfo is None or closing_at <= now:
            raise _invalid(
                "closing_at",
                "an aware time in the future",
                "竞价须设置晚于现在的截止时间 (closing time in the future)",
            )
    elif closing_at is not None:
        raise _invalid("closing_at", "bidding only", "只有单向竞价设置截止时间 (bidding only)")
    listing = MarketListing(
        project_id=project.id,
        division_code=project.division_code,
        account_id=account.id,
        counterparty_account_id=counterparty_account_id,
        vintage_start=vintage_start,
        vintage_end=vintage_end,
        mode=kind,
        price=unit,
        quantity=qty,
        remaining=qty,
        closing_at=closing_at,
        status=ListingStatus.open,
        created_by=access.holder_name(actor),
        created_at=now,
    )
    session.add(listing)
    session.flush()
    settlement.reserve(session, actor=actor, listing=listing)
    audit.record(
        session,
        actor=actor,
        action="carbon.market_list",
        entity_type="carbon_market_listing",
        entity_id=listing.id,
        division_code=listing.division_code,
        department_id=account.department_id,
        detail={"mode": kind.value, "quantity": qty, "price": str(unit), "account": account.number},
    )
    log.info(
        "carbon listing opened", extra={"listing_id": listing.id, "account_id": account.id, "quantity": qty}
    )
    return listing


def cancel_listing(session: Session, *, actor: Principal, listing_id: int) -> MarketListing:
    """The seller withdraws a listing (撤牌): unsold tonnes are released, open bids cancelled."""
    listing = _locked_listing(session, listing_id)
    traders.require_trader(session, actor=actor, account=listing.account)
    require_move(
        listing.status, ListingStatus.cancelled, message="该挂牌已结束 (the listing is no longer open)"
    )
    settlement.release(session, actor=actor, listing=listing, quantity=listing.remaining)
    for bid in session.scalars(
        select(MarketOrder).where(
            MarketOrder.listing_id == listing.id, MarketOrder.status == OrderStatus.open
        )
    ):
        bid.status = OrderStatus.cancelled
    listing.remaining = 0
    listing.status = ListingStatus.cancelled
    listing.closed_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="carbon.market_cancel",
        entity_type="carbon_market_listing",
        entity_id=listing.id,
        division_code=listing.division_code,
    )
    log.info("carbon listing cancelled", extra={"listing_id": listing.id})
    return listing


def check_order(
    *,
    status: str,
    mode: str,
    seller_account_id: int,
    counterparty_account_id: int | None,
    floor: Decimal,
    buyer_account_id: int,
    price: Decimal,
) -> None:
    """The rules an order must pass against its (locked) listing; raises the refusal a buyer reads."""
    if status != ListingStatus.open:
        raise ConflictError("该挂牌已结束，不能下单 (the listing is closed)", code="listing_closed")
    if buyer_account_id == seller_account_id:
        raise ConflictError("不能购买本账户挂牌的碳汇 (you cannot buy your own listing)", code="own_listing")
    if mode == ListingMode.agreement and buyer_account_id != counterparty_account_id:
        raise ForbiddenError("协议转让仅限指定受让方 (this agreement transfer names another buyer)")
    if price < floor:
        what = "竞价底价" if mode == ListingMode.bidding else "挂牌价"
        raise ConflictError(
            f"报价 {price} 元/吨低于{what} {floor} 元/吨 (the price is below the listing's {floor})",
            code="price_below_listing",
        )


def sold_out() -> ConflictError:
    """The refusal of an order that finds no tonnes left."""
    return ConflictError("该挂牌已售罄 (sold out: no tonnes remain)", code="sold_out")


@dataclass
class OrderResult:
    """An order and the trade it matched (None for a bid waiting for the close)."""

    order: MarketOrder
    trade: MarketTrade | None


def place_order(
    session: Session,
    *,
    actor: Principal,
    listing_id: int,
    quantity: int,
    price: Any,
    disclose_buyer: bool = False,
    now: datetime | None = None,
) -> OrderResult:
    """A buyer's order: matched at once on a listed/agreement listing (in part if fewer tonnes remain), or
    a bid kept until the bidding closes. A refused order writes nothing."""
    qty = parse_quantity(quantity)
    unit = parse_price(price)
    now = now or utcnow()
    buyer = traders.trader_account(session, actor=actor)  # the caller's own account: no further check
    listing = _locked_listing(session, listing_id)
    check_order(
        status=listing.status,
        mode=listing.mode,
        seller_account_id=listing.account_id,
        counterparty_account_id=listing.counterparty_account_id,
        floor=listing.price,
        buyer_account_id=buyer.id,
        price=unit,
    )
    order = MarketOrder(
        listing_id=listing.id,
        account_id=buyer.id,
        quantity=qty,
        price=unit,
        filled=0,
        status=OrderStatus.open,
        disclose_buyer=disclose_buyer,
        created_by=access.holder_name(actor),
        created_at=now,
    )
    trade = None
    if listing.mode == ListingMode.bidding:
        if listing.closing_at is None or now >= listing.closing_at:
            raise ConflictError("竞价已截止，不能再出价 (the bidding has closed)", code="bidding_closed")
        if qty > listing.quantity:
            raise ConflictError(
                f"申报数量超过竞价总量 {listing.quantity} 吨 (more than the tonnes offered)", code="too_many"
            )
        session.add(order)
        session.flush()
    else:
        fill = min(qty, listing.remaining)
        if fill == 0:
            raise sold_out()
        done = session.execute(
            update(MarketListing)
            .where(
                MarketListing.id == listing.id,
                MarketListing.status == ListingStatus.open,
                MarketListing.remaining >= fill,
            )
            .values(remaining=MarketListing.remaining - fill)
            .execution_options(synchronize_session=False)
        )
        if rowcount(done) != 1:  # another order took the tonnes first: refuse, nothing written
            raise sold_out()
        # the row is locked and the guarded UPDATE took exactly `fill`: no need to read it back
        set_committed_value(listing, "remaining", listing.remaining - fill)
        if listing.remaining == 0:
            listing.status = ListingStatus.closed
            listing.closed_at = now
        order.filled = fill
        order.status = OrderStatus.filled if fill == qty else OrderStatus.partially_filled
        session.add(order)
        session.flush()
        trade = settlement.open_trade(
            session, actor=actor, listing=listing, order=order, quantity=fill, price=listing.price, now=now
        )
    audit.record(
        session,
        actor=actor,
        action="carbon.market_order",
        entity_type="carbon_market_order",
        entity_id=order.id,
        division_code=listing.division_code,
        department_id=buyer.department_id,
        detail={"listing_id": listing.id, "quantity": qty, "price": str(unit), "filled": order.filled},
    )
    log.info(
        "carbon order placed",
        extra={
            "order_id": order.id,
            "listing_id": listing.id,
            "filled": order.filled,
            "status": order.status,
        },
    )
    return OrderResult(order, trade)


def close_bidding(
    session: Session, *, actor: Actor, listing_id: int, now: datetime | None = None
) -> list[MarketTrade]:
    """Close a bidding after its closing time (the seller, the supervisor or the job): winners get trades."""
    now = now or utcnow()
    listing = _locked_listing(session, listing_id)
    if listing.mode != ListingMode.bidding:
        raise ConflictError("只有单向竞价需要截止 (only a bidding is closed)")
    if access.principal_of(actor) is not None and not traders.is_trader(
        session, actor=actor, account=listing.account
    ):
        traders.require_supervisor(actor, access.division_path(session, listing.division_code))
    require_move(listing.status, ListingStatus.closed, message="该竞价已结束 (the bidding is already over)")
    if listing.closing_at is not None and now < listing.closing_at:
        raise ConflictError(
            "竞价尚未到截止时间 (the bidding closes at its closing time, not before)", code="bidding_open"
        )
    bids = list(
        session.scalars(
            select(MarketOrder)
            .where(MarketOrder.listing_id == listing.id, MarketOrder.status == OrderStatus.open)
            .order_by(MarketOrder.price.desc(), MarketOrder.created_at, MarketOrder.id)
        )
    )
    left = listing.remaining
    trades = []
    for bid in bids:
        fill = min(bid.quantity, left)
        if fill == 0:
            bid.status = OrderStatus.lost
            continue
        bid.filled = fill
        bid.status = OrderStatus.filled if fill == bid.quantity else OrderStatus.partially_filled
        left -= fill
        session.flush()
        trades.append(
            settlement.open_trade(
                session, actor=actor, listing=listing, order=bid, quantity=fill, price=bid.price
            )
        )
    settlement.release(session, actor=actor, listing=listing, quantity=left)
    listing.remaining = 0
    listing.status = ListingStatus.closed
    listing.closed_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="carbon.market_close",
        entity_type="carbon_market_listing",
        entity_id=listing.id,
        division_code=listing.division_code,
        detail={"bids": len(bids), "trades": [t.id for t in trades], "unsold": left},
    )
    log.info("carbon bidding closed", extra={"listing_id": listing.id, "trade_ids": [t.id for t in trades]})
    return trades


def close_due_biddings(session: Session, *, actor: Actor, now: datetime | None = None) -> list[int]:
    """Close every bidding whose closing time has passed (the job); returns the listing ids."""
    now = now or utcnow()
    ids = list(
        session.scalars(
            select(MarketListing.id).where(
                MarketListing.mode == ListingMode.bidding,
                MarketListing.status == ListingStatus.open,
                MarketListing.closing_at <= now,
            )
        )
    )
    for listing_id in ids:
        close_bidding(session, actor=actor, listing_id=listing_id, now=now)
    return ids
