"""Working-day deadlines of sharing requests: the periods in force, each request's check and answer deadlines,
what is overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from govgrid.config import get_settings
from govgrid.core.db import utcnow
from govgrid.core.workdays import default_calendar
from govgrid.exchange.enums import RequestRoute, RequestStatus
from govgrid.exchange.models import SharingRequest


@dataclass
class Deadlines:
    """Working-day periods for requests (one county's rule: check in 2 days, answer in 5 more).

    Unset values come from GOVGRID_EXCHANGE_CHECK_WORKING_DAYS / GOVGRID_EXCHANGE_ANSWER_WORKING_DAYS."""

    check_days: int | None = None
    answer_days: int | None = None

    def periods(self) -> tuple[int, int]:
        """(check days, answer days) in force."""
        settings = get_settings()
        check = settings.exchange_check_working_days if self.check_days is None else self.check_days
        answer = settings.exchange_answer_working_days if self.answer_days is None else self.answer_days
        return check, answer


DEADLINES = Deadlines()


def configure_deadlines(*, check_days: int | None = None, answer_days: int | None = None) -> Deadlines:
    """Change the working-day periods for new requests (process-wide)."""
    if check_days is not None:
        DEADLINES.check_days = check_days
    if answer_days is not None:
        DEADLINES.answer_days = answer_days
    return DEADLINES


def set_deadlines(req: SharingRequest, submitted_at: datetime) -> None:
    """Set a request's submission time and its check and answer deadlines (working days from then)."""
    cal = default_calendar()
    check, answer = DEADLINES.periods()
    req.submitted_at = submitted_at
    req.check_due_at = cal.add_working_days(submitted_at, check)
    req.answer_due_at = cal.add_working_days(submitted_at, check + answer)


def due_at(req: SharingRequest) -> datetime:
    """The deadline a request waits for: the check deadline until it is checked, then the answer one."""
    return req.check_due_at if req.status == RequestStatus.pending_check else req.answer_due_at


def is_overdue(req: SharingRequest, now: datetime | None = None) -> bool:
    """Past its working-day deadline: unchecked after the check period, unanswered after the answer one."""
    now = now or utcnow()
    if req.status == RequestStatus.pending_check:
        return now > req.check_due_at
    if req.status == RequestStatus.pending_approval:
        return now > req.answer_due_at
    if req.decided_at is not None and req.route != RequestRoute.auto:
        return req.decided_at > req.answer_due_at
    return False


def overdue_clause(now: datetime) -> Any:
    """Predicate over SharingRequest: pending and past the deadline it is waiting for."""
    return or_(
        and_(SharingRequest.status == RequestStatus.pending_check, SharingRequest.check_due_at < now),
        and_(SharingRequest.status == RequestStatus.pending_approval, SharingRequest.answer_due_at < now),
    )


def overdue_requests(session: Session, *, now: datetime | None = None) -> list[SharingRequest]:
    """Every pending request past its deadline, platform-wide, earliest answer deadline first."""
    stmt = select(SharingRequest).where(overdue_clause(now or utcnow()))
    return list(session.scalars(stmt.order_by(SharingRequest.answer_due_at, SharingRequest.id)))
