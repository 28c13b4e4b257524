"""Closed sets of economic monitoring, with one transition table per lifecycle.

Lifecycles:
- alert (预警): open -> resolved | dismissed (the responsible department handles the task, or explains
  that the figure is right); resolved | dismissed -> open (reopened by hand).

Observations have no lifecycle: a revision is a new vintage (版本), the old one is kept and never overwritten.
"""

from __future__ import annotations

from enum import StrEnum

from govgrid.core.errors import ConflictError


class Frequency(StrEnum):
    """How often an indicator is reported (报告频率)."""

    monthly = "monthly"  # 月度
    quarterly = "quarterly"  # 季度


class Source(StrEnum):
    """Where an observation came from (数据来源)."""

    upload = "upload"  # 上传 CSV/Excel
    exchange = "exchange"  # 共享交换资源（定时拉取）
    demo = "demo"  # 演示数据


class AlertKind(StrEnum):
    """What raised an alert."""

    anomaly = "anomaly"  # 异常值: outside the expected band of its own series
    crosscheck = "crosscheck"  # 交叉校验: diverges from a series that should move with it


class AlertStatus(StrEnum):
    """An alert and its task for the responsible department."""

    open = "open"  # 待核实
    resolved = "resolved"  # 已核实处理 (figure corrected or explained)
    dismissed = "dismissed"  # 已排除 (the figure is right)


ALERT_TRANSITIONS: dict[AlertStatus, frozenset[AlertStatus]] = {
    AlertStatus.open: frozenset({AlertStatus.resolved, AlertStatus.dismissed}),
    AlertStatus.resolved: frozenset({AlertStatus.open}),
    AlertStatus.dismissed: frozenset({AlertStatus.open}),
}

STATUS_ZH = {AlertStatus.open: "待核实", AlertStatus.resolved: "已处理", AlertStatus.dismissed: "已排除"}
STATUS_EN = {AlertStatus.open: "Open", AlertStatus.resolved: "Resolved", AlertStatus.dismissed: "Dismissed"}
KIND_ZH = {AlertKind.anomaly: "异常值", AlertKind.crosscheck: "交叉校验"}
KIND_EN = {AlertKind.anomaly: "Anomaly", AlertKind.crosscheck: "Cross-check"}


def can_move(current: str, target: AlertStatus) -> bool:
    """True if an alert may move from ``current`` to ``target``."""
    return target in ALERT_TRANSITIONS[AlertStatus(current)]


def require_move(current: str, target: AlertStatus) -> None:
    """Refuse (409) a move the alert lifecycle does not allow, with a message a person can act on."""
    if not can_move(current, target):
        raise ConflictError(
            f"预警当前状态为“{STATUS_ZH[AlertStatus(current)]}”，不能改为“{STATUS_ZH[target]}” "
            f"(the alert is {current}; it cannot become {target.value})",
            code="alert_state",
        )
