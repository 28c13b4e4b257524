"""The lifecycles and the 三色 rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from govgrid.coordination.enums import ASSIGNMENT, JOB, SYSTEM, AssignmentState, Colour, SystemState
from govgrid.coordination.services.tasks import colour_of


def test_no_open_state_is_stranded():
    for life in (ASSIGNMENT, SYSTEM, JOB):
        for state in life.states:
            if not life.is_final(state):
                assert any(life.is_final(s) for s in life.reachable(state)) or state in life.reachable(state)


def test_a_done_part_can_be_sent_back_but_a_cancelled_one_is_final():
    assert ASSIGNMENT.can_move(AssignmentState.done, AssignmentState.in_progress)
    assert ASSIGNMENT.is_final(AssignmentState.cancelled)
    assert not SYSTEM.can_move(SystemState.retired, SystemState.operating)


def test_three_colours_follow_the_deadline():
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert colour_of("assigned", now + timedelta(days=30), now, met=False)[0] == Colour.none
    assert colour_of("assigned", now + timedelta(days=3), now, met=False)[0] == Colour.blue
    assert colour_of("assigned", now + timedelta(days=3), now, met=True)[0] == Colour.none
    assert colour_of("in_progress", now - timedelta(days=2), now, met=False)[0] == Colour.orange
    colour, days = colour_of("in_progress", now - timedelta(days=10), now, met=False)
    assert colour == Colour.red and days < -7
    assert colour_of("done", now - timedelta(days=10), now, met=True)[0] == Colour.none
