"""core.lifecycle: a transition table refuses moves it does not list, with the caller's message."""

from __future__ import annotations

from enum import StrEnum

import pytest

from govgrid.core.errors import ConflictError
from govgrid.core.lifecycle import Lifecycle


class Leave(StrEnum):
    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    withdrawn = "withdrawn"


FLOW = Lifecycle(Leave, {Leave.draft: {Leave.submitted, Leave.withdrawn},
                         Leave.submitted: {Leave.approved, Leave.withdrawn}})


def test_allowed_and_refused_moves():
    assert FLOW.can_move("draft", Leave.submitted)
    assert not FLOW.can_move(Leave.approved, Leave.draft)
    FLOW.require_move("submitted", Leave.approved, message="x")
    with pytest.raises(ConflictError) as err:
        FLOW.require_move("approved", Leave.withdrawn, message="申请已批准，不能撤回")
    assert err.value.message == "申请已批准，不能撤回"
    assert err.value.status == 409


def test_final_states_and_reachability():
    assert FLOW.is_final("approved") and FLOW.is_final(Leave.withdrawn)
    assert FLOW.next_states("draft") == {Leave.submitted, Leave.withdrawn}
    assert FLOW.reachable("draft") == {Leave.submitted, Leave.approved, Leave.withdrawn}


def test_a_table_naming_an_unknown_state_is_a_programming_error():
    with pytest.raises(ValueError, match="outside"):
        Lifecycle(Leave, {"archived": {Leave.draft}})  # type: ignore[dict-item]
    with pytest.raises(ValueError):
        FLOW.can_move("archived", Leave.draft)
