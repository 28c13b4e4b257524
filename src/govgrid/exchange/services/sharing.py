"""Sharing requests (共享申请): the compliance check at submission, routing to the provider or the data
bureau, the handler's decision (accept, approve, refuse), withdrawal, the inboxes. Deadlines: `deadlines`."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from govgrid.core.audit import service as audit
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.departments import service as departments
from govgrid.core.departments.models import Department
from govgrid.core.divisions import service as divisions
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from govgrid.core.events import publish
from govgrid.exchange.enums import (
    PENDING,
    AccessMode,
    DecisionAction,
    ItemType,
    RequestRoute,
    RequestStatus,
    ResourceKind,
    SharingMethod,
    SharingType,
    is_final,
    require_move,
)
from govgrid.exchange.models import Resource, SharingRequest
from govgrid.exchange.schemas import RequestCreate
from govgrid.exchange.services import deadlines, grants
from govgrid.exchange.services.access import (
    APPROVE_ROLES,
    BUREAU_LINE,
    REQUEST_ROLES,
    actor_name,
    find_resource,
    is_visible,
    oversight_clause,
)

log = logging.getLogger(__name__)
# The state a decision moves a pending request to.
DECISIONS: dict[str, RequestStatus] = {
    DecisionAction.accept: RequestStatus.pending_approval,
    DecisionAction.approve: RequestStatus.granted,
    DecisionAction.refuse: RequestStatus.refused,
}
BOXES = ("mine", "inbox", "overdue", "all")


def _find_bureau(session: Session, division_code: str) -> Department:
    div = divisions.get(session, division_code)
    for node in [div, *reversed(divisions.ancestors(session, div))]:
        dept = session.scalar(
            select(Department).where(
                Department.line_code == BUREAU_LINE, Department.division_code == node.code
            )
        )
        if dept is not None:
            return dept
    raise ValidationFailedError(
        "找不到数据管理部门来审核不予共享的申请 (no data management bureau above the provider)"
    )


def _consumer_department(session: Session, principal: Principal, code: str | None) -> Department:
    if code:
        dept = departments.get_by_code(session, code)
    else:
        candidates = [a for a in principal.assignments if a.role in REQUEST_ROLES]
        if not candidates:
            raise ForbiddenError(
                "需要在申请部门拥有经办角色 (you need a working role in the requesting department)"
            )
        dept = departments.get(session, candidates[0].department_id)
    if not principal.is_superuser and dept.id not in {
        a.department_id for a in principal.assignments if a.role in REQUEST_ROLES
    }:
        raise ForbiddenError("只能以本部门名义申请数据 (you can only request for a department you work in)")
    return dept


def _compliance(
    session: Session, res: Resource, data: RequestCreate
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    items = {i.name: i for i in res.items}
    problems = []
    unknown = [f for f in data.fields if f not in items]
    if unknown:
        problems.append(
            {"loc": ["fields"], "msg": f"资源没有这些信息项 (unknown data items): {', '.join(unknown)}"}
        )
    wanted = [items[f] for f in (data.fields or list(items)) if f in items]
    if len(data.purpose.strip()) < 4:
        problems.append(
            {"loc": ["purpose"], "msg": "请写明具体用途 (state the purpose in at least 4 characters)"}
        )
    sensitive = [i.name for i in wanted if i.sensitive]
    if sensitive and not data.legal_basis.strip():
        problems.append(
            {
                "loc": ["legal_basis"],
                "msg": "申请敏感个人信息须写明法律依据 (sensitive items need a legal "
                f"basis, PIPL art. 28/34): {', '.join(sensitive)}",
            }
        )
    if res.sharing_type == SharingType.none and not data.legal_basis.strip():
        problems.append(
            {
                "loc": ["legal_basis"],
                "msg": "不予共享的资源须引用法律、法规或国家政策依据 (a 不予共享 "
                "resource can only be requested citing a legal basis)",
            }
        )
    if data.row_filter_division:
        if not any(i.type == ItemType.division for i in res.items):
            problems.append(
                {
                    "loc": ["row_filter_division"],
                    "msg": "该资源没有行政区划信息项，不能按区划限定行 (resource has no division item)",
                }
            )
        elif session.get(Division, data.row_filter_division) is None:
            problems.append(
                {"loc": ["row_filter_division"], "msg": "未知的行政区划代码 (unknown division code)"}
            )
    if (
        res.kind == ResourceKind.api
        and data.mode == AccessMode.records
        and res.sharing_method == SharingMethod.verify
    ):
        problems.append(
            {"loc": ["mode"], "msg": "该资源只提供核验 (this resource only answers verify calls)"}
        )
    report = {
        "checked_at": utcnow().isoformat(),
        "personal_items": [i.name for i in wanted if i.personal],
        "sensitive_items": sensitive,
        "minimal_fields": bool(data.fields),
        "passed": not problems,
    }
    return report, problems


def submit_request(session: Session, *, actor: Principal, data: RequestCreate) -> SharingRequest:
    """File a sharing request; 无条件 ones are granted at once after the compliance check."""
    res = find_resource(session, code=data.resource_code)
    if not is_visible(session, actor=actor, resource_id=res.id) and not data.legal_basis.strip():
        # 不予共享 entries are not in the requester's catalog; a request must cite the law that reaches them.
        raise ValidationFailedError(
            "不予共享的资源须引用法律依据才能申请 (a 不予共享 resource needs a cited legal basis)",
            details=[{"loc": ["legal_basis"], "msg": "required for 不予共享 resources"}],
        )
    consumer = _consumer_department(session, actor, data.consumer_department_code)
    if consumer.id == res.provider_department_id:
        raise ConflictError("这是本部门自己的数据，无需申请 (this is your own department's data)")
    report, problems = _compliance(session, res, data)
    if problems:
        log.info(
            "exchange request refused by the compliance check",
            extra={
                "resource_code": res.code,
                "consumer_department_id": consumer.id,
                "problems": sorted({str(p["loc"][0]) for p in problems}),
            },
        )
        raise ValidationFailedError(
            "申请未通过合规检查 (request failed the compliance check)", details=problems
        )
    now = utcnow()
    if res.sharing_type == SharingType.none:
        handler = _find_bureau(session, res.division_code)
        route = RequestRoute.bureau
    else:
        handler = departments.get(session, res.provider_department_id)
        route = RequestRoute.auto if res.sharing_type == SharingType.unconditional else RequestRoute.provider
    req = SharingRequest(
        resource_id=res.id,
        consumer_department_id=consumer.id,
        provider_department_id=res.provider_department_id,
        handler_department_id=handler.id,
        handler_division_path=handler.division.path,
        requested_by=actor_name(actor),
        purpose=data.purpose.strip(),
        legal_basis=data.legal_basis.strip(),
        fields=list(data.fields),
        row_filter_division=data.row_filter_division,
        mode=data.mode,
        days=data.days,
        route=route,
        status=RequestStatus.pending_check,
        compliance=report,
    )
    deadlines.set_deadlines(req, now)
    session.add(req)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="exchange.request.submit",
        entity_type="exchange.request",
        entity_id=req.id,
        department_id=consumer.id,
        division_code=consumer.division_code,
        purpose=req.purpose,
        detail={"resource": res.code, "route": route, "fields": req.fields},
    )
    log.info(
        "exchange request submitted",
        extra={
            "request_id": req.id,
            "resource_code": res.code,
            "consumer_department_id": consumer.id,
            "handler_department_id": handler.id,
            "route": route,
        },
    )
    if route == RequestRoute.auto:
        req.checked_at = now
        grants.issue_grant(session, actor=actor, req=req, now=now)
    publish(
        session,
        "exchange.request_submitted",
        request_id=req.id,
        resource_code=res.code,
        route=route,
        status=req.status,
    )
    session.flush()
    return req


def _request_clause(principal: Principal) -> Any:
    """Requests the caller may read: its departments' (as consumer, provider or handler, through
    `policy.scope`) and those handled in a territory it oversees (`oversight_clause`); never others' requests
    by mere vicinity."""
    return or_(
        policy.scope(SharingRequest.consumer_department_id, principal),
        policy.scope(SharingRequest.provider_department_id, principal),
        policy.scope(SharingRequest.handler_department_id, principal),
        oversight_clause(principal, SharingRequest.handler_division_path),
    )


def get_request(session: Session, *, actor: Principal, request_id: int) -> SharingRequest:
    """A request visible to its consumer, its provider, its handler or their overseers."""
    req = session.scalar(
        select(SharingRequest).where(SharingRequest.id == request_id, _request_clause(actor))
    )
    if req is None:
        raise NotFoundError(f"申请 {request_id} 不存在或不可见 (no request {request_id} visible to you)")
    return req


def _approve_clear_fields(req: SharingRequest, clear_fields: list[str] | None) -> None:
    items = {i.name: i for i in req.resource.items}
    allowed = set(req.fields or items)
    bad = [
        f
        for f in (clear_fields or [])
        if f not in allowed or not (items.get(f) and (items[f].personal or items[f].sensitive))
    ]
    if bad:
        raise ValidationFailedError(
            "明文字段必须是所申请的个人信息项 (clear fields must be requested personal items)",
            details=[{"loc": ["clear_fields"], "msg": ", ".join(bad)}],
        )


def decide(
    session: Session,
    *,
    actor: Principal,
    request_id: int,
    action: str,
    reason: str = "",
    clear_fields: list[str] | None = None,
    days: int | None = None,
    rate_limit_per_minute: int | None = None,
) -> SharingRequest:
    """Accept a request for review, approve it (creating the grant) or refuse it with reasons."""
    req = get_request(session, actor=actor, request_id=request_id)
    policy.require(
        session, actor, req.handler_department_id, APPROVE_ROLES, what="该申请的审批 (approving this request)"
    )
    before = RequestStatus(req.status)
    if is_final(before):
        raise ConflictError(
            f"申请已处于「{before.zh}」状态，不能再{action} (request is already {req.status})"
        )
    target = DECISIONS.get(action)
    if target is None:
        raise ValidationFailedError(f"未知操作 (unknown action): {action}")
    require_move(before, target, "申请已通过审核 (request already checked)")
    now = utcnow()
    if target == RequestStatus.pending_approval:
        req.status = target
        req.checked_at = now
    elif target == RequestStatus.refused:
        if len(reason.strip()) < 2:
            raise ValidationFailedError(
                "拒绝必须说明理由 (a refusal must state its reasons)",
                details=[{"loc": ["reason"], "msg": "required"}],
            )
        req.status = target
        req.decided_at = now
        req.decided_by = actor_name(actor)
        req.reason = reason.strip()
        req.checked_at = req.checked_at or now
    else:
        _approve_clear_fields(req, clear_fields)
        req.checked_at = req.checked_at or now
        grants.issue_grant(
            session,
            actor=actor,
            req=req,
            now=now,
            clear_fields=clear_fields,
            days=days,
            rate_limit=rate_limit_per_minute,
            reason=reason.strip(),
        )
    audit.record(
        session,
        actor=actor,
        action=f"exchange.request.{action}",
        entity_type="exchange.request",
        entity_id=req.id,
        department_id=req.handler_department_id,
        detail={"reason": req.reason},
    )
    if target != RequestStatus.granted:  # issue_grant logged the move to granted
        log.info(
            "exchange request moved",
            extra={"request_id": req.id, "from": before, "to": target, "action": action},
        )
    publish(session, "exchange.request_decided", request_id=req.id, status=req.status)
    session.flush()
    return req


def withdraw(session: Session, *, actor: Principal, request_id: int) -> SharingRequest:
    """The requesting department withdraws a pending request."""
    req = get_request(session, actor=actor, request_id=request_id)
    policy.require(session, actor, req.consumer_department_id, REQUEST_ROLES, what="该申请 (this request)")
    before = req.status
    require_move(
        before,
        RequestStatus.withdrawn,
        f"只能撤回待处理的申请 (only pending requests can be withdrawn; this one is {req.status})",
    )
    req.status = RequestStatus.withdrawn
    req.decided_at = utcnow()
    req.decided_by = actor_name(actor)
    audit.record(
        session,
        actor=actor,
        action="exchange.request.withdraw",
        entity_type="exchange.request",
        entity_id=req.id,
        department_id=req.consumer_department_id,
    )
    log.info(
        "exchange request moved", extra={"request_id": req.id, "from": before, "to": RequestStatus.withdrawn}
    )
    return req


def list_requests(
    session: Session,
    *,
    actor: Principal,
    box: str = "mine",
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[SharingRequest], int]:
    """mine: my departments' requests; inbox: waiting for my answer; overdue: stuck approvals in my territory
    (the level above sees its levels below); all: everything I may see."""
    stmt = select(SharingRequest)
    if box == "mine":
        stmt = stmt.where(policy.scope(SharingRequest.consumer_department_id, actor))
    elif box == "inbox":
        stmt = stmt.where(
            policy.scope(SharingRequest.handler_department_id, actor, APPROVE_ROLES),
            SharingRequest.status.in_(PENDING),
        )
    elif box == "overdue":
        stmt = stmt.where(
            deadlines.overdue_clause(utcnow()),
            or_(
                oversight_clause(actor, SharingRequest.handler_division_path),
                policy.scope(SharingRequest.handler_department_id, actor),
            ),
        )
    elif box == "all":
        stmt = stmt.where(_request_clause(actor))
    else:
        raise ValidationFailedError(
            "box 只能是 mine/inbox/overdue/all (box must be mine, inbox, overdue or all)"
        )
    if status:
        stmt = stmt.where(SharingRequest.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    order = (
        [SharingRequest.answer_due_at.asc()]
        if box in ("inbox", "overdue")
        else [SharingRequest.submitted_at.desc()]
    )
    items = list(session.scalars(stmt.order_by(*order, SharingRequest.id).limit(limit).offset(offset)))
    return items, total
