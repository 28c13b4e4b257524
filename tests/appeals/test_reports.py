"""The public statistics' live figures (appeals.services.reports.live_counts, one pass over the open
tickets): open, overdue, at the superior and at the supervisor, the same as counting each on its own; and an
empty period ranks nobody without an error."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from govgrid.appeals.enums import OPEN_STATES, EscalationLevel, TicketState
from govgrid.appeals.models import Ticket
from govgrid.appeals.services import queries, reports, stats
from govgrid.core.db import utcnow
from govgrid.core.divisions.models import Division
from tests.appeals.conftest import make_ticket


def _one_by_one(db, root: Division) -> dict[str, int]:
    now = utcnow()
    base = select(func.count()).select_from(Ticket).where(Ticket.division_path.like(root.path + "%"))
    open_ = Ticket.state.in_(OPEN_STATES)
    return {
        "open": db.scalar(base.where(open_)),
        "overdue": db.scalar(base.where(queries.overdue_clause(now=now))),
        "at_superior": db.scalar(base.where(Ticket.escalation_level == EscalationLevel.superior, open_)),
        "at_supervisor": db.scalar(base.where(Ticket.escalation_level == EscalationLevel.supervisor, open_)),
    }


def test_live_counts_match_counting_each_figure_on_its_own(world, db):
    root = db.get(Division, "410527")
    before = reports.live_counts(db, root=root)
    assert before == _one_by_one(db, root)
    past = utcnow() - timedelta(days=3)
    late = make_ticket(db)  # dispatched, its sign-for clock run out: open and overdue
    late.state, late.sign_due = TicketState.dispatched, past
    up = make_ticket(db)  # signed, escalated to the superior
    up.state, up.escalation_level, up.resolve_due = TicketState.signed, EscalationLevel.superior, past
    sup = make_ticket(db)  # pending at the supervisor
    sup.escalation_level = EscalationLevel.supervisor
    done = make_ticket(db)  # closed and escalated long ago: counted nowhere
    done.state, done.escalation_level, done.resolve_due = TicketState.closed, EscalationLevel.supervisor, past
    db.flush()
    after = reports.live_counts(db, root=root)
    assert after == _one_by_one(db, root)
    assert after["open"] - before["open"] == 3
    assert after["overdue"] - before["overdue"] == 2  # the late sign-for and the escalated signed ticket
    assert after["at_superior"] - before["at_superior"] == 1
    assert after["at_supervisor"] - before["at_supervisor"] == 1
    elsewhere = reports.live_counts(db, root=db.get(Division, "140321"))  # another county sees none of them
    assert elsewhere == _one_by_one(db, db.get(Division, "140321"))


def test_an_empty_period_ranks_nobody(world, db):
    root = db.get(Division, "410527")
    for by in ("township", "department"):
        assert stats.rankings(db, root=root, start=date(2001, 1, 1), end=date(2001, 1, 31), by=by) == []
