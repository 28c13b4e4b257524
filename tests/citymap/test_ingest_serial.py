"""Case serials under concurrent reports (citymap.services.ingest.next_case_code): on PostgreSQL a second
reporter of the same county and day waits for the first one's commit and takes the next serial instead of
colliding on the same code (the 409s of the 4-worker load run). SQLite has one writer: nothing to wait for."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete

from govgrid.citymap.models import Case
from govgrid.citymap.services import ingest
from govgrid.core import db as coredb

AT = datetime(2001, 1, 1, 4, 0, tzinfo=UTC)  # a day no other test reports on
COUNTY = "140321"


def _case(code: str) -> Case:
    return Case(code=code, source="inspector", kind="event", class_code="0101", description="serial test",
                lon=113.6, lat=37.8, county_code=COUNTY, division_code=COUNTY,
                division_path="/000000/140000/140300/140321/", reporter_type="system", state="filed",
                reported_at=AT)


def test_a_second_reporter_waits_for_the_first_and_takes_the_next_serial(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent writers need PostgreSQL: SQLite lets one writer in at a time; "
                    "CI's PostgreSQL leg runs it")
    make = coredb.session_factory()
    first, second = make(), make()
    got: dict[str, object] = {}
    try:
        code1 = ingest.next_case_code(first, COUNTY, AT)
        first.add(_case(code1))
        first.flush()

        def other() -> None:
            t0 = time.monotonic()
            got["code"] = ingest.next_case_code(second, COUNTY, AT)
            got["waited"] = time.monotonic() - t0

        worker = threading.Thread(target=other)
        worker.start()
        time.sleep(0.5)  # the second reporter is waiting for the first one's turn
        assert "code" not in got
        first.commit()
        worker.join(10)
        assert got["code"] == code1[:-5] + f"{int(code1[-5:]) + 1:05d}"
        assert 0.4 < float(got["waited"]) < 5
    finally:
        second.rollback()
        first.rollback()
        with coredb.session_scope() as s:
            s.execute(delete(Case).where(Case.code.like(f"{COUNTY}20010101%")))
        first.close()
        second.close()
