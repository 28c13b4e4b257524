"""Market request and response shapes (碳汇交易). Prices are strings of CNY per tonne with two decimals in
responses (never floats); inputs accept a number or a string and are checked by the services."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListingCreate(_In):
    """A holder's listing (挂牌)."""

    project_id: int
    vintage_start: int = Field(ge=1990, le=2100)
    vintage_end: int = Field(ge=1990, le=2100)
    mode: str = Field(pattern="^(listed|agreement|bidding)$")
    quantity: int
    price: Decimal | str
    account_id: int | None = None
    counterparty_account_id: int | None = None
    closing_at: datetime | None = None


class ListingRead(BaseModel):
    """A listing as the public sees it."""

    id: int
    project: str
    project_name: str
    vintage: str
    quantity: int
    remaining: int
    price: Decimal
    mode: str
    status: str
    closing_at: datetime | None
    created_at: datetime


class OrderCreate(_In):
    """A buyer's order or bid (the buyer is the caller's trading account)."""

    listing_id: int
    quantity: int
    price: Decimal | str
    disclose_buyer: bool = False


class TradeRead(BaseModel):
    """A match as its parties see it."""

    id: int
    listing_id: int
    project: str
    vintage: str
    quantity: int
    price: Decimal
    amount: Decimal
    fee: Decimal
    status: str
    pay_by: datetime
    created_at: datetime


class OrderRead(BaseModel):
    """An order with its fill and the trade it matched."""

    id: int
    listing_id: int
    quantity: int
    price: Decimal
    filled: int
    status: str
    trade: TradeRead | None = None


class PublicTrade(BaseModel):
    """A settled trade on the public tape: no buyer identity unless the buyer opted in."""

    id: int
    project: str
    vintage: str
    price: Decimal
    quantity: int
    time: datetime
    mode: str
    buyer: str | None = None


class PaymentCreate(_In):
    """The buyer's payment record (付款凭证)."""

    payment_ref: str = Field(min_length=1, max_length=64)


class PaymentConfirm(_In):
    """The settlement agent's confirmation (到账确认) or rejection."""

    received: bool


class RetireCreate(_In):
    """Retire purchased credits for a named event or company."""

    quantity: int
    beneficiary: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=500)


class CertificateRead(BaseModel):
    """A retirement certificate (注销证明)."""

    number: str
    project: str
    quantity: int
    beneficiary: str
    reason: str
    serials: list[str]
    created_at: datetime


class ShareIn(_In):
    """One configured benefit share in basis points."""

    kind: str
    name: str
    share_bp: int


class SharesUpdate(_In):
    """A project's benefit shares (they must total 10000 bp)."""

    shares: list[ShareIn]


class FlagRead(BaseModel):
    """A surveillance flag."""

    id: int
    trade_id: int
    project: str
    kind: str
    status: str
    detail: dict[str, object]
    note: str | None
    created_at: datetime


class FlagReview(_In):
    """The supervisor's note closing a flag."""

    note: str = Field(min_length=1, max_length=2000)


class MemberCreate(_In):
    """Bind a user as the trader of an account (registry administrator)."""

    username: str
    account_id: int
