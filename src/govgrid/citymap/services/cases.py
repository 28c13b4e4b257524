"""The case loop (GB/T 30428): 案卷建立, 不予立案, 任务派遣, 任务处理 (sign for, on site), 处理反馈, 核查结案,
综合评价, with 改派 (re-dispatch) and 回退 (return to the command centre) so no case is stuck; and
reading cases in scope. Which step may follow which is `enums.CASE_LOOP`; who may take it is
`access`.

Every step writes a `citymap_case_steps` row and an audit record in the caller's transaction, logs one line,
and is pushed to the live map after commit. A closed or rejected case that came from another module reports
back through the declared port (`core.ports.report_case_closed`).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.citymap import catalog
from govgrid.citymap.enums import (
    CASE_LOOP,
    OPEN_VALUES,
    OWN_SOURCES,
    STATE_ZH,
    UNIT_STATUS_AFTER,
    CaseAction,
    CaseState,
    UnitStatus,
    can_take,
    unit_follows_case,
)
from govgrid.citymap.models import Case, CaseStep, FieldUnit, Photo
from govgrid.citymap.schemas import CaseRead
from govgrid.citymap.services import access, classes, live
from govgrid.citymap.services.common import Actor, county_of, who
from govgrid.core.audit import service as audit
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.departments import service as departments
from govgrid.core.departments.models import Department
from govgrid.core.errors import ConflictError, NotFoundError, ValidationFailedError
from govgrid.core.ports import CityCaseClosed, report_case_closed
from govgrid.core.workdays import default_calendar

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------- reading


def get_case(session: Session, *, principal: Principal, case_id: int, lock: bool = False) -> Case:
    """One case in the caller's scope (404 otherwise, without telling whether it exists); `lock` takes the row
    (SELECT ... FOR UPDATE on PostgreSQL) so two people cannot move the same case at once."""
    stmt = select(Case).where(Case.id == case_id, access.cases_clause(principal))
    if lock:
        stmt = stmt.with_for_update(of=Case)
    case = session.scalar(stmt)
    if case is None:
        raise NotFoundError(f"案卷 {case_id} 不存在或不在您的范围内 (no such case in your scope)")
    return case


def read_case(session: Session, *, principal: Principal, case_id: int) -> Case:
    """One case for display; reading a citizen's forwarded report (it may carry personal data) is audited."""
    case = get_case(session, principal=principal, case_id=case_id)
    if case.source not in OWN_SOURCES:
        audit.record(
            session,
            actor=principal,
            action="citymap.case_read",
            entity_type="citymap_case",
            entity_id=case.id,
            division_code=case.division_code,
            department_id=case.department_id,
            purpose="case handling",
        )
    return case


def case_read(case: Case) -> CaseRead:
    """A case as the API and pages show it: with class name, state name, overdue flag and response time."""
    out = CaseRead.model_validate(case)
    klass = catalog.get_class(case.kind, case.class_code)
    out.class_name = klass.name_zh if klass else None
    out.state_zh = STATE_ZH[CaseState(case.state)]
    out.overdue = case.deadline_at is not None and case.state in OPEN_VALUES and case.deadline_at < utcnow()
    if case.arrived_at and case.dispatched_at:
        out.response_minutes = round((case.arrived_at - case.dispatched_at).total_seconds() / 60, 1)
    return out


def case_steps(session: Session, *, principal: Principal, case_id: int) -> list[CaseStep]:
    """The time-stamped history of a case."""
    get_case(session, principal=principal, case_id=case_id)
    return list(
        session.scalars(
            select(CaseStep).where(CaseStep.case_id == case_id).order_by(CaseStep.at, CaseStep.id)
        )
    )


