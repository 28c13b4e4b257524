"""Background work of the city map: the demo simulator, started with the server in demo mode only."""

from __future__ import annotations

import hashlib
import logging
import threading

from sqlalchemy import select, text

from govgrid.citymap.models import FieldUnit
from govgrid.citymap.services import simulation
from govgrid.config import get_settings
from govgrid.core.db import get_engine, session_scope

log = logging.getLogger(__name__)

RUN_FOR_S = 10 * 365 * 86400  # as long as the server runs
RETRY_S = 30.0  # a process that is not a county's simulator looks again this often (the holder may have died)
stop = threading.Event()  # set to end every simulator thread


def lock_key(county: str) -> int:
    """The PostgreSQL advisory lock naming a county's simulator (a signed 64-bit key)."""
    return int.from_bytes(hashlib.sha256(f"citymap-sim:{county}".encode()).digest()[:8], "big", signed=True)


def simulate_once_per_deployment(county: str) -> None:
    """Run a county's simulator in one process of the deployment only: on PostgreSQL the process holding the
    county's advisory lock simulates (N web workers would otherwise move every unit N times); the others look
    again every RETRY_S and take over if the holder goes away. SQLite has one server process."""
    engine = get_engine()
    if engine.dialect.name != "postgresql":
        simulation.run(county, seconds=RUN_FOR_S, stop=stop)
        return
    key = lock_key(county)
    while not stop.is_set():
        with engine.connect() as conn:
            held = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
            conn.commit()  # the lock belongs to the connection, not to a transaction left open
            if held:
                try:
                    simulation.run(county, seconds=RUN_FOR_S, stop=stop)
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
                return
        stop.wait(RETRY_S)


def background_simulator() -> None:
    """Started with the server: in demo mode, keep each demo county's units moving (one thread per county)."""
    if not get_settings().demo_mode:
        return
    with session_scope() as session:
        counties = list(session.scalars(select(FieldUnit.county_code).distinct()))
    for county in counties:
        threading.Thread(
            target=simulate_once_per_deployment,
            args=(county,),
            name=f"citymap-sim-{county}",
            daemon=True,
        ).start()
    log.info("simulators started", extra={"counties": len(counties)})
