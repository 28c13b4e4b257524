"""Closed sets of the carbon registry, with one transition table per lifecycle.

The values are the strings stored in the database since the first migration (a ``StrEnum`` member equals
its string), so no migration is needed; every member's name equals its value too, so a driver that writes an
Enum by name stores the same string. Services compare and assign members (``ReportStatus.verified``), never
string literals, and check a move against its lifecycle's table (``can_move``, ``require_move``).

Lifecycles:
- monitoring report: submitted -> verified | rejected (the verifier's decision is final);
- credit block (a serial range): active -> retired | cancelled (both for good; a transfer keeps it active;
  cancellation covers a reversal or a correction's compensating entry);
- assessment run (an engine run started from the pages): queued -> running -> done | failed;
- alert task: open <-> done (a done task can be reopened; a note can be rewritten in either state);
- protection alert: open <-> closed (closed when no task is open, open again when one is reopened).

A project has no lifecycle state of its own: it is registered once and its reports carry the states.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from govgrid.core.errors import ConflictError


class ReportStatus(StrEnum):
    """Where a monitoring report stands (监测报告状态)."""

    submitted = "submitted"  # 已提交: waiting for a third-party verifier
    verified = "verified"  # 已核查: signed off, credits may be issued
    rejected = "rejected"  # 未通过: refused by the verifier


class CreditStatus(StrEnum):
    """A credit block's state (序列号区块状态)."""

    active = "active"  # 流通中: held by an account, may be transferred or retired
    retired = "retired"  # 已注销: out of circulation for good, published with its beneficiary
    cancelled = "cancelled"  # 已作废: cancelled by the registry (reversal, correction), never usable again
    reserved = "reserved"  # 已冻结: split out for a market listing; moves only by settlement (H4a)


class AccountKind(StrEnum):
    """Who holds an account."""

    department = "department"  # a department's own account, operated by its operator/admin
    external = "external"  # an outside holder (an enterprise), operated by the registry administrator
    buffer = "buffer"  # 缓冲池: the registry's non-permanence buffer, operated by the registry administrator


class MovementKind(StrEnum):
    """A line of the credit ledger."""

    issue = "issue"
    transfer = "transfer"
    retire = "retire"
    buffer = "buffer"  # an issuance's buffer share into the buffer pool
    cancel = "cancel"  # a reversal or a correction's compensating entry
    reserve = "reserve"  # 挂牌冻结 (H4a: market)
    release = "release"  # 解冻 (H4a: market)
    trade = "trade"  # 成交交割 (H4a: market)


class AlertTaskStatus(StrEnum):
    """A department's task for a protection alert."""

    open = "open"
    done = "done"


class AlertStatus(StrEnum):
    """A protection alert: open while any of its tasks is open."""

    open = "open"
    closed = "closed"


class RiskRating(StrEnum):
    """A project's non-permanence risk rating (非永久性风险等级): sets the buffer share of each issuance."""

    low = "low"  # 低
    medium = "medium"  # 中
    high = "high"  # 高


# Share of every issuance held back in the buffer pool, by risk rating (VCS AFOLU practice: 10% and up).
BUFFER_SHARE: dict[RiskRating, float] = {RiskRating.low: 0.10, RiskRating.medium: 0.15, RiskRating.high: 0.20}


class AdjustmentKind(StrEnum):
    """A compensating entry of the registry (never an edit of what was issued)."""

    reversal = "reversal"  # 逆转: loss measured in a later period (fire, conversion, flood)
    correction = "correction"  # 更正: an issued report's figure corrected downwards


class VerificationOpinion(StrEnum):
    """The verifier's opinion (核查结论)."""

    unqualified = "unqualified"  # 无保留意见: credits may be issued
    qualified = "qualified"  # 保留意见: issued, the findings are published with the report
    adverse = "adverse"  # 否定意见: rejected


class RunStatus(StrEnum):
    """An engine run started from the pages (核算任务)."""

    queued = "queued"  # 排队中
    running = "running"  # 运行中
    done = "done"  # 已完成: a monitoring report was submitted
    failed = "failed"  # 失败: the message says why


REPORT_TRANSITIONS: dict[ReportStatus, frozenset[ReportStatus]] = {
    ReportStatus.submitted: frozenset({ReportStatus.verified, ReportStatus.rejected}),
    ReportStatus.verified: frozenset(),
    ReportStatus.rejected: frozenset(),
}
CREDIT_TRANSITIONS: dict[CreditStatus, frozenset[CreditStatus]] = {
    CreditStatus.active: frozenset({CreditStatus.retired, CreditStatus.reserved, CreditStatus.cancelled}),
    CreditStatus.reserved: frozenset({CreditStatus.active}),  # delivered to the buyer or released (H4a)
    CreditStatus.retired: frozenset(),
    CreditStatus.cancelled: frozenset(),
}
RUN_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.queued: frozenset({RunStatus.running, RunStatus.failed}),
    RunStatus.running: frozenset({RunStatus.done, RunStatus.failed}),
    RunStatus.done: frozenset(),
    RunStatus.failed: frozenset(),
}
ALERT_TASK_TRANSITIONS: dict[AlertTaskStatus, frozenset[AlertTaskStatus]] = {
    AlertTaskStatus.open: frozenset({AlertTaskStatus.open, AlertTaskStatus.done}),
    AlertTaskStatus.done: frozenset({AlertTaskStatus.done, AlertTaskStatus.open}),
}
ALERT_TRANSITIONS: dict[AlertStatus, frozenset[AlertStatus]] = {
    AlertStatus.open: frozenset({AlertStatus.open, AlertStatus.closed}),
    AlertStatus.closed: frozenset({AlertStatus.closed, AlertStatus.open}),
}


