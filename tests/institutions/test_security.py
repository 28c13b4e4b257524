"""The security register (grading from the catalog, reviews) and incidents filed from gateway refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from govgrid.core.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from govgrid.core.identity import service as identity
from govgrid.institutions.models import Incident, Review
from govgrid.institutions.services import incidents, register


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


def test_register_grades_from_the_catalog_and_is_idempotent(db, users, usage):
    nh = who(users, "in_nh")
    assert register.sync(db, actor=nh, division_code="410527") == (2, 0)
    assert register.sync(db, actor=nh, division_code="410527") == (0, 0)
    rows = {e.resource_code: e for e in register.entries(db, actor=nh, division_code="410527")}
    assert set(rows) == {"T01-410527-0001", "T02-410527-0001"}
    police = rows["T01-410527-0001"]
    assert police.grade == "important" and "sensitive_personal" in police.reasons
    assert "masking" in police.controls
    assert rows["T02-410527-0001"].grade == "general"
    # never reviewed: due now; the highest grade is listed first
    assert list(rows) == ["T01-410527-0001", "T02-410527-0001"]
    assert len(register.entries(db, actor=nh, division_code="410527", due_by=datetime.now(UTC))) == 2


def test_catalog_change_raises_the_grade(db, users, usage):
    nh = who(users, "in_nh")
    register.sync(db, actor=nh, division_code="410527")
    usage.market.sharing_type = "none"
    db.flush()
    assert register.sync(db, actor=nh, division_code="410527") == (0, 1)
    entry = {e.resource_code: e for e in register.entries(db, actor=nh, division_code="410527")}[
        "T02-410527-0001"
    ]
    assert entry.grade == "important"


def test_review_may_raise_never_lower_and_sets_the_next_due(db, users, usage):
    police_op = who(users, "in_nh_police")
    register.sync(db, actor=who(users, "in_nh"), division_code="410527")
    with pytest.raises(ValidationFailedError):
        register.review(db, actor=police_op, resource_code="T01-410527-0001", grade="general")
    r = register.review(db, actor=police_op, resource_code="T01-410527-0001", grade="core", note="含全量人口")
    assert r.entry.grade == "core" and "dual_approval" in r.entry.controls
    due = r.entry.next_review_due
    assert timedelta(days=89) < due - datetime.now(UTC) < timedelta(days=91)
    # the market viewer may not review police data (not visible), Pingding may not review at all
    before = db.scalar(select(func.count(Review.id)))
    with pytest.raises(NotFoundError):
        register.review(db, actor=who(users, "in_nh_viewer"), resource_code="T01-410527-0001", grade="core")
    with pytest.raises(NotFoundError):
        register.review(db, actor=who(users, "in_pd"), resource_code="T01-410527-0001", grade="core")
    with pytest.raises(ForbiddenError):
        register.review(db, actor=who(users, "in_nh_viewer"), resource_code="T02-410527-0001", grade="core")
    assert db.scalar(select(func.count(Review.id))) == before


def test_refusals_become_incidents_once_and_are_handled(db, users, usage):
    nh = who(users, "in_nh")
    assert incidents.scan(db, actor=nh, division_code="410527", start=P.start, end=P.end) == 1
    assert incidents.scan(db, actor=nh, division_code="410527", start=P.start, end=P.end) == 0
    (inc,) = incidents.incidents(db, actor=nh, division_code="410527")
    assert (inc.resource_code, inc.count, inc.state, inc.grade) == (
        "T01-410527-0001",
        1,
        "reported",
        "important",
    )
    with pytest.raises(ConflictError):
        incidents.move(db, actor=nh, incident_id=inc.id, state="closed", note="直接归档")
    with pytest.raises(ValidationFailedError):
        incidents.move(db, actor=nh, incident_id=inc.id, state="investigating", note="  ")
    incidents.move(
        db, actor=who(users, "in_nh_police"), incident_id=inc.id, state="investigating", note="核实中"
    )
    incidents.move(db, actor=nh, incident_id=inc.id, state="resolved", note="已提醒先申请授权")
    done = incidents.move(db, actor=nh, incident_id=inc.id, state="closed", note="归档")
    assert done.closed_at is not None and [h["state"] for h in done.handling] == [
        "investigating",
        "resolved",
        "closed",
    ]


def test_incidents_of_another_division_are_invisible(db, users, usage):
    incidents.scan(db, actor=who(users, "in_nh"), division_code="410527", start=P.start, end=P.end)
    inc_id = db.scalar(select(Incident.id))
    with pytest.raises(ForbiddenError):
        incidents.incidents(db, actor=who(users, "in_pd"), division_code="410527")
    with pytest.raises(NotFoundError):
        incidents.move(db, actor=who(users, "in_pd"), incident_id=inc_id, state="dismissed", note="x")
    assert incidents.incidents(db, actor=who(users, "in_pd"), division_code="140321") == []
