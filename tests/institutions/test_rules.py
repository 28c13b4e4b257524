"""The pure rules and the incident transition table."""

from __future__ import annotations

from govgrid.core.lifecycle import Lifecycle
from govgrid.institutions.enums import CONTROLS, INCIDENT, Grade, IncidentState, Outcome
from govgrid.institutions.rules import (
    DEFAULT_WEIGHTS,
    check_weights,
    credit,
    default_grade,
    higher,
    outcome_of,
)


def test_grading_takes_the_highest_rule_that_applies():
    assert default_grade(
        sharing_type="unconditional", catalog_grade="general", personal_items=0, sensitive_items=0
    ) == (Grade.general, ["catalog_general"])
    grade, why = default_grade(
        sharing_type="conditional", catalog_grade="general", personal_items=2, sensitive_items=1
    )
    assert grade == Grade.important and why == ["sensitive_personal"]
    grade, why = default_grade(
        sharing_type="none", catalog_grade="important", personal_items=0, sensitive_items=1
    )
    assert grade == Grade.important and set(why) == {"catalog_important", "not_shared", "sensitive_personal"}
    assert (
        default_grade(sharing_type="none", catalog_grade="core", personal_items=0, sensitive_items=0)[0]
        == Grade.core
    )
    assert higher("general", "core") == Grade.core


def test_higher_grades_carry_every_lower_control():
    assert set(CONTROLS[Grade.general]) < set(CONTROLS[Grade.important]) < set(CONTROLS[Grade.core])


def test_outcomes_from_kind_and_purpose():
    assert outcome_of("verify", "低保资格核验") == Outcome.verify
    assert outcome_of("records", "一网通办预填 GG-1") == Outcome.prefill
    assert outcome_of("records", "低保复核") == Outcome.case
    assert outcome_of("records", "市场主体名录库同步 410527") == Outcome.sync
    assert outcome_of("datastore", "") == Outcome.other


def test_credit_is_calls_times_weight_plus_rows():
    got = credit(
        kind="records", purpose="一网通办预填", calls=3, rows=100, weights=DEFAULT_WEIGHTS, row_weight=0.01
    )
    assert got.outcome == Outcome.prefill and abs(got.points - (3 * 3.0 + 1.0)) < 1e-9


def test_weights_are_checked():
    assert check_weights(DEFAULT_WEIGHTS, 0.01) == []
    assert check_weights({"bribes": 1.0, "case": -1.0}, 5000) == [
        "unknown:bribes",
        "range:case",
        "range:row_weight",
    ]


def test_incident_table_has_no_stranded_state():
    assert isinstance(INCIDENT, Lifecycle)
    finals = {s for s in IncidentState if INCIDENT.is_final(s)}
    assert finals == {IncidentState.closed, IncidentState.dismissed}
    for s in IncidentState:
        if s not in finals:
            assert INCIDENT.reachable(s) & finals, s
    assert not INCIDENT.can_move(IncidentState.reported, IncidentState.closed)
    assert INCIDENT.can_move(IncidentState.resolved, IncidentState.investigating)
