"""The closed sets of the appeals module as enums, and the ticket lifecycle as one transition table.

The enums' values are the strings (and integers) the database already holds, so no migration is needed.
Services compare with the enums (`ticket.state == TicketState.pending`) and move a ticket only through
`require_move`.

The ticket lifecycle (工单流转), one action per arrow:

    pending ──dispatch──▶ dispatched ──sign──▶ signed ──answer──▶ answered ──rate/survey/close──▶ closed
       ▲                      │                  ▲                    │                             │
       └────────return────────┘                  └───────reopen───────┴─────────────reopen──────────┘
    pending, dispatched ──merge──▶ merged (final)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

from govgrid.core.errors import ConflictError


class TicketState(StrEnum):
    """Where a ticket stands."""

    pending = "pending"  # 待派遣: waiting for a dispatcher
    dispatched = "dispatched"  # 待签收: waiting for the responsible unit to sign for it
    signed = "signed"  # 办理中: the unit is handling it
    answered = "answered"  # 已答复待评价: answered, waiting for the reporter's rating
    closed = "closed"  # 已办结
    merged = "merged"  # 已合并: a duplicate, handled with the ticket it was merged into


OPEN_STATES: tuple[TicketState, ...] = (TicketState.pending, TicketState.dispatched, TicketState.signed)
# States whose clocks run (sign-for, first contact, resolution).
CLOCKED_STATES: tuple[TicketState, ...] = (TicketState.dispatched, TicketState.signed)


class TicketAction(StrEnum):
    """What may be done to a ticket: each action is one row of TRANSITIONS."""

    dispatch = "dispatch"
    sign = "sign"
    contact = "contact"
    answer = "answer"
    return_ = "return"
    rate = "rate"
    survey = "survey"
    close = "close"
    reopen = "reopen"
    merge = "merge"


@dataclass(frozen=True)
class Move:
    """The states an action may start from, the state it leads to (None: the state stays) and its label."""

    sources: frozenset[TicketState]
    target: TicketState | None
    label: str


def _move(sources: set[TicketState], target: TicketState | None, label: str) -> Move:
    return Move(frozenset(sources), target, label)


S = TicketState
# The ticket lifecycle: the one table every state change is checked against.
TRANSITIONS: dict[TicketAction, Move] = {
    TicketAction.dispatch: _move({S.pending}, S.dispatched, "派遣 (dispatch)"),
    TicketAction.sign: _move({S.dispatched}, S.signed, "签收 (sign for)"),
    TicketAction.contact: _move({S.signed}, None, "记录联系 (record contact)"),
    TicketAction.answer: _move({S.signed}, S.answered, "答复 (answer)"),
    TicketAction.return_: _move({S.dispatched}, S.pending, "退回 (return)"),
    TicketAction.rate: _move({S.answered}, S.closed, "评价 (rate)"),
    TicketAction.survey: _move({S.answered, S.closed}, S.closed, "回访 (survey)"),
    TicketAction.close: _move({S.answered}, S.closed, "自动办结 (auto-close)"),
    TicketAction.reopen: _move({S.answered, S.closed}, S.signed, "重办 (reopen)"),
    TicketAction.merge: _move({S.pending, S.dispatched}, S.merged, "合并 (merge)"),
}
del S

# The lifecycle as a graph (derived from TRANSITIONS): state -> the states it may move to.
NEXT_STATES: dict[TicketState, frozenset[TicketState]] = {
    state: frozenset(
        m.target
        for m in TRANSITIONS.values()
        if state in m.sources and m.target is not None and m.target != state
    )
    for state in TicketState
}


def can_move(current: str, target: str) -> bool:
    """True if the lifecycle lets a ticket in `current` move to `target`."""
    return TicketState(target) in NEXT_STATES.get(TicketState(current), frozenset())


def may(action: TicketAction, current: str) -> bool:
    """True if `action` may be taken on a ticket in state `current`."""
    return current in TRANSITIONS[action].sources


def require_move(action: TicketAction, current: str) -> TicketState:
    """The state `action` leads to from `current` (itself when the action keeps the state), or
    ConflictError if the lifecycle does not allow the action in `current`."""
    move = TRANSITIONS[action]
    if current not in move.sources:
        raise ConflictError(
            f"工单当前状态为 {current}，不能{move.label} (ticket is {current}; cannot {move.label})"
        )
    return move.target if move.target is not None else TicketState(current)


class EscalationLevel(IntEnum):
    """How far a ticket has been escalated."""

    none = 0
    superior = 1  # the responsible unit's superior (上级督办)
    supervisor = 2  # the discipline-inspection supervisor queue (纪检监察下沉监督)


class EscalationReason(StrEnum):
    """Why a ticket was escalated."""

    sign_overdue = "sign_overdue"
    contact_overdue = "contact_overdue"
    resolve_overdue = "resolve_overdue"
    citizen_rejected = "citizen_rejected"
    superior_deadline_passed = "superior_deadline_passed"


ESCALATION_REASONS_ZH: dict[str, str] = {
    EscalationReason.sign_overdue: "超时未签收",
    EscalationReason.contact_overdue: "超时未联系诉求人",
    EscalationReason.resolve_overdue: "超过办结时限",
    EscalationReason.citizen_rejected: "诉求人不满意/未解决",
    EscalationReason.superior_deadline_passed: "上级督办期限已过仍未办结",
}


class Channel(StrEnum):
    """How a concern reached us."""

    web = "web"
    mobile = "mobile"
    hotline = "hotline"
    wechat = "wechat"
    open311 = "open311"


CHANNEL_LABELS_ZH: dict[str, str] = {
    Channel.web: "网页",
    Channel.mobile: "手机页面",
    Channel.hotline: "12345热线",
    Channel.wechat: "微信公众号",
    Channel.open311: "Open311 接口",
}


class EventKind(StrEnum):
    """The kinds of step kept in a ticket's history."""

    created = "created"
    located = "located"
    recategorised = "recategorised"
    dispatched = "dispatched"
    returned = "returned"
    signed = "signed"
    contacted = "contacted"
    contact_note = "contact_note"
    answered = "answered"
    rated = "rated"
    surveyed = "surveyed"
    closed = "closed"
    reopened = "reopened"
    escalated = "escalated"
    merged = "merged"
    duplicate_added = "duplicate_added"
    supervision_comment = "supervision_comment"
    supervision_summon = "supervision_summon"
    supervision_accountability = "supervision_accountability"
    city_case_closed = "city_case_closed"


