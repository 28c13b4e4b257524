"""Carbon market pages (碳汇交易): the public market board, a listing with the order or bid form, the holder's
listing form, the trader's orders and trades (pay, retire, certificates), the supervisor's desk (settlement
and surveillance), benefit sharing and certificates. Every form posts here with the CSRF token; a refused
action comes back to its page with the reason."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from govgrid.carbon.enums import FlagKind, TradeStatus
from govgrid.carbon.services import benefits, market, marketdata, settlement, surveillance, traders
from govgrid.core.authz.principal import Principal
from govgrid.core.deps import OptionalPrincipal, SessionDep
from govgrid.core.errors import AppError, ForbiddenError, ValidationFailedError
from govgrid.core.pages import PagePrincipal, register_messages, render
from govgrid.core.workdays import SHANGHAI

router = APIRouter(prefix="/carbon/market", include_in_schema=False)

ZH = {
    "m.title": "碳汇交易",
    "m.board": "交易大厅",
    "m.listings": "挂牌中",
    "m.trades": "最新成交",
    "m.prices": "价格与成交量（按项目、监测期、日）",
    "m.benefits": "收益分配公示",
    "m.sell": "我要挂牌",
    "m.mine": "我的交易",
    "m.supervision": "结算与市场监管",
    "m.project": "项目",
    "m.vintage": "监测期",
    "m.mode": "交易方式",
    "m.price": "价格（元/吨）",
    "m.floor": "起拍价（元/吨）",
    "m.quantity": "数量（吨）",
    "m.remaining": "剩余（吨）",
    "m.status": "状态",
    "m.closing": "竞价截止",
    "m.time": "时间",
    "m.amount": "金额（元）",
    "m.fee": "手续费（元）",
    "m.buyer": "买方",
    "m.none": "暂无",
    "m.buy": "买入",
    "m.bid": "出价",
    "m.disclose": "在成交公示中显示本单位名称",
    "m.list_submit": "挂牌",
    "m.counterparty": "协议受让方账户号（仅协议转让）",
    "m.closing_help": "截止时间（仅单向竞价，北京时间）",
    "m.holdings": "可挂牌碳汇",
    "m.my_listings": "我的挂牌",
    "m.my_orders": "我的订单与出价",
    "m.my_trades": "我的成交",
    "m.pay": "付款",
    "m.payment_ref": "付款流水号",
    "m.pay_by": "付款截止",
    "m.retire": "注销抵消",
    "m.beneficiary": "受益方（活动或企业名称）",
    "m.reason": "注销用途",
    "m.certificates": "注销证明",
    "m.certificate": "碳汇注销证明",
    "m.serials": "序列号",
    "m.cancel": "撤牌",
    "m.close": "结束竞价并成交",
    "m.queue": "待确认付款",
    "m.confirm": "确认到账并交割",
    "m.reject": "未到账，退回",
    "m.flags": "异常交易预警",
    "m.kind": "类型",
    "m.detail": "说明",
    "m.note": "处理意见",
    "m.review": "处理",
    "m.account": "交易账户",
    "m.tradeable": "可交易",
    "m.reserved": "挂牌冻结",
    "m.retired": "已注销",
    "m.no_account": "您还没有交易账户：企业请由登记簿管理员开立交易员资格；部门请以经办人身份登录。",
    "m.beneficiary_col": "受益方",
    "m.share_kind": "类别",
    "m.received": "累计分得（元）",
    "m.count": "笔数",
    "m.total": "合计",
    "m.vwap": "成交均价",
    "m.high": "最高",
    "m.low": "最低",
    "m.day": "日期",
    "m.volume": "成交量（吨）",
    "m.split": "收益分配",
    "m.cert_note": "本证明由碳汇登记簿依据已交割并注销的序列号出具，可在公开登记簿查询。",
    "m.login_to_trade": "登录后可下单或出价",
    "m.done": "操作成功",
    "mode.listed": "挂牌转让",
    "mode.agreement": "协议转让",
    "mode.bidding": "单向竞价",
    "ls.open": "挂牌中",
    "ls.closed": "已结束",
    "ls.cancelled": "已撤牌",
    "os.open": "竞价中",
    "os.filled": "全部成交",
    "os.partially_filled": "部分成交",
    "os.lost": "未中标",
    "os.cancelled": "已撤单",
    "ts.awaiting_payment": "待付款",
    "ts.paid": "已付款待确认",
    "ts.settled": "已交割",
    "ts.failed": "付款失败",
    "ts.expired": "付款超时",
    "fk.wash_trade": "对倒交易（同一实际控制人）",
    "fk.price_outlier": "价格偏离近期区间",
    "fk.concentration": "买方集中度过高",
    "fs.open": "待处理",
    "fs.reviewed": "已处理",
}
EN = {
    "m.title": "Carbon market",
    "m.board": "Market board",
    "m.listings": "Open listings",
    "m.trades": "Latest trades",
    "m.prices": "Prices and volume (per project, vintage, day)",
    "m.benefits": "Benefit sharing",
    "m.sell": "List credits",
    "m.mine": "My trading",
    "m.supervision": "Settlement and surveillance",
    "m.project": "Project",
    "m.vintage": "Vintage",
    "m.mode": "Mode",
    "m.price": "Price (CNY/t)",
    "m.floor": "Floor price (CNY/t)",
    "m.quantity": "Quantity (t)",
    "m.remaining": "Remaining (t)",
    "m.status": "Status",
    "m.closing": "Bidding closes",
    "m.time": "Time",
    "m.amount": "Amount (CNY)",
    "m.fee": "Fee (CNY)",
    "m.buyer": "Buyer",
    "m.none": "None yet",
    "m.buy": "Buy",
    "m.bid": "Bid",
    "m.disclose": "Show my organisation's name on the public tape",
    "m.list_submit": "List",
    "m.counterparty": "Counterparty account number (agreement only)",
    "m.closing_help": "Closing time (bidding only, Beijing time)",
    "m.holdings": "Credits you may list",
    "m.my_listings": "My listings",
    "m.my_orders": "My orders and bids",
    "m.my_trades": "My trades",
    "m.pay": "Pay",
    "m.payment_ref": "Payment reference",
    "m.pay_by": "Pay by",
    "m.retire": "Retire to offset",
    "m.beneficiary": "Beneficiary (event or company)",
    "m.reason": "Purpose",
    "m.certificates": "Retirement certificates",
    "m.certificate": "Carbon credit retirement certificate",
    "m.serials": "Serial numbers",
    "m.cancel": "Withdraw",
    "m.close": "Close the bidding",
    "m.queue": "Payments to confirm",
    "m.confirm": "Received: deliver",
    "m.reject": "Not received: release",
    "m.flags": "Surveillance flags",
    "m.kind": "Kind",
    "m.detail": "Detail",
    "m.note": "Note",
    "m.review": "Close",
    "m.account": "Trading account",
    "m.tradeable": "Tradeable",
    "m.reserved": "Reserved",
    "m.retired": "Retired",
    "m.no_account": (
        "You have no trading account: enterprises ask the registry administrator; departments log in as "
        "their operator."
    ),
    "m.beneficiary_col": "Beneficiary",
    "m.share_kind": "Kind",
    "m.received": "Received (CNY)",
    "m.count": "Trades",
    "m.total": "Total",
    "m.vwap": "VWAP",
    "m.high": "High",
    "m.low": "Low",
    "m.day": "Day",
    "m.volume": "Volume (t)",
    "m.split": "Revenue split",
    "m.cert_note": "Issued by the carbon registry from settled and retired serial numbers; see the public "
    "registry.",
    "m.login_to_trade": "Log in to order or bid",
    "m.done": "Done",
    "mode.listed": "Listed sale",
    "mode.agreement": "Agreement transfer",
    "mode.bidding": "One-way bidding",
    "ls.open": "Open",
    "ls.closed": "Closed",
    "ls.cancelled": "Withdrawn",
    "os.open": "Bidding",
    "os.filled": "Filled",
    "os.partially_filled": "Partially filled",
    "os.lost": "Outbid",
    "os.cancelled": "Cancelled",
    "ts.awaiting_payment": "Awaiting payment",
    "ts.paid": "Paid, awaiting confirmation",
    "ts.settled": "Settled",
    "ts.failed": "Payment failed",
    "ts.expired": "Payment expired",
    "fk.wash_trade": "Wash trade (same beneficial owner)",
    "fk.price_outlier": "Price outside the recent band",
    "fk.concentration": "Buyer concentration",
    "fs.open": "Open",
    "fs.reviewed": "Reviewed",
}
register_messages({"zh-CN": ZH, "en": EN})


def _render(request: Request, name: str, ctx: dict[str, Any]) -> HTMLResponse:
    """Render a market page (times in Asia/Shanghai, the flash message from the query)."""
    ctx.setdefault("error", request.query_params.get("error"))
    ctx.setdefault("ok", request.query_params.get("ok"))
    ctx["tz"] = SHANGHAI
    return render(request, name, ctx)


def _back(url: str, exc: AppError | None = None) -> RedirectResponse:
    """Back to a page, with the reason of a refusal (nothing half-done: the caller rolled back)."""
    if exc is None:
        return RedirectResponse(f"{url}?ok=1", status_code=303)
    msg = exc.message + "".join(f"；{d.get('msg', '')}" for d in exc.details[:2])
    return RedirectResponse(f"{url}?error={quote(msg[:300])}", status_code=303)


def _int(raw: str, key: str) -> int:
    """A form field as a whole number, or 422 naming the field."""
    try:
        return int(raw.strip())
    except ValueError:
        raise ValidationFailedError(
            f"{key} 须为整数 ({key} must be a whole number)", details=[{"loc": [key], "msg": "integer"}]
        ) from None


def _account(session: Session, principal: Principal) -> Any:
    """The caller's trading account, or None when it has none (the page explains)."""
    try:
        return traders.trader_account(session, actor=principal)
    except ForbiddenError:
        return None