# ---------------------------------------------------------------- market (碳汇交易, issue 15 items 3-5)


class ListingMode(StrEnum):
    """How a listing trades (交易方式)."""

    listed = "listed"  # 挂牌转让: a buyer takes it at the seller's price
    agreement = "agreement"  # 协议转让: between two named parties
    bidding = "bidding"  # 单向竞价: buyers bid until the closing time; highest bids win


class ListingStatus(StrEnum):
    """A listing's state (挂牌状态)."""

    open = "open"  # 挂牌中
    closed = "closed"  # 已结束: sold out or the bidding closed
    cancelled = "cancelled"  # 已撤牌: withdrawn by the seller; the unsold credits are released


class OrderStatus(StrEnum):
    """A buyer's order or bid (订单状态, after FIX OrdStatus)."""

    open = "open"  # 竞价中: a bid waiting for the close
    filled = "filled"  # 全部成交
    partially_filled = "partially_filled"  # 部分成交
    lost = "lost"  # 未中标: outbid at the close
    cancelled = "cancelled"  # 已撤单


class TradeStatus(StrEnum):
    """A trade's settlement (结算状态): delivery versus payment."""

    awaiting_payment = "awaiting_payment"  # 待付款: credits stay reserved
    paid = "paid"  # 已付款待确认: the buyer's payment record waits for the settlement bank
    settled = "settled"  # 已交割: payment confirmed, credits delivered, revenue split
    failed = "failed"  # 付款失败: the reservation is released
    expired = "expired"  # 付款超时: the reservation is released


class FlagKind(StrEnum):
    """A market surveillance flag (异常交易监控)."""

    wash_trade = "wash_trade"  # 对倒交易: the same beneficial owner on both sides
    price_outlier = "price_outlier"  # 价格偏离: far from the recent price band
    concentration = "concentration"  # 集中度: one buyer takes most of a project's volume


class FlagStatus(StrEnum):
    """A flag's review state."""

    open = "open"  # 待处理
    reviewed = "reviewed"  # 已处理


LISTING_TRANSITIONS: dict[ListingStatus, frozenset[ListingStatus]] = {
    ListingStatus.open: frozenset({ListingStatus.closed, ListingStatus.cancelled}),
    ListingStatus.closed: frozenset(),
    ListingStatus.cancelled: frozenset(),
}
ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.open: frozenset(
        {OrderStatus.filled, OrderStatus.partially_filled, OrderStatus.lost, OrderStatus.cancelled}
    ),
    OrderStatus.filled: frozenset(),
    OrderStatus.partially_filled: frozenset(),
    OrderStatus.lost: frozenset(),
    OrderStatus.cancelled: frozenset(),
}
TRADE_TRANSITIONS: dict[TradeStatus, frozenset[TradeStatus]] = {
    TradeStatus.awaiting_payment: frozenset({TradeStatus.paid, TradeStatus.failed, TradeStatus.expired}),
    TradeStatus.paid: frozenset({TradeStatus.settled, TradeStatus.failed}),
    TradeStatus.settled: frozenset(),
    TradeStatus.failed: frozenset(),
    TradeStatus.expired: frozenset(),
}
FLAG_TRANSITIONS: dict[FlagStatus, frozenset[FlagStatus]] = {
    FlagStatus.open: frozenset({FlagStatus.reviewed}),
    FlagStatus.reviewed: frozenset(),
}

TRANSITIONS: dict[type[StrEnum], Mapping[Any, frozenset[Any]]] = {
    ReportStatus: REPORT_TRANSITIONS,
    CreditStatus: CREDIT_TRANSITIONS,
    AlertTaskStatus: ALERT_TASK_TRANSITIONS,
    AlertStatus: ALERT_TRANSITIONS,
    RunStatus: RUN_TRANSITIONS,
    ListingStatus: LISTING_TRANSITIONS,
    OrderStatus: ORDER_TRANSITIONS,
    TradeStatus: TRADE_TRANSITIONS,
    FlagStatus: FLAG_TRANSITIONS,
}


def can_move(current: str, target: StrEnum) -> bool:
    """True if the lifecycle of ``target`` allows moving from ``current`` (a member or its stored string)."""
    kind = type(target)
    return target in TRANSITIONS[kind][kind(current)]


def require_move(current: str, target: StrEnum, *, message: str, code: str | None = None) -> None:
    """Refuse with a 409 carrying ``message`` a move the lifecycle's transition table does not allow."""
    if not can_move(current, target):
        raise ConflictError(message, code=code)
