"""The data-pull port of core.ports as the exchange implements it: own scope, grants, masking, purpose."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from govgrid.core import ports
from govgrid.core.audit.models import AuditRecord
from govgrid.core.errors import ForbiddenError, UnauthorizedError
from govgrid.core.privacy import id_number_checksum
from tests.services.conftest import principal


def test_the_provider_department_pulls_its_own_record_with_the_purpose_audited(world, db):
    police = principal(db, "sv_police")
    got = ports.pull_record(
        db,
        actor=police,
        resource_code=world["resource"],
        key={"id_number": world["id_number"]},
        purpose="测试 办件 T-1",
    )
    assert got is not None and got.rows[0]["name"] == world["name"] and got.grant_id is None
    rec = db.scalars(
        select(AuditRecord)
        .where(AuditRecord.action == "exchange.gateway.records")
        .order_by(AuditRecord.seq.desc())
    ).first()
    assert rec is not None and "T-1" in (rec.purpose or "")
    assert (
        ports.pull_record(
            db,
            actor=police,
            resource_code=world["resource"],
            key={"id_number": "41052719900101123" + id_number_checksum("41052719900101123")},
            purpose="x",
        )
        is None
    )


def test_a_citizen_pulls_through_a_named_department_and_others_need_a_grant(world, db):
    citizen = principal(db, "sv_citizen")
    police_dept = principal(db, "sv_police").assignments[0].department_id
    rows = ports.pull_rows(
        db, actor=citizen, resource_code=world["resource"], purpose="预填", department_id=police_dept
    )
    assert rows.rows
    with pytest.raises(ForbiddenError):
        ports.pull_rows(db, actor=principal(db, "sv_health"), resource_code=world["resource"], purpose="x")
    with pytest.raises(UnauthorizedError):
        ports.pull_rows(db, actor=None, resource_code=world["resource"], purpose="x")  # type: ignore[arg-type]
