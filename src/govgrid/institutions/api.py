"""Institutions JSON API under /api/v1/institutions. Routes stay thin: parse, call one service, serialise.

Every route needs a signed-in official (401 otherwise); what each sees is decided by ``services.access``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path

from govgrid.core.deps import CurrentPrincipal, SessionDep
from govgrid.institutions import schemas as s
from govgrid.institutions.services import incidents, ledger, register

router = APIRouter(prefix="/institutions", tags=["institutions"])
ID = Annotated[int, Path(ge=1, le=2_147_483_647)]
CODE = Annotated[str, Path(pattern=r"^\d{6,32}$", description="GB/T 2260 code (or a longer sub-county code)")]
RESOURCE = Annotated[str, Path(max_length=64)]


def period(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The period: default the last 90 days up to now; naive times are read as UTC."""
    end = end or datetime.now(UTC)
    start = start or end - timedelta(days=90)
    return (start if start.tzinfo else start.replace(tzinfo=UTC)), (
        end if end.tzinfo else end.replace(tzinfo=UTC)
    )


@router.get("/divisions/{code}/ledger", response_model=s.LedgerRead)
def get_ledger(
    code: CODE,
    session: SessionDep,
    principal: CurrentPrincipal,
    line: str = "",
    start: datetime | None = None,
    end: datetime | None = None,
) -> s.LedgerRead:
    """The division's (or one line's) contribution ledger with provider scores."""
    a, b = period(start, end)
    book = ledger.ledger(session, actor=principal, division_code=code, start=a, end=b, line=line[:32])
    return s.LedgerRead(
        division_code=book.division.code,
        line=book.line,
        start=book.start,
        end=book.end,
        rule=s.RuleRead(
            division_code=book.rule.division_code,
            version=book.rule.version,
            weights=book.rule.weights,
            row_weight=book.rule.row_weight,
        ),
        scores=[
            s.ScoreRead(
                department_id=x.department_id,
                department_name=x.department_name,
                line_code=x.line_code,
                division_code=x.division_code,
                calls=x.calls,
                rows=x.rows,
                points=round(x.points, 4),
                resources=len(x.resources),
                consumers=len(x.consumers),
                outcomes=x.outcomes,
                cases_closed=len(x.cases_closed),
            )
            for x in book.scores
        ],
        rows=[
            s.LedgerRowRead(
                resource_code=r.use.resource_code,
                resource_name=r.use.resource_name,
                provider_department_id=r.use.provider_department_id,
                provider_name=r.provider_name,
                line_code=r.use.provider_line_code,
                consumer_department_id=r.use.consumer_department_id,
                consumer_name=r.use.consumer_name,
                kind=r.use.kind,
                purpose=r.use.purpose,
                outcome=r.outcome,
                calls=r.use.calls,
                rows=r.use.rows,
                points=round(r.points, 4),
                cases_closed=sorted(r.cases_closed),
            )
            for r in book.rows
        ],
        cases_closed=book.cases_closed,
    )


@router.post("/divisions/{code}/rules", response_model=s.RuleRead, status_code=201)
def post_rule(code: CODE, body: s.RuleCreate, session: SessionDep, principal: CurrentPrincipal) -> s.RuleRead:
    """Store a new version of the division's scoring rule."""
    row = ledger.set_rule(
        session,
        actor=principal,
        division_code=code,
        weights=body.weights,
        row_weight=body.row_weight,
        note=body.note,
    )
    return s.RuleRead(
        division_code=row.division_code, version=row.version, weights=row.weights, row_weight=row.row_weight
    )


@router.get("/divisions/{code}/register", response_model=list[s.RegisterEntryRead])
def get_register(
    code: CODE, session: SessionDep, principal: CurrentPrincipal, line: str = ""
) -> list[s.RegisterEntryRead]:
    """The division's grading register (highest grade first)."""
    found = register.entries(session, actor=principal, division_code=code, line=line[:32])
    return [s.RegisterEntryRead.model_validate(e) for e in found]


@router.post("/divisions/{code}/sync", response_model=s.SyncRead)
def post_sync(code: CODE, session: SessionDep, principal: CurrentPrincipal) -> s.SyncRead:
    """Sync the register from the catalog and file incidents from the last 90 days' gateway refusals."""
    added, raised = register.sync(session, actor=principal, division_code=code)
    end = datetime.now(UTC)
    filed = incidents.scan(
        session, actor=principal, division_code=code, start=end - timedelta(days=90), end=end
    )
    return s.SyncRead(added=added, raised=raised, incidents_filed=filed)


@router.post("/register/{resource_code}/reviews", response_model=s.RegisterEntryRead, status_code=201)
def post_review(
    resource_code: RESOURCE, body: s.ReviewCreate, session: SessionDep, principal: CurrentPrincipal
) -> s.RegisterEntryRead:
    """Record a periodic review of a register entry."""
    row = register.review(
        session, actor=principal, resource_code=resource_code, grade=body.grade, note=body.note
    )
    return s.RegisterEntryRead.model_validate(row.entry)


@router.get("/divisions/{code}/incidents", response_model=list[s.IncidentRead])
def get_incidents(
    code: CODE, session: SessionDep, principal: CurrentPrincipal, state: str = ""
) -> list[s.IncidentRead]:
    """The division's security incidents, open first."""
    found = incidents.incidents(session, actor=principal, division_code=code, state=state[:16])
    return [s.IncidentRead.model_validate(i) for i in found]


@router.post("/incidents/{incident_id}/move", response_model=s.IncidentRead)
def post_move(
    incident_id: ID, body: s.IncidentMove, session: SessionDep, principal: CurrentPrincipal
) -> s.IncidentRead:
    """Move an incident along its handling with a note."""
    inc = incidents.move(session, actor=principal, incident_id=incident_id, state=body.state, note=body.note)
    return s.IncidentRead.model_validate(inc)
