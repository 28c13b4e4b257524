"""Reuse fixtures: principals by user name, 内黄县's own appeals settings (the innovation to pack)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core import ports
from govgrid.core.audit.service import SystemActor
from govgrid.core.authz.principal import Principal
from govgrid.core.identity import service as identity
from govgrid.core.identity.models import User

NEIHUANG = "410527"
PINGDING = "140321"
SECTION = "appeals/categories"
NEIHUANG_APPEALS: dict[str, Any] = {
    "categories": {
        "wage_arrears": {"line": "human_resources", "sign_hours": 2, "resolve_days": 5},
        "village_affairs": {"line": "petition", "resolve_days": 5},
        "garbage": {"sign_hours": 1, "resolve_days": 1},
    }
}
MAPPING: dict[str, Any] = {
    "lines": {"petition": "civil_affairs"},
    "deadlines": {"garbage": {"resolve_days": 2}},
}


def principal(db: Session, username: str) -> Principal:
    """The principal of a demo user."""
    uid = db.scalar(select(User.id).where(User.username == username))
    assert uid is not None, username
    found = identity.load_user_principal(db, uid)
    assert found is not None
    return found


def give_neihuang_settings(db: Session) -> None:
    """内黄县's own appeals settings, written through the pack-section port (as the demo does)."""
    section = ports.PACK_SECTIONS[("appeals", "categories")]
    plan = section.plan(db, division_code=NEIHUANG, content=NEIHUANG_APPEALS, mapping={})
    section.apply(db, actor=SystemActor("test"), division_code=NEIHUANG, plan=plan)


@pytest.fixture()
def neihuang(db: Session) -> Session:
    """The test's session with 内黄县's settings in place."""
    import govgrid.appeals.module  # noqa: F401  (registers the appeals pack section)

    give_neihuang_settings(db)
    return db
