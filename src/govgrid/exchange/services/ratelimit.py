"""Rate limits of the gateway: one-minute fixed windows per grant, counted in the shared store of
`core.ratelimits` (the database or Redis), so every worker process counts against the same limit."""

from __future__ import annotations

import logging

from govgrid.core import ratelimits
from govgrid.core.errors import RateLimitedError

log = logging.getLogger(__name__)

NAMESPACE = "exchange.grant"


class RateLimiter:
    """Counts calls per grant in the current minute; a call over the grant's limit is refused with 429."""

    def hit(self, grant_id: int, limit: int) -> None:
        """Count one call under the grant, or raise RateLimitedError (with Retry-After) at the limit."""
        retry = ratelimits.hit(NAMESPACE, grant_id, limit=limit, seconds=60)
        if retry is None:
            return
        log.info(
            "exchange gateway call refused",
            extra={"grant_id": grant_id, "reason": "rate_limited", "limit_per_minute": limit},
        )
        # core answers 429 with Retry-After (CKAN in its own error format, same header)
        raise RateLimitedError(
            f"调用过于频繁：本授权每分钟最多 {limit} 次，请 {retry} 秒后重试 "
            f"(rate limit of {limit} calls per minute for this grant; retry in {retry}s)",
            retry_after=retry,
        )

    def reset(self) -> None:
        """Forget every grant's window (tests, or an operator lifting the limits at once)."""
        ratelimits.reset(NAMESPACE)


RATE_LIMITER = RateLimiter()
