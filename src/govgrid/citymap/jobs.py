"""Background work of the city map: the demo simulator, started with the server in demo mode only."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import select

from govgrid.citymap.models import FieldUnit
from govgrid.citymap.services import simulation
from govgrid.config import get_settings
from govgrid.core.db import session_scope

log = logging.getLogger(__name__)

RUN_FOR_S = 10 * 365 * 86400  # as long as the server runs
stop = threading.Event()  # set to end every simulator thread


def background_simulator() -> None:
    """Started with the server: in demo mode, keep each demo county's units moving (one thread per county)."""
    if not get_settings().demo_mode:
        return
    with session_scope() as session:
        counties = list(session.scalars(select(FieldUnit.county_code).distinct()))
    for county in counties:
        threading.Thread(
            target=simulation.run,
            args=(county,),
            kwargs={"seconds": RUN_FOR_S, "stop": stop},
            name=f"citymap-sim-{county}",
            daemon=True,
        ).start()
    log.info("simulators started", extra={"counties": len(counties)})
