"""Carbon market JSON API under /api/v1/carbon/market (碳汇交易). Routes stay thin: parse, call the service,
serialise. Listings and the trade tape are public; everything else needs a login."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from govgrid.carbon import schemas_market as s
from govgrid.carbon.models import MarketCertificate, MarketFlag, MarketListing, MarketOrder, MarketTrade
from govgrid.carbon.services import benefits, market, marketdata, settlement, surveillance, traders
from govgrid.core.deps import CurrentPrincipal, PageDep, SessionDep

router = APIRouter(prefix="/carbon/market", tags=["carbon market"])
PUBLIC = {"x-public": True}


def vintage(v_start: int, v_end: int) -> str:
    """A vintage as printed: '2018-2023'."""
    return f"{v_start}-{v_end}"


def listing_read(x: MarketListing) -> s.ListingRead:
    """Serialise a listing (no holder identity)."""
    return s.ListingRead(
        id=x.id,
        project=x.project.code,
        project_name=x.project.name,
        vintage=vintage(x.vintage_start, x.vintage_end),
        quantity=x.quantity,
        remaining=x.remaining,
        price=x.price,
        mode=x.mode,
        status=x.status,
        closing_at=x.closing_at,
        created_at=x.created_at,
    )


def trade_read(t: MarketTrade) -> s.TradeRead:
    """Serialise a trade for its parties."""
    return s.TradeRead(
        id=t.id,
        listing_id=t.listing_id,
        project=t.project.code,
        vintage=vintage(t.vintage_start, t.vintage_end),
        quantity=t.quantity,
        price=t.price,
        amount=t.amount,
        fee=t.fee,
        status=t.status,
        pay_by=t.pay_by,
        created_at=t.created_at,
    )


def order_read(o: MarketOrder, trade: MarketTrade | None = None) -> s.OrderRead:
    """Serialise an order with the trade it matched."""
    return s.OrderRead(
        id=o.id,
        listing_id=o.listing_id,
        quantity=o.quantity,
        price=o.price,
        filled=o.filled,
        status=o.status,
        trade=trade_read(trade) if trade else None,
    )


def certificate_read(c: MarketCertificate) -> s.CertificateRead:
    """Serialise a retirement certificate."""
    return s.CertificateRead(
        number=c.number,
        project=c.project.code,
        quantity=c.quantity,
        beneficiary=c.beneficiary,
        reason=c.reason,
        serials=list(c.serials),
        created_at=c.created_at,
    )


def flag_read(f: MarketFlag) -> s.FlagRead:
    """Serialise a surveillance flag."""
    return s.FlagRead(
        id=f.id,
        trade_id=f.trade_id,
        project=f.trade.project.code,
        kind=f.kind,
        status=f.status,
        detail=dict(f.detail),
        note=f.note,
        created_at=f.created_at,
    )


@router.get("/listings", response_model=list[s.ListingRead], openapi_extra=PUBLIC, summary="Open listings")
def list_listings(session: SessionDep, page: PageDep) -> list[s.ListingRead]:
    """Open listings in the three modes (public: no holder identity)."""
    return [listing_read(x) for x in marketdata.open_listings(session, limit=page.limit, offset=page.offset)]


@router.post("/listings", response_model=s.ListingRead, status_code=201)
def create_listing(body: s.ListingCreate, session: SessionDep, principal: CurrentPrincipal) -> s.ListingRead:
    """A holder lists credits; the tonnes are reserved until sold, released or withdrawn."""
    return listing_read(market.create_listing(session, actor=principal, **body.model_dump()))


@router.post("/listings/{listing_id}/cancel", response_model=s.ListingRead)
def cancel_listing(listing_id: int, session: SessionDep, principal: CurrentPrincipal) -> s.ListingRead:
    """The seller withdraws a listing (unsold tonnes released, open bids cancelled)."""
    return listing_read(market.cancel_listing(session, actor=principal, listing_id=listing_id))


@router.post("/listings/{listing_id}/close", response_model=list[s.TradeRead])
def close_bidding(listing_id: int, session: SessionDep, principal: CurrentPrincipal) -> list[s.TradeRead]:
    """Close a bidding after its closing time: the highest bids win (partial fill for the last)."""
    return [trade_read(t) for t in market.close_bidding(session, actor=principal, listing_id=listing_id)]


@router.post("/orders", response_model=s.OrderRead, status_code=201)
def place_order(body: s.OrderCreate, session: SessionDep, principal: CurrentPrincipal) -> s.OrderRead:
    """An order (matched at once, partial fills) or a bid (kept until the close); 409 when sold out."""
    result = market.place_order(session, actor=principal, **body.model_dump())
    return order_read(result.order, result.trade)


@router.get("/orders", response_model=list[s.OrderRead])
def my_orders(session: SessionDep, principal: CurrentPrincipal) -> list[s.OrderRead]:
    """The caller's orders and bids."""
    return [order_read(o) for o in marketdata.my_orders(session, actor=principal)]


