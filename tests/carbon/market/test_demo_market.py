"""The market demo on top of the registry's issued credits: open listings in each mode, an open bidding with
a bid, completed trades with their revenue split, a certificate; a second load adds nothing."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from govgrid.carbon import demo_market
from govgrid.carbon.models import BenefitEntry, MarketCertificate, MarketListing, MarketOrder, MarketTrade
from govgrid.core.modules import DemoContext
from tests.live import DEMO_PASSWORD


def _counts(db):
    return tuple(
        db.scalar(select(func.count()).select_from(m)) for m in (MarketListing, MarketTrade, BenefitEntry)
    )


def test_market_demo(client, login, flow, db):
    flow.issued(name=demo_market.PROJECT_NAME)
    r = client.post(
        "/api/v1/carbon/accounts",
        json={"holder_name": demo_market.ENTERPRISE, "division_code": "430600"},
        headers=login("hn_registry"),
    )
    assert r.status_code == 201
    ctx = DemoContext(password=DEMO_PASSWORD)
    started = time.perf_counter()
    demo_market.load_market_demo(db, ctx)
    elapsed = time.perf_counter() - started
    open_modes = set(db.scalars(select(MarketListing.mode).where(MarketListing.status == "open")))
    assert open_modes == {"listed", "agreement", "bidding"}
    bid = db.scalar(
        select(MarketOrder)
        .join(MarketListing, MarketListing.id == MarketOrder.listing_id)
        .where(MarketListing.mode == "bidding", MarketListing.status == "open", MarketOrder.status == "open")
    )
    assert bid is not None
    settled = db.scalars(select(MarketTrade).where(MarketTrade.status == "settled")).all()
    assert len(settled) == 4
    for t in settled:
        entries = db.scalars(select(BenefitEntry).where(BenefitEntry.trade_id == t.id)).all()
        assert len(entries) == 3 and sum(e.amount for e in entries) == t.amount - t.fee
    assert db.scalar(select(func.count(MarketCertificate.id))) == 1
    assert {"yy_trader", "cs_trader", "hn_market"} <= set(ctx.users)
    before = _counts(db)
    demo_market.load_market_demo(db, DemoContext(password=DEMO_PASSWORD))
    assert _counts(db) == before
    assert elapsed < 30  # a guard against a runaway loader only: timing on a shared CI machine is noisy


def test_market_demo_skips_without_registry_credits(db):
    ctx = DemoContext(password=DEMO_PASSWORD)
    demo_market.load_market_demo(db, ctx)
    assert any("跳过" in line for line in ctx.printed)
