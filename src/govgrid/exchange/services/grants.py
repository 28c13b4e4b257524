"""Grants: the right of a consumer department to read a resource (field scope, row filter, expiry), issued
when a request is approved, revocable at once; the grant checker registered with core's policy lives here."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.errors import ForbiddenError, NotFoundError, ValidationFailedError
from govgrid.exchange.enums import AccessMode, GrantStatus, RequestStatus, require_move
from govgrid.exchange.models import Grant, Resource, SharingRequest
from govgrid.exchange.services.access import APPROVE_ROLES, KIND, actor_name

log = logging.getLogger(__name__)
DEFAULT_RATE_LIMIT = 600  # calls per minute and grant, unless the approver sets another


def issue_grant(
    session: Session,
    *,
    actor: Actor,
    req: SharingRequest,
    now: datetime,
    clear_fields: list[str] | None = None,
    days: int | None = None,
    rate_limit: int | None = None,
    reason: str = "",
) -> Grant:
    """Mark a pending request granted and create its grant (the caller checked the decision)."""
    require_move(
        req.status, RequestStatus.granted, f"申请已处于 {req.status} 状态 (request is already {req.status})"
    )
    before = req.status
    req.status = RequestStatus.granted
    req.decided_at = now
    req.decided_by = actor_name(actor)
    req.reason = reason
    grant = Grant(
        request_id=req.id,
        resource_id=req.resource_id,
        consumer_department_id=req.consumer_department_id,
        mode=req.mode,
        fields=list(req.fields) or None,
        clear_fields=list(clear_fields or []),
        row_filter_division=req.row_filter_division,
        purpose=req.purpose,
        granted_at=now,
        expires_at=now + timedelta(days=days or req.days),
        rate_limit_per_minute=rate_limit or DEFAULT_RATE_LIMIT,
    )
    session.add(grant)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="exchange.grant.create",
        entity_type="exchange.grant",
        entity_id=grant.id,
        department_id=req.provider_department_id,
        purpose=req.purpose,
        detail={
            "request": req.id,
            "resource": req.resource.code,
            "consumer": req.consumer_department_id,
            "fields": grant.fields,
            "clear_fields": grant.clear_fields,
            "row_filter": grant.row_filter_division,
            "expires_at": grant.expires_at.isoformat(),
        },
    )
    log.info(
        "exchange request moved",
        extra={"request_id": req.id, "from": before, "to": RequestStatus.granted, "route": req.route},
    )
    log.info(
        "exchange grant issued",
        extra={
            "grant_id": grant.id,
            "request_id": req.id,
            "resource_id": req.resource_id,
            "consumer_department_id": grant.consumer_department_id,
            "expires_at": grant.expires_at.isoformat(),
        },
    )
    return grant


def grant_for_request(session: Session, *, request_id: int) -> Grant | None:
    """The grant a request produced, if any."""
    return session.scalar(select(Grant).where(Grant.request_id == request_id).limit(1))


def grant_status(grant: Grant, now: datetime | None = None) -> GrantStatus:
    """active, expired or revoked."""
    if grant.revoked_at is not None:
        return GrantStatus.revoked
    return GrantStatus.expired if grant.expires_at <= (now or utcnow()) else GrantStatus.active


def list_grants(
    session: Session, *, actor: Principal, side: str = "consumer", limit: int = 50, offset: int = 0
) -> tuple[list[Grant], int]:
    """Grants my departments hold (consumer) or gave (provider)."""
    if side == "consumer":
        stmt = select(Grant).where(policy.scope(Grant.consumer_department_id, actor))
    elif side == "provider":
        stmt = (
            select(Grant)
            .join(Resource, Resource.id == Grant.resource_id)
            .where(policy.scope(Resource.provider_department_id, actor))
        )
    else:
        raise ValidationFailedError("side 只能是 consumer/provider (side must be consumer or provider)")
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = stmt.order_by(Grant.granted_at.desc(), Grant.id).limit(limit).offset(offset)
    return list(session.scalars(page)), total


def revoke_grant(session: Session, *, actor: Principal, grant_id: int, reason: str) -> Grant:
    """The provider (or the data management bureau that granted it) revokes a grant at once."""
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise NotFoundError(f"授权 {grant_id} 不存在 (no grant {grant_id})")
    req = session.get(SharingRequest, grant.request_id) if grant.request_id else None
    allowed = policy.can_act(session, actor, grant.resource.provider_department_id, APPROVE_ROLES) or (
        req is not None and policy.can_act(session, actor, req.handler_department_id, APPROVE_ROLES)
    )
    if not allowed:
        if policy.can_act(session, actor, grant.consumer_department_id):
            log.info(
                "exchange grant revocation refused",
                extra={"grant_id": grant.id, "actor": f"{actor.kind}:{actor.id}"},
            )
            raise ForbiddenError(
                "只有提供方或审批部门可以撤销授权 (only the provider or the approver can revoke)"
            )
        raise NotFoundError(f"授权 {grant_id} 不存在 (no grant {grant_id})")
    before = grant_status(grant)
    require_move(before, GrantStatus.revoked, "授权已撤销 (grant already revoked)")
    grant.revoked_at = utcnow()
    grant.revoked_by = actor_name(actor)
    grant.revoke_reason = reason.strip()
    audit.record(
        session,
        actor=actor,
        action="exchange.grant.revoke",
        entity_type="exchange.grant",
        entity_id=grant.id,
        department_id=grant.resource.provider_department_id,
        detail={"reason": grant.revoke_reason},
    )
    session.flush()
    log.info(
        "exchange grant revoked",
        extra={
            "grant_id": grant.id,
            "from": before,
            "to": GrantStatus.revoked,
            "actor": f"{actor.kind}:{actor.id}",
        },
    )
    return grant


def active_grant(
    session: Session, *, actor: Principal | None, resource: Resource, mode: str = AccessMode.records
) -> Grant | None:
    """The newest unexpired, unrevoked grant of the resource to one of the caller's departments."""
    if actor is None or not actor.assignments:
        return None
    where = [
        Grant.resource_id == resource.id,
        Grant.consumer_department_id.in_(list(actor.department_ids)),
        Grant.revoked_at.is_(None),
        Grant.expires_at > utcnow(),
    ]
    if mode == AccessMode.records:
        where.append(Grant.mode == AccessMode.records)
    stmt = select(Grant).where(*where)
    return session.scalar(stmt.order_by(Grant.granted_at.desc(), Grant.id.desc()).limit(1))


def _grant_checker(session: Session, principal: Principal, kind: str, resource_id: str, action: str) -> Any:
    """core's `policy.find_grant(..., "exchange.resource", code, action)`: the active grant or None."""
    res = session.scalar(select(Resource).where(Resource.code == resource_id))
    if res is None:
        return None
    mode = AccessMode.verify if action == "verify" else AccessMode.records
    return active_grant(session, actor=principal, resource=res, mode=mode)


policy.register_grant_checker(KIND, _grant_checker)