def list_cases(
    session: Session,
    *,
    principal: Principal,
    county_code: str | None = None,
    state: str | None = None,
    cell_code: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    overdue: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Case], int]:
    """Cases in the caller's scope, newest first."""
    stmt = select(Case).where(access.cases_clause(principal))
    if county_code:
        stmt = stmt.where(Case.county_code == county_code)
    if state:
        stmt = stmt.where(Case.state == state)
    if cell_code:
        stmt = stmt.where(Case.cell_code == cell_code)
    if bbox:
        stmt = stmt.where(Case.lon.between(bbox[0], bbox[2]), Case.lat.between(bbox[1], bbox[3]))
    if overdue:
        stmt = stmt.where(Case.state.in_(OPEN_VALUES), Case.deadline_at < utcnow())
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = list(
        session.scalars(stmt.order_by(Case.reported_at.desc(), Case.id.desc()).limit(limit).offset(offset))
    )
    return items, total


def open_work(session: Session, department_ids: list[int]) -> dict[int, int]:
    """Open cases per assigned department (the core's work counter; positional arguments by contract)."""
    rows = session.execute(
        select(Case.department_id, func.count())
        .where(Case.department_id.in_(department_ids), Case.state.in_(OPEN_VALUES))
        .group_by(Case.department_id)
    ).all()
    return {d: n for d, n in rows if d is not None}


# ---------------------------------------------------------------------------------------------- the loop


def record_step(
    session: Session,
    case: Case,
    *,
    actor: Actor,
    action: CaseAction,
    from_state: str | None,
    role: str | None,
    note: str | None = None,
    at: datetime | None = None,
    photo_id: int | None = None,
) -> None:
    """Record a step the case has just taken (its state already set): the step row, the audit record, one log
    line, and the live map's event after commit."""
    kind, aid, name = who(actor)
    before = str(from_state) if from_state is not None else None
    session.add(
        CaseStep(
            case_id=case.id,
            action=action.value,
            from_state=before,
            to_state=case.state,
            actor_type=kind,
            actor_id=aid,
            actor_name=name,
            role=role,
            note=note,
            photo_id=photo_id,
            at=at or utcnow(),
        )
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"citymap.case_{action.value}",
        entity_type="citymap_case",
        entity_id=case.id,
        division_code=case.division_code,
        department_id=case.department_id,
        detail={"from": before, "to": case.state, "code": case.code},
    )
    log.info(
        "case moved",
        extra={
            "case_id": case.id,
            "case_code": case.code,
            "action": action.value,
            "from": before,
            "to": case.state,
            "department_id": case.department_id,
            "unit_id": case.unit_id,
            "actor_type": kind,
            "actor_id": aid,
        },
    )
    live.publish_case(session, case)


def require_step(case: Case, action: CaseAction) -> CaseState:
    """The case's state, if the loop allows `action` in it; 409 naming the current state otherwise."""
    if not can_take(action, case.state):
        needs = "/".join(sorted(s.value for s in CASE_LOOP[action].sources))
        raise ConflictError(
            f"案卷 {case.code} 当前状态为 {CaseState(case.state).zh}，不能执行此操作 "
            f"(case is '{case.state}'; this step needs {needs})"
        )
    return CaseState(case.state)


def _take(case: Case, action: CaseAction) -> CaseState:
    """Move the case along the loop by `action`; the state it came from."""
    before = require_step(case, action)
    case.state = CASE_LOOP[action].target.value
    return before


def deadline_for(session: Session, case: Case, start: datetime) -> datetime:
    """The handling deadline: the class's office hours (the county's own where it set them) on the working-day
    calendar."""
    klass = classes.for_county(session, county_code=case.county_code, kind=case.kind, code=case.class_code)
    return default_calendar().add_working_hours(start, klass.deadline_hours)


def default_department(session: Session, case: Case) -> Department:
    """The county department of the class's line, the county's own where it set one (falls back to urban
    management)."""
    klass = classes.for_county(session, county_code=case.county_code, kind=case.kind, code=case.class_code)
    for line in (klass.line, "urban_management"):
        dept = session.scalar(select(Department).where(Department.code == f"{case.county_code}-{line}"))
        if dept is not None:
            return dept
    raise ValidationFailedError("没有可派遣的处置部门 (no handling department exists in this county)")


