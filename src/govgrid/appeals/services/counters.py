"""The pre-aggregated counters: one row per day (and one per month) for each division, department and
category, one integer column per metric, added to by an upsert in the same transaction as the change they
count."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govgrid.appeals.models import METRICS, DailyStat, MonthlyStat, Ticket
from govgrid.core.workdays import SHANGHAI

DAILY_KEY = ["day", "division_code", "department_id", "category_code"]
MONTHLY_KEY = ["month", "division_code", "department_id", "category_code"]
_UPSERTS: dict[tuple[str, str], Any] = {}


def local_day(at: datetime) -> date:
    """The Asia/Shanghai calendar day of an instant."""
    return at.astimezone(SHANGHAI).date()


def _upsert_stmt(dialect: str, model: Any, keys: list[str]) -> Any:
    """One compiled-once upsert per (dialect, table) adding every metric column."""
    key = (dialect, model.__tablename__)
    if key not in _UPSERTS:
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
        stmt = insert(model)
        _UPSERTS[key] = stmt.on_conflict_do_update(
            index_elements=keys, set_={m: getattr(model, m) + getattr(stmt.excluded, m) for m in METRICS}
        )
    return _UPSERTS[key]


def _upsert(session: Session, model: Any, keys: list[str], row: dict[str, Any]) -> None:
    """Add metric increments to their counter row (an upsert; update-else-insert elsewhere)."""
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        session.execute(_upsert_stmt(dialect, model, keys), row)
        return
    where = [getattr(model, k) == row[k] for k in keys]
    upd = (
        update(model)
        .where(*where)
        .values({m: getattr(model, m) + row[m] for m in METRICS if row[m]})
        .execution_options(synchronize_session=False)
    )
    if session.execute(upd).rowcount:  # type: ignore[attr-defined]
        return
    try:
        with session.begin_nested():
            session.add(model(**row))
    except IntegrityError:
        session.execute(upd)


def bump_many(
    session: Session,
    *,
    at: datetime,
    division_code: str,
    department_id: int | None,
    category_code: str,
    metrics: Iterable[str],
    n: int = 1,
) -> None:
    """Add n to several metrics of one key, in the daily and the monthly counters."""
    day = local_day(at)
    month = day.strftime("%Y-%m")
    values = dict.fromkeys(METRICS, 0)
    for m in metrics:
        if m not in values:
            raise ValueError(f"unknown metric {m}")
        values[m] += n
    base = dict(
        division_code=division_code, department_id=department_id or 0, category_code=category_code, **values
    )
    _upsert(session, DailyStat, DAILY_KEY, dict(base, day=day, month=month))
    _upsert(session, MonthlyStat, MONTHLY_KEY, dict(base, month=month))


def bump(
    session: Session,
    *,
    at: datetime,
    division_code: str,
    department_id: int | None,
    category_code: str,
    metric: str,
    n: int = 1,
) -> None:
    """Add n to one counter (daily and monthly)."""
    bump_many(
        session,
        at=at,
        division_code=division_code,
        department_id=department_id,
        category_code=category_code,
        metrics=[metric],
        n=n,
    )


def bump_ticket(session: Session, *, ticket: Ticket, metrics: str | Iterable[str], at: datetime) -> None:
    """Count one step of a ticket under its division, responsible unit and category."""
    bump_many(
        session,
        at=at,
        division_code=ticket.division_code,
        department_id=ticket.department_id,
        category_code=ticket.category_code,
        metrics=[metrics] if isinstance(metrics, str) else metrics,
    )


def count_intake(session: Session, *, ticket: Ticket) -> None:
    """Count a new ticket as received (before dispatch: department 0), on the day it was made."""
    bump(
        session,
        at=ticket.created_at,
        division_code=ticket.division_code,
        department_id=0,
        category_code=ticket.category_code,
        metric="created",
    )


def recount_intake(session: Session, *, ticket: Ticket, old_division: str, old_category: str) -> None:
    """Move a ticket's intake count from where it was first counted to its corrected place or category."""
    bump(
        session,
        at=ticket.created_at,
        division_code=old_division,
        department_id=0,
        category_code=old_category,
        metric="created",
        n=-1,
    )
    count_intake(session, ticket=ticket)


def bump_dispatch(
    session: Session,
    *,
    ticket: Ticket,
    metrics: str | Iterable[str],
    n: int = 1,
    department_id: int | None = None,
) -> None:
    """Count an outcome of the ticket's current dispatch under that dispatch: its day, unit and category.

    Every rate's numerator (signed, contacted, responded, answered, closed) lands in the same counter row as
    its denominator (`dispatched`), and a dispatch has at most one of each (a reopen takes its close back, a
    return or merge takes the dispatch back), so no rate of any row, month or subtree can pass 100%: a ticket
    dispatched on 31 January and signed on 1 February counts for January."""
    bump_many(
        session,
        at=ticket.dispatched_at or ticket.updated_at or ticket.created_at,
        division_code=ticket.division_code,
        department_id=department_id if department_id is not None else ticket.department_id,
        category_code=ticket.category_code,
        metrics=[metrics] if isinstance(metrics, str) else metrics,
        n=n,
    )
