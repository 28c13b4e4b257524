"""Inspection plans (抽查计划) and their draws (双随机): commit the seed's hash and freeze the two lists, then
draw from the frozen lists and publish the seed, targets and inspectors; each target becomes one visit."""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.departments import service as departments
from govgrid.core.departments.models import Department
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ConflictError, NotFoundError, ValidationFailedError
from govgrid.market import drawing
from govgrid.market.enums import DrawStatus, InspectionStatus, PlanStatus, require_move
from govgrid.market.models import Draw, Inspection, InspectionPlan, Inspector, InspectorRelation, MarketEntity
from govgrid.market.services import access

log = logging.getLogger(__name__)


def create_plan(
    session: Session,
    *,
    actor: Actor,
    name: str,
    year: int,
    department_code: str,
    items: list[tuple[str, str]],
    sample_size: int,
    weights: dict[str, int],
    per_group: int = 2,
    beacon_source: str = "",
    is_demo: bool = False,
) -> InspectionPlan:
    """A draft plan of the lead department; several departments' items make it a joint inspection."""
    lead = access.require_department(session, actor=actor, department_code=department_code)
    if sum(weights.get(c, 0) for c in drawing.CLASSES) <= 0 or any(
        v < 0 or v > 1000 for v in weights.values()
    ):
        raise ValidationFailedError(
            "抽取权重应为 0-1000 的整数且不全为 0 (weights 0-1000, not all zero)",
            details=[{"loc": ["body", "weights"], "msg": str(weights)}],
        )
    item_rows: list[dict[str, Any]] = []
    dept_ids = [lead.id]
    for code, item in items:
        try:
            dept = departments.get_by_code(session, code)
        except NotFoundError:
            raise ValidationFailedError(
                f"部门 {code} 不存在 (no such department)", details=[{"loc": ["body", "items"], "msg": code}]
            ) from None
        if dept.division_code != lead.division_code:
            raise ValidationFailedError(
                f"联合抽查的部门须与牵头部门同地：{dept.name} (joint departments share the lead's division)",
                details=[{"loc": ["body", "items"], "msg": code}],
            )
        item_rows.append({"department_id": dept.id, "department": dept.name, "item": item.strip()})
        if dept.id not in dept_ids:
            dept_ids.append(dept.id)
    plan = InspectionPlan(
        code=f"pending-{uuid.uuid4().hex}",  # numbered from its id below: unique under concurrent creation
        name=name.strip(),
        year=year,
        line_code=lead.line_code,
        division_code=lead.division_code,
        department_id=lead.id,
        items=item_rows,
        department_ids=dept_ids,
        sample_size=sample_size,
        weights={c: int(weights.get(c, 0)) for c in drawing.CLASSES},
        per_group=per_group,
        beacon_source=beacon_source.strip(),
        status=PlanStatus.draft,
        created_by=access.actor_name(actor),
        is_demo=is_demo,
    )
    session.add(plan)
    session.flush()
    plan.code = f"SSJ-{lead.division_code}-{year}-{plan.id:04d}"
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="market.plan.create",
        entity_type="market_plan",
        entity_id=plan.id,
        division_code=plan.division_code,
        department_id=lead.id,
    )
    log.info("market plan created", extra={"plan_id": plan.id})
    return plan


def get_plan(session: Session, *, principal: Principal | None, plan_id: int) -> InspectionPlan:
    """A plan the caller may see (404 otherwise)."""
    plan = session.scalar(
        access.plan_query().where(InspectionPlan.id == plan_id, access.visible_plans(principal))
    )
    if plan is None:
        raise NotFoundError(f"没有可见的抽查计划 {plan_id} (no such plan in your scope)")
    return plan


def list_plans(
    session: Session, *, principal: Principal, limit: int = 100, offset: int = 0
) -> tuple[list[InspectionPlan], int]:
    """Plans in the caller's scope, newest first."""
    stmt = access.plan_query().where(access.visible_plans(principal))
    total = session.scalar(stmt.with_only_columns(func.count()).order_by(None)) or 0
    rows = list(session.scalars(stmt.order_by(InspectionPlan.id.desc()).limit(limit).offset(offset)))
    audit.record(
        session,
        actor=principal,
        action="market.plans.list",
        entity_type="market_plan",
        detail={"returned": len(rows)},
    )
    return rows, int(total)


def draw_of(session: Session, plan_id: int) -> Draw | None:
    """The plan's draw, if committed."""
    return session.scalar(select(Draw).where(Draw.plan_id == plan_id))


def entity_list(session: Session, plan: InspectionPlan) -> drawing.EntityList:
    """The object directory of a plan: every entity registered in its division and below."""
    path = session.scalar(select(Division.path).where(Division.code == plan.division_code)) or ""
    rows = session.execute(
        select(MarketEntity.credit_code, MarketEntity.credit_class, MarketEntity.last_inspector_ids)
        .join(Division, Division.code == MarketEntity.division_code)
        .where(Division.path.like(path + "%"))
    ).all()
    return drawing.EntityList(
        [r[0] for r in rows],
        [str(r[1]) for r in rows],
        {r[0]: tuple(int(i) for i in r[2]) for r in rows if r[2]},
    )


