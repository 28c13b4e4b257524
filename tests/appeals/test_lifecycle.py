"""The ticket lifecycle as one transition table (enums), the public access checks the pages use, and the log
lines of state changes and refusals (ids only, never personal data)."""

from __future__ import annotations

import logging

import pytest

from govgrid.appeals.enums import (
    NEXT_STATES,
    TRANSITIONS,
    EscalationLevel,
    EscalationReason,
    EventKind,
    TicketAction,
    TicketState,
    can_move,
    may,
    require_move,
)
from govgrid.appeals.models import TicketEvent
from govgrid.appeals.services import access, escalation, queries, ratings, workflow
from govgrid.core.errors import ConflictError, ForbiddenError
from tests.appeals.conftest import make_ticket, principal

S = TicketState


def test_the_lifecycle_graph():
    expected = {
        S.pending: {S.dispatched, S.merged},
        S.dispatched: {S.signed, S.pending, S.merged},
        S.signed: {S.answered},
        S.answered: {S.closed, S.signed},
        S.closed: {S.signed},
        S.merged: set(),
    }
    assert expected == NEXT_STATES
    assert can_move("pending", "dispatched") and not can_move("pending", "signed")
    assert not can_move("merged", "pending") and not can_move("closed", "answered")


def test_every_action_is_checked_against_the_table():
    assert require_move(TicketAction.dispatch, "pending") == S.dispatched
    assert require_move(TicketAction.contact, "signed") == S.signed  # a step that keeps the state
    assert require_move(TicketAction.survey, "closed") == S.closed
    with pytest.raises(ConflictError, match="cannot 重办"):
        require_move(TicketAction.reopen, "dispatched")  # reopen leads to signed, but not from dispatched
    with pytest.raises(ConflictError, match="ticket is pending"):
        require_move(TicketAction.sign, "pending")
    for action, move in TRANSITIONS.items():
        for state in TicketState:
            assert may(action, state) == (state in move.sources)


def test_state_values_are_the_stored_strings():
    assert [s.value for s in TicketState] == [
        "pending",
        "dispatched",
        "signed",
        "answered",
        "closed",
        "merged",
    ]
    assert TicketState.pending == "pending" and f"{TicketState.closed}" == "closed"
    assert {e.value for e in EventKind} >= {
        "created",
        "dispatched",
        "signed",
        "escalated",
        "city_case_closed",
    }


def test_a_refused_move_changes_nothing(db, world):
    t = make_ticket(db)
    handler = principal(db, "nh_handler")
    with pytest.raises(ConflictError):
        workflow.sign(db, actor=handler, ticket=t)
    with pytest.raises(ConflictError):
        ratings.reopen(db, actor=handler, ticket=t, reason="x")
    assert t.state == S.pending and t.reopen_count == 0


def test_allowed_actions_follow_the_lifecycle_and_the_roles(db, world):
    t = make_ticket(db)
    disp, handler, sup = (principal(db, u) for u in ("nh_dispatcher", "nh_handler", "nh_supervisor"))
    other = principal(db, "pd_dispatcher")
    assert access.allowed_actions(db, principal=disp, ticket=t) == {
        "dispatch": True,
        "handle": False,
        "survey": False,
        "supervise": False,
    }
    assert access.is_dispatcher_for(disp, t) and not access.is_dispatcher_for(other, t)
    assert access.is_supervisor_of(sup, t) and not access.is_supervisor_of(handler, t)
    workflow.dispatch(db, actor=disp, ticket=t)
    assert not access.allowed_actions(db, principal=disp, ticket=t)["dispatch"]
    assert access.allowed_actions(db, principal=handler, ticket=t)["handle"]
    assert access.can_handle(db, principal=handler, ticket=t)
    with pytest.raises(ForbiddenError):
        workflow.merge(db, actor=other, ticket=t, into=make_ticket(db, description="另一件事：路灯不亮"))


def test_work_counts_name_every_list(db, world):
    counts = queries.work_counts(db, principal=principal(db, "nh_dispatcher"))
    assert set(counts) == {"inbox", "work", "superior", "supervision", "overdue"}
    assert all(isinstance(n, int) for n in counts.values())


def test_state_changes_and_escalations_log_one_line_with_ids_only(db, world, caplog):
    with caplog.at_level(logging.INFO, logger="govgrid.appeals"):
        t = make_ticket(db, reporter_name="王建国", reporter_phone="13912345678")
        workflow.dispatch(db, actor=principal(db, "nh_dispatcher"), ticket=t)
        escalation.escalate(
            db,
            ticket=t,
            level=EscalationLevel.superior,
            reason=EscalationReason.sign_overdue,
            now=t.created_at,
            actor=principal(db, "nh_dispatcher"),
        )
    created = [r for r in caplog.records if r.getMessage() == "ticket created"]
    moved = [r for r in caplog.records if r.getMessage() == "ticket moved"]
    escalated = [r for r in caplog.records if r.getMessage() == "ticket escalated"]
    assert len(created) == 1 and created[0].ticket_id == t.id
    assert len(moved) == 1 and (moved[0].ticket_id, moved[0].to) == (t.id, "dispatched")
    assert len(escalated) == 1 and escalated[0].to_level == 1
    for r in caplog.records:
        text = r.getMessage() + repr(r.__dict__)
        assert "王建国" not in text and "13912345678" not in text and t.description not in text
    assert db.query(TicketEvent).filter_by(ticket_id=t.id, kind=EventKind.escalated).count() == 1


def test_a_refusal_is_logged(db, world, caplog):
    t = make_ticket(db)
    workflow.dispatch(db, actor=principal(db, "nh_dispatcher"), ticket=t)
    with caplog.at_level(logging.INFO, logger="govgrid.appeals"), pytest.raises(ForbiddenError):
        workflow.sign(db, actor=principal(db, "pd_handler"), ticket=t)
    refused = [r for r in caplog.records if r.getMessage() == "ticket action refused"]
    assert len(refused) == 1 and refused[0].reason == "not_handler" and refused[0].ticket_id == t.id
