"""Market supervision JSON API under /api/v1/market. Routes stay thin: parse, call one service, serialise.

Public (一公开, no login): ``GET /draws``, ``GET /draws/{id}``, ``GET /results``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, UploadFile

from govgrid.core.deps import CurrentPrincipal, LocaleDep, SessionDep
from govgrid.core.errors import PayloadTooLargeError, ValidationFailedError
from govgrid.core.privacy import mask_name
from govgrid.market import schemas as s
from govgrid.market.enums import CaseStatus
from govgrid.market.models import Inspection, InspectionPlan, Inspector, MarketEntity, SharedCase
from govgrid.market.services import cases, draws, inspections, registry

router = APIRouter(prefix="/market", tags=["market"])
PUBLIC = {"x-public": True}
ID = Annotated[int, Path(ge=1, le=2_147_483_647)]
MAX_UPLOAD = 5 * 1024 * 1024
DIVISION = Annotated[str | None, Query(pattern=r"^\d{6,12}$", description="GB/T 2260 code")]


def entity_read(e: MarketEntity, *, full: bool) -> s.EntityRead:
    """Serialise an entity; the legal representative's name is masked unless ``full`` (the registrar)."""
    return s.EntityRead(
        credit_code=e.credit_code,
        name=e.name,
        kind=e.kind,
        division_code=e.division_code,
        department_code=e.department.code,
        industry=e.industry,
        address=e.address,
        legal_rep=e.legal_rep if full or not e.legal_rep else mask_name(e.legal_rep),
        credit_class=e.credit_class,
        risk_points=e.risk_points,
        risk_reasons=list(e.risk_reasons),
        is_demo=e.is_demo,
    )


def plan_read(p: InspectionPlan, draw_id: int | None) -> s.PlanRead:
    """Serialise a plan."""
    return s.PlanRead(
        id=p.id,
        code=p.code,
        name=p.name,
        year=p.year,
        line_code=p.line_code,
        division_code=p.division_code,
        department_code=p.department.code,
        items=list(p.items),
        sample_size=p.sample_size,
        weights=dict(p.weights),
        per_group=p.per_group,
        beacon_source=p.beacon_source,
        status=p.status,
        draw_id=draw_id,
        created_at=p.created_at,
    )


def inspection_read(i: Inspection) -> s.InspectionRead:
    """Serialise a visit."""
    return s.InspectionRead(
        id=i.id,
        plan_code=i.plan.code,
        credit_code=i.credit_code,
        entity_name=i.entity.name,
        division_code=i.division_code,
        inspector_ids=list(i.inspector_ids),
        items=list(i.items),
        status=i.status,
        outcome=i.outcome,
        summary=i.summary,
        recorded_at=i.recorded_at,
    )


def case_read(c: SharedCase) -> s.CaseRead:
    """Serialise a shared case."""
    return s.CaseRead(
        id=c.id,
        number=c.number,
        kind=c.kind,
        credit_code=c.entity.credit_code,
        entity_name=c.entity.name,
        from_department=c.from_department.name,
        to_department=c.to_department.name,
        title=c.title,
        description=c.description,
        deadline=c.deadline,
        status=c.status,
        reply=c.reply,
        created_at=c.created_at,
    )


def inspector_read(i: Inspector, relations: list[str]) -> s.InspectorRead:
    """Serialise an inspector (staff only)."""
    return s.InspectorRead(
        id=i.id,
        department_code=i.department.code,
        name=i.name,
        badge_no=i.badge_no,
        unit_code=i.unit_code,
        fields=i.fields,
        relations=relations,
    )


# ---------------------------------------------------------------- public


