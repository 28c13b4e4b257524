"""Settlement (结算): reservations, delivery versus payment (货银对付), fees, retirement of purchased credits.

Credits offered in a listing are split out of their blocks and marked ``reserved`` (a reservation row ties
each block to its listing); nothing else can retire, transfer or sell them. A match opens a trade awaiting
payment; the credits move to the buyer only when the settlement agent confirms the payment record. A failed
or expired payment gives the tonnes back: to the listing while it is open, else to the seller.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.carbon.enums import (
    CreditStatus,
    ListingStatus,
    MovementKind,
    TradeStatus,
    require_move,
)
from govgrid.carbon.models import (
    CarbonAccount,
    CreditBlock,
    CreditMovement,
    MarketCertificate,
    MarketDelivery,
    MarketListing,
    MarketOrder,
    MarketReservation,
    MarketTrade,
)
from govgrid.carbon.serials import serial_label
from govgrid.carbon.services import access, clearing, credits, surveillance, traders
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.db import utcnow
from govgrid.core.errors import ConflictError, NotFoundError, ValidationFailedError

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
FEE_RATE = Decimal("0.005")  # 交易手续费 0.5 % of the amount, charged to the seller
PAYMENT_WINDOW = timedelta(hours=24)  # 付款期限


def money(value: Decimal) -> Decimal:
    """Round to the cent, half up (never float)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _movement(kind: MovementKind, b: CreditBlock, actor: Actor, **kw: object) -> CreditMovement:
    return CreditMovement(
        kind=kind,
        project_id=b.project_id,
        block_id=b.id,
        serial_start=b.serial_start,
        serial_end=b.serial_end,
        quantity=b.quantity,
        actor_name=access.holder_name(actor),
        **kw,
    )


def reserve(session: Session, *, actor: Actor, listing: MarketListing) -> list[CreditBlock]:
    """Split ``listing.quantity`` tonnes of its project and vintage out of the seller's active blocks and
    reserve them for the listing (lowest serials first)."""
    stmt = (
        select(CreditBlock)
        .where(
            CreditBlock.account_id == listing.account_id,
            CreditBlock.project_id == listing.project_id,
            CreditBlock.vintage_start == listing.vintage_start,
            CreditBlock.vintage_end == listing.vintage_end,
            CreditBlock.status == CreditStatus.active,
        )
        .order_by(CreditBlock.serial_start)
        .with_for_update(of=CreditBlock)
    )
    blocks = list(session.scalars(stmt))
    held = sum(b.quantity for b in blocks)
    if held < listing.quantity:
        raise ConflictError(
            f"可挂牌余额不足：该项目该监测期流通中 {held} 吨，申请挂牌 {listing.quantity} 吨"
            f"（已冻结、已注销或已取消的碳汇不能挂牌）(insufficient tradeable balance: {held} t)",
            code="insufficient_balance",
        )
    taken: list[CreditBlock] = []
    need = listing.quantity
    for b in blocks:
        if need == 0:
            break
        if b.quantity > need:
            credits.split_block(session, block=b, quantity=need)
        require_move(b.status, CreditStatus.reserved, message="区块不能冻结 (the block cannot be reserved)")
        b.status = CreditStatus.reserved
        taken.append(b)
        need -= b.quantity
    for b in taken:
        session.add(MarketReservation(listing_id=listing.id, block_id=b.id))
        session.add(_movement(MovementKind.reserve, b, actor, from_account_id=listing.account_id))
    session.flush()
    return taken


def _take_reserved(session: Session, listing: MarketListing, quantity: int) -> list[CreditBlock]:
    """Exactly ``quantity`` reserved tonnes of the listing, no longer reserved for it (the tail of a split
    block stays reserved)."""
    rows = list(
        session.execute(
            select(CreditBlock, MarketReservation)
            .join(MarketReservation, MarketReservation.block_id == CreditBlock.id)
            .where(MarketReservation.listing_id == listing.id)
            .order_by(CreditBlock.serial_start)
            .with_for_update(of=[CreditBlock, MarketReservation])
        )
    )
    if sum(b.quantity for b, _ in rows) < quantity:  # the reservation invariant broke: never deliver twice
        raise ConflictError("冻结碳汇不足，无法交割 (reserved credits do not cover the trade)")
    taken: list[CreditBlock] = []
    need = quantity
    for b, res in rows:
        if need == 0:
            break
        if b.quantity > need:
            tail = credits.split_block(session, block=b, quantity=need)
            if tail is not None:
                session.add(MarketReservation(listing_id=listing.id, block_id=tail.id))
        session.delete(res)
        taken.append(b)
        need -= b.quantity
    session.flush()
    return taken