def _locked(session: Session, principal: Principal, case_id: int, roles: tuple[str, ...], what: str) -> Case:
    """The case, locked, if the principal holds one of the roles over its division (403 before the lookup for
    a caller without the role anywhere, 404 outside the caller's scope)."""
    access.require_role(principal, roles, what)
    case = get_case(session, principal=principal, case_id=case_id, lock=True)
    access.require_territory(session, principal, case.division_code, roles, what)
    return case


def file_case(
    session: Session,
    *,
    principal: Principal,
    case_id: int,
    class_code: str | None = None,
    note: str | None = None,
) -> Case:
    """案卷建立 (command centre dispatcher): accept the report as a case; the deadline clock starts."""
    case = _locked(session, principal, case_id, access.DISPATCH_ROLES, "立案")
    require_step(case, CaseAction.file)
    if class_code and class_code != case.class_code:
        if catalog.get_class(case.kind, class_code) is None:
            raise ValidationFailedError(
                f"未知类别 {class_code} (unknown class)", details=[{"loc": ["class_code"], "msg": class_code}]
            )
        case.class_code = class_code
    before = _take(case, CaseAction.file)
    now = utcnow()
    case.filed_at = now
    case.deadline_at = deadline_for(session, case, now)
    role = access.role_used(principal, access.DISPATCH_ROLES)
    record_step(
        session, case, actor=principal, action=CaseAction.file, from_state=before, role=role, note=note
    )
    return case


def reject_case(session: Session, *, principal: Principal, case_id: int, reason: str) -> Case:
    """不予立案: the command centre declines the report (not a city-management matter, or not real)."""
    case = _locked(session, principal, case_id, access.DISPATCH_ROLES, "不予立案")
    before = _take(case, CaseAction.reject)
    case.result = reason
    role = access.role_used(principal, access.DISPATCH_ROLES)
    record_step(
        session, case, actor=principal, action=CaseAction.reject, from_state=before, role=role, note=reason
    )
    _tell_source(session, case, f"不予立案: {reason}", handled=False)
    return case


def _dispatch_target(
    session: Session, case: Case, department_code: str | None, unit_id: int | None
) -> tuple[Department, FieldUnit | None]:
    """Where a case goes: the unit and its department, the named department, or the class's default one."""
    unit = None
    if unit_id is not None:
        unit = session.get(FieldUnit, unit_id)
        if unit is None or unit.county_code != case.county_code:
            raise ValidationFailedError(
                "处置力量不存在或不属于本县 (no such field unit in this county)",
                details=[{"loc": ["unit_id"], "msg": str(unit_id)}],
            )
        if not unit_follows_case(unit.status):
            raise ConflictError(f"{unit.name} 不在岗 (the unit is off duty)")
        dept = departments.get(session, unit.department_id)
    elif department_code:
        found = session.scalar(select(Department).where(Department.code == department_code))
        if found is None:
            raise ValidationFailedError(
                f"部门 {department_code} 不存在 (unknown department)",
                details=[{"loc": ["department_code"], "msg": department_code}],
            )
        dept = found
    else:
        dept = default_department(session, case)
    if county_of(dept.division_code) != case.county_code:
        raise ValidationFailedError(
            "只能派遣给本县的部门 (dispatch to a department of the same county)",
            details=[{"loc": ["department_code"], "msg": dept.code}],
        )
    return dept, unit


def dispatch_case(
    session: Session,
    *,
    principal: Principal,
    case_id: int,
    department_code: str | None = None,
    unit_id: int | None = None,
    note: str | None = None,
) -> Case:
    """任务派遣 (dispatcher): hand the case to a department and optionally a field unit."""
    case = _locked(session, principal, case_id, access.DISPATCH_ROLES, "派遣")
    require_step(case, CaseAction.dispatch)
    dept, unit = _dispatch_target(session, case, department_code, unit_id)
    before = _take(case, CaseAction.dispatch)
    case.department_id = dept.id
    case.unit_id = unit.id if unit else None
    case.dispatched_at = utcnow()
    record_step(
        session,
        case,
        actor=principal,
        action=CaseAction.dispatch,
        from_state=before,
        role=access.role_used(principal, access.DISPATCH_ROLES),
        note=note or (unit.name if unit else dept.name),
    )
    return case


