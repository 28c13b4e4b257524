"""Background work, daily: the exchange feeds are pulled, then every division with figures is scanned (each
in its own transaction)."""

from __future__ import annotations

import asyncio
import logging

from govgrid.core.audit.service import SystemActor
from govgrid.core.db import session_scope
from govgrid.economy.services import feeds, monitoring

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 24 * 3600
FIRST_DELAY_SECONDS = 300  # let the server settle before the first run
ACTOR = SystemActor("economy-monitor")
_task: asyncio.Task[None] | None = None


def monitor_once() -> int:
    """Pull the feeds, then one monitoring run over every division; returns the number of new alerts."""
    with session_scope() as session:
        pulled = feeds.run_all_feeds(session, actor=ACTOR)
    log.info("economy feeds pulled", extra={"feeds": pulled})
    with session_scope() as session:
        return monitoring.scan_all(session, actor=ACTOR)


async def _loop() -> None:
    await asyncio.sleep(FIRST_DELAY_SECONDS)
    while True:
        try:
            await asyncio.to_thread(monitor_once)
        except Exception:  # keep the scheduler alive; the next run retries
            log.exception("economy monitoring run failed")
        await asyncio.sleep(INTERVAL_SECONDS)


async def start_monitor_loop() -> None:
    """Start the daily monitoring run (a server startup hook; returns at once)."""
    global _task
    if _task is None or _task.done():
        _task = asyncio.get_running_loop().create_task(_loop(), name="economy-monitor")
