"""Closed sets of the exchange, with their Chinese labels, and one transition table per lifecycle.

Lifecycles: a sharing request (`RequestStatus`, `REQUEST_TRANSITIONS`), a grant (`GrantStatus`,
`GRANT_TRANSITIONS`) and an upload of a resource's records (`UploadStatus`, `UPLOAD_TRANSITIONS`). The values
are the strings stored in the database (every member's name equals its value), so no migration is involved.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypeVar

from govgrid.core.errors import ConflictError


class SharingType(StrEnum):
    """共享类型 of a catalog entry (国发〔2016〕51号: sharing is the rule, withholding the exception)."""

    unconditional = "unconditional"  # 无条件共享: granted after the automatic compliance check
    conditional = "conditional"  # 有条件共享: the provider decides, within working-day deadlines
    none = "none"  # 不予共享: only with a cited legal basis, decided by the data management bureau


class OpenType(StrEnum):
    """开放属性: whether the entry is open to the public (anonymous CKAN and DCAT see open entries only)."""

    open = "open"
    conditional_open = "conditional_open"
    not_open = "not_open"


class Grade(StrEnum):
    """数据分级 of an entry."""

    general = "general"
    important = "important"
    core = "core"


class UpdateCycle(StrEnum):
    """更新周期 of an entry."""

    realtime = "realtime"
    daily = "daily"
    weekly = "weekly"
    monthly = "monthly"
    quarterly = "quarterly"
    yearly = "yearly"
    irregular = "irregular"


class ResourceKind(StrEnum):
    """Where an entry's data lives: records stored here (table) or the provider's registered API."""

    table = "table"
    api = "api"


class SharingMethod(StrEnum):
    """共享方式 of an entry."""

    interface = "interface"
    file = "file"
    verify = "verify"


class ItemType(StrEnum):
    """The type of a data item (信息项); uploads are validated against it."""

    string = "string"
    integer = "integer"
    number = "number"
    date = "date"
    boolean = "boolean"
    division = "division"
    id_number = "id_number"
    phone = "phone"


class MaskRule(StrEnum):
    """How the gateway masks a personal item (the rules themselves are `govgrid.core.privacy`'s)."""

    none = "none"
    id_number = "id_number"
    phone = "phone"
    name = "name"
    address = "address"
    full = "full"


class AccessMode(StrEnum):
    """What a request asks for and a grant allows: records (which includes verify) or verify-only answers."""

    records = "records"
    verify = "verify"


class RequestRoute(StrEnum):
    """Who answers a request: nobody (auto, 无条件), the provider (有条件) or the data bureau (不予共享)."""

    auto = "auto"
    provider = "provider"
    bureau = "bureau"


class DecisionAction(StrEnum):
    """What the handler of a request may do with it."""

    accept = "accept"  # 审核通过: checked, now waiting for the answer
    approve = "approve"  # 同意: creates the grant
    refuse = "refuse"  # 拒绝: with reasons


class CallKind(StrEnum):
    """The kind of a served gateway call (one row of the call log)."""

    records = "records"
    verify = "verify"
    datastore = "datastore"


class RequestStatus(StrEnum):
    """Where a sharing request stands: 待审核 -> 待批复 -> 已授权 / 已拒绝, or 已撤回 while pending."""

    pending_check = "pending_check"
    pending_approval = "pending_approval"
    granted = "granted"
    refused = "refused"
    withdrawn = "withdrawn"

    @property
    def zh(self) -> str:
        """The Chinese label."""
        return REQUEST_STATUS_ZH[self]


class GrantStatus(StrEnum):
    """A grant's state: active until it expires or is revoked (an expired grant may still be revoked)."""

    active = "active"
    expired = "expired"
    revoked = "revoked"


class UploadStatus(StrEnum):
    """An upload's state: the newest accepted upload is served, the one before it is superseded."""

    active = "active"
    superseded = "superseded"


SHARING_TYPE_ZH: dict[str, str] = {
    SharingType.unconditional: "无条件共享",
    SharingType.conditional: "有条件共享",
    SharingType.none: "不予共享",
}
OPEN_TYPE_ZH: dict[str, str] = {
    OpenType.open: "无条件开放",
    OpenType.conditional_open: "有条件开放",
    OpenType.not_open: "不予开放",
}
GRADE_ZH: dict[str, str] = {Grade.general: "一般", Grade.important: "重要", Grade.core: "核心"}
UPDATE_CYCLE_ZH: dict[str, str] = {
    UpdateCycle.realtime: "实时",
    UpdateCycle.daily: "每日",
    UpdateCycle.weekly: "每周",
    UpdateCycle.monthly: "每月",
    UpdateCycle.quarterly: "每季度",
    UpdateCycle.yearly: "每年",
    UpdateCycle.irregular: "不定期",
}
REQUEST_STATUS_ZH: dict[str, str] = {
    RequestStatus.pending_check: "待审核",
    RequestStatus.pending_approval: "待批复",
    RequestStatus.granted: "已授权",
    RequestStatus.refused: "已拒绝",
    RequestStatus.withdrawn: "已撤回",
}
GRANT_STATUS_ZH: dict[str, str] = {
    GrantStatus.active: "有效",
    GrantStatus.expired: "已到期",
    GrantStatus.revoked: "已撤销",
}
MASK_RULE_ZH: dict[str, str] = {
    MaskRule.none: "不脱敏",
    MaskRule.id_number: "身份证号脱敏（保留前3后4位）",
    MaskRule.phone: "电话脱敏（保留前3后4位）",
    MaskRule.name: "姓名脱敏（保留姓）",
    MaskRule.address: "地址脱敏（保留到乡镇）",
    MaskRule.full: "全部隐藏",
}
ITEM_TYPE_ZH: dict[str, str] = {
    ItemType.string: "文本",
    ItemType.integer: "整数",
    ItemType.number: "数值",
    ItemType.date: "日期",
    ItemType.boolean: "是/否",
    ItemType.division: "行政区划代码",
    ItemType.id_number: "身份证号",
    ItemType.phone: "电话",
}
ACCESS_MODE_ZH: dict[str, str] = {
    AccessMode.records: "数据查询",
    AccessMode.verify: "核验（只答一致/不一致）",
}

# ---------------------------------------------------------------- lifecycles

REQUEST_TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    # accept -> pending_approval; an unconditional (auto) request is granted at once; approve or refuse may
    # come before the check was recorded; the requester may withdraw while it is pending.
    RequestStatus.pending_check: frozenset(
        {
            RequestStatus.pending_approval,
            RequestStatus.granted,
            RequestStatus.refused,
            RequestStatus.withdrawn,
        }
    ),
    RequestStatus.pending_approval: frozenset(
        {RequestStatus.granted, RequestStatus.refused, RequestStatus.withdrawn}
    ),
    RequestStatus.granted: frozenset(),
    RequestStatus.refused: frozenset(),
    RequestStatus.withdrawn: frozenset(),
}
GRANT_TRANSITIONS: dict[GrantStatus, frozenset[GrantStatus]] = {
    GrantStatus.active: frozenset({GrantStatus.expired, GrantStatus.revoked}),
    GrantStatus.expired: frozenset({GrantStatus.revoked}),
    GrantStatus.revoked: frozenset(),
}
UPLOAD_TRANSITIONS: dict[UploadStatus, frozenset[UploadStatus]] = {
    UploadStatus.active: frozenset({UploadStatus.superseded}),
    UploadStatus.superseded: frozenset(),
}
# Each lifecycle's table, by its state enum (keys and members are of that enum).
TRANSITIONS: dict[type[StrEnum], Mapping[Any, frozenset[Any]]] = {
    RequestStatus: REQUEST_TRANSITIONS,
    GrantStatus: GRANT_TRANSITIONS,
    UploadStatus: UPLOAD_TRANSITIONS,
}
# A request waiting for its handler (the states with a way out).
PENDING: tuple[RequestStatus, ...] = tuple(s for s, nxt in REQUEST_TRANSITIONS.items() if nxt)

S = TypeVar("S", RequestStatus, GrantStatus, UploadStatus)


def can_move(current: S | str, target: S) -> bool:
    """True if `target`'s lifecycle allows moving from `current` (a member or its stored string)."""
    kind = type(target)
    table = TRANSITIONS[kind]
    return target in table[kind(current)]


def is_final(state: S) -> bool:
    """True if nothing can follow the state (granted, refused, withdrawn, revoked, superseded)."""
    return not TRANSITIONS[type(state)][state]


def require_move(current: S | str, target: S, message: str) -> None:
    """Raise ConflictError(message) unless the lifecycle allows moving from `current` to `target`."""
    if not can_move(current, target):
        raise ConflictError(message)
