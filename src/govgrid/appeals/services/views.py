"""The staff read models shared by the JSON API and the pages: a work-list row and the ticket detail (the
reporter's identity only where allowed, and that read audited; every free text masked otherwise)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from govgrid.appeals import privacy
from govgrid.appeals import schemas as s
from govgrid.appeals.enums import TicketAction, may
from govgrid.appeals.models import Ticket
from govgrid.appeals.services import access, history, public, queries
from govgrid.core import privacy as core_privacy
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow


def summary(ticket: Ticket) -> s.TicketSummary:
    """A work-list row (no personal data: the title's numbers are masked, the reporter's name blanked)."""
    t = ticket
    return s.TicketSummary(
        id=t.id,
        number=t.number,
        title=privacy.staff_title(t),
        category_code=t.category_code,
        state=t.state,
        division_code=t.division_code,
        department_id=t.department_id,
        proposed_department_id=t.proposed_department_id,
        created_at=t.created_at,
        sign_due=t.sign_due,
        resolve_due=t.resolve_due,
        escalation_level=t.escalation_level,
        overdue=queries.is_overdue(t, now=utcnow()),
    )


def _duplicates(session: Session, ticket: Ticket) -> list[dict[str, Any]]:
    """Likely duplicates a dispatcher could merge (only while the ticket may still be merged)."""
    if not may(TicketAction.merge, ticket.state):
        return []
    return [
        {
            "id": o.id,
            "number": o.number,
            "title": privacy.staff_title(o),
            "similarity": sc,
            "state": o.state,
        }
        for o, sc in queries.duplicate_candidates(session, ticket=ticket)
    ]


def read(session: Session, *, principal: Principal, ticket: Ticket) -> s.TicketRead:
    """The staff view of a ticket; the reporter's identity only where allowed (and the read is audited)."""
    t = ticket
    session.flush()
    names = queries.department_names(session, ids={x for x in (t.department_id,) if x})
    place = public.place_names(session, tickets=[t]).get(t.division_code, t.division_code)
    reporter = access.reveal_reporter(session, principal=principal, ticket=t)
    dups = _duplicates(session, t)
    merged = queries.merged_reporters(session, ticket=t)
    if reporter is not None and merged:
        reporter["merged_reporters"] = [
            {"number": m.number, "name": m.reporter_name, "phone": m.reporter_phone} for m in merged
        ]
    data = {
        k: getattr(t, k)
        for k in s.TicketRead.model_fields
        if hasattr(t, k) and k not in ("reporter", "events")
    }
    events = [s.TicketEventRead.model_validate(e) for e in history.events(session, ticket=t)]
    data.update(
        place=place,
        department_name=names.get(t.department_id) if t.department_id else None,
        overdue=queries.is_overdue(t, now=utcnow()),
        reporter=s.Reporter(**{k: reporter.get(k) for k in ("name", "phone", "email", "address")})
        if reporter
        else None,
        reporter_phone_masked=None
        if reporter
        else core_privacy.mask_phone(t.reporter_phone)
        if t.reporter_phone
        else None,
        events=events,
        duplicates=dups,
    )
    if reporter is None:
        # staff who may not see the reporter: every free text with numbers masked and the reporter's name
        # blanked
        data.update(
            title=privacy.staff_title(t),
            description=privacy.staff_text(t, t.description),
            answer=privacy.staff_text(t, t.answer),
            events=[e.model_copy(update={"note": privacy.staff_text(t, e.note)}) for e in events],
        )
    return s.TicketRead(**data)
