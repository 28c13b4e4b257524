"""Carbon market demo (碳汇交易示例), built on the registry demo's issued credits: benefit shares for the
Junshan project, open listings in each of the three modes, an open bidding with a bid, and completed trades
(a listed sale and a closed bidding) paid, settled and split, one of them partly retired with a certificate.

Idempotent: nothing is added when the project already has a listing. Every name is labelled (示例).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.carbon.models import CarbonAccount, CarbonProject, CreditBlock, MarketListing
from govgrid.carbon.services import accounts, benefits, market, settlement, traders
from govgrid.core.audit.service import SystemActor
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.identity import service as identity
from govgrid.core.identity.models import User
from govgrid.core.modules import DemoContext

log = logging.getLogger(__name__)

ACTOR = SystemActor("demo-loader")
PROJECT_NAME = "君山湿地退林退耕还湿碳汇项目（示例）"
ENTERPRISE = "岳阳绿源纸业有限公司（示例企业）"
SECOND = "长沙湘江低碳科技有限公司（示例企业）"
NEEDED = 300
SHARES = [
    benefits.Share("village_collective", "君山区广兴洲镇村集体经济组织（示例）", 6000),
    benefits.Share("protection_fund", "君山湿地保护基金（示例）", 2000),
    benefits.Share("developer", "岳阳市君山区林业局", 2000),
]


def _principal(session: Session, username: str) -> Principal:
    user_id = session.scalar(select(User.id).where(User.username == username))
    principal = identity.load_user_principal(session, user_id) if user_id is not None else None
    if principal is None:
        raise RuntimeError(f"carbon market demo: user {username} is missing")
    return principal


def _trader(
    session: Session, ctx: DemoContext, username: str, display: str, account: CarbonAccount
) -> Principal:
    """A demo trader bound to an enterprise account (created once)."""
    if session.scalar(select(User.id).where(User.username == username)) is None:
        identity.create_user(
            session, actor=ACTOR, username=username, password=ctx.password, display_name=display, is_demo=True
        )
        traders.bind_member(session, actor=ACTOR, username=username, account_id=account.id)
    ctx.users[username] = f"{display} · 交易员 ({account.number})"
    return _principal(session, username)


def load_market_demo(session: Session, ctx: DemoContext) -> None:
    """Load the market demo on top of the registry demo (skipped when the registry demo issued nothing)."""
    project = session.scalar(select(CarbonProject).where(CarbonProject.name == PROJECT_NAME))
    enterprise = session.scalar(select(CarbonAccount).where(CarbonAccount.holder_name == ENTERPRISE))
    if project is None or enterprise is None:
        ctx.printed.append("碳汇交易示例跳过：登记簿示例未签发碳汇 (market demo skipped: no demo credits)")
        return
    identity.ensure_user_with_role(
        session,
        actor=ACTOR,
        username="hn_market",
        password=ctx.password,
        display_name="湖南省生态环境厅碳市场监督员",
        department_code="430000-ecology_environment",
        role="supervisor",
        reach="line",
        is_demo=True,
    )
    ctx.users["hn_market"] = "湖南省生态环境厅碳市场监督员 · supervisor (line)"
    second = session.scalar(select(CarbonAccount).where(CarbonAccount.holder_name == SECOND))
    if second is None:
        second = accounts.create_account(
            session, actor=ACTOR, holder_name=SECOND, department_code=None, division_code="430100"
        )
    buyer = _trader(session, ctx, "yy_trader", "岳阳绿源纸业交易员（示例）", enterprise)
    other = _trader(session, ctx, "cs_trader", "长沙湘江低碳交易员（示例）", second)
    if session.scalar(select(MarketListing.id).where(MarketListing.project_id == project.id)) is not None:
        return
    seller = _principal(session, "jsh_forestry")
    block = session.scalars(
        select(CreditBlock)
        .where(CreditBlock.project_id == project.id, CreditBlock.status == "active")
        .order_by(CreditBlock.serial_start)
    ).first()
    held = 0
    if block is not None:
        account = traders.trader_account(session, actor=seller)
        held = sum(
            session.scalars(
                select(CreditBlock.quantity).where(
                    CreditBlock.account_id == account.id,
                    CreditBlock.status == "active",
                    CreditBlock.vintage_start == block.vintage_start,
                )
            )
        )
    if block is None or held < NEEDED:
        ctx.printed.append(f"碳汇交易示例跳过：可交易碳汇 {held} 吨不足 {NEEDED} 吨 (market demo skipped)")
        return
    benefits.set_shares(session, actor=seller, project_id=project.id, shares=SHARES)
    vintage: dict[str, Any] = {
        "project_id": project.id,
        "vintage_start": block.vintage_start,
        "vintage_end": block.vintage_end,
    }
    registrar = _principal(session, "hn_registry")

    # a listed sale, partly bought by two enterprises, both paid and settled; 40 t stay on offer
    listed = market.create_listing(
        session, actor=seller, mode="listed", quantity=100, price="62.00", **vintage
    )
    first = market.place_order(session, actor=buyer, listing_id=listed.id, quantity=40, price="62.00")
    second_buy = market.place_order(
        session, actor=other, listing_id=listed.id, quantity=20, price="62.00", disclose_buyer=True
    )
    for result, who in ((first, buyer), (second_buy, other)):
        if result.trade is not None:
            settlement.pay(
                session, actor=who, trade_id=result.trade.id, payment_ref=f"DEMO-{result.trade.id:06d}"
            )
            settlement.confirm_payment(session, actor=registrar, trade_id=result.trade.id, received=True)
    if first.trade is not None:
        cert = settlement.retire_purchase(
            session,
            actor=buyer,
            trade_id=first.trade.id,
            quantity=10,
            beneficiary="2026 岳阳国际马拉松（示例）",
            reason="赛事碳中和：抵消赛事交通与场馆排放（示例）",
        )
        ctx.printed.append(f"碳汇交易: 注销证明 {cert.number}（10 tCO2e）")

    # an agreement transfer (协议转让) to the named enterprise, open
    market.create_listing(
        session,
        actor=seller,
        mode="agreement",
        quantity=50,
        price="58.00",
        counterparty_account_id=second.id,
        **vintage,
    )

    # an open bidding (单向竞价) closing in a week, with one bid
    now = utcnow()
    bidding = market.create_listing(
        session,
        actor=seller,
        mode="bidding",
        quantity=80,
        price="60.00",
        closing_at=now + timedelta(days=7),
        **vintage,
    )
    market.place_order(session, actor=buyer, listing_id=bidding.id, quantity=30, price="63.50")

    # a completed bidding: two bids, closed at its closing time, the winners paid and settled
    closing = now + timedelta(hours=1)
    done = market.create_listing(
        session, actor=seller, mode="bidding", quantity=60, price="55.00", closing_at=closing, **vintage
    )
    market.place_order(session, actor=buyer, listing_id=done.id, quantity=40, price="61.00")
    market.place_order(session, actor=other, listing_id=done.id, quantity=40, price="59.50")
    for trade in market.close_bidding(
        session, actor=ACTOR, listing_id=done.id, now=closing + timedelta(seconds=1)
    ):
        who = buyer if trade.buyer_account_id == enterprise.id else other
        settlement.pay(session, actor=who, trade_id=trade.id, payment_ref=f"DEMO-{trade.id:06d}")
        settlement.confirm_payment(session, actor=registrar, trade_id=trade.id, received=True)
    ctx.printed.append(
        "碳汇交易: 挂牌、协议、竞价各一笔在挂，竞价 1 场进行中，已成交并分配收益 4 笔；"
        "交易员 yy_trader、cs_trader，监督员 hn_market，结算 hn_registry"
    )
    log.info("carbon market demo loaded", extra={"project_id": project.id})
