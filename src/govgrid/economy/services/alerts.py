"""Alerts as tasks of the responsible department (预警核实任务): the inbox and the department's answer."""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.core.audit import service as audit
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.divisions.models import Division
from govgrid.core.divisions.service import in_subtree
from govgrid.core.errors import NotFoundError
from govgrid.economy.enums import AlertStatus, require_move
from govgrid.economy.models import Alert, Indicator
from govgrid.economy.services import access

log = logging.getLogger(__name__)


def list_alerts(
    session: Session,
    *,
    principal: Principal,
    division_code: str | None = None,
    status: AlertStatus | None = AlertStatus.open,
    indicator: Indicator | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Alert], int]:
    """Alerts the principal may see, within a division's subtree when one is named."""
    stmt = (
        select(Alert)
        .join(Division, Division.code == Alert.division_code)
        .where(access.visible_alerts(principal))
    )
    if division_code is not None:
        div = access.require_division(session, principal, division_code)
        stmt = stmt.where(in_subtree(Division.path, div.path))
    if status is not None:
        stmt = stmt.where(Alert.status == status)
    if indicator is not None:
        stmt = stmt.where(Alert.indicator_id == indicator.id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(
        session.scalars(stmt.order_by(Alert.period.desc(), Alert.id.desc()).limit(limit).offset(offset))
    )
    audit.record(
        session,
        actor=principal,
        action="economy.list_alerts",
        entity_type="economy_alert",
        division_code=division_code,
        detail={"status": str(status) if status else None, "count": len(rows)},
    )
    return rows, total


def get_alert(session: Session, *, principal: Principal, alert_id: int) -> Alert:
    """One alert the principal may see; 404 otherwise (its existence is not revealed)."""
    alert = session.scalar(
        select(Alert)
        .join(Division, Division.code == Alert.division_code)
        .where(Alert.id == alert_id, access.visible_alerts(principal))
    )
    if alert is None:
        raise NotFoundError(f"预警 {alert_id} 不存在或不在您的辖区 (no alert {alert_id} in your scope)")
    return alert


def update_alert(
    session: Session, *, actor: Principal, alert_id: int, status: AlertStatus, note: str
) -> Alert:
    """The responsible department resolves or dismisses an alert (with a note), or reopens it."""
    alert = get_alert(session, principal=actor, alert_id=alert_id)
    access.require_task(session, actor, alert.department_id)
    before = alert.status
    require_move(before, status)
    alert.status = status
    alert.note = note
    closed = status != AlertStatus.open
    alert.handled_by = actor.name if closed else None
    alert.handled_at = utcnow() if closed else None
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="economy.alert_update",
        entity_type="economy_alert",
        entity_id=alert.id,
        division_code=alert.division_code,
        department_id=alert.department_id,
        detail={"from": str(before), "to": str(status)},
    )
    log.info("economy alert moved", extra={"alert_id": alert.id, "from": str(before), "to": str(status)})
    return alert


def open_counts(session: Session, department_ids: list[int]) -> dict[int, int]:
    """Open alerts per department (the 条×块 matrix's work counter)."""
    rows = session.execute(
        select(Alert.department_id, func.count())
        .where(Alert.department_id.in_(department_ids), Alert.status == AlertStatus.open)
        .group_by(Alert.department_id)
    ).all()
    return {int(d): int(n) for d, n in rows}
