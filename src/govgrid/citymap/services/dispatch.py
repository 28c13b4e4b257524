"""Dispatch proposals: the nearest available units with the skill a case needs (BallTree, haversine), and the
batch optimiser (one unit per waiting case, least total distance) with the greedy baseline beside it. The
dispatcher confirms each proposal with `cases.dispatch_case`."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.citymap import catalog, spatial
from govgrid.citymap.enums import CaseState, UnitStatus
from govgrid.citymap.models import Case, FieldUnit
from govgrid.citymap.services import access, cases
from govgrid.core.authz.principal import Principal
from govgrid.core.divisions import service as divisions

log = logging.getLogger(__name__)

SPEED_MPS = 5.0  # ~18 km/h through town: a plain ETA figure


@dataclass
class Proposal:
    """A proposed unit for a case."""

    case_id: int
    unit: FieldUnit
    distance_m: float
    eta_min: float


@dataclass
class BatchProposal:
    """The batch optimiser's answer: a unit per case, the cases left over, and the optimum's and the greedy
    baseline's total metres."""

    proposals: list[Proposal]
    unassigned: list[int]
    total_m: float
    greedy_m: float


def available_units(session: Session, county: str) -> list[FieldUnit]:
    """The county's available units with a known position, by id."""
    return list(
        session.scalars(
            select(FieldUnit)
            .where(
                FieldUnit.county_code == county,
                FieldUnit.status == UnitStatus.available.value,
                FieldUnit.lon.is_not(None),
                FieldUnit.lat.is_not(None),
            )
            .order_by(FieldUnit.id)
        )
    )


def _positions(units: list[FieldUnit]) -> tuple[list[float], list[float]]:
    """Longitudes and latitudes of units that all have a position (see `available_units`)."""
    return [u.lon or 0.0 for u in units], [u.lat or 0.0 for u in units]


def propose_units(session: Session, *, principal: Principal, case_id: int, k: int = 3) -> list[Proposal]:
    """The nearest available units with the skill the case's class needs."""
    access.require_role(principal, access.DISPATCH_ROLES, "派遣建议")
    case = cases.get_case(session, principal=principal, case_id=case_id)
    access.require_territory(session, principal, case.division_code, access.DISPATCH_ROLES, "派遣建议")
    units = available_units(session, case.county_code)
    klass = catalog.class_or_other(case.kind, case.class_code)
    if not units:
        return []
    lons, lats = _positions(units)
    index = spatial.UnitIndex([u.id for u in units], lons, lats, [list(u.skills or []) for u in units])
    ids, dist = index.nearest([case.lon], [case.lat], [klass.skill], k=k)
    by_id = {u.id: u for u in units}
    return [
        Proposal(case.id, by_id[int(i)], float(d), float(d) / SPEED_MPS / 60)
        for i, d in zip(ids[0], dist[0], strict=True)
        if i >= 0
    ]


def batch_propose(
    session: Session, *, principal: Principal, county_code: str, case_ids: list[int] | None = None
) -> BatchProposal:
    """One unit per waiting (filed) case with the least total distance (linear_sum_assignment)."""
    county = divisions.get(session, county_code)
    access.require_territory(session, principal, county.code, access.DISPATCH_ROLES, "批量派遣")
    stmt = select(Case).where(
        Case.county_code == county.code, Case.state == CaseState.filed.value, access.cases_clause(principal)
    )
    if case_ids:
        stmt = stmt.where(Case.id.in_(case_ids))
    waiting = list(session.scalars(stmt.order_by(Case.id)))
    units = available_units(session, county.code)
    if not waiting or not units:
        return BatchProposal([], [c.id for c in waiting], 0.0, 0.0)
    skills = [catalog.class_or_other(c.kind, c.class_code).skill for c in waiting]
    lons, lats = _positions(units)
    args = (
        [c.lon for c in waiting],
        [c.lat for c in waiting],
        skills,
        lons,
        lats,
        [list(u.skills or []) for u in units],
    )
    best = spatial.batch_assign(*args)
    greedy = spatial.greedy_assign(*args)
    props = [Proposal(waiting[r].id, units[c], d, d / SPEED_MPS / 60) for r, c, d in best]
    taken = {waiting[r].id for r, _, _ in best}
    out = BatchProposal(
        props,
        [c.id for c in waiting if c.id not in taken],
        sum(p[2] for p in best),
        sum(p[2] for p in greedy),
    )
    log.info(
        "batch dispatch proposed",
        extra={
            "county_code": county.code,
            "cases": len(waiting),
            "proposed": len(props),
            "units": len(units),
        },
    )
    return out