@router.get("")
def board(request: Request, session: SessionDep) -> HTMLResponse:
    """The public market board: open listings in the three modes, the tape, prices and volume."""
    return _render(
        request,
        "carbon/market_board.html",
        {
            "listings": marketdata.open_listings(session),
            "trades": marketdata.public_trades(session, limit=50),
            "prices": marketdata.price_history(session)[:60],
        },
    )


@router.get("/listings/{listing_id}")
def listing_page(
    listing_id: int, request: Request, session: SessionDep, principal: OptionalPrincipal
) -> HTMLResponse:
    """One listing with the order (or bid) form for a logged-in trader."""
    listing = marketdata.get_listing(session, listing_id=listing_id)
    return _render(
        request,
        "carbon/market_listing.html",
        {"listing": listing, "account": _account(session, principal) if principal else None},
    )


@router.post("/listings/{listing_id}/order")
def order_submit(
    listing_id: int,
    session: SessionDep,
    principal: PagePrincipal,
    quantity: Annotated[str, Form()] = "",
    price: Annotated[str, Form()] = "",
    disclose_buyer: Annotated[str, Form()] = "",
) -> Response:
    """Place an order or a bid from the listing page."""
    try:
        market.place_order(
            session,
            actor=principal,
            listing_id=listing_id,
            quantity=_int(quantity, "quantity"),
            price=price,
            disclose_buyer=disclose_buyer == "1",
        )
    except AppError as exc:
        session.rollback()
        return _back(f"/carbon/market/listings/{listing_id}", exc)
    return _back("/carbon/market/mine")