def release(session: Session, *, actor: Actor, listing: MarketListing, quantity: int) -> list[CreditBlock]:
    """Give ``quantity`` reserved tonnes of a listing back to the seller (active again)."""
    if quantity <= 0:
        return []
    blocks = _take_reserved(session, listing, quantity)
    for b in blocks:
        require_move(b.status, CreditStatus.active, message="区块不能解冻 (the block cannot be released)")
        b.status = CreditStatus.active
        session.add(_movement(MovementKind.release, b, actor, to_account_id=listing.account_id))
    session.flush()
    return blocks


def open_trade(
    session: Session,
    *,
    actor: Actor,
    listing: MarketListing,
    order: MarketOrder,
    quantity: int,
    price: Decimal,
    now: datetime | None = None,
) -> MarketTrade:
    """Record a match awaiting payment (the tonnes stay reserved) and run the surveillance checks on it."""
    now = now or utcnow()
    amount = money(price * quantity)
    trade = MarketTrade(
        listing_id=listing.id,
        order_id=order.id,
        project_id=listing.project_id,
        division_code=listing.division_code,
        seller_account_id=listing.account_id,
        buyer_account_id=order.account_id,
        vintage_start=listing.vintage_start,
        vintage_end=listing.vintage_end,
        mode=listing.mode,
        quantity=quantity,
        price=price,
        amount=amount,
        fee=money(amount * FEE_RATE),
        status=TradeStatus.awaiting_payment,
        disclose_buyer=order.disclose_buyer,
        pay_by=now + PAYMENT_WINDOW,
        created_at=now,
    )
    session.add(trade)
    session.flush()
    surveillance.check_trade(session, actor=actor, trade=trade)
    log.info(
        "carbon trade matched",
        extra={"trade_id": trade.id, "listing_id": listing.id, "order_id": order.id, "quantity": quantity},
    )
    return trade


def _locked_trade(session: Session, trade_id: int) -> MarketTrade:
    trade = session.scalar(
        select(MarketTrade)
        .where(MarketTrade.id == trade_id)
        .with_for_update(of=MarketTrade)
        .execution_options(populate_existing=True)
    )
    if trade is None:
        raise NotFoundError(f"成交记录 {trade_id} 不存在 (no trade {trade_id})")
    return trade


def _give_back(session: Session, *, actor: Actor, trade: MarketTrade) -> None:
    """A failed or expired trade's tonnes: back to the open listing, or released to the seller."""
    listing = session.execute(
        select(MarketListing)
        .where(MarketListing.id == trade.listing_id)
        .with_for_update(of=MarketListing)
        .execution_options(populate_existing=True)
    ).scalar_one()
    if listing.status == ListingStatus.open and listing.closing_at is None:
        listing.remaining += trade.quantity
    else:
        release(session, actor=actor, listing=listing, quantity=trade.quantity)


def payment_reference(payment_ref: str) -> str:
    """A payment reference (付款流水号): 1-64 characters after trimming."""
    ref = payment_ref.strip()
    if not ref or len(ref) > 64:
        raise ValidationFailedError(
            "请填写付款流水号（不超过 64 个字符）(a payment reference of at most 64 characters is required)",
            details=[{"loc": ["payment_ref"], "msg": "1-64 characters"}],
        )
    return ref


def expire_late(session: Session, *, actor: Actor, trade_id: int) -> ConflictError:
    """Expire a trade whose payment window closed (its tonnes go back); the refusal its late payer reads."""
    trade = _locked_trade(session, trade_id)
    if trade.status == TradeStatus.awaiting_payment:
        _expire(session, actor=actor, trade=trade)
    return ConflictError("付款已超时，冻结的碳汇已释放 (the payment window closed; the trade expired)")