class Rating(StrEnum):
    """The reporter's (or a callback survey's) verdict."""

    satisfied = "satisfied"
    basic = "basic"
    unsatisfied = "unsatisfied"


RATING_LABELS_ZH: dict[str, str] = {
    Rating.satisfied: "满意",
    Rating.basic: "基本满意",
    Rating.unsatisfied: "不满意",
}


class RatingSource(StrEnum):
    """Who gave the rating."""

    citizen = "citizen"
    survey = "survey"


class CategorySource(StrEnum):
    """Who chose a ticket's category."""

    reporter = "reporter"
    rules = "rules"
    model = "model"
    dispatcher = "dispatcher"


class LocationSource(StrEnum):
    """How a ticket's place was found."""

    point = "point"
    address = "address"
    text = "text"
    channel = "channel"
    chosen = "chosen"  # the reporter chose the county / township in the form


class SupervisionAction(StrEnum):
    """What a discipline-inspection supervisor may do on a ticket."""

    comment = "comment"
    summon = "summon"  # 约谈/吹哨
    accountability = "accountability"  # 问责


class WorkView(StrEnum):
    """The work lists."""

    inbox = "inbox"
    work = "work"
    superior = "superior"
    supervision = "supervision"
    overdue = "overdue"
    all = "all"


class ResponseBasis(StrEnum):
    """What counts as a timely response in 响应率."""

    signed = "signed"  # signed for in time
    contacted = "contacted"  # first contact in time
    signed_and_contacted = "signed_and_contacted"  # both


class ResolutionBasis(StrEnum):
    """What 解决率 divides."""

    survey = "survey"  # rated resolved / rated
    closed = "closed"  # closed / dispatched
