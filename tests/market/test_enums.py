"""The transition tables: what may follow what, and the 409 otherwise."""

import pytest

from govgrid.core.errors import ConflictError
from govgrid.market.enums import (
    CASE_TRANSITIONS,
    PLAN_TRANSITIONS,
    CaseStatus,
    DrawStatus,
    InspectionStatus,
    PlanStatus,
    can_move,
    require_move,
)


def test_plan_lifecycle_is_one_way():
    assert can_move("draft", PlanStatus.committed)
    assert not can_move("draft", PlanStatus.drawn)  # never drawn without a commitment
    assert not can_move("drawn", PlanStatus.committed)
    assert PLAN_TRANSITIONS[PlanStatus.completed] == frozenset()


def test_draw_and_inspection_are_final_once_published():
    assert can_move("committed", DrawStatus.published)
    assert not can_move("published", DrawStatus.published)
    assert not can_move("recorded", InspectionStatus.recorded)


def test_cases():
    assert can_move("open", CaseStatus.closed) and can_move("accepted", CaseStatus.closed)
    assert CASE_TRANSITIONS[CaseStatus.closed] == frozenset()
    with pytest.raises(ConflictError) as exc:
        require_move("closed", CaseStatus.accepted, message="已办结")
    assert exc.value.status == 409 and exc.value.message == "已办结"
