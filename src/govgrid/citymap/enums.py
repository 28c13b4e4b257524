"""Closed sets of the city map: case states (the GB/T 30428 loop) and field unit statuses."""

from __future__ import annotations

from enum import StrEnum
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class CaseState(StrEnum):
    """Where a case stands in 信息收集 -> 案卷建立 -> 任务派遣 -> 任务处理 -> 处理反馈 -> 核查结案 -> 综合评价."""

    collected = "collected"  # 信息收集: reported, waiting for the command centre to file it
    filed = "filed"  # 案卷建立: a case with a deadline, waiting for dispatch
    dispatched = "dispatched"  # 任务派遣: assigned to a department (and unit), not yet signed for
    handling = "handling"  # 任务处理: being handled (also after a failed verification: 返工)
    handled = "handled"  # 处理反馈: reported back, waiting for verification
    closed = "closed"  # 核查结案: verified and closed
    evaluated = "evaluated"  # 综合评价: scored by the supervisor
    rejected = "rejected"  # 不予立案: declined at filing

    @property
    def zh(self) -> str:
        return STATE_ZH[self]


STATE_ZH = {
    CaseState.collected: "信息收集",
    CaseState.filed: "案卷建立",
    CaseState.dispatched: "任务派遣",
    CaseState.handling: "任务处理",
    CaseState.handled: "处理反馈",
    CaseState.closed: "核查结案",
    CaseState.evaluated: "综合评价",
    CaseState.rejected: "不予立案",
}
OPEN_STATES = (
    CaseState.collected,
    CaseState.filed,
    CaseState.dispatched,
    CaseState.handling,
    CaseState.handled,
)


class UnitStatus(StrEnum):
    """A field unit's status."""

    available = "available"
    en_route = "en_route"
    on_site = "on_site"
    off_duty = "off_duty"
