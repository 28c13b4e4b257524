"""The application lifecycle's transition table."""

from __future__ import annotations

import pytest

from govgrid.core.errors import ConflictError
from govgrid.services.enums import APP_TRANSITIONS, AppStatus, can_move, require_move


def test_every_status_has_a_row_and_finished_states_are_final():
    assert set(APP_TRANSITIONS) == set(AppStatus)
    for final in (AppStatus.approved, AppStatus.rejected, AppStatus.withdrawn):
        assert not APP_TRANSITIONS[final]


def test_supplement_goes_back_to_in_progress_and_a_refusal_is_final():
    assert can_move("in_progress", "supplement") and can_move("supplement", "in_progress")
    assert not can_move("approved", "in_progress")
    with pytest.raises(ConflictError) as err:
        require_move("rejected", "approved")
    assert "不予许可" in err.value.message and "已办结" in err.value.message
