"""The hourly governance pass: the register and incidents for the whole tree, idempotent."""

from __future__ import annotations

from sqlalchemy import func, select

from govgrid.institutions import jobs
from govgrid.institutions.models import Incident, RegisterEntry


def test_governance_pass_syncs_and_files_once(db, usage):
    added, raised, filed = jobs.govern_once()
    assert added >= 3 and raised == 0 and filed == 1
    codes = set(db.scalars(select(RegisterEntry.resource_code)))
    assert {"T01-410527-0001", "T02-410527-0001", "T03-140321-0001"} <= codes
    assert jobs.govern_once() == (0, 0, 0)
    assert db.scalar(select(func.count(Incident.id))) == 1
    assert jobs.PERIODIC[0].every_seconds == 3600
