"""Corrections of an issued report (更正): a compensating entry, never an edit.

The report keeps the figure it was verified and issued with; a correction records the corrected figure and
cancels the tonnes issued too many: the project's own credits first (the proponent over-claimed), then the
issuance's buffer share. A higher corrected figure is not a correction: the proponent submits a new
monitoring report for it.
"""

from __future__ import annotations

import logging
import math

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.carbon.enums import AdjustmentKind
from govgrid.carbon.models import Adjustment, Issuance, MonitoringReport
from govgrid.carbon.services import access, accounts, buffer, credits
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.errors import ConflictError, NotFoundError, ValidationFailedError

log = logging.getLogger(__name__)


def correct_report(
    session: Session, *, actor: Actor, report_id: int, corrected_tco2e: float, reason: str
) -> Adjustment:
    """Record a corrected figure for an issued report and cancel the tonnes issued beyond it."""
    report = session.get(MonitoringReport, report_id)
    if report is None:
        raise NotFoundError(f"监测报告 {report_id} 不存在 (no monitoring report {report_id})")
    project = report.project
    access.require_registry_admin(actor, access.division_path(session, project.division_code))
    text = buffer.require_reason(reason)
    iss = session.scalar(select(Issuance).where(Issuance.report_id == report.id))
    if iss is None:
        raise ConflictError("该报告尚未签发，直接由核查机构处理即可 (the report has no issuance to correct)")
    if not math.isfinite(corrected_tco2e) or corrected_tco2e < 0:
        raise ValidationFailedError(
            "更正后的减排量须为非负数 (the corrected amount must be a non-negative number)",
            details=[{"loc": ["corrected_tco2e"], "msg": ">= 0"}],
        )
    # what earlier corrections already brought the issuance down to
    previous = session.scalars(
        select(Adjustment.quantity).where(
            Adjustment.report_id == report.id, Adjustment.kind == AdjustmentKind.correction
        )
    ).all()
    standing = iss.quantity - sum(previous)
    # compared as issued: with the methodology's buffer share added back (the registry's pool replaces it)
    excess = standing - math.floor(credits.before_buffer(report, corrected_tco2e) + 1e-9)
    if excess <= 0:
        raise ConflictError(
            f"更正后的减排量不少于已签发的 {standing} 吨：增加的减排量须提交新的监测报告 "
            "(a correction only lowers an issuance; submit a new monitoring report for more)",
            code="correction_not_lower",
        )
    adj = Adjustment(
        kind=AdjustmentKind.correction,
        project_id=project.id,
        report_id=report.id,
        original_tco2e=report.net_creditable_tco2e,
        corrected_tco2e=corrected_tco2e,
        quantity=excess,
        reason=text,
        actor_name=access.holder_name(actor),
    )
    session.add(adj)
    session.flush()
    own = buffer.proponent_account_id(session, project)
    if own is not None:
        adj.from_project = buffer.cancel_from(
            session, actor=actor, adjustment=adj, account_id=own, quantity=excess, project_only=project.id
        )
    pool = accounts.buffer_account_of(session, division_code=project.division_code)
    if pool is not None and adj.from_project < excess:
        adj.from_buffer = buffer.cancel_from(
            session,
            actor=actor,
            adjustment=adj,
            account_id=pool.id,
            quantity=excess - adj.from_project,
            project_only=project.id,
        )
    adj.uncovered = excess - adj.from_project - adj.from_buffer
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="carbon.correction",
        entity_type="carbon_adjustment",
        entity_id=adj.id,
        division_code=project.division_code,
        department_id=project.department_id,
        detail={
            "report_id": report.id,
            "original": report.net_creditable_tco2e,
            "corrected": corrected_tco2e,
            "cancelled": excess - adj.uncovered,
            "uncovered": adj.uncovered,
            "reason": text,
        },
    )
    log.info(
        "report corrected",
        extra={"adjustment_id": adj.id, "report_id": report.id, "project_id": project.id, "quantity": excess},
    )
    return adj
