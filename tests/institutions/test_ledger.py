"""The contribution ledger computed from the gateway call log, and the versioned scoring rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from govgrid.core.errors import ForbiddenError, UnauthorizedError, ValidationFailedError
from govgrid.core.identity import service as identity
from govgrid.institutions.models import ScoringRule
from govgrid.institutions.services import ledger


class _Period:
    """The last 90 days up to a minute from now, read when used (a long run must not outlive it)."""

    @property
    def end(self) -> datetime:
        return datetime.now(UTC) + timedelta(minutes=1)

    @property
    def start(self) -> datetime:
        return self.end - timedelta(days=90)


P = _Period()


def who(users, name):
    return identity.principal_for_user(users[name])


def test_ledger_counts_real_calls_with_purposes_and_outcomes(db, users, usage):
    book = ledger.ledger(db, actor=who(users, "in_nh"), division_code="410527", start=P.start, end=P.end)
    by = {(r.use.resource_code, r.use.purpose): r for r in book.rows}
    assert by[("T01-410527-0001", "一网通办预填 C-1")].use.calls == 3
    assert by[("T01-410527-0001", "一网通办预填 C-1")].outcome == "prefill"
    assert by[("T01-410527-0001", "低保资格核验")].outcome == "verify"
    assert by[("T02-410527-0001", "市场主体名录库同步")].outcome == "sync"
    assert ("T02-410527-0001", "old") not in by  # outside the period
    assert all(r.use.resource_code != "T03-140321-0001" for r in book.rows)  # another province
    top = book.scores[0]
    assert top.line_code == "public_security" and top.calls == 5 and len(top.consumers) == 2
    # default rule: 3 pre-fills x3 + 1 verify x2 + 1 case x2 + 54 rows x0.01
    assert book.rule.division_code is None
    assert abs(top.points - (9 + 2 + 2 + 0.54)) < 1e-6


def test_a_line_and_a_department_see_only_their_part(db, users, usage):
    line = ledger.ledger(
        db,
        actor=who(users, "in_nh"),
        division_code="410527",
        start=P.start,
        end=P.end,
        line="market_regulation",
    )
    assert {r.use.resource_code for r in line.rows} == {"T02-410527-0001"}
    own = ledger.ledger(
        db, actor=who(users, "in_nh_viewer"), division_code="410527", start=P.start, end=P.end
    )
    assert {r.use.resource_code for r in own.rows} == {"T02-410527-0001"}


def test_another_division_and_anonymous_are_refused(db, users, usage):
    with pytest.raises(ForbiddenError):
        ledger.ledger(db, actor=who(users, "in_pd"), division_code="410527", start=P.start, end=P.end)
    with pytest.raises(UnauthorizedError):
        ledger.ledger(db, actor=None, division_code="410527", start=P.start, end=P.end)


def test_rules_are_versioned_and_inherited(db, users, usage):
    hn, nh = who(users, "in_hn"), who(users, "in_nh")
    ledger.set_rule(db, actor=hn, division_code="410000", weights={"prefill": 10}, row_weight=0)
    book = ledger.ledger(db, actor=nh, division_code="410527", start=P.start, end=P.end)
    assert book.rule.division_code == "410000" and book.scores[0].points == pytest.approx(30 + 2 + 2)
    ledger.set_rule(db, actor=nh, division_code="410527", weights={"case": 5}, row_weight=0)
    second = ledger.set_rule(db, actor=nh, division_code="410527", weights={"case": 6}, row_weight=0)
    assert second.version == 2
    book = ledger.ledger(db, actor=nh, division_code="410527", start=P.start, end=P.end)
    assert (book.rule.division_code, book.rule.version) == ("410527", 2)
    assert book.scores[0].points == pytest.approx(9 + 2 + 6)
    assert [r.version for r in ledger.rule_history(db, actor=nh, division_code="410527")] == [2, 1]


def test_rule_needs_an_admin_over_the_division_and_sane_weights(db, users, usage):
    before = db.scalar(select(func.count(ScoringRule.id)))
    with pytest.raises(ForbiddenError):
        ledger.set_rule(db, actor=who(users, "in_nh"), division_code="410000", weights={}, row_weight=0)
    with pytest.raises(ForbiddenError):
        ledger.set_rule(db, actor=who(users, "in_pd"), division_code="410527", weights={}, row_weight=0)
    with pytest.raises(ValidationFailedError):
        ledger.set_rule(db, actor=who(users, "in_nh"), division_code="410527", weights={"x": 1}, row_weight=0)
    assert db.scalar(select(func.count(ScoringRule.id))) == before
