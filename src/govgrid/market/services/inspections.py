"""Visits and their results (一公开): record a result, feed it into the credit class, publish it without
personal data, and raise a city-management event through the declared port when a finding needs the city."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.core import ports
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.divisions.models import Division
from govgrid.core.errors import NotFoundError, ValidationFailedError
from govgrid.core.privacy import scrub_text
from govgrid.market.enums import (
    PROBLEM_OUTCOMES,
    SERIOUS_OUTCOMES,
    InspectionStatus,
    Outcome,
    PlanStatus,
    can_move,
    require_move,
)
from govgrid.market.models import Inspection, InspectionPlan, Inspector
from govgrid.market.services import access, draws, registry

log = logging.getLogger(__name__)

OUTCOME_LABELS = {
    Outcome.no_problem: ("未发现问题", "No problem found"),
    Outcome.not_disclosed: ("未按规定公示应当公示的信息", "Required information not disclosed"),
    Outcome.false_disclosure: ("公示信息隐瞒真实情况弄虚作假", "Disclosed information false"),
    Outcome.unreachable: ("通过登记的住所(经营场所)无法联系", "Unreachable at the registered address"),
    Outcome.corrected: ("发现问题经责令已改正", "Problem found and corrected on order"),
    Outcome.no_activity: ("未发现开展本次抽查涉及的经营活动", "No activity covered by this check"),
    Outcome.closed: ("已关闭停业或正在组织清算", "Closed or in liquidation"),
    Outcome.obstructed: ("不配合检查情节严重", "Seriously obstructed the inspection"),
    Outcome.violation: ("发现违法违规行为，已立案", "Violation found, case opened"),
}
CITY_CATEGORY = "market_supervision"


def outcome_label(outcome: str | None, locale: str = "zh-CN") -> str:
    """The wording of a result in the locale."""
    if outcome is None:
        return "待检查" if locale == "zh-CN" else "Pending"
    zh, en = OUTCOME_LABELS.get(Outcome(outcome), (outcome, outcome))
    return zh if locale == "zh-CN" else en


def plan_inspections(session: Session, *, principal: Principal, plan_id: int) -> list[Inspection]:
    """The visits of a plan the caller may see."""
    plan = draws.get_plan(session, principal=principal, plan_id=plan_id)
    rows = list(
        session.scalars(select(Inspection).where(Inspection.plan_id == plan.id).order_by(Inspection.id))
    )
    audit.record(
        session,
        actor=principal,
        action="market.inspections.list",
        entity_type="market_plan",
        entity_id=plan.id,
        division_code=plan.division_code,
        department_id=plan.department_id,
    )
    return rows


def record_result(
    session: Session,
    *,
    actor: Actor,
    inspection_id: int,
    outcome: Outcome,
    summary: str = "",
    city_case: bool = False,
) -> Inspection:
    """Record a visit's result: published at once, fed into the entity's class, optionally a city event."""
    ins = session.get(Inspection, inspection_id)
    if ins is None:
        raise NotFoundError(f"检查任务 {inspection_id} 不存在 (no such inspection)")
    access.require_department_id(
        session, actor=actor, department_id=ins.department_id, roles=access.RECORD_ROLES
    )
    require_move(
        ins.status,
        InspectionStatus.recorded,
        message="该检查结果已录入并公示，不能修改 (the result is already recorded and published)",
    )
    entity = ins.entity
    if city_case and (entity.lon is None or entity.lat is None):
        raise ValidationFailedError(
            "该主体没有登记位置，无法转城市管理案件 (the entity has no location)",
            details=[{"loc": ["body", "city_case"], "msg": "no location"}],
        )
    if city_case and outcome not in PROBLEM_OUTCOMES:
        raise ValidationFailedError(
            "未发现问题的检查不转城市管理案件 (only findings go to the city map)",
            details=[{"loc": ["body", "city_case"], "msg": "no finding"}],
        )
    ins.status, ins.outcome = InspectionStatus.recorded, str(outcome)
    ins.summary = summary.strip()[:2000]
    ins.recorded_by, ins.recorded_at = access.actor_name(actor), utcnow()
    entity.last_inspector_ids = list(ins.inspector_ids)
    if outcome in PROBLEM_OUTCOMES:
        entity.problem_findings += 1
    if outcome in SERIOUS_OUTCOMES:
        entity.serious_findings += 1
    before = str(entity.credit_class)
    registry.reclassify(entity)
    if city_case:
        ins.city_case_ref = f"MKT-{ins.id}"
        ports.report_city_event(
            session,
            ports.CityEventReport(
                source="market",
                external_ref=ins.city_case_ref,
                category=CITY_CATEGORY,
                description=scrub_text(f"{entity.name}：{outcome_label(outcome)}。{ins.summary}") or "",
                lon=float(entity.lon or 0),
                lat=float(entity.lat or 0),
                division_code=entity.division_code,
                reported_at=utcnow().isoformat(),
            ),
        )
    plan = ins.plan
    session.flush()
    open_left = (
        session.scalar(
            select(func.count())
            .select_from(Inspection)
            .where(Inspection.plan_id == plan.id, Inspection.status == InspectionStatus.pending)
        )
        or 0
    )
    if not open_left and can_move(plan.status, PlanStatus.completed):
        plan.status = PlanStatus.completed
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="market.inspection.record",
        entity_type="market_inspection",
        entity_id=ins.id,
        division_code=ins.division_code,
        department_id=ins.department_id,
        detail={
            "outcome": str(outcome),
            "class_before": before,
            "class_after": str(entity.credit_class),
            "city_case": city_case,
        },
    )
    log.info("market result recorded", extra={"inspection_id": ins.id, "plan_id": plan.id})
    return ins


def get_inspection(session: Session, *, principal: Principal, inspection_id: int) -> Inspection:
    """A visit the caller may see (through its plan)."""
    ins = session.get(Inspection, inspection_id)
    if ins is None:
        raise NotFoundError(f"检查任务 {inspection_id} 不存在 (no such inspection)")
    draws.get_plan(session, principal=principal, plan_id=ins.plan_id)
    return ins


def public_results(
    session: Session,
    *,
    division_code: str | None = None,
    locale: str = "zh-CN",
    limit: int = 200,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Recorded results for everyone (一公开): entity name and code, items, result; no people, free text
    scrubbed of phone and ID numbers."""
    stmt = (
        select(Inspection)
        .join(InspectionPlan, InspectionPlan.id == Inspection.plan_id)
        .where(Inspection.status == InspectionStatus.recorded)
    )
    if division_code:
        path = session.scalar(select(Division.path).where(Division.code == division_code))
        if path is None:
            raise NotFoundError(f"行政区划 {division_code} 不存在 (no such division)")
        stmt = stmt.join(Division, Division.code == Inspection.division_code).where(
            Division.path.like(path + "%")
        )
    rows = list(
        session.scalars(
            stmt.order_by(Inspection.recorded_at.desc(), Inspection.id.desc()).limit(limit).offset(offset)
        )
    )
    ids = {i for r in rows for i in r.inspector_ids}
    names = session.execute(select(Inspector.id, Inspector.name).where(Inspector.id.in_(ids))).all()
    people: dict[int, str] = {int(i): str(n) for i, n in names} if ids else {}
    return [
        {
            "plan": i.plan.code,
            "plan_name": i.plan.name,
            "credit_code": i.credit_code,
            "entity_name": i.entity.name,
            "division_code": i.division_code,
            "items": [f"{it.get('department', '')}：{it.get('item', '')}" for it in i.items],
            "outcome": i.outcome or "",
            "outcome_label": outcome_label(i.outcome, locale),
            "summary": scrub_text(
                i.summary,
                public=True,
                known=(i.entity.legal_rep or None, *(people.get(p) for p in i.inspector_ids)),
            )
            or "",
            "recorded_at": i.recorded_at,
        }
        for i in rows
    ]


def plan_inspections_all(session: Session, *, plan_id: int) -> list[Inspection]:
    """Every visit of a plan (system callers: the demo loader, jobs)."""
    return list(
        session.scalars(select(Inspection).where(Inspection.plan_id == plan_id).order_by(Inspection.id))
    )
