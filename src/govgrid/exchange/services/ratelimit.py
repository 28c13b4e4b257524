"""Rate limits of the gateway: one-minute fixed windows per grant, counted in the shared store of
`core.ratelimits` (the database or Redis), so every worker process counts against the same limit."""

from __future__ import annotations

import logging
from typing import NoReturn

from sqlalchemy.engine import Engine

from govgrid.core import ratelimits
from govgrid.core.audit.service import Actor, SystemActor
from govgrid.core.errors import RateLimitedError
from govgrid.exchange.services.access import KIND

log = logging.getLogger(__name__)

NAMESPACE = "exchange.grant"
GRANT_KIND = "exchange.grant"  # the audit entity of a refusal that names only the grant
REFUSED = "exchange.gateway.refused"  # a call refused although granted (e.g. over the grant's rate limit)
GATEWAY = SystemActor("exchange.gateway")


class RateLimiter:
    """Counts calls per grant in the current minute; a call over the grant's limit is refused with 429."""

    def hit(
        self,
        grant_id: int,
        limit: int,
        *,
        actor: Actor | None = None,
        code: str | None = None,
        mode: str | None = None,
    ) -> None:
        """Count one call under the grant, or raise RateLimitedError (with Retry-After) at the limit.

        The refusal is audited (`exchange.gateway.refused`, reason `rate_limited`, after the request's
        rollback) on the resource `code` by the caller `actor` when given, else on the grant by the gateway:
        the institutions module files it as a security incident. No personal data: ids and the limit."""
        retry = ratelimits.hit(NAMESPACE, grant_id, limit=limit, seconds=60)
        if retry is not None:
            self.refuse(grant_id, limit, retry, actor=actor, code=code, mode=mode)

    def in_statement(self, grant_id: int, limit: int, engine: Engine) -> ratelimits.Count | None:
        """The count of one call under the grant for the caller's own audit append (a guard of
        `audit.record`, same key and window as `hit`), when the counters live in that database; else None."""
        return ratelimits.in_statement(NAMESPACE, grant_id, limit=limit, engine=engine, seconds=60)

    def refuse(
        self,
        grant_id: int,
        limit: int,
        retry: int,
        *,
        actor: Actor | None = None,
        code: str | None = None,
        mode: str | None = None,
    ) -> NoReturn:
        """Raise the 429 of a call over the grant's limit (see `hit`)."""
        log.info(
            "exchange gateway call refused",
            extra={"grant_id": grant_id, "reason": "rate_limited", "limit_per_minute": limit},
        )
        refused = {
            "actor": actor or GATEWAY,
            "action": REFUSED,
            "entity_type": KIND if code else GRANT_KIND,
            "entity_id": code or str(grant_id),
            "detail": {
                "reason": "rate_limited",
                "grant_id": grant_id,
                "limit_per_minute": limit,
                **({"mode": mode} if mode else {}),
            },
        }
        # core answers 429 with Retry-After (CKAN in its own error format, same header)
        raise RateLimitedError(
            f"调用过于频繁：本授权每分钟最多 {limit} 次，请 {retry} 秒后重试 "
            f"(rate limit of {limit} calls per minute for this grant; retry in {retry}s)",
            retry_after=retry,
            audit=refused,
        )

    def reset(self) -> None:
        """Forget every grant's window (tests, or an operator lifting the limits at once)."""
        ratelimits.reset(NAMESPACE)


RATE_LIMITER = RateLimiter()
