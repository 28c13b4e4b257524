"""Market fixtures: demo roles inserted directly (argon2 is slow by design), a small registry, inspectors."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core.audit.service import SystemActor
from govgrid.core.departments import service as departments
from govgrid.core.identity.models import RoleAssignment, User
from govgrid.market import creditcode
from govgrid.market.services import registry

SYSTEM = SystemActor("test")
USERS = [
    ("nh_market", "410527-market_regulation", "operator", "department"),
    ("nh_health", "410527-health", "operator", "department"),
    ("ay_market", "410500-market_regulation", "operator", "line"),
    ("pd_market", "140321-market_regulation", "operator", "department"),
    ("jsh_market", "430611-market_regulation", "operator", "department"),
]


def code(county: str, n: int, prefix: str = "91") -> str:
    """A valid credit code of a county (sequence n)."""
    org8 = f"{n:08d}"
    return creditcode.make(prefix + county + org8 + creditcode.org_check_char(org8))


@pytest.fixture()
def users(db: Session) -> dict[str, User]:
    """The market demo roles, created in the test's transaction."""
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


def entity_rows(county: str, n: int, seed: int = 1) -> list[registry.EntityData]:
    """n entities of a county with a spread of risk facts."""
    rng = random.Random(seed)
    return [
        registry.EntityData(
            credit_code=code(county, 1000 + i),
            name=f"测试企业{i}号有限公司",
            legal_rep="王小明",
            address="城关镇测试路1号",
            lon=114.9,
            lat=35.97,
            penalties=1 if rng.random() > 0.7 else 0,
            complaints=rng.randint(0, 2),
            tax_status="D" if i == 0 else "B",
        )
        for i in range(n)
    ]


@pytest.fixture()
def registry_nh(db: Session, users) -> list[str]:
    """30 entities and 6 market + 3 health inspectors in 内黄县; the codes."""
    dept = departments.get_by_code(db, "410527-market_regulation")
    rows = entity_rows("410527", 30)
    registry.upsert_entities(db, actor=SYSTEM, department=dept, rows=rows)
    for i in range(6):
        registry.add_inspector(
            db,
            actor=SYSTEM,
            department_code="410527-market_regulation",
            name=f"执法员{i}",
            badge_no=f"T410527MR{i:03d}",
        )
    for i in range(3):
        registry.add_inspector(
            db, actor=SYSTEM, department_code="410527-health", name=f"卫监{i}", badge_no=f"T410527HE{i:03d}"
        )
    return [r.credit_code for r in rows]
