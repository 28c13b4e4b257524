"""States of the registry: every lifecycle has one transition table, stored strings stay what they were."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from govgrid.carbon import enums
from govgrid.carbon.enums import (
    TRANSITIONS,
    AccountKind,
    AlertStatus,
    AlertTaskStatus,
    CreditStatus,
    MovementKind,
    ReportStatus,
    can_move,
    require_move,
)
from govgrid.core.errors import ConflictError

MIGRATION = Path(enums.__file__).parent / "migrations" / "carbon_0001_carbon_initial.py"


@pytest.mark.parametrize("kind", [*TRANSITIONS, AccountKind, MovementKind])
def test_names_equal_values_and_tables_cover_every_state(kind):
    # a driver that writes an Enum by name stores the same string as one that writes its value
    assert all(m.name == m.value for m in kind)
    if kind in TRANSITIONS:
        table = TRANSITIONS[kind]
        assert set(table) == set(kind)
        assert all(set(targets) <= set(kind) for targets in table.values())


def test_stored_strings_are_the_old_ones():
    assert [s.value for s in ReportStatus] == ["submitted", "verified", "rejected"]
    # the first values are the ones stored since the first migration; later ones are added after them
    assert [s.value for s in CreditStatus][:2] == ["active", "retired"]
    assert {"cancelled", "reserved"} <= {s.value for s in CreditStatus}
    assert [s.value for s in AlertTaskStatus] == ["open", "done"]
    assert [s.value for s in AlertStatus] == ["open", "closed"]
    assert {k.value for k in AccountKind} == {"department", "external", "buffer"}
    assert {"issue", "transfer", "retire", "buffer", "cancel"} <= {k.value for k in MovementKind}
    # the columns are plain strings wide enough for every value (no migration needed)
    text = MIGRATION.read_text()
    widths = {int(w) for w in re.findall(r'Column\("(?:status|kind)", sa\.String\(length=(\d+)\)', text)}
    assert widths == {16}
    assert max(len(m.value) for k in (*TRANSITIONS, AccountKind, MovementKind) for m in k) <= 16


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("submitted", ReportStatus.verified, True),
        ("submitted", ReportStatus.rejected, True),
        ("verified", ReportStatus.rejected, False),
        ("rejected", ReportStatus.verified, False),
        ("verified", ReportStatus.verified, False),
        ("active", CreditStatus.retired, True),
        ("retired", CreditStatus.active, False),
        ("retired", CreditStatus.retired, False),
        ("open", AlertTaskStatus.done, True),
        ("done", AlertTaskStatus.open, True),
        ("done", AlertTaskStatus.done, True),
        ("open", AlertStatus.closed, True),
        ("closed", AlertStatus.open, True),
    ],
)
def test_can_move_follows_the_tables(current, target, allowed):
    assert can_move(current, target) is allowed
    assert can_move(type(target)(current), target) is allowed  # a member or its stored string


def test_require_move_refuses_with_a_409():
    require_move("submitted", ReportStatus.verified, message="x")
    with pytest.raises(ConflictError) as exc:
        require_move("retired", CreditStatus.retired, message="区块已注销 (already retired)", code="retired")
    assert exc.value.status == 409 and exc.value.code == "retired" and "already retired" in exc.value.message
    with pytest.raises(ValueError):
        can_move("lost", ReportStatus.verified)  # not a state of that lifecycle


def test_a_decided_report_cannot_be_verified_again(client, login, flow):
    p = flow.project()
    rep = flow.report(p["id"])
    assert flow.verify(rep["id"])["status"] == "verified"
    r = client.post(
        f"/api/v1/carbon/reports/{rep['id']}/verify",
        json={"approve": False, "statement": "改判"},
        headers=login("yy_verifier"),
    )
    assert r.status_code == 409 and "already verified" in r.json()["error"]["message"]
