"""Idempotent intake: a client that retries a report with the same `Idempotency-Key` gets the first ticket
back.

The key is claimed in the request's own transaction (core.guards.idempotency), so a refused request leaves no
claim and a retry after a lost answer returns exactly what the first request answered, never a second
ticket."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from govgrid.appeals.models import Ticket
from govgrid.core.authz.principal import Principal
from govgrid.core.guards import idempotency

HEADER = idempotency.HEADER
REPLAYED_HEADER = "Idempotent-Replayed"


def key_scope(kind: str, *, principal: Principal | None = None) -> str:
    """The key space: one per intake route and caller (keys of two callers never meet)."""
    return f"appeals.{kind}:" + (f"{principal.kind}:{principal.id}" if principal is not None else "public")


def once(
    session: Session,
    *,
    key: str | None,
    scope: str,
    content: Any,
    create: Callable[[], tuple[Ticket, dict[str, Any]]],
) -> tuple[dict[str, Any], bool]:
    """Run `create` (-> the ticket and the JSON answer) unless the key was already used with the same content;
    returns (answer, replayed). The same key with different content is a 422 (core.guards.idempotency)."""
    if not key:
        return create()[1], False
    claimed = idempotency.claim(session, scope=scope, key=key, content=content)
    if isinstance(claimed, idempotency.Prior):
        return claimed.response, True
    ticket, answer = create()
    idempotency.complete(session, claimed, entity_type="appeals_ticket", entity_id=ticket.id, response=answer)
    return answer, False