def _move_unit(session: Session, case: Case, action: CaseAction) -> None:
    """Put the dispatched unit where the loop says (en route, on site, available), unless it is off duty."""
    status = UNIT_STATUS_AFTER.get(action)
    if status is None or case.unit_id is None:
        return
    unit = session.get(FieldUnit, case.unit_id)
    if unit is not None and unit_follows_case(unit.status):
        unit.status = status.value
        live.publish_unit(session, unit)


def acknowledge_case(
    session: Session, *, principal: Principal, case_id: int, note: str | None = None
) -> Case:
    """任务处理 begins: the department or unit signs for the task (the unit sets off)."""
    case = get_case(session, principal=principal, case_id=case_id, lock=True)
    role = access.handler_role(session, principal, case)
    before = _take(case, CaseAction.acknowledge)
    case.acknowledged_at = utcnow()
    _move_unit(session, case, CaseAction.acknowledge)
    record_step(
        session, case, actor=principal, action=CaseAction.acknowledge, from_state=before, role=role, note=note
    )
    return case


def arrive_case(session: Session, *, principal: Principal, case_id: int) -> Case:
    """The unit is on site: response time = arrival - dispatch."""
    case = get_case(session, principal=principal, case_id=case_id, lock=True)
    role = access.handler_role(session, principal, case)
    before = _take(case, CaseAction.arrive)
    if case.arrived_at is None:
        case.arrived_at = utcnow()
    _move_unit(session, case, CaseAction.arrive)
    record_step(session, case, actor=principal, action=CaseAction.arrive, from_state=before, role=role)
    return case


def feedback_case(
    session: Session, *, principal: Principal, case_id: int, result: str, photo_id: int | None = None
) -> Case:
    """处理反馈: the handler reports the work done; the supervision centre verifies next."""
    case = get_case(session, principal=principal, case_id=case_id, lock=True)
    role = access.handler_role(session, principal, case)
    require_step(case, CaseAction.feedback)
    if not result.strip():
        raise ValidationFailedError(
            "请填写处理结果 (describe what was done)", details=[{"loc": ["result"], "msg": "empty"}]
        )
    if photo_id is not None and session.get(Photo, photo_id) is None:
        raise ValidationFailedError(
            "处置后照片不存在，请重新上传 (no such photo)",
            details=[{"loc": ["photo_id"], "msg": str(photo_id)}],
        )
    before = _take(case, CaseAction.feedback)
    case.handled_at = utcnow()
    case.result = result
    if case.arrived_at is None:
        case.arrived_at = case.handled_at
    _move_unit(session, case, CaseAction.feedback)
    record_step(
        session,
        case,
        actor=principal,
        action=CaseAction.feedback,
        from_state=before,
        role=role,
        note=result,
        photo_id=photo_id,
    )
    return case


def verify_case(
    session: Session, *, principal: Principal, case_id: int, passed: bool, note: str | None = None
) -> Case:
    """核查结案 (supervision centre): closed if fixed, else back to handling as rework (返工)."""
    case = _locked(session, principal, case_id, access.VERIFY_ROLES, "核查")
    action = CaseAction.verify_pass if passed else CaseAction.verify_fail
    before = _take(case, action)
    now = utcnow()
    case.verifier_id = str(principal.id)
    if passed:
        case.closed_at = now
        case.closed_on_time = case.deadline_at is None or now <= case.deadline_at
    else:
        case.rework_count += 1
        case.handled_at = None
        note = note or "核查未通过，返工 (rework)"
    role = access.role_used(principal, access.VERIFY_ROLES)
    record_step(session, case, actor=principal, action=action, from_state=before, role=role, note=note)
    if passed:
        _tell_source(session, case, case.result or "已处置 (handled)")
    return case