@router.get("/trades", response_model=list[s.PublicTrade], openapi_extra=PUBLIC, summary="Settled trades")
def public_trades(session: SessionDep, page: PageDep) -> list[s.PublicTrade]:
    """The public tape: price, quantity, vintage, time; the buyer only when it opted in."""
    return [
        s.PublicTrade(
            id=t.id,
            project=t.project.code,
            vintage=vintage(t.vintage_start, t.vintage_end),
            price=t.price,
            quantity=t.quantity,
            time=t.settled_at or t.created_at,
            mode=t.mode,
            buyer=t.buyer.holder_name if t.disclose_buyer else None,
        )
        for t in marketdata.public_trades(session, limit=page.limit, offset=page.offset)
    ]


@router.get("/my-trades", response_model=list[s.TradeRead])
def my_trades(session: SessionDep, principal: CurrentPrincipal) -> list[s.TradeRead]:
    """Trades where the caller's account bought or sold."""
    return [trade_read(t) for t in marketdata.my_trades(session, actor=principal)]


@router.post("/trades/{trade_id}/payment", response_model=s.TradeRead)
def pay(
    trade_id: int, body: s.PaymentCreate, session: SessionDep, principal: CurrentPrincipal
) -> s.TradeRead:
    """The buyer records its payment; the credits stay reserved until the settlement agent confirms it."""
    return trade_read(
        settlement.pay(session, actor=principal, trade_id=trade_id, payment_ref=body.payment_ref)
    )


@router.post("/trades/{trade_id}/confirm", response_model=s.TradeRead)
def confirm(
    trade_id: int, body: s.PaymentConfirm, session: SessionDep, principal: CurrentPrincipal
) -> s.TradeRead:
    """The settlement agent confirms the payment (delivery, revenue split) or rejects it (release)."""
    return trade_read(
        settlement.confirm_payment(session, actor=principal, trade_id=trade_id, received=body.received)
    )


@router.post("/trades/{trade_id}/retirements", response_model=s.CertificateRead, status_code=201)
def retire(
    trade_id: int, body: s.RetireCreate, session: SessionDep, principal: CurrentPrincipal
) -> s.CertificateRead:
    """The buyer retires purchased credits for a named event or company and gets a certificate."""
    return certificate_read(
        settlement.retire_purchase(session, actor=principal, trade_id=trade_id, **body.model_dump())
    )


@router.get(
    "/certificates/{number}", response_model=s.CertificateRead, openapi_extra=PUBLIC, summary="A certificate"
)
def certificate(number: str, session: SessionDep) -> s.CertificateRead:
    """A retirement certificate (public, as retirements are)."""
    return certificate_read(settlement.get_certificate(session, number=number))


@router.get("/prices", openapi_extra=PUBLIC, summary="Price history and volume per project and vintage")
def prices(session: SessionDep, project_id: int | None = None) -> list[dict[str, Any]]:
    """Daily trades, volume, amount, VWAP, high and low per project and vintage (settled trades)."""
    return [
        {
            **row,
            "amount": str(row["amount"]),
            "vwap": str(row["vwap"]),
            "high": str(row["high"]),
            "low": str(row["low"]),
        }
        for row in marketdata.price_history(session, project_id=project_id)
    ]


@router.get("/benefits", openapi_extra=PUBLIC, summary="Benefit sharing per project")
def benefit_summary(session: SessionDep) -> list[dict[str, Any]]:
    """Per project: what each beneficiary received from settled sales (public)."""
    return [
        {
            **p,
            "total": str(p["total"]),
            "beneficiaries": [{**b, "amount": str(b["amount"])} for b in p["beneficiaries"]],
        }
        for p in benefits.public_summary(session)
    ]


@router.put("/projects/{project_id}/shares", status_code=200)
def set_shares(
    project_id: int, body: s.SharesUpdate, session: SessionDep, principal: CurrentPrincipal
) -> list[dict[str, Any]]:
    """The proponent (or the registry administrator) sets the revenue shares (total 10000 bp)."""
    rows = benefits.set_shares(
        session,
        actor=principal,
        project_id=project_id,
        shares=[benefits.Share(x.kind, x.name, x.share_bp) for x in body.shares],
    )
    return [{"kind": r.kind, "name": r.name, "share_bp": r.share_bp} for r in rows]


@router.get("/flags", response_model=list[s.FlagRead])
def flags(
    session: SessionDep,
    principal: CurrentPrincipal,
    status: Annotated[str | None, Query(pattern="^(open|reviewed)$")] = None,
) -> list[s.FlagRead]:
    """Surveillance flags in the divisions the caller supervises."""
    return [flag_read(f) for f in surveillance.list_flags(session, principal=principal, status=status)]


@router.post("/flags/{flag_id}/review", response_model=s.FlagRead)
def review_flag(
    flag_id: int, body: s.FlagReview, session: SessionDep, principal: CurrentPrincipal
) -> s.FlagRead:
    """The supervisor closes a flag with a note."""
    return flag_read(surveillance.review_flag(session, actor=principal, flag_id=flag_id, note=body.note))


@router.post("/members", status_code=201)
def bind_member(body: s.MemberCreate, session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """The registry administrator binds a user as the trader of an account."""
    m = traders.bind_member(session, actor=principal, username=body.username, account_id=body.account_id)
    return {"id": m.id, "user_id": m.user_id, "account_id": m.account_id}
