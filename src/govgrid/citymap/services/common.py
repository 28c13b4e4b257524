"""Helpers shared by the city map services: how an actor is named, county codes, instants from queries."""

from __future__ import annotations

from datetime import UTC, datetime

from govgrid.core.audit.service import Actor
from govgrid.core.authz.principal import Principal
from govgrid.core.errors import ValidationFailedError

__all__ = ["Actor", "check_instant", "county_of", "who"]


def who(actor: Actor) -> tuple[str, str | None, str | None]:
    """(kind, id, name to show): people by display name, machines and channels by their audit name."""
    kind, aid, name = actor.audit_identity
    if isinstance(actor, Principal) and actor.display_name:
        name = actor.display_name
    return kind, aid, name


def county_of(code: str) -> str:
    """The county code (first six digits) of a division, cell or part code."""
    return code[:6]


def check_instant(value: datetime | None, name: str) -> datetime | None:
    """A time from a query as aware UTC; 422 for a time without a timezone or outside the range of dates."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationFailedError(
            f"时间须带时区，例如 2024-05-01T08:00:00+08:00 (the time needs a timezone): {name}",
            details=[{"loc": ["query", name], "msg": "naive datetime"}],
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValidationFailedError(
            f"时间超出范围 (the time is out of range): {name}",
            details=[{"loc": ["query", name], "msg": "out of range"}],
        ) from None
