"""Property tests: any sequence of issue, transfer and retire conserves quantities, never overdraws an account
and never lets two serial ranges overlap."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from govgrid.carbon.models import CreditBlock, Issuance
from govgrid.carbon.services import accounts, credits, projects, reports
from govgrid.core.audit.service import SystemActor
from govgrid.core.errors import ConflictError

ACTOR = SystemActor("property-test")


def _square(x0: float) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [[[x0, 29.47], [x0 + 0.005, 29.47], [x0 + 0.005, 29.475], [x0, 29.475], [x0, 29.47]]],
    }


def _issue(db, x0: float, qty: int, vintage: tuple[int, int]) -> Issuance:
    p = projects.create_project(
        db,
        actor=ACTOR,
        name=f"p{x0}",
        department_code="430611-forestry",
        methodology="ipcc_inland_wetland",
        wetland_type="lake",
        tidal=False,
        soil="mineral",
        boundary=_square(x0),
        crediting_start=date(2018, 1, 1),
        crediting_end=date(2040, 1, 1),
    )
    r = reports.submit_report(
        db,
        actor=ACTOR,
        project_id=p.id,
        vintage_start=vintage[0],
        vintage_end=vintage[1],
        methodology="ipcc_inland_wetland",
        net_creditable_tco2e=qty,
        area_ha=p.area_ha,
        input_hashes={"x": "0" * 64},
    )
    reports.verify_report(db, actor=ACTOR, report_id=r.id, approve=True, statement="ok")
    return credits.issue(db, actor=ACTOR, report_id=r.id)


op = st.one_of(
    st.tuples(st.just("transfer"), st.integers(0, 2), st.integers(0, 2), st.integers(1, 400)),
    st.tuples(st.just("retire"), st.integers(0, 2), st.integers(0, 2), st.integers(1, 400)),
    st.tuples(st.just("issue"), st.integers(0, 2), st.integers(0, 2), st.integers(1, 400)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.integers(1, 500), ops=st.lists(op, min_size=1, max_size=12))
def test_random_sequences_conserve_and_never_overlap(db, first, ops):
    nested = db.begin_nested()
    try:
        iss = _issue(db, 112.70, first, (2018, 2023))
        held = [
            iss.account_id,
            accounts.create_account(db, actor=ACTOR, holder_name="A", department_code=None).id,
            accounts.create_account(db, actor=ACTOR, holder_name="B", department_code=None).id,
        ]
        issued = first
        x0 = 112.71
        for kind, a, b, q in ops:
            before = {acc: accounts.balances(db, account_id=acc) for acc in held}
            try:
                if kind == "issue":
                    issued += _issue(db, x0, q, (2018, 2023)).quantity
                    x0 += 0.006
                elif kind == "transfer":
                    if a == b:
                        continue
                    credits.transfer(
                        db, actor=ACTOR, from_account_id=held[a], to_account_id=held[b], quantity=q
                    )
                else:
                    credits.retire(
                        db, actor=ACTOR, account_id=held[a], quantity=q, beneficiary="b", reason="r"
                    )
            except ConflictError:
                assert q > before[held[a]][0]  # refused only when the holder had too little
                assert {
                    acc: accounts.balances(db, account_id=acc) for acc in held
                } == before  # and nothing changed
            blocks = list(db.scalars(select(CreditBlock).order_by(CreditBlock.serial_start)))
            assert sum(b.quantity for b in blocks) == issued
            assert all(b.quantity > 0 and b.serial_end - b.serial_start + 1 == b.quantity for b in blocks)
            for left, right in pairwise(blocks):
                assert left.serial_end < right.serial_start
            for acc in held:
                active, retired = accounts.balances(db, account_id=acc)
                assert active >= 0 and retired >= 0
        # the blocks of each issuance tile its range exactly
        for i in db.scalars(select(Issuance)):
            covered = db.scalar(select(func.sum(CreditBlock.quantity)).where(CreditBlock.issuance_id == i.id))
            assert covered == i.quantity
        ranges = sorted((i.serial_start, i.serial_end) for i in db.scalars(select(Issuance)))
        for left, right in pairwise(ranges):
            assert left[1] < right[0]
    finally:
        nested.rollback()


def test_same_area_and_vintage_is_refused_at_the_service(db):
    nested = db.begin_nested()
    try:
        _issue(db, 112.70, 10, (2018, 2023))
        try:
            _issue(db, 112.70, 10, (2020, 2025))
        except ConflictError as exc:
            assert exc.code == "double_issuance"
        else:
            raise AssertionError("overlapping vintage over the same area was issued twice")
        assert _issue(db, 112.70, 10, (2023, 2028)).quantity == 10
    finally:
        nested.rollback()


def test_the_database_itself_refuses_a_reused_serial_or_a_range_that_lies_about_its_quantity(db):
    import pytest
    from sqlalchemy.exc import IntegrityError

    nested = db.begin_nested()
    try:
        iss = _issue(db, 112.70, 10, (2018, 2023))
        block = db.scalar(select(CreditBlock).where(CreditBlock.issuance_id == iss.id))
        fields = {
            "issuance_id": iss.id,
            "project_id": iss.project_id,
            "vintage_start": 2018,
            "vintage_end": 2023,
            "account_id": block.account_id,
        }
        for bad in (
            {"serial_start": block.serial_start, "serial_end": block.serial_start, "quantity": 1},
            {"serial_start": 10**8, "serial_end": 10**8 + 5, "quantity": 3},
        ):
            inner = db.begin_nested()
            db.add(CreditBlock(**fields, **bad))
            with pytest.raises(IntegrityError):
                db.flush()
            inner.rollback()
    finally:
        nested.rollback()