def pay(session: Session, *, actor: Actor, trade_id: int, payment_ref: str) -> MarketTrade:
    """The buyer records its payment (付款凭证); credits move only once the settlement agent confirms it."""
    ref = payment_reference(payment_ref)
    trade = _locked_trade(session, trade_id)
    traders.require_trader(session, actor=actor, account=trade.buyer)
    now = utcnow()
    if trade.status == TradeStatus.awaiting_payment and trade.pay_by < now:
        raise expire_late(session, actor=actor, trade_id=trade.id)
    require_move(
        trade.status, TradeStatus.paid, message=f"该成交当前状态不能付款（{trade.status}）(cannot pay now)"
    )
    trade.status = TradeStatus.paid
    trade.payment_ref = ref
    trade.paid_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="carbon.market_pay",
        entity_type="carbon_market_trade",
        entity_id=trade.id,
        division_code=trade.division_code,
        detail={"amount": str(trade.amount), "payment_ref": ref},
    )
    log.info("carbon trade paid", extra={"trade_id": trade.id})
    return trade


def confirm_payment(session: Session, *, actor: Actor, trade_id: int, received: bool) -> MarketTrade:
    """The settlement agent confirms (delivery and revenue split) or rejects (release) a payment record."""
    if received:  # the clearing run of one trade: the same code path as the batch
        outcome = clearing.settle_trades(session, actor=actor, trade_ids=[trade_id])[0]
        if outcome.error is not None:
            raise outcome.error
        return _locked_trade(session, trade_id)  # settled just now; read back for the caller
    trade = _locked_trade(session, trade_id)
    traders.require_supervisor(actor, access.division_path(session, trade.division_code))
    require_move(
        trade.status,
        TradeStatus.failed,
        message=f"该成交当前状态不能确认付款（{trade.status}）(not awaiting confirmation)",
    )
    trade.status = TradeStatus.failed
    _give_back(session, actor=actor, trade=trade)
    session.flush()
    log.info("carbon trade payment failed", extra={"trade_id": trade.id})
    audit.record(
        session,
        actor=actor,
        action="carbon.market_payment_failed",
        entity_type="carbon_market_trade",
        entity_id=trade.id,
        division_code=trade.division_code,
        detail={"amount": str(trade.amount), "quantity": trade.quantity},
    )
    return trade


def confirm_payments(session: Session, *, actor: Actor, trade_ids: Sequence[int]) -> list[clearing.Outcome]:
    """The clearing run (批量结算): confirm many received payments and deliver them in one transaction."""
    return clearing.settle_trades(session, actor=actor, trade_ids=trade_ids)


def settle(session: Session, *, actor: Actor, trade: MarketTrade) -> list[CreditBlock]:
    """Deliver one paid trade's tonnes to the buyer and split the seller's net revenue (writes its audit)."""
    session.flush()
    outcome = clearing.settle_trades(session, actor=actor, trade_ids=[trade.id])[0]
    if outcome.error is not None:
        raise outcome.error
    return list(session.scalars(select(CreditBlock).where(CreditBlock.id.in_(outcome.block_ids))))


def _expire(session: Session, *, actor: Actor, trade: MarketTrade) -> None:
    trade.status = TradeStatus.expired
    _give_back(session, actor=actor, trade=trade)
    session.flush()
    log.info("carbon trade expired", extra={"trade_id": trade.id})


def expire_payments(session: Session, *, actor: Actor, now: datetime | None = None) -> list[int]:
    """Expire trades whose payment window closed unpaid, releasing their reservations; returns their ids."""
    now = now or utcnow()
    ids = list(
        session.scalars(
            select(MarketTrade.id).where(
                MarketTrade.status == TradeStatus.awaiting_payment, MarketTrade.pay_by < now
            )
        )
    )
    for trade_id in ids:
        trade = _locked_trade(session, trade_id)
        if trade.status == TradeStatus.awaiting_payment:
            _expire(session, actor=actor, trade=trade)
            audit.record(
                session,
                actor=actor,
                action="carbon.market_expire",
                entity_type="carbon_market_trade",
                entity_id=trade.id,
                division_code=trade.division_code,
            )
    return ids


