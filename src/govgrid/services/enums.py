"""Closed sets of the services module and the one lifecycle of an application (申请)."""

from __future__ import annotations

from enum import StrEnum

from govgrid.core.errors import ConflictError


class ItemKind(StrEnum):
    """A single service item (政务服务事项) or a life-event bundle (一件事)."""

    item = "item"
    bundle = "bundle"


class HandlingMode(StrEnum):
    """Where an application is accepted and decided (跨省通办 modes)."""

    local = "local"  # 本地办理
    online = "online"  # 全程网办
    remote_collect = "remote_collect"  # 异地代收代办
    joint = "joint"  # 多地联办


class AppStatus(StrEnum):
    """The lifecycle of an application."""

    in_progress = "in_progress"  # 办理中
    supplement = "supplement"  # 待补正 (clock paused)
    approved = "approved"  # 已办结
    rejected = "rejected"  # 不予许可
    withdrawn = "withdrawn"  # 已撤回


class Decision(StrEnum):
    """What a department decides on its task."""

    approve = "approve"  # 同意
    reject = "reject"  # 不予许可
    supplement = "supplement"  # 要求补正


class EventKind(StrEnum):
    """Entries of the status timeline."""

    submitted = "submitted"
    prefilled = "prefilled"
    material = "material"
    task_ready = "task_ready"
    task_done = "task_done"
    supplement_requested = "supplement_requested"
    supplemented = "supplemented"
    timer = "timer"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"
    certificate = "certificate"
    rated = "rated"
    follow_up = "follow_up"


class Satisfaction(StrEnum):
    """好差评: the five levels of the national rating scheme (1 worst, 5 best)."""

    very_bad = "1"  # 非常不满意
    bad = "2"  # 不满意
    fair = "3"  # 基本满意
    good = "4"  # 满意
    very_good = "5"  # 非常满意


STATUS_ZH = {
    AppStatus.in_progress: "办理中",
    AppStatus.supplement: "待补正",
    AppStatus.approved: "已办结",
    AppStatus.rejected: "不予许可",
    AppStatus.withdrawn: "已撤回",
}
STATUS_EN = {
    AppStatus.in_progress: "In progress",
    AppStatus.supplement: "Awaiting supplement",
    AppStatus.approved: "Completed",
    AppStatus.rejected: "Refused",
    AppStatus.withdrawn: "Withdrawn",
}
MODE_ZH = {
    HandlingMode.local: "本地办理",
    HandlingMode.online: "全程网办",
    HandlingMode.remote_collect: "异地代收代办",
    HandlingMode.joint: "多地联办",
}
MODE_EN = {
    HandlingMode.local: "Local",
    HandlingMode.online: "Fully online",
    HandlingMode.remote_collect: "Accepted here, decided there",
    HandlingMode.joint: "Joint handling",
}
SATISFACTION_ZH = {
    Satisfaction.very_bad: "非常不满意",
    Satisfaction.bad: "不满意",
    Satisfaction.fair: "基本满意",
    Satisfaction.good: "满意",
    Satisfaction.very_good: "非常满意",
}
BAD_RATINGS = (Satisfaction.very_bad, Satisfaction.bad)  # 差评: followed up by the supervisor

# The one transition table of an application.
APP_TRANSITIONS: dict[AppStatus, frozenset[AppStatus]] = {
    AppStatus.in_progress: frozenset(
        {AppStatus.supplement, AppStatus.approved, AppStatus.rejected, AppStatus.withdrawn}
    ),
    AppStatus.supplement: frozenset({AppStatus.in_progress, AppStatus.withdrawn, AppStatus.rejected}),
    AppStatus.approved: frozenset(),
    AppStatus.rejected: frozenset(),
    AppStatus.withdrawn: frozenset(),
}
OPEN_STATUSES = (AppStatus.in_progress, AppStatus.supplement)


def can_move(current: str, target: str) -> bool:
    """True if an application in `current` may move to `target`."""
    return AppStatus(target) in APP_TRANSITIONS.get(AppStatus(current), frozenset())


def require_move(current: str, target: str) -> None:
    """Raise ConflictError (409) unless the move is allowed, naming both states in Chinese."""
    if not can_move(current, target):
        cur, tgt = AppStatus(current), AppStatus(target)
        raise ConflictError(
            f"申请当前为“{STATUS_ZH[cur]}”，不能变为“{STATUS_ZH[tgt]}” "
            f"(an application that is {cur.value} cannot become {tgt.value})"
        )