def evaluate_case(
    session: Session, *, principal: Principal, case_id: int, score: int, note: str | None = None
) -> Case:
    """综合评价 (supervisor): a 1..5 score of the handling."""
    case = _locked(session, principal, case_id, access.EVALUATE_ROLES, "综合评价")
    require_step(case, CaseAction.evaluate)
    if not 1 <= score <= 5:
        raise ValidationFailedError(
            "评分须为 1..5 (score must be 1..5)", details=[{"loc": ["score"], "msg": str(score)}]
        )
    before = _take(case, CaseAction.evaluate)
    case.evaluated_at = utcnow()
    case.evaluation_score = score
    role = access.role_used(principal, access.EVALUATE_ROLES)
    record_step(
        session, case, actor=principal, action=CaseAction.evaluate, from_state=before, role=role, note=note
    )
    return case


def _reason(reason: str, what: str) -> str:
    """The reason a re-dispatch or a return must give (422 when empty)."""
    text = (reason or "").strip()
    if not text:
        raise ValidationFailedError(
            f"请填写{what}原因 (give the reason)", details=[{"loc": ["reason"], "msg": "empty"}]
        )
    return text[:2000]


def _release_unit(session: Session, case: Case) -> None:
    """The unit a case is taken from is free again (unless it is off duty)."""
    if case.unit_id is None:
        return
    unit = session.get(FieldUnit, case.unit_id)
    if unit is not None and unit_follows_case(unit.status):
        unit.status = UnitStatus.available.value
        live.publish_unit(session, unit)


def redispatch_case(
    session: Session,
    *,
    principal: Principal,
    case_id: int,
    reason: str,
    department_code: str | None = None,
    unit_id: int | None = None,
) -> Case:
    """改派 (dispatcher): send a dispatched or in-hand case to another department or unit, with a reason."""
    case = _locked(session, principal, case_id, access.DISPATCH_ROLES, "改派")
    require_step(case, CaseAction.redispatch)
    text = _reason(reason, "改派")
    dept, unit = _dispatch_target(session, case, department_code, unit_id)
    if dept.id == case.department_id and (unit.id if unit else None) == case.unit_id:
        raise ConflictError("改派须选择另一个部门或处置力量 (choose another department or unit)")
    before = _take(case, CaseAction.redispatch)
    _release_unit(session, case)
    case.department_id = dept.id
    case.unit_id = unit.id if unit else None
    case.dispatched_at = utcnow()
    case.acknowledged_at = None
    case.arrived_at = None
    role = access.role_used(principal, access.DISPATCH_ROLES)
    note = f"{text} → {unit.name if unit else dept.name}"
    record_step(
        session, case, actor=principal, action=CaseAction.redispatch, from_state=before, role=role, note=note
    )
    return case


def send_back_case(session: Session, *, principal: Principal, case_id: int, reason: str) -> Case:
    """回退 (handler or dispatched unit): return a case that is not theirs to the command centre."""
    case = get_case(session, principal=principal, case_id=case_id, lock=True)
    role = access.handler_role(session, principal, case)
    require_step(case, CaseAction.send_back)
    text = _reason(reason, "回退")
    before = _take(case, CaseAction.send_back)
    _release_unit(session, case)
    record_step(
        session, case, actor=principal, action=CaseAction.send_back, from_state=before, role=role, note=text
    )
    case.department_id = None
    case.unit_id = None
    case.dispatched_at = None
    case.acknowledged_at = None
    case.arrived_at = None
    return case


def _tell_source(session: Session, case: Case, result: str, *, handled: bool = True) -> None:
    """A case that came from another module (through the declared port) reports its outcome back."""
    if case.source in OWN_SOURCES or not case.external_ref:
        return
    report_case_closed(
        session,
        CityCaseClosed(
            source=case.source,
            external_ref=case.external_ref,
            case_code=case.code,
            result=result,
            closed_at=utcnow().isoformat(),
            handled=handled,
        ),
    )
