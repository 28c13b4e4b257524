"""Economy fixtures: a small set of series (two counties, the cross-checked indicators) imported through
the service, with the demo's seeded keying error, and statistics-bureau users (inserted directly: argon2 is
slow)."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core.audit.service import SystemActor
from govgrid.core.departments import service as departments
from govgrid.core.identity.models import RoleAssignment, User
from govgrid.economy import demo, tables
from govgrid.economy.analysis import month_range
from govgrid.economy.enums import Source
from govgrid.economy.services import monitoring, registry, series

SYSTEM = SystemActor("test")
FIXTURE_SEED = 1  # with it, the seeded error (and its two cross-checks) are the only findings
PERIODS = month_range("2021-01", "2026-10")
CODES = ("IND_VA", "ELEC_IND", "TAX_REV", "RETAIL")
UNITS = {"IND_VA": "亿元", "ELEC_IND": "万千瓦时", "TAX_REV": "亿元", "RETAIL": "亿元"}
USERS = [
    ("nh_stats_t", "410527-statistics", "operator", "department"),
    ("pd_stats_t", "140321-statistics", "operator", "department"),
]


def parsed(rows: list[tuple[str, str, str, float]]) -> tables.Parsed:
    """Checked rows (indicator, division, period, value) as an upload would give them."""
    return tables.Parsed(
        rows=[
            tables.Row(i + 2, code, div, period, value, UNITS.get(code, "亿元"))
            for i, (code, div, period, value) in enumerate(rows)
        ]
    )


@pytest.fixture()
def econ(db: Session) -> dict[str, np.ndarray]:
    """Series of 内黄县 (with the seeded 2026-09 error) and 平定县, imported and scanned once."""
    registry.ensure_catalog(db)
    data = demo.generate(2, len(PERIODS), np.random.default_rng(FIXTURE_SEED))
    data["IND_VA"][0, PERIODS.index("2026-09")] *= 1.45
    rows = []
    for k, county in enumerate(("410527", "140321")):
        for code in CODES:
            rows += [(code, county, p, float(v)) for p, v in zip(PERIODS, data[code][k], strict=True)]
    series.import_rows(db, actor=SYSTEM, parsed=parsed(rows), source=Source.upload)
    for county in ("410527", "140321"):
        monitoring.scan_division(db, actor=SYSTEM, division_code=county)
    return data


@pytest.fixture()
def econ_users(db: Session) -> dict[str, User]:
    """Statistics-bureau operators of 内黄县 and 平定县."""
    made = {}
    for username, dept_code, role, reach in USERS:
        user = db.scalar(select(User).where(User.username == username))
        if user is None:
            user = User(username=username, display_name=username, password_hash="!", is_demo=True)
            db.add(user)
            db.flush()
            dept = departments.get_by_code(db, dept_code)
            db.add(RoleAssignment(user_id=user.id, department_id=dept.id, role=role, reach=reach))
            db.flush()
        made[username] = user
    return made


def csv_bytes(lines: list[str], encoding: str = "utf-8") -> bytes:
    """A CSV upload with the Chinese header."""
    return ("\n".join(["指标代码,区划代码,期别,数值,单位", *lines]) + "\n").encode(encoding)
