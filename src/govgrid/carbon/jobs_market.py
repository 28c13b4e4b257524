"""Market background work: every minute (a periodic job), close the biddings whose closing time has passed and
expire the trades whose payment window closed unpaid (their reservations are released)."""

from __future__ import annotations

import logging
import time

from govgrid.carbon.services import market, settlement
from govgrid.core.audit.service import SystemActor
from govgrid.core.db import session_scope, utcnow
from govgrid.core.jobs import PeriodicJob

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 60
ACTOR = SystemActor("carbon-market-job")


def market_pass() -> tuple[list[int], list[int]]:
    """One pass in its own transaction: (closed listing ids, expired trade ids)."""
    started = time.perf_counter()
    with session_scope() as session:
        now = utcnow()
        closed = market.close_due_biddings(session, actor=ACTOR, now=now)
        expired = settlement.expire_payments(session, actor=ACTOR, now=now)
    log.info(
        "carbon market pass finished",
        extra={
            "closed": len(closed),
            "expired": len(expired),
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return closed, expired


PERIODIC = (PeriodicJob("carbon.market_pass", INTERVAL_SECONDS, market_pass),)
