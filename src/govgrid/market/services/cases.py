"""Cross-level response (跨层级协同): a finding escalated to a higher level or forwarded to another region
as a shared case with a deadline in working days; the receiving department accepts and closes it."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.departments import service as departments
from govgrid.core.departments.models import Department
from govgrid.core.divisions.models import Division
from govgrid.core.errors import NotFoundError, ValidationFailedError
from govgrid.core.workdays import default_calendar
from govgrid.market.enums import CaseKind, CaseStatus, require_move
from govgrid.market.models import Inspection, SharedCase
from govgrid.market.services import access, registry

log = logging.getLogger(__name__)


def _path(session: Session, code: str) -> str:
    return session.scalar(select(Division.path).where(Division.code == code)) or ""


def open_case(
    session: Session,
    *,
    actor: Actor,
    kind: CaseKind,
    credit_code: str,
    from_department_code: str,
    to_department_code: str,
    title: str,
    description: str = "",
    days: int = 10,
    inspection_id: int | None = None,
) -> SharedCase:
    """Escalate (to a department of a higher level) or forward (to another region) a finding."""
    sender = access.require_department(session, actor=actor, department_code=from_department_code)
    receiver = _department(session, to_department_code)
    principal = access.principal_of(actor)
    entity = registry.get_entity(
        session, principal=principal, credit_code=credit_code, system=principal is None
    )
    src, dst = _path(session, sender.division_code), _path(session, receiver.division_code)
    if kind == CaseKind.escalate and not (src.startswith(dst) and src != dst):
        raise ValidationFailedError(
            f"上报须送上级区划的部门，{receiver.name} 不是上级 (escalate to a department of a higher level)",
            details=[{"loc": ["body", "to_department_code"], "msg": to_department_code}],
        )
    if kind == CaseKind.forward and (src.startswith(dst) or dst.startswith(src)):
        raise ValidationFailedError(
            f"移送须送其他地区的部门，{receiver.name} 在本辖区上下级 (forward to another region)",
            details=[{"loc": ["body", "to_department_code"], "msg": to_department_code}],
        )
    if inspection_id is not None:
        ins = session.get(Inspection, inspection_id)
        if ins is None or ins.entity_id != entity.id:
            raise ValidationFailedError(
                "检查任务与主体不符 (the inspection is not of this entity)",
                details=[{"loc": ["body", "inspection_id"], "msg": str(inspection_id)}],
            )
    now = utcnow()
    case = SharedCase(
        number=f"p-{uuid.uuid4().hex[:24]}",  # numbered from its id below: unique under concurrent creation
        kind=kind,
        inspection_id=inspection_id,
        entity_id=entity.id,
        from_department_id=sender.id,
        to_department_id=receiver.id,
        division_code=sender.division_code,
        to_division_code=receiver.division_code,
        title=title.strip()[:200],
        description=description.strip(),
        deadline=default_calendar().add_working_days(now, days),
        status=CaseStatus.open,
        created_by=access.actor_name(actor),
        created_at=now,
    )
    session.add(case)
    session.flush()
    case.number = f"XT-{now.year}-{case.id:06d}"
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"market.case.{kind}",
        entity_type="market_case",
        entity_id=case.id,
        division_code=sender.division_code,
        department_id=sender.id,
        detail={"to_department_id": receiver.id},
    )
    log.info("market case opened", extra={"case_id": case.id, "kind": str(kind)})
    return case


def _department(session: Session, code: str) -> Department:
    """The receiving department (422 if unknown: it is a field of the request)."""
    try:
        return departments.get_by_code(session, code)
    except NotFoundError:
        raise ValidationFailedError(
            f"部门 {code} 不存在 (no such department)",
            details=[{"loc": ["body", "to_department_code"], "msg": code}],
        ) from None


def get_case(session: Session, *, principal: Principal, case_id: int) -> SharedCase:
    """A shared case the caller may see (404 otherwise)."""
    case = session.scalar(
        access.case_query().where(SharedCase.id == case_id, access.visible_cases(principal))
    )
    if case is None:
        raise NotFoundError(f"没有可见的协同案件 {case_id} (no such case in your scope)")
    return case


def list_cases(
    session: Session,
    *,
    principal: Principal,
    status: CaseStatus | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[SharedCase], int]:
    """Shared cases sent or received in the caller's scope, soonest deadline first."""
    stmt = access.case_query().where(access.visible_cases(principal))
    if status is not None:
        stmt = stmt.where(SharedCase.status == status)
    total = session.scalar(stmt.with_only_columns(func.count()).order_by(None)) or 0
    rows = list(
        session.scalars(stmt.order_by(SharedCase.deadline, SharedCase.id).limit(limit).offset(offset))
    )
    audit.record(
        session,
        actor=principal,
        action="market.cases.list",
        entity_type="market_case",
        detail={"returned": len(rows)},
    )
    return rows, int(total)


def answer_case(
    session: Session, *, actor: Principal, case_id: int, target: CaseStatus, reply: str = ""
) -> SharedCase:
    """The receiving department accepts or closes a case (with its reply)."""
    case = get_case(session, principal=actor, case_id=case_id)
    access.require_department_id(session, actor=actor, department_id=case.to_department_id)
    require_move(
        case.status,
        target,
        message=f"案件当前状态为 {case.status}，不能改为 {target} "
        f"(a {case.status} case cannot become {target})",
    )
    case.status = target
    if reply.strip():
        case.reply = reply.strip()[:5000]
    if target == CaseStatus.closed:
        case.closed_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"market.case.{target}",
        entity_type="market_case",
        entity_id=case.id,
        division_code=case.to_division_code,
        department_id=case.to_department_id,
    )
    log.info("market case answered", extra={"case_id": case.id, "status": str(target)})
    return case


def open_cases_per_department(session: Session, department_ids: list[int]) -> dict[int, int]:
    """Open shared cases per receiving department (the 条×块 matrix counter)."""
    rows = session.execute(
        select(SharedCase.to_department_id, func.count())
        .where(SharedCase.to_department_id.in_(department_ids), SharedCase.status != CaseStatus.closed)
        .group_by(SharedCase.to_department_id)
    )
    return {int(d): int(n) for d, n in rows}