@router.get(
    "/draws", response_model=list[s.DrawPublic], summary="Published draws (双随机)", openapi_extra=PUBLIC
)
def list_draws(
    session: SessionDep,
    division: DIVISION = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """Every committed draw: commitment at once; seed, targets and inspector ids once published."""
    return draws.public_draws(session, division_code=division, limit=limit, offset=offset)


@router.get("/draws/{draw_id}", response_model=s.DrawPublic, summary="One draw", openapi_extra=PUBLIC)
def get_draw(draw_id: ID, session: SessionDep) -> dict[str, Any]:
    """One draw as published."""
    return draws.public_draw(session, draw_id=draw_id)


@router.get(
    "/results",
    response_model=list[s.PublicResult],
    summary="Published results (一公开)",
    openapi_extra=PUBLIC,
)
def list_results(
    session: SessionDep,
    locale: LocaleDep,
    division: DIVISION = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """Recorded results without personal data."""
    return inspections.public_results(
        session, division_code=division, locale=locale, limit=limit, offset=offset
    )


# ---------------------------------------------------------------- registry


@router.get("/entities", response_model=s.EntityPage, summary="Market entities in scope")
def list_entities(
    session: SessionDep,
    principal: CurrentPrincipal,
    division: DIVISION = None,
    credit_class: Annotated[str | None, Query(pattern="^[ABCD]$")] = None,
    q: Annotated[str | None, Query(max_length=50)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> s.EntityPage:
    """The directory with credit-risk classes."""
    rows, total, counts = registry.list_entities(
        session,
        principal=principal,
        division_code=division,
        credit_class=credit_class,
        q=q,
        limit=limit,
        offset=offset,
    )
    mine = principal.department_ids
    return s.EntityPage(
        items=[entity_read(e, full=e.department_id in mine) for e in rows], total=total, counts=counts
    )


@router.get("/entities/{credit_code}", response_model=s.EntityRead, summary="One entity")
def get_entity(credit_code: str, session: SessionDep, principal: CurrentPrincipal) -> s.EntityRead:
    """An entity with its class and the reasons for it."""
    e = registry.get_entity(session, principal=principal, credit_code=credit_code)
    return entity_read(e, full=e.department_id in principal.department_ids)


@router.post("/entities", response_model=s.EntityRead, status_code=201, summary="Register an entity")
def create_entity(body: s.EntityCreate, session: SessionDep, principal: CurrentPrincipal) -> s.EntityRead:
    """Register or update one entity (the credit code's check digit is verified)."""
    data = registry.EntityData(**body.model_dump(exclude={"department_code"}))
    e = registry.register_entity(session, actor=principal, department_code=body.department_code, data=data)
    return entity_read(e, full=True)


@router.post(
    "/entities/import", response_model=s.ImportReport, summary="Import an entity CSV (all or nothing)"
)
def import_entities(
    session: SessionDep,
    principal: CurrentPrincipal,
    file: UploadFile,
    department_code: Annotated[str, Form(min_length=8, max_length=64)],
) -> dict[str, Any]:
    """CSV columns: credit_code,name[,industry,address,legal_rep,division_code,lon,lat,penalties,complaints,
    abnormal,serious_violation,tax_status]; any wrong row refuses the whole file with its reasons."""
    name = (file.filename or "").lower()
    if not name.endswith(".csv"):
        raise ValidationFailedError(
            "只接受 .csv 文件 (CSV files only)", details=[{"loc": ["file"], "msg": name}]
        )
    content = file.file.read(MAX_UPLOAD + 1)
    if len(content) > MAX_UPLOAD:
        raise PayloadTooLargeError("文件超过 5 MB (file larger than 5 MB)")
    return registry.import_entities(
        session, actor=principal, department_code=department_code, content=content
    )


@router.post("/entities/sync", response_model=s.SyncReport, summary="Draw entities from the exchange")
def sync_entities(body: s.SyncRequest, session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Pull a shared 市场主体登记信息 resource through the core data port (under the registrar's grant); rows
    failing the GB 32100 check come back refused with reasons."""
    return registry.sync_from_exchange(
        session,
        actor=principal,
        department_code=body.department_code,
        resource_code=body.resource_code,
        limit=body.limit,
    )


@router.get("/inspectors", response_model=list[s.InspectorRead], summary="Inspectors in scope")
def list_inspectors(
    session: SessionDep,
    principal: CurrentPrincipal,
    department_code: Annotated[str | None, Query(max_length=64)] = None,
) -> list[s.InspectorRead]:
    """The inspector directory with declared relations."""
    rows, _ = registry.list_inspectors(session, principal=principal, department_code=department_code)
    rel = registry.relations_of(session, [r.id for r in rows])
    return [inspector_read(r, rel[r.id]) for r in rows]


@router.post("/inspectors", response_model=s.InspectorRead, status_code=201, summary="Add an inspector")
def add_inspector(
    body: s.InspectorCreate, session: SessionDep, principal: CurrentPrincipal
) -> s.InspectorRead:
    """Put an inspector on the department's directory."""
    ins = registry.add_inspector(session, actor=principal, **body.model_dump())
    return inspector_read(ins, [])


@router.post("/inspectors/{inspector_id}/relations", status_code=201, summary="Declare a relation (回避)")
def declare_relation(
    inspector_id: ID, body: s.RelationCreate, session: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Record that the inspector must not inspect the entity."""
    rel = registry.declare_relation(
        session, actor=principal, inspector_id=inspector_id, credit_code=body.credit_code, note=body.note
    )
    return {"inspector_id": rel.inspector_id, "credit_code": rel.credit_code}


# ---------------------------------------------------------------- plans and draws


@router.get("/plans", response_model=list[s.PlanRead], summary="Inspection plans in scope")
def list_plans(session: SessionDep, principal: CurrentPrincipal) -> list[s.PlanRead]:
    """Plans, newest first."""
    rows, _ = draws.list_plans(session, principal=principal)
    return [plan_read(p, getattr(draws.draw_of(session, p.id), "id", None)) for p in rows]


@router.post("/plans", response_model=s.PlanRead, status_code=201, summary="Create a plan")
def create_plan(body: s.PlanCreate, session: SessionDep, principal: CurrentPrincipal) -> s.PlanRead:
    """A draft plan; items of several departments make a joint inspection (进一次门、查多项事)."""
    plan = draws.create_plan(
        session,
        actor=principal,
        name=body.name,
        year=body.year,
        department_code=body.department_code,
        items=[(i.department_code, i.item) for i in body.items],
        sample_size=body.sample_size,
        weights={str(k): v for k, v in body.weights.items()},
        per_group=body.per_group,
        beacon_source=body.beacon_source,
    )
    return plan_read(plan, None)


@router.get("/plans/{plan_id}", response_model=s.PlanRead, summary="One plan")
def get_plan(plan_id: ID, session: SessionDep, principal: CurrentPrincipal) -> s.PlanRead:
    """A plan in scope."""
    plan = draws.get_plan(session, principal=principal, plan_id=plan_id)
    return plan_read(plan, getattr(draws.draw_of(session, plan.id), "id", None))


@router.post(
    "/plans/{plan_id}/commit",
    response_model=s.DrawPublic,
    summary="Commit the draw (publish SHA-256 of the seed)",
)
def commit(plan_id: ID, session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Freeze the two lists, publish their hashes and the seed's commitment."""
    return draws.draw_document(draws.commit_draw(session, actor=principal, plan_id=plan_id))


@router.post("/plans/{plan_id}/draw", response_model=s.DrawPublic, summary="Draw and publish the seed")
def draw(
    plan_id: ID, body: s.DrawRequest, session: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Run the committed draw, publish the seed, targets and inspectors."""
    return draws.draw_document(
        draws.publish_draw(session, actor=principal, plan_id=plan_id, beacon=body.beacon)
    )


@router.get("/plans/{plan_id}/inspections", response_model=list[s.InspectionRead], summary="Visits of a plan")
def plan_inspections(plan_id: ID, session: SessionDep, principal: CurrentPrincipal) -> list[s.InspectionRead]:
    """The drawn targets with their inspectors and results."""
    return [
        inspection_read(i)
        for i in inspections.plan_inspections(session, principal=principal, plan_id=plan_id)
    ]


@router.post(
    "/inspections/{inspection_id}/result", response_model=s.InspectionRead, summary="Record a result"
)
def record(
    inspection_id: ID, body: s.ResultCreate, session: SessionDep, principal: CurrentPrincipal
) -> s.InspectionRead:
    """Record and publish a visit's result; it feeds the entity's credit class."""
    ins = inspections.record_result(
        session,
        actor=principal,
        inspection_id=inspection_id,
        outcome=body.outcome,
        summary=body.summary,
        city_case=body.city_case,
    )
    return inspection_read(ins)


# ---------------------------------------------------------------- shared cases


@router.get("/cases", response_model=list[s.CaseRead], summary="Shared cases sent or received")
def list_cases(
    session: SessionDep, principal: CurrentPrincipal, status: CaseStatus | None = None
) -> list[s.CaseRead]:
    """Escalated and forwarded findings in scope."""
    rows, _ = cases.list_cases(session, principal=principal, status=status)
    return [case_read(c) for c in rows]


@router.post("/cases", response_model=s.CaseRead, status_code=201, summary="Escalate or forward a finding")
def open_case(body: s.CaseCreate, session: SessionDep, principal: CurrentPrincipal) -> s.CaseRead:
    """A shared case with a deadline in working days."""
    case = cases.open_case(session, actor=principal, **body.model_dump())
    return case_read(case)


@router.post("/cases/{case_id}/accept", response_model=s.CaseRead, summary="Accept a case")
def accept_case(
    case_id: ID, body: s.CaseReply, session: SessionDep, principal: CurrentPrincipal
) -> s.CaseRead:
    """The receiving department takes the case on."""
    return case_read(
        cases.answer_case(
            session, actor=principal, case_id=case_id, target=CaseStatus.accepted, reply=body.reply
        )
    )


@router.post("/cases/{case_id}/close", response_model=s.CaseRead, summary="Close a case with a reply")
def close_case(
    case_id: ID, body: s.CaseReply, session: SessionDep, principal: CurrentPrincipal
) -> s.CaseRead:
    """The receiving department answers and closes the case."""
    return case_read(
        cases.answer_case(
            session, actor=principal, case_id=case_id, target=CaseStatus.closed, reply=body.reply
        )
    )
