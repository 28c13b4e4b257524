"""Market background work: every minute, close the biddings whose closing time has passed and expire the
trades whose payment window closed unpaid (their reservations are released)."""

from __future__ import annotations

import asyncio
import logging
import time

from govgrid.carbon.services import market, settlement
from govgrid.core.audit.service import SystemActor
from govgrid.core.db import session_scope, utcnow

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 60
ACTOR = SystemActor("carbon-market-job")
_task: asyncio.Task[None] | None = None


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


async def _loop() -> None:
    """Run the pass every INTERVAL_SECONDS for the life of the process."""
    log.info("carbon market loop started", extra={"interval_s": INTERVAL_SECONDS})
    while True:
        try:
            await asyncio.to_thread(market_pass)
        except Exception:  # keep the scheduler alive; the next pass retries
            log.exception("carbon market pass failed")
        await asyncio.sleep(INTERVAL_SECONDS)


async def start_market_loop() -> None:
    """Start the every-minute market pass (a server startup hook; returns at once)."""
    global _task
    if _task is None or _task.done():
        _task = asyncio.get_running_loop().create_task(_loop(), name="carbon-market")