def purchased_blocks(session: Session, *, trade: MarketTrade) -> list[CreditBlock]:
    """The blocks a trade delivered that the buyer still holds active."""
    return list(
        session.scalars(
            select(CreditBlock)
            .join(MarketDelivery, MarketDelivery.block_id == CreditBlock.id)
            .where(
                MarketDelivery.trade_id == trade.id,
                CreditBlock.account_id == trade.buyer_account_id,
                CreditBlock.status == CreditStatus.active,
            )
            .order_by(CreditBlock.serial_start)
            .with_for_update(of=CreditBlock)
        )
    )


def retire_purchase(
    session: Session, *, actor: Actor, trade_id: int, quantity: int, beneficiary: str, reason: str
) -> MarketCertificate:
    """The buyer retires purchased credits for a named event or company (注销抵消) and gets a certificate."""
    beneficiary, reason = beneficiary.strip(), reason.strip()
    if not beneficiary or not reason or len(beneficiary) > 200 or len(reason) > 500:
        raise ValidationFailedError(
            "须填写受益方（200 字以内）和注销用途（500 字以内）(beneficiary and purpose are required)",
            details=[{"loc": ["beneficiary"], "msg": "required"}, {"loc": ["reason"], "msg": "required"}],
        )
    if quantity <= 0:
        raise ValidationFailedError(
            "数量须为正整数 (quantity must be positive)", details=[{"loc": ["quantity"], "msg": "> 0"}]
        )
    trade = _locked_trade(session, trade_id)
    buyer: CarbonAccount = trade.buyer
    traders.require_trader(session, actor=actor, account=buyer)
    if trade.status != TradeStatus.settled:
        raise ConflictError("该成交尚未交割，不能注销 (the trade is not settled yet)", code="not_settled")
    blocks = purchased_blocks(session, trade=trade)
    held = sum(b.quantity for b in blocks)
    if held < quantity:
        raise ConflictError(
            f"该笔购入的碳汇尚可注销 {held} 吨，申请 {quantity} 吨 (only {held} t of this purchase remain)",
            code="insufficient_balance",
        )
    taken: list[CreditBlock] = []
    need = quantity
    for b in blocks:
        if need == 0:
            break
        if b.quantity > need:
            tail = credits.split_block(session, block=b, quantity=need)
            if tail is not None:
                session.add(MarketDelivery(trade_id=trade.id, block_id=tail.id))
        taken.append(b)
        need -= b.quantity
    now = utcnow()
    for b in taken:
        require_move(b.status, CreditStatus.retired, message="区块不能注销 (the block cannot be retired)")
        b.status = CreditStatus.retired
        b.beneficiary = beneficiary
        b.retirement_reason = reason
        b.retired_at = now
        session.add(
            _movement(
                MovementKind.retire,
                b,
                actor,
                from_account_id=buyer.id,
                beneficiary=beneficiary,
                reason=reason,
            )
        )
    project = trade.project
    cert = MarketCertificate(
        number="tmp",
        trade_id=trade.id,
        project_id=trade.project_id,
        quantity=quantity,
        beneficiary=beneficiary,
        reason=reason,
        serials=[
            serial_label(project.code, b.vintage_start, b.vintage_end, b.serial_start, b.serial_end)
            for b in taken
        ],
        created_by=access.holder_name(actor),
    )
    session.add(cert)
    session.flush()
    cert.number = f"RC-{now.year}-{cert.id:06d}"
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="carbon.market_retire",
        entity_type="carbon_market_certificate",
        entity_id=cert.id,
        division_code=trade.division_code,
        detail={
            "trade_id": trade.id,
            "quantity": quantity,
            "beneficiary": beneficiary,
            "serials": cert.serials,
        },
    )
    log.info("carbon purchase retired", extra={"certificate_id": cert.id, "trade_id": trade.id})
    return cert


def get_certificate(session: Session, *, number: str) -> MarketCertificate:
    """A retirement certificate by its number (public: retirements are published)."""
    cert = session.scalar(select(MarketCertificate).where(MarketCertificate.number == number))
    if cert is None:
        raise NotFoundError(f"注销证明 {number} 不存在 (no certificate {number})")
    return cert