def inspector_list(session: Session, plan: InspectionPlan) -> list[drawing.Inspector]:
    """The inspector directory of a plan: the active inspectors of every participating department."""
    rows = list(
        session.scalars(
            select(Inspector).where(
                Inspector.department_id.in_(plan.department_ids), Inspector.active.is_(True)
            )
        )
    )
    codes = {
        d.id: d.code
        for d in session.scalars(select(Department).where(Department.id.in_(plan.department_ids)))
    }
    related: dict[int, set[str]] = {}
    if rows:
        for rel in session.scalars(
            select(InspectorRelation).where(InspectorRelation.inspector_id.in_([r.id for r in rows]))
        ):
            related.setdefault(rel.inspector_id, set()).add(rel.credit_code)
    return [
        drawing.Inspector(r.id, codes[r.department_id], r.unit_code, frozenset(related.get(r.id, ())))
        for r in rows
    ]


def commit_draw(session: Session, *, actor: Actor, plan_id: int, seed: str | None = None) -> Draw:
    """Commit a plan's draw: a fresh secret seed, its SHA-256 published, the two lists frozen and hashed."""
    plan = session.get(InspectionPlan, plan_id)
    if plan is None:
        raise NotFoundError(f"抽查计划 {plan_id} 不存在 (no such plan)")
    access.require_department_id(session, actor=actor, department_id=plan.department_id)
    require_move(
        plan.status,
        PlanStatus.committed,
        message="该计划已提交摇号承诺，不能再次提交 (the draw of this plan is already committed)",
    )
    entities = entity_list(session, plan)
    inspectors = inspector_list(session, plan)
    try:
        ent_text = drawing.entity_text(entities)
        ins_text = drawing.inspector_text(inspectors)
        _check_feasible(plan, entities, inspectors)
    except drawing.DrawInputError as exc:
        raise ConflictError(str(exc), code="draw_not_possible") from None
    seed = seed or secrets.token_hex(32)
    draw = Draw(
        plan_id=plan.id,
        status=DrawStatus.committed,
        algorithm=drawing.ALGORITHM,
        seed=seed,
        commitment=drawing.commitment(seed),
        beacon_source=plan.beacon_source,
        entities_hash=hashlib.sha256(ent_text.encode()).hexdigest(),
        inspectors_hash=hashlib.sha256(ins_text.encode()).hexdigest(),
        entity_count=len(entities.codes),
        sample_size=plan.sample_size,
        weights=dict(plan.weights),
        per_group=plan.per_group,
        entities_snapshot=ent_text,
        inspectors_snapshot=ins_text,
        targets=[],
        assignments=[],
        committed_at=utcnow(),
        division_code=plan.division_code,
        department_id=plan.department_id,
    )
    session.add(draw)
    plan.status = PlanStatus.committed
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="market.draw.commit",
        entity_type="market_draw",
        entity_id=draw.id,
        division_code=plan.division_code,
        department_id=plan.department_id,
        detail={"commitment": draw.commitment, "entities_hash": draw.entities_hash},
    )
    log.info("market draw committed", extra={"draw_id": draw.id, "plan_id": plan.id})
    return draw


def _check_feasible(
    plan: InspectionPlan, entities: drawing.EntityList, inspectors: list[drawing.Inspector]
) -> None:
    """Refuse a commitment the draw could not honour (too few entities or inspectors)."""
    eligible = sum(1 for c in entities.classes if plan.weights.get(str(c), 0) > 0)
    if plan.sample_size > eligible:
        raise drawing.DrawInputError(
            f"抽取数 {plan.sample_size} 超过名录中可抽主体数 {eligible} (sample larger than the directory)"
        )
    groups: dict[str, int] = {}
    for ins in inspectors:
        groups[ins.group] = groups.get(ins.group, 0) + 1
    if len(groups) < len(plan.department_ids):
        raise drawing.DrawInputError(
            "有参与部门没有执法人员，请先录入执法人员名录 (a department has no inspectors)"
        )
    small = [g for g, n in groups.items() if n < plan.per_group + 1]
    if small:
        raise drawing.DrawInputError(
            f"{small[0]} 的执法人员不足 {plan.per_group + 1} 名，无法回避 (too few inspectors for recusal)"
        )


def rerun(draw: Draw) -> drawing.DrawResult:
    """Re-run a draw from its frozen lists and its seed (the same function anyone runs)."""
    return drawing.run_draw(
        seed=draw.seed,
        beacon=draw.beacon,
        entities=drawing.parse_entities(draw.entities_snapshot),
        inspectors=drawing.parse_inspectors(draw.inspectors_snapshot),
        weights=draw.weights,
        sample_size=draw.sample_size,
        per_group=draw.per_group,
    )


