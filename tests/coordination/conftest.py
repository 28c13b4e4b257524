"""Coordination fixtures: roles inserted directly (argon2 is slow by design), tickets as real appeals rows."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.appeals.models import Ticket
from govgrid.core.audit.service import SystemActor
from govgrid.core.departments import service as departments
from govgrid.core.divisions import service as divisions
from govgrid.core.identity.models import RoleAssignment, User

SYSTEM = SystemActor("test")
USERS = [
    ("hn_gov_t", "410000-government", "admin", "division"),
    ("ay_gov_t", "410500-government", "admin", "division"),
    ("nh_gov", "410527-government", "admin", "division"),
    ("pd_gov", "140321-government", "admin", "division"),
    ("nh_data", "410527-data_management", "admin", "department"),
    ("nh_viewer", "410527-government", "viewer", "department"),
]


def add_user(db: Session, username: str, dept_code: str, role: str, reach: str) -> User:
    """A user holding one role (created in the test's transaction, no password)."""
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, display_name=username, password_hash="!", is_demo=True)
        db.add(user)
        db.flush()
    dept = departments.ensure(db, line_code=dept_code.split("-", 1)[1], division_code=dept_code.split("-")[0])
    db.add(RoleAssignment(user_id=user.id, department_id=dept.id, role=role, reach=reach))
    db.flush()
    return user


@pytest.fixture()
def users(db: Session) -> dict[str, User]:
    """The coordination test roles."""
    made = {}
    for username, dept, role, reach in USERS:
        existing = db.scalar(select(User).where(User.username == username))
        made[username] = existing if existing is not None else add_user(db, username, dept, role, reach)
    return made


def ticket(
    db: Session,
    division_code: str,
    *,
    created: datetime,
    due: datetime | None,
    answered: datetime | None,
    state: str = "answered",
    rating: str | None = None,
) -> Ticket:
    """An appeals ticket row as the appeals module keeps it (only what the measures read matters)."""
    div = divisions.get(db, division_code)
    row = Ticket(
        tracking_code=uuid.uuid4().hex[:16],
        channel="web",
        title="测试诉求",
        description="测试",
        category_code="other",
        category_source="reporter",
        division_code=div.code,
        division_path=div.path,
        location_source="channel",
        state=state,
        created_at=created,
        updated_at=created,
        resolve_due=due,
        answered_at=answered,
        rating=rating,
    )
    db.add(row)
    db.flush()
    return row


@pytest.fixture()
def providers() -> None:
    """Every module's measure provider registered (as the app does when it loads the modules)."""
    from govgrid.core.modules import module_specs

    module_specs()
