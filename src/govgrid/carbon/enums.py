"""Closed sets of the carbon registry, with one transition table per lifecycle.

The values are the strings stored in the database since the first migration (a ``StrEnum`` member equals
its string), so no migration is needed; every member's name equals its value too, so a driver that writes an
Enum by name stores the same string. Services compare and assign members (``ReportStatus.verified``), never
string literals, and check a move against its lifecycle's table (``can_move``, ``require_move``).

Lifecycles:
- monitoring report: submitted -> verified | rejected (the verifier's decision is final);
- credit block (a serial range): active -> retired (retirement is for good; a transfer keeps it active);
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


class AccountKind(StrEnum):
    """Who holds an account."""

    department = "department"  # a department's own account, operated by its operator/admin
    external = "external"  # an outside holder (an enterprise), operated by the registry administrator


class MovementKind(StrEnum):
    """A line of the credit ledger."""

    issue = "issue"
    transfer = "transfer"
    retire = "retire"


class AlertTaskStatus(StrEnum):
    """A department's task for a protection alert."""

    open = "open"
    done = "done"


class AlertStatus(StrEnum):
    """A protection alert: open while any of its tasks is open."""

    open = "open"
    closed = "closed"


REPORT_TRANSITIONS: dict[ReportStatus, frozenset[ReportStatus]] = {
    ReportStatus.submitted: frozenset({ReportStatus.verified, ReportStatus.rejected}),
    ReportStatus.verified: frozenset(),
    ReportStatus.rejected: frozenset(),
}
CREDIT_TRANSITIONS: dict[CreditStatus, frozenset[CreditStatus]] = {
    CreditStatus.active: frozenset({CreditStatus.retired}),
    CreditStatus.retired: frozenset(),
}
ALERT_TASK_TRANSITIONS: dict[AlertTaskStatus, frozenset[AlertTaskStatus]] = {
    AlertTaskStatus.open: frozenset({AlertTaskStatus.open, AlertTaskStatus.done}),
    AlertTaskStatus.done: frozenset({AlertTaskStatus.done, AlertTaskStatus.open}),
}
ALERT_TRANSITIONS: dict[AlertStatus, frozenset[AlertStatus]] = {
    AlertStatus.open: frozenset({AlertStatus.open, AlertStatus.closed}),
    AlertStatus.closed: frozenset({AlertStatus.closed, AlertStatus.open}),
}
TRANSITIONS: dict[type[StrEnum], Mapping[Any, frozenset[Any]]] = {
    ReportStatus: REPORT_TRANSITIONS,
    CreditStatus: CREDIT_TRANSITIONS,
    AlertTaskStatus: ALERT_TASK_TRANSITIONS,
    AlertStatus: ALERT_TRANSITIONS,
}


def can_move(current: str, target: StrEnum) -> bool:
    """True if the lifecycle of ``target`` allows moving from ``current`` (a member or its stored string)."""
    kind = type(target)
    return target in TRANSITIONS[kind][kind(current)]


def require_move(current: str, target: StrEnum, *, message: str, code: str | None = None) -> None:
    """Refuse with a 409 carrying ``message`` a move the lifecycle's transition table does not allow."""
    if not can_move(current, target):
        raise ConflictError(message, code=code)
