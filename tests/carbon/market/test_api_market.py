"""The market through its API: public reads, who may act, listed/agreement/bidding, DvP settlement, fees,
revenue split, retirement with a certificate, refusals and bad input (nothing written)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from govgrid.carbon.models import BenefitEntry, CreditBlock, MarketListing, MarketOrder, MarketTrade
from govgrid.carbon.services import market
from govgrid.core.db import utcnow

from .conftest import P, account_total


@pytest.mark.parametrize("path", ["/listings", "/trades", "/prices", "/benefits"])
def test_public_reads_need_no_login(client, path):
    r = client.get(P + path)
    assert r.status_code == 200
    assert isinstance(r.json(), list)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/listings"),
        ("post", "/listings/1/cancel"),
        ("post", "/listings/1/close"),
        ("post", "/orders"),
        ("get", "/orders"),
        ("get", "/my-trades"),
        ("post", "/trades/1/payment"),
        ("post", "/trades/1/confirm"),
        ("post", "/trades/1/retirements"),
        ("put", "/projects/1/shares"),
        ("get", "/flags"),
        ("post", "/flags/1/review"),
        ("post", "/members"),
    ],
)
def test_anonymous_gets_401(client, method, path):
    r = getattr(client, method)(P + path, **({} if method == "get" else {"json": {}}))
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"


def test_listing_reserves_credits_and_is_public(client, mk, db):
    before = account_total(db, mk.seller_account)
    x = mk.listing(quantity=100, price="58.5")
    assert x["mode"] == "listed" and x["quantity"] == 100 and x["price"] == "58.50"
    after = account_total(db, mk.seller_account)
    assert after["reserved"] == 100 and after["active"] == before["active"] - 100
    listed = client.get(P + "/listings").json()
    row = next(r for r in listed if r["id"] == x["id"])
    assert set(row) >= {"id", "project", "vintage", "quantity", "price", "mode"}
    assert "account" not in str(row).lower()


def test_listed_sale_pays_settles_splits_and_retires(client, login, mk, db):
    r = client.put(
        f"{P}/projects/{mk.project_id}/shares",
        json={
            "shares": [
                {"kind": "village_collective", "name": "君山区广兴洲镇村集体", "share_bp": 6000},
                {"kind": "protection_fund", "name": "君山湿地保护基金", "share_bp": 2000},
                {"kind": "developer", "name": "君山区林业局", "share_bp": 2000},
            ]
        },
        headers=login("jsh_forestry"),
    )
    assert r.status_code == 200, r.text
    x = mk.listing(quantity=100, price="60.00")
    o = mk.order(x["id"], 30, price="60.00")
    trade = o["trade"]
    assert o["status"] == "filled" and trade["status"] == "awaiting_payment"
    assert trade["amount"] == "1800.00" and trade["fee"] == "9.00"
    buyer = mk.buyer_accounts["gx_trader"]
    # DvP: nothing moves on the order or on the payment record, only on the confirmation
    assert account_total(db, buyer) == {}
    mk.pay(trade["id"])
    assert account_total(db, buyer) == {}
    assert mk.confirm(trade["id"])["status"] == "settled"
    assert account_total(db, buyer) == {"active": 30}
    entries = db.scalars(select(BenefitEntry).where(BenefitEntry.trade_id == trade["id"])).all()
    assert sum(e.amount for e in entries) == Decimal("1791.00")
    assert {e.name: e.amount for e in entries}["君山区广兴洲镇村集体"] == Decimal("1074.60")
    summary = client.get(P + "/benefits").json()
    assert any(p["total"] == "1791.00" for p in summary)
    # the public tape: no buyer unless opted in
    tape = client.get(P + "/trades").json()
    row = next(t for t in tape if t["id"] == trade["id"])
    assert row["buyer"] is None and row["price"] == "60.00" and row["quantity"] == 30
    # retire the purchase for a named event: a certificate with the serials
    r = client.post(
        f"{P}/trades/{trade['id']}/retirements",
        json={"quantity": 12, "beneficiary": "2026 岳阳马拉松", "reason": "赛事碳中和"},
        headers=login("gx_trader"),
    )
    assert r.status_code == 201, r.text
    cert = r.json()
    assert cert["quantity"] == 12 and cert["serials"] and cert["number"].startswith("RC-")
    assert client.get(f"{P}/certificates/{cert['number']}").json()["beneficiary"] == "2026 岳阳马拉松"
    assert account_total(db, buyer) == {"active": 18, "retired": 12}
    r = client.post(
        f"{P}/trades/{trade['id']}/retirements",
        json={"quantity": 19, "beneficiary": "x", "reason": "y"},
        headers=login("gx_trader"),
    )
    assert r.status_code == 409


def test_partial_fill_then_sold_out(mk):
    x = mk.listing(quantity=10)
    first = mk.order(x["id"], 7)
    second = mk.order(x["id"], 5, user="hb_trader")
    assert first["filled"] == 7 and second["filled"] == 3 and second["status"] == "partially_filled"
    r = mk.order(x["id"], 1, expect=409)
    assert r["error"]["code"] == "listing_closed"


def test_order_below_price_and_own_listing_refused(client, login, mk, db):
    x = mk.listing()
    count = db.scalar(select(func.count(MarketOrder.id)))
    assert mk.order(x["id"], 1, price="59.99", expect=409)["error"]["code"] == "price_below_listing"
    r = client.post(
        P + "/orders",
        json={"listing_id": x["id"], "quantity": 1, "price": "60"},
        headers=login("jsh_forestry"),
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "own_listing"
    assert db.scalar(select(func.count(MarketOrder.id))) == count


@pytest.mark.parametrize(
    "body",
    [
        {"quantity": 0},
        {"quantity": -5},
        {"price": "0"},
        {"price": "12.345"},
        {"price": "abc"},
        {"mode": "auction"},
        {"mode": "bidding"},  # no closing time
        {"mode": "agreement"},  # no counterparty
        {"quantity": 10_000_000},  # more than held
    ],
)
def test_bad_listing_is_4xx_and_writes_nothing(mk, db, body):
    count = db.scalar(select(func.count(MarketListing.id)))
    held = account_total(db, mk.seller_account)
    r = mk.listing(expect=409 if body.get("quantity") == 10_000_000 else 422, **body)
    assert r["error"]["message"]
    assert db.scalar(select(func.count(MarketListing.id))) == count
    assert account_total(db, mk.seller_account) == held


def test_another_county_cannot_list_or_settle(client, login, mk):
    body = {
        "project_id": mk.project_id,
        "vintage_start": mk.issuance["vintage_start"],
        "vintage_end": mk.issuance["vintage_end"],
        "mode": "listed",
        "quantity": 1,
        "price": "60",
        "account_id": mk.seller_account,
    }
    r = client.post(P + "/listings", json=body, headers=login("nh_forestry"))
    assert r.status_code == 403
    x = mk.listing()
    o = mk.order(x["id"], 2)
    mk.pay(o["trade"]["id"])
    assert mk.confirm(o["trade"]["id"], user="nh_forestry", expect=403)["error"]["code"] == "not_supervisor"
    assert mk.pay(o["trade"]["id"], user="hb_trader", expect=403)["error"]["code"] == "not_trader"
    assert client.get(P + "/flags", headers=login("nh_forestry")).json() == []


def test_agreement_transfer_only_for_the_named_party(mk):
    x = mk.listing(mode="agreement", counterparty_account_id=mk.buyer_accounts["hb_trader"], quantity=50)
    mk.order(x["id"], 10, expect=403)
    o = mk.order(x["id"], 50, user="hb_trader")
    assert o["status"] == "filled"


def test_bidding_highest_bids_win_with_partial_fill(client, login, mk, db):
    closing = utcnow() + timedelta(hours=1)
    x = mk.listing(mode="bidding", quantity=100, price="50", closing_at=closing.isoformat())
    assert mk.order(x["id"], 60, price="49.99", expect=409)["error"]["code"] == "price_below_listing"
    low = mk.order(x["id"], 70, price="55")
    high = mk.order(x["id"], 60, price="58", user="hb_trader")
    assert low["status"] == "open" and low["trade"] is None
    r = client.post(f"{P}/listings/{x['id']}/close", headers=login("jsh_forestry"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "bidding_open"
    trades = market.close_bidding(
        db, actor=_principal(db, "jsh_forestry"), listing_id=x["id"], now=closing + timedelta(seconds=1)
    )
    got = {t.buyer_account_id: (t.quantity, t.price) for t in trades}
    assert got[mk.buyer_accounts["hb_trader"]] == (60, Decimal("58.00"))
    assert got[mk.buyer_accounts["gx_trader"]] == (40, Decimal("55.00"))
    orders = {
        o.id: o.status for o in db.scalars(select(MarketOrder).where(MarketOrder.listing_id == x["id"]))
    }
    assert orders[low["id"]] == "partially_filled" and orders[high["id"]] == "filled"


def test_failed_and_expired_payments_release(mk, db):
    x = mk.listing(quantity=20)
    o = mk.order(x["id"], 20)
    mk.pay(o["trade"]["id"])
    assert mk.confirm(o["trade"]["id"], received=False)["status"] == "failed"
    # the listing was sold out (closed): the tonnes go back to the seller as tradeable credits
    assert account_total(db, mk.seller_account).get("reserved", 0) == 0
    y = mk.listing(quantity=20)
    o2 = mk.order(y["id"], 5, user="hb_trader")
    from govgrid.carbon.services import settlement
    from govgrid.core.audit.service import SystemActor

    expired = settlement.expire_payments(db, actor=SystemActor("test"), now=utcnow() + timedelta(days=2))
    assert o2["trade"]["id"] in expired
    assert db.get(MarketListing, y["id"]).remaining == 20  # still open: offered again
    assert db.get(MarketTrade, o2["trade"]["id"]).status == "expired"


def test_reserved_credits_cannot_be_transferred_or_retired(client, login, mk, db):
    held = account_total(db, mk.seller_account)["active"]
    mk.listing(quantity=held)
    r = client.post(
        "/api/v1/carbon/retirements",
        json={"account_id": mk.seller_account, "quantity": 1, "beneficiary": "x", "reason": "y"},
        headers=login("jsh_forestry"),
    )
    assert r.status_code == 409
    r = client.post(
        "/api/v1/carbon/transfers",
        json={
            "from_account_id": mk.seller_account,
            "to_account_id": mk.buyer_accounts["gx_trader"],
            "quantity": 1,
        },
        headers=login("jsh_forestry"),
    )
    assert r.status_code == 409
    assert mk.listing(quantity=1, expect=409)["error"]["code"] == "insufficient_balance"


def test_cancel_releases_unsold(client, login, mk, db):
    x = mk.listing(quantity=40)
    mk.order(x["id"], 15)
    r = client.post(f"{P}/listings/{x['id']}/cancel", headers=login("jsh_forestry"))
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert account_total(db, mk.seller_account)["reserved"] == 15  # owed to the open trade


def test_ledger_balances(mk, db):
    total = mk.issuance["quantity"]
    mk.bought(quantity=10)
    assert (
        db.scalar(select(func.sum(CreditBlock.quantity)).where(CreditBlock.issuance_id == mk.issuance["id"]))
        == total
    )


def _principal(db, username):
    from govgrid.core.identity import service as identity
    from govgrid.core.identity.models import User

    user = db.scalar(select(User).where(User.username == username))
    return identity.load_user_principal(db, user.id)
