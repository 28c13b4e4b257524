"""The closed sets and the one transition table of each lifecycle (enums.py)."""

from govgrid.citymap.enums import (
    CASE_LOOP,
    OPEN_STATES,
    STATE_ZH,
    TRANSITIONS,
    UNIT_STATUS_AFTER,
    CaseAction,
    CaseState,
    UnitStatus,
    can_move,
    can_move_unit,
    can_take,
    unit_follows_case,
)


def test_the_case_loop_table_covers_every_action_and_state():
    assert set(CASE_LOOP) == set(CaseAction)
    assert set(STATE_ZH) == set(CaseState) and set(TRANSITIONS) == set(CaseState)
    # every state is reached from 信息收集 by the table
    seen, todo = {CaseState.collected}, [CaseState.collected]
    while todo:
        for nxt in TRANSITIONS[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(CaseState)
    # the ends: rejected and evaluated lead nowhere; open states are the ones before closing
    assert TRANSITIONS[CaseState.rejected] == frozenset() and TRANSITIONS[CaseState.evaluated] == frozenset()
    assert set(OPEN_STATES) == set(CaseState) - {CaseState.closed, CaseState.evaluated, CaseState.rejected}


def test_moves_and_actions_follow_the_standard_loop():
    assert can_move("collected", "filed") and can_move(CaseState.collected, CaseState.rejected)
    assert can_move("handled", "handling")  # 返工: a failed verification sends the case back
    assert can_move("handling", "handling")  # arriving on site keeps the state
    assert not can_move("filed", "closed") and not can_move("closed", "handling")
    assert can_take(CaseAction.file, "collected") and not can_take(CaseAction.file, "filed")
    assert can_take(CaseAction.verify_fail, CaseState.handled)
    assert not can_take(CaseAction.collect, CaseState.collected)  # collect starts a case, from no state
    # stored values are the old strings: no migration
    assert [s.value for s in CaseState] == [
        "collected", "filed", "dispatched", "handling", "handled", "closed", "evaluated", "rejected"
    ]


def test_unit_statuses():
    assert all(can_move_unit(a, b) for a in UnitStatus for b in UnitStatus)  # a unit knows where it is
    assert {
        CaseAction.acknowledge: UnitStatus.en_route,
        CaseAction.arrive: UnitStatus.on_site,
        CaseAction.feedback: UnitStatus.available,
    } == UNIT_STATUS_AFTER
    assert unit_follows_case("available") and not unit_follows_case(UnitStatus.off_duty)
