"""Closed sets of market supervision, with one transition table per lifecycle.

Lifecycles:
- inspection plan (抽查计划): draft -> committed (seed committed, lists frozen) -> drawn (seed published,
  targets and inspectors public) -> completed (every visit recorded);
- a draw's record (摇号记录): committed -> published;
- an inspection visit (检查任务): pending -> recorded (result published, 一公开);
- a shared case (协同案件, cross-level or cross-region): open -> accepted -> closed; open -> closed (answered
  without accepting, e.g. "not ours").
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from govgrid.core.errors import ConflictError


class CreditClass(StrEnum):
    """企业信用风险分类 (国市监信发〔2022〕6号): A 低, B 一般, C 较高, D 高."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


class EntityKind(StrEnum):
    """市场主体类型, from positions 1-2 of the credit code."""

    enterprise = "enterprise"  # 企业
    individual = "individual"  # 个体工商户
    cooperative = "cooperative"  # 农民专业合作社
    other = "other"  # 其他


class TaxStatus(StrEnum):
    """纳税信用级别 as shared by the tax line (M: new or no income)."""

    A = "A"
    B = "B"
    M = "M"
    C = "C"
    D = "D"
    unknown = "unknown"


class PlanStatus(StrEnum):
    """抽查计划状态."""

    draft = "draft"
    committed = "committed"
    drawn = "drawn"
    completed = "completed"


class DrawStatus(StrEnum):
    """摇号记录状态."""

    committed = "committed"
    published = "published"


class InspectionStatus(StrEnum):
    """检查任务状态."""

    pending = "pending"
    recorded = "recorded"


class Outcome(StrEnum):
    """抽查结果 (the result wording used by 双随机 systems)."""

    no_problem = "no_problem"  # 未发现问题
    not_disclosed = "not_disclosed"  # 未按规定公示应当公示的信息
    false_disclosure = "false_disclosure"  # 公示信息隐瞒真实情况弄虚作假
    unreachable = "unreachable"  # 通过登记的住所(经营场所)无法联系
    corrected = "corrected"  # 发现问题经责令已改正
    no_activity = "no_activity"  # 未发现开展本次抽查涉及的经营活动
    closed = "closed"  # 已关闭停业或正在组织清算
    obstructed = "obstructed"  # 不配合检查情节严重
    violation = "violation"  # 发现违法违规行为，已立案


class CaseKind(StrEnum):
    """How a finding leaves the county: up a level, or across to another region."""

    escalate = "escalate"  # 上报上级
    forward = "forward"  # 移送异地


class CaseStatus(StrEnum):
    """协同案件状态."""

    open = "open"
    accepted = "accepted"
    closed = "closed"


PROBLEM_OUTCOMES = frozenset(
    {
        Outcome.not_disclosed,
        Outcome.false_disclosure,
        Outcome.unreachable,
        Outcome.corrected,
        Outcome.obstructed,
        Outcome.violation,
    }
)
SERIOUS_OUTCOMES = frozenset({Outcome.false_disclosure, Outcome.obstructed, Outcome.violation})

PLAN_TRANSITIONS: dict[PlanStatus, frozenset[PlanStatus]] = {
    PlanStatus.draft: frozenset({PlanStatus.committed}),
    PlanStatus.committed: frozenset({PlanStatus.drawn}),
    PlanStatus.drawn: frozenset({PlanStatus.completed}),
    PlanStatus.completed: frozenset(),
}
DRAW_TRANSITIONS: dict[DrawStatus, frozenset[DrawStatus]] = {
    DrawStatus.committed: frozenset({DrawStatus.published}),
    DrawStatus.published: frozenset(),
}
INSPECTION_TRANSITIONS: dict[InspectionStatus, frozenset[InspectionStatus]] = {
    InspectionStatus.pending: frozenset({InspectionStatus.recorded}),
    InspectionStatus.recorded: frozenset(),
}
CASE_TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.open: frozenset({CaseStatus.accepted, CaseStatus.closed}),
    CaseStatus.accepted: frozenset({CaseStatus.closed}),
    CaseStatus.closed: frozenset(),
}
TRANSITIONS: dict[type[StrEnum], Mapping[Any, frozenset[Any]]] = {
    PlanStatus: PLAN_TRANSITIONS,
    DrawStatus: DRAW_TRANSITIONS,
    InspectionStatus: INSPECTION_TRANSITIONS,
    CaseStatus: CASE_TRANSITIONS,
}


def can_move(current: str, target: StrEnum) -> bool:
    """True if the lifecycle of ``target`` allows moving from ``current`` (a member or its stored string)."""
    kind = type(target)
    return target in TRANSITIONS[kind][kind(current)]


def require_move(current: str, target: StrEnum, *, message: str, code: str | None = None) -> None:
    """Refuse with a 409 carrying ``message`` a move the lifecycle's transition table does not allow."""
    if not can_move(current, target):
        raise ConflictError(message, code=code)
