"""Closed sets of the city map and their lifecycles: the case loop (GB/T 30428) and field unit statuses.

Each lifecycle has ONE table. The case loop: `CASE_LOOP` names, for every action, the states it may start from
and the state it leads to; `TRANSITIONS`, `can_move` and `can_take` are read from it. Field units:
`UNIT_TRANSITIONS` (a unit reports its own status freely) and `UNIT_STATUS_AFTER` (where the case loop puts an
on-duty unit). The values are the strings stored in the database.
Every state but the final ones (`FINAL_STATES`: evaluated, rejected) has an action leading on.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class CaseState(StrEnum):
    """Where a case stands in the loop.

    信息收集 -> 案卷建立 -> 任务派遣 -> 任务处理 -> 处理反馈 -> 核查结案 -> 综合评价
    """

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
        """The state's Chinese name (the step of GB/T 30428 it stands for)."""
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
OPEN_VALUES = tuple(s.value for s in OPEN_STATES)


class CaseAction(StrEnum):
    """A step of the case loop, as recorded in `citymap_case_steps.action`."""

    collect = "collect"  # 信息收集
    file = "file"  # 案卷建立
    reject = "reject"  # 不予立案
    dispatch = "dispatch"  # 任务派遣
    acknowledge = "acknowledge"  # 签收任务
    arrive = "arrive"  # 到达现场
    feedback = "feedback"  # 处理反馈
    verify_pass = "verify_pass"  # noqa: S105  (a step's name, not a password) 核查通过·结案
    verify_fail = "verify_fail"  # 核查未通过·返工
    evaluate = "evaluate"  # 综合评价
    redispatch = "redispatch"  # 改派: the command centre sends a dispatched case elsewhere
    send_back = "send_back"  # 回退: the handler returns a case that is not theirs to the command centre


class Move(NamedTuple):
    """One row of the loop: the states an action may start from, and the state it leads to."""

    sources: frozenset[CaseState]
    target: CaseState


def _move(sources: tuple[CaseState, ...], target: CaseState) -> Move:
    return Move(frozenset(sources), target)


S = CaseState
# The case loop, the one table: action -> (from, to). `collect` starts a case (no state before it).
CASE_LOOP: dict[CaseAction, Move] = {
    CaseAction.collect: _move((), S.collected),
    CaseAction.file: _move((S.collected,), S.filed),
    CaseAction.reject: _move((S.collected,), S.rejected),
    CaseAction.dispatch: _move((S.filed,), S.dispatched),
    CaseAction.acknowledge: _move((S.dispatched,), S.handling),
    CaseAction.arrive: _move((S.handling,), S.handling),  # on site: the state stays, the time is recorded
    CaseAction.feedback: _move((S.handling,), S.handled),
    CaseAction.verify_pass: _move((S.handled,), S.closed),
    CaseAction.verify_fail: _move((S.handled,), S.handling),  # 返工: back to the handler
    CaseAction.evaluate: _move((S.closed,), S.evaluated),
    # no case is stuck with the wrong department: the command centre re-dispatches, the handler returns it
    CaseAction.redispatch: _move((S.dispatched, S.handling), S.dispatched),
    CaseAction.send_back: _move((S.dispatched, S.handling), S.filed),
}
FINAL_STATES = frozenset({CaseState.evaluated, CaseState.rejected})
del S

# Read from CASE_LOOP: the states each state may move to.
TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    state: frozenset(m.target for m in CASE_LOOP.values() if state in m.sources) for state in CaseState
}


def can_move(a: CaseState | str, b: CaseState | str) -> bool:
    """True if the case loop leads from state `a` to state `b` in one step."""
    return CaseState(b) in TRANSITIONS[CaseState(a)]


def can_take(action: CaseAction, state: CaseState | str) -> bool:
    """True if `action` may be taken on a case in `state`."""
    return CaseState(state) in CASE_LOOP[action].sources


class UnitStatus(StrEnum):
    """A field unit's status."""

    available = "available"
    en_route = "en_route"
    on_site = "on_site"
    off_duty = "off_duty"


# A unit (or its department) reports its own status freely: it knows where it is, so every move is allowed.
UNIT_TRANSITIONS: dict[UnitStatus, frozenset[UnitStatus]] = {s: frozenset(UnitStatus) for s in UnitStatus}
# Where the case loop puts the dispatched unit; an off-duty unit stays off duty.
UNIT_STATUS_AFTER: dict[CaseAction, UnitStatus] = {
    CaseAction.acknowledge: UnitStatus.en_route,
    CaseAction.arrive: UnitStatus.on_site,
    CaseAction.feedback: UnitStatus.available,
}


def can_move_unit(a: UnitStatus | str, b: UnitStatus | str) -> bool:
    """True if a unit may go from status `a` to status `b`."""
    return UnitStatus(b) in UNIT_TRANSITIONS[UnitStatus(a)]


def unit_follows_case(status: UnitStatus | str) -> bool:
    """True if the case loop may move a unit in this status (every status but off duty)."""
    return UnitStatus(status) != UnitStatus.off_duty


class CaseKind(StrEnum):
    """What a case is about: a city part (部件) or an event (事件)."""

    part = "part"
    event = "event"


class CaseSource(StrEnum):
    """The city map's own sources of reports; other modules' (e.g. "appeals") come through the port."""

    inspector = "inspector"  # a grid inspector (监督员/网格员)
    video = "video"  # video analytics
    iot = "iot"  # an IoT sensor


MACHINE_SOURCES = (CaseSource.video, CaseSource.iot)
OWN_SOURCES = (CaseSource.inspector, *MACHINE_SOURCES)
