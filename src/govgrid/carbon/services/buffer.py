"""Permanence (非永久性风险): the buffer pool and reversals.

Every issuance holds its buffer share back in the province's buffer pool account (``credits.issue``).
A reversal (逆转: fire, conversion, flood loss measured in a later period) cancels buffer credits first
(the project's own contributions, then the rest of the pool), then the project's credits still held by its
proponent; what neither covers is recorded as uncovered. Cancelling never edits an issuance: blocks move to
``cancelled`` with a ledger line pointing at the compensating entry (``Adjustment``).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from govgrid.carbon.enums import AccountKind, AdjustmentKind, CreditStatus, MovementKind, require_move
from govgrid.carbon.models import Adjustment, CarbonAccount, CarbonProject, CreditBlock, CreditMovement
from govgrid.carbon.services import access, accounts, credits
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.db import utcnow
from govgrid.core.errors import NotFoundError, ValidationFailedError

log = logging.getLogger(__name__)


def require_reason(reason: str) -> str:
    """The reason of a compensating entry, stripped; 422 when empty or too long."""
    text = reason.strip()
    if not text or len(text) > 500:
        raise ValidationFailedError(
            "须填写原因（500 字以内）(a reason of at most 500 characters is required)",
            details=[{"loc": ["reason"], "msg": "1..500 characters"}],
        )
    return text


def cancel_from(
    session: Session,
    *,
    actor: Actor,
    adjustment: Adjustment,
    account_id: int,
    quantity: int,
    project_first: int | None = None,
    project_only: int | None = None,
) -> int:
    """Cancel up to ``quantity`` active tonnes of an account (a project's first); returns tonnes cancelled."""
    stmt = select(CreditBlock).where(
        CreditBlock.account_id == account_id, CreditBlock.status == CreditStatus.active
    )
    if project_only is not None:
        stmt = stmt.where(CreditBlock.project_id == project_only)
    order: list[Any] = [CreditBlock.serial_start]
    if project_first is not None:
        order.insert(0, case((CreditBlock.project_id == project_first, 0), else_=1))
    blocks = list(session.scalars(stmt.order_by(*order).with_for_update()))
    now = utcnow()
    done = 0
    for b in blocks:
        need = quantity - done
        if need <= 0:
            break
        if b.quantity > need:
            credits.split_block(session, block=b, quantity=need)
        require_move(b.status, CreditStatus.cancelled, message="区块不可作废 (the block cannot be cancelled)")
        b.status = CreditStatus.cancelled
        b.cancellation_reason = adjustment.reason
        b.cancelled_at = now
        session.add(
            CreditMovement(
                kind=MovementKind.cancel,
                project_id=b.project_id,
                block_id=b.id,
                from_account_id=account_id,
                serial_start=b.serial_start,
                serial_end=b.serial_end,
                quantity=b.quantity,
                reason=adjustment.reason,
                actor_name=access.holder_name(actor),
                adjustment_id=adjustment.id,
            )
        )
        done += b.quantity
    session.flush()
    return done


def _project(session: Session, actor: Actor, project_id: int) -> CarbonProject:
    """The project of an adjustment; the registry administrator covering it acts."""
    project = session.get(CarbonProject, project_id)
    if project is None:
        raise NotFoundError(f"碳汇项目 {project_id} 不存在 (no carbon project {project_id})")
    access.require_registry_admin(actor, access.division_path(session, project.division_code))
    return project


def proponent_account_id(session: Session, project: CarbonProject) -> int | None:
    """The proponent department's holding account (None before the first issuance)."""
    return session.scalar(
        select(CarbonAccount.id).where(CarbonAccount.department_id == project.department_id)
    )


def record_reversal(
    session: Session,
    *,
    actor: Actor,
    project_id: int,
    quantity: int,
    reason: str,
    report_id: int | None = None,
) -> Adjustment:
    """A reversal: cancel ``quantity`` tonnes, buffer credits first, then the project's own."""
    if quantity <= 0:
        raise ValidationFailedError(
            "逆转量须为正整数 (the reversed quantity must be positive)",
            details=[{"loc": ["quantity"], "msg": "> 0"}],
        )
    text = require_reason(reason)
    project = _project(session, actor, project_id)
    adj = Adjustment(
        kind=AdjustmentKind.reversal,
        project_id=project.id,
        report_id=report_id,
        quantity=quantity,
        reason=text,
        actor_name=access.holder_name(actor),
    )
    session.add(adj)
    session.flush()
    pool = accounts.buffer_account_of(session, division_code=project.division_code)
    if pool is not None:
        adj.from_buffer = cancel_from(
            session,
            actor=actor,
            adjustment=adj,
            account_id=pool.id,
            quantity=quantity,
            project_first=project.id,
        )
    own = proponent_account_id(session, project)
    if own is not None and adj.from_buffer < quantity:
        adj.from_project = cancel_from(
            session,
            actor=actor,
            adjustment=adj,
            account_id=own,
            quantity=quantity - adj.from_buffer,
            project_only=project.id,
        )
    adj.uncovered = quantity - adj.from_buffer - adj.from_project
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="carbon.reversal",
        entity_type="carbon_adjustment",
        entity_id=adj.id,
        division_code=project.division_code,
        department_id=project.department_id,
        detail={
            "project": project.code,
            "quantity": quantity,
            "from_buffer": adj.from_buffer,
            "from_project": adj.from_project,
            "uncovered": adj.uncovered,
            "reason": text,
        },
    )
    log.info(
        "reversal recorded",
        extra={
            "adjustment_id": adj.id,
            "project_id": project.id,
            "quantity": quantity,
            "from_buffer": adj.from_buffer,
            "from_project": adj.from_project,
            "uncovered": adj.uncovered,
        },
    )
    return adj


def pool_balances(session: Session) -> list[dict[str, int | str]]:
    """Per province buffer pool: held (active) and cancelled tonnes (public figures)."""
    rows = session.execute(
        select(
            CarbonAccount.division_code,
            CarbonAccount.number,
            CreditBlock.status,
            func.coalesce(func.sum(CreditBlock.quantity), 0),
        )
        .join(CreditBlock, CreditBlock.account_id == CarbonAccount.id)
        .where(CarbonAccount.kind == AccountKind.buffer)
        .group_by(CarbonAccount.division_code, CarbonAccount.number, CreditBlock.status)
    ).all()
    pools: dict[str, dict[str, int | str]] = {}
    for division, number, status, qty in rows:
        entry = pools.setdefault(number, {"division_code": division, "held": 0, "cancelled": 0})
        key = (
            "held"
            if status == CreditStatus.active
            else "cancelled"
            if status == CreditStatus.cancelled
            else ""
        )
        if key:
            entry[key] = int(entry[key]) + int(qty)
    return list(pools.values())


def project_adjustments(session: Session, *, project_id: int) -> list[Adjustment]:
    """The compensating entries of a project, oldest first (public)."""
    return list(
        session.scalars(select(Adjustment).where(Adjustment.project_id == project_id).order_by(Adjustment.id))
    )
