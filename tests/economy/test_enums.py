"""The alert lifecycle: open -> resolved | dismissed, and back to open only."""

from __future__ import annotations

import pytest

from govgrid.core.errors import ConflictError
from govgrid.economy.enums import ALERT_TRANSITIONS, AlertStatus, can_move, require_move


def test_every_state_has_a_row():
    assert set(ALERT_TRANSITIONS) == set(AlertStatus)


@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [
        ("open", AlertStatus.resolved, True),
        ("open", AlertStatus.dismissed, True),
        ("open", AlertStatus.open, False),
        ("resolved", AlertStatus.open, True),
        ("resolved", AlertStatus.dismissed, False),
        ("dismissed", AlertStatus.open, True),
        ("dismissed", AlertStatus.resolved, False),
    ],
)
def test_moves(start, target, allowed):
    assert can_move(start, target) is allowed


def test_refusal_says_why_in_chinese():
    with pytest.raises(ConflictError) as exc:
        require_move("resolved", AlertStatus.dismissed)
    assert "已处理" in exc.value.message and "已排除" in exc.value.message