@router.post("/listings/{listing_id}/cancel")
def cancel_submit(listing_id: int, session: SessionDep, principal: PagePrincipal) -> Response:
    """The seller withdraws a listing."""
    try:
        market.cancel_listing(session, actor=principal, listing_id=listing_id)
    except AppError as exc:
        session.rollback()
        return _back("/carbon/market/sell", exc)
    return _back("/carbon/market/sell")


@router.post("/listings/{listing_id}/close")
def close_submit(listing_id: int, session: SessionDep, principal: PagePrincipal) -> Response:
    """The seller (or the supervisor) closes a bidding after its closing time."""
    try:
        market.close_bidding(session, actor=principal, listing_id=listing_id)
    except AppError as exc:
        session.rollback()
        return _back(f"/carbon/market/listings/{listing_id}", exc)
    return _back(f"/carbon/market/listings/{listing_id}")


@router.get("/sell")
def sell_page(request: Request, session: SessionDep, principal: PagePrincipal) -> HTMLResponse:
    """The holder's listing form with its tradeable credits and its listings."""
    account = _account(session, principal)
    ctx: dict[str, Any] = {"account": account, "holdings": [], "listings": []}
    if account is not None:
        ctx["holdings"] = marketdata.tradeable(session, actor=principal)
        ctx["listings"] = marketdata.my_listings(session, actor=principal)
    return _render(request, "carbon/market_sell.html", ctx)


def _closing(raw: str) -> datetime | None:
    """A datetime-local field (Beijing time) as an aware time; empty: None."""
    if not raw.strip():
        return None
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ValidationFailedError(
            "截止时间格式有误 (the closing time is not a date and time)",
            details=[{"loc": ["closing_at"], "msg": "YYYY-MM-DDTHH:MM"}],
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)


@router.post("/sell")
def sell_submit(
    session: SessionDep,
    principal: PagePrincipal,
    holding: Annotated[str, Form()] = "",
    mode: Annotated[str, Form()] = "",
    quantity: Annotated[str, Form()] = "",
    price: Annotated[str, Form()] = "",
    counterparty: Annotated[str, Form()] = "",
    closing_at: Annotated[str, Form()] = "",
) -> Response:
    """Create a listing from the form (holding = 'project:start:end')."""
    try:
        parts = holding.split(":")
        if len(parts) != 3:
            raise ValidationFailedError(
                "请选择要挂牌的碳汇 (choose the credits to list)",
                details=[{"loc": ["holding"], "msg": "required"}],
            )
        project_id, v_start, v_end = (_int(x, "holding") for x in parts)
        counterparty_id = None
        if counterparty.strip():
            counterparty_id = marketdata.account_id_by_number(session, number=counterparty.strip())
        market.create_listing(
            session,
            actor=principal,
            project_id=project_id,
            vintage_start=v_start,
            vintage_end=v_end,
            mode=mode,
            quantity=_int(quantity, "quantity"),
            price=price,
            counterparty_account_id=counterparty_id,
            closing_at=_closing(closing_at),
        )
    except AppError as exc:
        session.rollback()
        return _back("/carbon/market/sell", exc)
    return _back("/carbon/market/sell")