def publish_draw(session: Session, *, actor: Actor, plan_id: int, beacon: str = "") -> Draw:
    """Run the committed draw, publish its seed, targets and inspectors, and open one visit per target."""
    plan = session.get(InspectionPlan, plan_id)
    if plan is None:
        raise NotFoundError(f"抽查计划 {plan_id} 不存在 (no such plan)")
    access.require_department_id(session, actor=actor, department_id=plan.department_id)
    draw = draw_of(session, plan.id)
    if draw is None:
        raise ConflictError("请先提交摇号承诺（公布种子的哈希）再摇号 (commit the draw first)")
    require_move(
        draw.status, DrawStatus.published, message="该计划已经摇号并公布 (already drawn and published)"
    )
    beacon = beacon.strip()
    if draw.beacon_source and not beacon:
        raise ValidationFailedError(
            f"请填写事先指定的公开随机值：{draw.beacon_source} (enter the public value named in advance)",
            details=[{"loc": ["body", "beacon"], "msg": "required"}],
        )
    if not draw.beacon_source and beacon:
        raise ValidationFailedError(
            "本次摇号没有事先指定公开随机值 (this draw named no public value)",
            details=[{"loc": ["body", "beacon"], "msg": "not expected"}],
        )
    draw.beacon = beacon
    try:
        result = rerun(draw)
    except drawing.DrawInputError as exc:
        raise ConflictError(str(exc), code="draw_not_possible") from None
    draw.targets, draw.assignments = result.targets, result.inspectors
    draw.status, draw.published_at = DrawStatus.published, utcnow()
    require_move(plan.status, PlanStatus.drawn, message="计划状态不允许摇号 (the plan cannot be drawn now)")
    plan.status = PlanStatus.drawn
    entities = {
        e.credit_code: e
        for e in session.scalars(select(MarketEntity).where(MarketEntity.credit_code.in_(result.targets)))
    }
    for code, ids in zip(result.targets, result.inspectors, strict=True):
        entity = entities[code]
        session.add(
            Inspection(
                plan_id=plan.id,
                entity_id=entity.id,
                credit_code=code,
                division_code=entity.division_code,
                department_id=plan.department_id,
                inspector_ids=ids,
                items=list(plan.items),
                status=InspectionStatus.pending,
            )
        )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="market.draw.publish",
        entity_type="market_draw",
        entity_id=draw.id,
        division_code=plan.division_code,
        department_id=plan.department_id,
        detail={"targets": len(result.targets)},
    )
    log.info(
        "market draw published",
        extra={"draw_id": draw.id, "plan_id": plan.id, "targets": len(result.targets)},
    )
    return draw


def draw_document(draw: Draw) -> dict[str, Any]:
    """A draw as published (the JSON ``verify-draw`` reads): the seed only once published."""
    published = draw.status == DrawStatus.published
    return {
        "id": draw.id,
        "plan": draw.plan.code,
        "plan_name": draw.plan.name,
        "division_code": draw.division_code,
        "status": str(draw.status),
        "algorithm": draw.algorithm,
        "committed_at": draw.committed_at,
        "commitment": draw.commitment,
        "seed": draw.seed if published else None,
        "beacon_source": draw.beacon_source,
        "beacon": draw.beacon if published else None,
        "entities_hash": draw.entities_hash,
        "inspectors_hash": draw.inspectors_hash,
        "entity_count": draw.entity_count,
        "sample_size": draw.sample_size,
        "weights": dict(draw.weights),
        "per_group": draw.per_group,
        "published_at": draw.published_at,
        "targets": list(draw.targets) if published else [],
        "inspectors": [list(a) for a in draw.assignments] if published else [],
    }


def public_draws(
    session: Session, *, division_code: str | None = None, limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    """Every committed draw, newest first: commitments at once, seeds and results once published."""
    stmt = select(Draw).order_by(Draw.id.desc())
    if division_code:
        path = session.scalar(select(Division.path).where(Division.code == division_code))
        if path is None:
            raise NotFoundError(f"行政区划 {division_code} 不存在 (no such division)")
        stmt = stmt.join(Division, Division.code == Draw.division_code).where(Division.path.like(path + "%"))
    return [draw_document(d) for d in session.scalars(stmt.limit(limit).offset(offset))]


def public_draw(session: Session, *, draw_id: int) -> dict[str, Any]:
    """One draw as published."""
    draw = session.get(Draw, draw_id)
    if draw is None:
        raise NotFoundError(f"摇号记录 {draw_id} 不存在 (no such draw)")
    return draw_document(draw)


def lists_of(session: Session, *, draw_id: int) -> tuple[str, str]:
    """The frozen entity and inspector lists of a published draw (for ``verify-draw`` from the database)."""
    draw = session.get(Draw, draw_id)
    if draw is None:
        raise NotFoundError(f"摇号记录 {draw_id} 不存在 (no such draw)")
    if draw.status != DrawStatus.published:
        raise ConflictError("该摇号尚未公布 (the draw is not published yet)")
    return draw.entities_snapshot, draw.inspectors_snapshot
