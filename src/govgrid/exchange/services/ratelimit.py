"""Rate limits of the gateway: fixed one-minute windows per grant, in process (one server process serves
it)."""

from __future__ import annotations

import logging
import threading
import time

from govgrid.core.errors import RateLimitedError

log = logging.getLogger(__name__)


class RateLimiter:
    """Counts calls per grant in the current minute; a call over the grant's limit is refused with 429."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[int, tuple[int, int]] = {}

    def hit(self, grant_id: int, limit: int) -> None:
        """Count one call under the grant, or raise RateLimitedError (with Retry-After) at the limit."""
        now = time.time()
        window = int(now // 60)
        with self._lock:
            start, count = self._windows.get(grant_id, (window, 0))
            if start != window:
                start, count = window, 0
            if count >= limit:
                retry = max(1, int((window + 1) * 60 - now) + 1)
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
            self._windows[grant_id] = (start, count + 1)

    def reset(self) -> None:
        """Forget every window (tests, or an operator lifting the limits at once)."""
        with self._lock:
            self._windows.clear()


RATE_LIMITER = RateLimiter()
