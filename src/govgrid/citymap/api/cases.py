"""Cases in scope and the seven-step loop; dispatch proposals for one case and for a batch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from govgrid.citymap import schemas as s
from govgrid.citymap.api.params import BBOX, COUNTY
from govgrid.citymap.enums import CaseState
from govgrid.citymap.models import CaseStep
from govgrid.citymap.services import cases, dispatch, layers
from govgrid.core.deps import CurrentPrincipal, PageDep, SessionDep

router = APIRouter()


@router.get("/cases", response_model=s.CasePage)
def list_cases(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageDep,
    county_code: COUNTY | None = None,
    state: Annotated[CaseState | None, Query()] = None,
    cell_code: Annotated[str | None, Query(pattern=r"^\d{15}$")] = None,
    bbox: BBOX = None,
    overdue: bool | None = None,
) -> s.CasePage:
    """Cases in the caller's scope, newest first."""
    items, total = cases.list_cases(
        session,
        principal=principal,
        county_code=county_code,
        state=state.value if state else None,
        cell_code=cell_code,
        bbox=layers.check_bbox(bbox),
        overdue=overdue,
        limit=page.limit,
        offset=page.offset,
    )
    return s.CasePage(
        items=[cases.case_read(c) for c in items], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/cases/{case_id}", response_model=s.CaseRead)
def get_case(case_id: int, session: SessionDep, principal: CurrentPrincipal) -> s.CaseRead:
    """One case in scope."""
    return cases.case_read(cases.read_case(session, principal=principal, case_id=case_id))


@router.get("/cases/{case_id}/steps", response_model=list[s.CaseStepRead])
def case_steps(case_id: int, session: SessionDep, principal: CurrentPrincipal) -> list[CaseStep]:
    """The time-stamped steps of a case."""
    return cases.case_steps(session, principal=principal, case_id=case_id)


@router.post("/cases/{case_id}/file", response_model=s.CaseRead)
def file_case(case_id: int, body: s.FileCase, session: SessionDep, principal: CurrentPrincipal) -> s.CaseRead:
    """案卷建立 (dispatcher)."""
    return cases.case_read(
        cases.file_case(
            session, principal=principal, case_id=case_id, class_code=body.class_code, note=body.note
        )
    )


@router.post("/cases/{case_id}/reject", response_model=s.CaseRead)
def reject_case(
    case_id: int, body: s.RejectCase, session: SessionDep, principal: CurrentPrincipal
) -> s.CaseRead:
    """不予立案 (dispatcher)."""
    return cases.case_read(
        cases.reject_case(session, principal=principal, case_id=case_id, reason=body.reason)
    )


@router.post("/cases/{case_id}/dispatch", response_model=s.CaseRead)
def dispatch_case(
    case_id: int, body: s.DispatchCase, session: SessionDep, principal: CurrentPrincipal
) -> s.CaseRead:
    """任务派遣 (dispatcher): to a department and optionally a unit."""
    return cases.case_read(
        cases.dispatch_case(
            session,
            principal=principal,
            case_id=case_id,
            department_code=body.department_code,
            unit_id=body.unit_id,
            note=body.note,
        )
    )


@router.post("/cases/{case_id}/redispatch", response_model=s.CaseRead)
def redispatch_case(
    case_id: int, body: s.RedispatchCase, session: SessionDep, principal: CurrentPrincipal
) -> s.CaseRead:
    """改派 (dispatcher): a dispatched or in-hand case to another department or unit, with a reason."""
    return cases.case_read(
        cases.redispatch_case(
            session,
            principal=principal,
            case_id=case_id,
            reason=body.reason,
            department_code=body.department_code,
            unit_id=body.unit_id,
        )
    )


@router.post("/cases/{case_id}/send_back", response_model=s.CaseRead)
def send_back_case(
    case_id: int, body: s.SendBackCase, session: SessionDep, principal: CurrentPrincipal
) -> s.CaseRead:
    """回退 (handler or unit): return a case that is not theirs to the command centre, with a reason."""
    return cases.case_read(
        cases.send_back_case(session, principal=principal, case_id=case_id, reason=body.reason)
    )


@router.post("/cases/{case_id}/acknowledge", response_model=s.CaseRead)
def acknowledge_case(
    case_id: int, body: s.NoteBody, session: SessionDep, principal: CurrentPrincipal
) -> s.CaseRead:
    """任务处理: the handler or unit signs for the task."""
    return cases.case_read(
        cases.acknowledge_case(session, principal=principal, case_id=case_id, note=body.note)
    )


@router.post("/cases/{case_id}/arrive", response_model=s.CaseRead)
def arrive_case(case_id: int, session: SessionDep, principal: CurrentPrincipal) -> s.CaseRead:
    """The unit is on site (response time measured from dispatch)."""
    return cases.case_read(cases.arrive_case(session, principal=principal, case_id=case_id))


@router.post("/cases/{case_id}/feedback", response_model=s.CaseRead)
def feedback_case(
    case_id: int, body: s.FeedbackCase, session: SessionDep, principal: CurrentPrincipal
) -> s.CaseRead:
    """处理反馈 (handler or unit)."""
    return cases.case_read(
        cases.feedback_case(
            session, principal=principal, case_id=case_id, result=body.result, photo_id=body.photo_id
        )
    )


@router.post("/cases/{case_id}/verify", response_model=s.CaseRead)
def verify_case(
    case_id: int, body: s.VerifyCase, session: SessionDep, principal: CurrentPrincipal
) -> s.CaseRead:
    """核查结案 (inspector/supervisor): passed closes, failed sends back to handling (返工)."""
    return cases.case_read(
        cases.verify_case(session, principal=principal, case_id=case_id, passed=body.passed, note=body.note)
    )


@router.post("/cases/{case_id}/evaluate", response_model=s.CaseRead)
def evaluate_case(
    case_id: int, body: s.EvaluateCase, session: SessionDep, principal: CurrentPrincipal
) -> s.CaseRead:
    """综合评价 (supervisor)."""
    return cases.case_read(
        cases.evaluate_case(session, principal=principal, case_id=case_id, score=body.score, note=body.note)
    )


def _proposal(p: dispatch.Proposal) -> s.ProposalRead:
    return s.ProposalRead(
        case_id=p.case_id,
        unit=s.UnitRead.model_validate(p.unit),
        distance_m=round(p.distance_m, 1),
        eta_min=round(p.eta_min, 1),
    )


@router.get("/cases/{case_id}/proposals", response_model=list[s.ProposalRead])
def proposals(
    case_id: int, session: SessionDep, principal: CurrentPrincipal, k: Annotated[int, Query(ge=1, le=10)] = 3
) -> list[s.ProposalRead]:
    """The nearest available qualified units for a case."""
    return [_proposal(p) for p in dispatch.propose_units(session, principal=principal, case_id=case_id, k=k)]


@router.post("/dispatch/batch", response_model=s.BatchProposalRead)
def batch_dispatch(
    body: s.BatchProposeBody, session: SessionDep, principal: CurrentPrincipal
) -> s.BatchProposalRead:
    """Proposals for many waiting cases at once (least total distance); the dispatcher confirms each."""
    out = dispatch.batch_propose(
        session, principal=principal, county_code=body.county_code, case_ids=body.case_ids
    )
    return s.BatchProposalRead(
        proposals=[_proposal(p) for p in out.proposals],
        unassigned=out.unassigned,
        total_distance_m=round(out.total_m, 1),
        greedy_distance_m=round(out.greedy_m, 1),
    )