@router.get("/mine")
def mine_page(request: Request, session: SessionDep, principal: PagePrincipal) -> HTMLResponse:
    """The trader's account, orders and trades with pay and retire forms, and certificates."""
    account = _account(session, principal)
    ctx: dict[str, Any] = {"account": account, "orders": [], "trades": [], "holdings": None, "certs": {}}
    if account is not None:
        ctx["orders"] = marketdata.my_orders(session, actor=principal)
        ctx["trades"] = marketdata.my_trades(session, actor=principal)
        ctx["holdings"] = marketdata.holdings(session, actor=principal)
        ctx["certs"] = marketdata.certificates_by_trade(session, trade_ids=[t.id for t in ctx["trades"]])
        ctx["left"] = {
            t.id: sum(b.quantity for b in settlement.purchased_blocks(session, trade=t))
            for t in ctx["trades"]
            if t.status == TradeStatus.settled and t.buyer_account_id == account.id
        }
    return _render(request, "carbon/market_mine.html", ctx)


@router.post("/trades/{trade_id}/pay")
def pay_submit(
    trade_id: int, session: SessionDep, principal: PagePrincipal, payment_ref: Annotated[str, Form()] = ""
) -> Response:
    """The buyer records its payment."""
    try:
        settlement.pay(session, actor=principal, trade_id=trade_id, payment_ref=payment_ref)
    except AppError as exc:
        session.rollback()
        return _back("/carbon/market/mine", exc)
    return _back("/carbon/market/mine")


@router.post("/trades/{trade_id}/retire")
def retire_submit(
    trade_id: int,
    session: SessionDep,
    principal: PagePrincipal,
    quantity: Annotated[str, Form()] = "",
    beneficiary: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """The buyer retires purchased credits and is taken to the certificate."""
    try:
        cert = settlement.retire_purchase(
            session,
            actor=principal,
            trade_id=trade_id,
            quantity=_int(quantity, "quantity"),
            beneficiary=beneficiary,
            reason=reason,
        )
    except AppError as exc:
        session.rollback()
        return _back("/carbon/market/mine", exc)
    return RedirectResponse(f"/carbon/market/certificates/{quote(cert.number)}", status_code=303)


@router.get("/certificates/{number}")
def certificate_page(number: str, request: Request, session: SessionDep) -> HTMLResponse:
    """A retirement certificate (public)."""
    return _render(
        request,
        "carbon/market_certificate.html",
        {"cert": settlement.get_certificate(session, number=number)},
    )


@router.get("/supervision")
def supervision_page(request: Request, session: SessionDep, principal: PagePrincipal) -> HTMLResponse:
    """The supervisor's desk: payments to confirm, surveillance flags."""
    if not traders.supervisor_paths(principal):
        raise ForbiddenError("需要市场监管或结算权限 (requires the market supervisor or settlement agent)")
    return _render(
        request,
        "carbon/market_supervision.html",
        {
            "queue": marketdata.settlement_queue(session, principal=principal),
            "flags": surveillance.list_flags(session, principal=principal),
            "flag_kinds": tuple(FlagKind),
        },
    )


@router.post("/trades/{trade_id}/confirm")
def confirm_submit(
    trade_id: int, session: SessionDep, principal: PagePrincipal, received: Annotated[str, Form()] = ""
) -> Response:
    """The settlement agent confirms or rejects a payment."""
    try:
        settlement.confirm_payment(session, actor=principal, trade_id=trade_id, received=received == "1")
    except AppError as exc:
        session.rollback()
        return _back("/carbon/market/supervision", exc)
    return _back("/carbon/market/supervision")


@router.post("/flags/{flag_id}/review")
def review_submit(
    flag_id: int, session: SessionDep, principal: PagePrincipal, note: Annotated[str, Form()] = ""
) -> Response:
    """The supervisor closes a flag with a note."""
    try:
        surveillance.review_flag(session, actor=principal, flag_id=flag_id, note=note)
    except AppError as exc:
        session.rollback()
        return _back("/carbon/market/supervision", exc)
    return _back("/carbon/market/supervision")


@router.get("/benefits")
def benefits_page(request: Request, session: SessionDep) -> HTMLResponse:
    """Public benefit sharing per project and beneficiary."""
    return _render(request, "carbon/market_benefits.html", {"projects": benefits.public_summary(session)})
