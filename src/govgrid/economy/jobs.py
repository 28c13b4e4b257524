"""Background work, daily (a periodic job): the exchange feeds are pulled, then every division with figures is
scanned (each in its own transaction)."""

from __future__ import annotations

import logging

from govgrid.core.audit.service import SystemActor
from govgrid.core.db import session_scope
from govgrid.core.jobs import PeriodicJob
from govgrid.economy.services import feeds, monitoring

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 24 * 3600
ACTOR = SystemActor("economy-monitor")


def monitor_once() -> int:
    """Pull the feeds, then one monitoring run over every division; returns the number of new alerts."""
    with session_scope() as session:
        pulled = feeds.run_all_feeds(session, actor=ACTOR)
    log.info("economy feeds pulled", extra={"feeds": pulled})
    with session_scope() as session:
        return monitoring.scan_all(session, actor=ACTOR)


PERIODIC = (PeriodicJob("economy.monitor", INTERVAL_SECONDS, monitor_once),)
