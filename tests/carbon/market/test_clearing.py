"""Batch matching, batch payment records and the clearing run (批量撮合、批量结算): the same outcomes as the
per-order path, delivery only against a confirmed payment, refusals that write nothing, one audit record per
change."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from sqlalchemy import func, select

from govgrid.carbon.models import (
    BenefitEntry,
    CreditBlock,
    CreditMovement,
    MarketDelivery,
    MarketListing,
    MarketOrder,
    MarketTrade,
)
from govgrid.carbon.services import market, matching, settlement
from govgrid.core.audit import service as audit
from govgrid.core.audit.models import AuditRecord
from govgrid.core.audit.service import SystemActor
from govgrid.core.db import utcnow
from govgrid.core.errors import AppError
from govgrid.core.identity.models import User
from govgrid.core.identity.service import load_user_principal

from .conftest import account_total

# (buyer, tonnes): the last orders find fewer tonnes than they ask for, then none
STREAM = [("gx_trader", 7), ("hb_trader", 5), ("gx_trader", 12), ("hb_trader", 9), ("gx_trader", 4)]
LISTED = 30


def _who(db, username):
    user = db.scalar(select(User).where(User.username == username))
    return load_user_principal(db, user.id)


def _counts(db):
    return {
        m.__name__: db.scalar(select(func.count()).select_from(m))
        for m in (MarketOrder, MarketTrade, CreditBlock, CreditMovement, MarketDelivery, BenefitEntry)
    }


def _actions(db, since_seq):
    rows = db.execute(
        select(AuditRecord.action, func.count())
        .where(AuditRecord.seq > since_seq, AuditRecord.action.like("carbon.market_%"))
        .group_by(AuditRecord.action)
    ).all()
    return dict(rows)


def _seq(db):
    return db.scalar(select(func.coalesce(func.max(AuditRecord.seq), 0)))


def _outcome(o):
    return ("filled", o.filled) if o.ok else ("refused", o.error.code)


def test_batch_gives_the_per_order_results(mk, db):
    one = mk.listing(quantity=LISTED, price="61.00")
    many = mk.listing(quantity=LISTED, price="61.00")
    agent = _who(db, "hn_registry")
    people = {u: _who(db, u) for u in ("gx_trader", "hb_trader")}
    # the per-order path: each order matched, paid and confirmed on its own
    seq = _seq(db)
    single = []
    for user, qty in STREAM:
        try:
            r = market.place_order(db, actor=people[user], listing_id=one["id"], quantity=qty, price="61")
        except AppError as exc:
            single.append(("refused", exc.code))
            continue
        single.append(("filled", r.order.filled))
        settlement.pay(db, actor=people[user], trade_id=r.trade.id, payment_ref="BANK-1")
        settlement.confirm_payment(db, actor=agent, trade_id=r.trade.id, received=True)
    single_audit = _actions(db, seq)
    # the batch path: one transaction each for the orders, the payments and the clearing run
    seq = _seq(db)
    tickets = [matching.OrderTicket(people[u], many["id"], qty, "61") for u, qty in STREAM]
    matched = matching.match_orders(db, tickets=tickets)
    assert (
        [_outcome(o) for o in matched]
        == single
        == [
            ("filled", 7),
            ("filled", 5),
            ("filled", 12),
            ("filled", 6),
            ("refused", "listing_closed"),
        ]
    )
    pays = [matching.PaymentTicket(tickets[o.index].actor, o.trade_id, "BANK-1") for o in matched if o.ok]
    assert all(o.ok for o in matching.record_payments(db, tickets=pays))
    cleared = settlement.confirm_payments(db, actor=agent, trade_ids=[p.trade_id for p in pays])
    assert all(o.ok for o in cleared)
    assert (
        _actions(db, seq)
        == single_audit
        == {
            "carbon.market_order": 4,
            "carbon.market_pay": 4,
            "carbon.market_settle": 4,
        }
    )
    assert audit.verify(db).ok

    def summary(listing_id):
        trades = db.scalars(
            select(MarketTrade).where(MarketTrade.listing_id == listing_id).order_by(MarketTrade.id)
        ).all()
        blocks = db.scalars(
            select(CreditBlock)
            .join(MarketDelivery, MarketDelivery.block_id == CreditBlock.id)
            .where(MarketDelivery.trade_id.in_([t.id for t in trades]))
            .order_by(CreditBlock.serial_start)
        ).all()
        entries = db.execute(
            select(BenefitEntry.name, func.sum(BenefitEntry.amount))
            .where(BenefitEntry.trade_id.in_([t.id for t in trades]))
            .group_by(BenefitEntry.name)
        ).all()
        listing = db.get(MarketListing, listing_id)
        return {
            "trades": [(t.buyer_account_id, t.quantity, t.amount, t.fee, t.status) for t in trades],
            "delivered": [(b.account_id, b.quantity, b.status) for b in blocks],
            "contiguous": all(a.serial_end + 1 == b.serial_start for a, b in pairwise(blocks)),
            "benefits": sorted((n, Decimal(a)) for n, a in entries),
            "listing": (listing.remaining, listing.status),
        }

    a, b = summary(one["id"]), summary(many["id"])
    assert a == b
    assert a["listing"] == (0, "closed") and a["contiguous"]
    assert sum(q for _, q, _ in a["delivered"]) == LISTED
    assert a["trades"][0][2] == Decimal("427.00") and a["trades"][0][3] == Decimal("2.14")  # 7 t x 61, 0.5 %


def test_refused_orders_write_nothing(client, mk, db, login):
    listing = mk.listing(quantity=10, price="60.00")
    agreement = mk.listing(
        quantity=5, mode="agreement", counterparty_account_id=mk.buyer_accounts["hb_trader"]
    )
    bidding = mk.listing(
        quantity=5, mode="bidding", closing_at=(utcnow() + timedelta(days=1)).isoformat(), price="50"
    )
    gx, seller = _who(db, "gx_trader"), _who(db, "jsh_forestry")
    before = _counts(db)
    seq = _seq(db)
    tickets = [
        matching.OrderTicket(gx, 999_999, 1, "60"),  # no such listing
        matching.OrderTicket(seller, listing["id"], 1, "60"),  # the seller's own listing
        matching.OrderTicket(gx, listing["id"], 1, "59.99"),  # below the listed price
        matching.OrderTicket(gx, listing["id"], 0, "60"),  # no tonnes
        matching.OrderTicket(gx, listing["id"], 1, "1.234"),  # not a price
        matching.OrderTicket(gx, agreement["id"], 1, "60"),  # an agreement for another buyer
        matching.OrderTicket(gx, bidding["id"], 1, "60"),  # bids go one by one
    ]
    out = matching.match_orders(db, tickets=tickets)
    assert [(type(o.error).__name__, o.error.status) for o in out] == [
        ("NotFoundError", 404),
        ("ConflictError", 409),
        ("ConflictError", 409),
        ("ValidationFailedError", 422),
        ("ValidationFailedError", 422),
        ("ForbiddenError", 403),
        ("ConflictError", 409),
    ]
    assert [o.error.code for o in out][1:3] == ["own_listing", "price_below_listing"]
    assert all(
        "(" in o.error.message and any("\u4e00" <= c <= "\u9fff" for c in o.error.message) for o in out
    )
    assert _counts(db) == before and _actions(db, seq) == {}
    assert db.get(MarketListing, listing["id"]).remaining == 10
    # one good order among the refusals goes through alone
    out = matching.match_orders(db, tickets=[*tickets[:3], matching.OrderTicket(gx, listing["id"], 4, "60")])
    assert [o.ok for o in out] == [False, False, False, True]
    after = _counts(db)
    assert (after["MarketOrder"], after["MarketTrade"]) == (
        before["MarketOrder"] + 1,
        before["MarketTrade"] + 1,
    )
    assert db.get(MarketListing, listing["id"]).remaining == 6


def test_clearing_delivers_only_paid_trades(mk, db):
    listing = mk.listing(quantity=20, price="60.00")
    gx, hb, agent = _who(db, "gx_trader"), _who(db, "hb_trader"), _who(db, "hn_registry")
    out = matching.match_orders(
        db,
        tickets=[
            matching.OrderTicket(gx, listing["id"], 3, "60"),
            matching.OrderTicket(hb, listing["id"], 4, "60"),
            matching.OrderTicket(gx, listing["id"], 5, "60"),
        ],
    )
    paid_id, unpaid_id, other_id = (o.trade_id for o in out)
    # another buyer cannot record gx's payment; gx records its own
    pays = matching.record_payments(
        db,
        tickets=[
            matching.PaymentTicket(hb, paid_id, "BANK-X"),
            matching.PaymentTicket(gx, paid_id, "  "),
            matching.PaymentTicket(gx, paid_id, "BANK-2"),
            matching.PaymentTicket(gx, other_id, "BANK-3"),
        ],
    )
    assert [o.error.status if o.error else 200 for o in pays] == [403, 422, 200, 200]
    held = account_total(db, mk.buyer_accounts["gx_trader"])
    before = _counts(db)
    # the buyer is no settlement agent; nobody settles an unpaid trade or one twice
    refused = settlement.confirm_payments(db, actor=gx, trade_ids=[paid_id])
    assert refused[0].error.status == 403
    run = settlement.confirm_payments(
        db, actor=agent, trade_ids=[paid_id, unpaid_id, 424242, paid_id, other_id]
    )
    assert [o.error.status if o.error else 200 for o in run] == [200, 409, 404, 409, 200]
    assert db.get(MarketTrade, unpaid_id).status == "awaiting_payment"
    assert db.get(MarketTrade, paid_id).status == "settled"
    assert account_total(db, mk.buyer_accounts["gx_trader"]).get("active", 0) == held.get("active", 0) + 8
    assert account_total(db, mk.buyer_accounts["hb_trader"]).get("active", 0) == 0
    after = _counts(db)
    assert after["MarketDelivery"] - before["MarketDelivery"] == 2
    assert after["BenefitEntry"] > before["BenefitEntry"]
    # the unpaid trade's 4 t and the 8 unsold stay reserved for the listing
    seller = account_total(db, mk.seller_account)
    assert seller["reserved"] == 4 + 8
    again = settlement.confirm_payments(db, actor=agent, trade_ids=[paid_id])
    assert again[0].error.status == 409 and _counts(db) == after


def test_a_late_payment_expires_the_trade_and_releases_it(mk, db):
    listing = mk.listing(quantity=10, price="60.00")
    gx = _who(db, "gx_trader")
    (o,) = matching.match_orders(db, tickets=[matching.OrderTicket(gx, listing["id"], 6, "60")])
    db.get(MarketTrade, o.trade_id).pay_by = utcnow() - timedelta(minutes=1)
    db.flush()
    (p,) = matching.record_payments(db, tickets=[matching.PaymentTicket(gx, o.trade_id, "BANK-9")])
    assert p.error.status == 409 and "超时" in p.error.message
    db.expire_all()
    assert db.get(MarketTrade, o.trade_id).status == "expired"
    assert db.get(MarketListing, listing["id"]).remaining == 10  # back on offer


def test_single_confirmation_runs_the_clearing_code(mk, db):
    """The per-trade confirmation and the batch write the same rows: one settle audit record per trade."""
    _, _, t = mk.bought(quantity=10)
    assert t["status"] == "settled"
    actions = Counter(
        db.scalars(
            select(AuditRecord.action).where(
                AuditRecord.entity_type == "carbon_market_trade", AuditRecord.entity_id == str(t["id"])
            )
        )
    )
    assert actions == {"carbon.market_pay": 1, "carbon.market_settle": 1}
    delivered = db.scalars(
        select(CreditBlock).join(MarketDelivery).where(MarketDelivery.trade_id == t["id"])
    ).all()
    assert sum(b.quantity for b in delivered) == 10 and {b.status for b in delivered} == {"active"}


@pytest.mark.parametrize("ids", [[], [10**9, 10**9 + 1]])
def test_empty_or_unknown_runs_write_nothing(db, ids):
    before = _counts(db)
    out = settlement.confirm_payments(db, actor=SystemActor("test"), trade_ids=ids)
    assert all(o.error is not None and o.error.status == 404 for o in out)
    assert _counts(db) == before
