"""Credits: issuance as serial blocks (no double issuance of an area and vintage), transfers, retirement.

Serial numbers come from one registry-wide counter row taken under a row lock; partial moves split a block so
the blocks of an issuance always partition its range exactly.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.carbon.enums import CreditStatus, MovementKind, ReportStatus, require_move
from govgrid.carbon.models import (
    CarbonProject,
    CreditBlock,
    CreditMovement,
    Issuance,
    MonitoringReport,
    SerialCounter,
)
from govgrid.carbon.serials import serial_label
from govgrid.carbon.services import access, accounts
from govgrid.carbon.spatial import OVERLAP_TOLERANCE_HA, boundary_geometry, overlap_ha
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.db import utcnow
from govgrid.core.errors import ConflictError, ValidationFailedError
from govgrid.core.events import publish

log = logging.getLogger(__name__)

CREDITS_ISSUED = "carbon.credits_issued"
CREDITS_RETIRED = "carbon.credits_retired"


def _lock_counter(session: Session) -> SerialCounter:
    """The registry's serial counter row, locked until the transaction ends (created on first use)."""
    counter = session.execute(
        select(SerialCounter).where(SerialCounter.id == 1).with_for_update()
    ).scalar_one_or_none()
    if counter is None:
        counter = SerialCounter(id=1, next_serial=1)
        session.add(counter)
        session.flush()
    return counter


def overlapping_issuances(
    session: Session, *, geom: Any, vintage_start: int, vintage_end: int, exclude_report_id: int | None = None
) -> list[tuple[Issuance, float]]:
    """Issuances whose project area overlaps ``geom`` (more than the tolerance) for an overlapping vintage."""
    minx, miny, maxx, maxy = geom.bounds
    stmt = (
        select(Issuance)
        .join(CarbonProject, CarbonProject.id == Issuance.project_id)
        .where(
            Issuance.vintage_start < vintage_end,
            vintage_start < Issuance.vintage_end,
            CarbonProject.min_lon <= maxx,
            CarbonProject.max_lon >= minx,
            CarbonProject.min_lat <= maxy,
            CarbonProject.max_lat >= miny,
        )
    )
    if exclude_report_id is not None:
        stmt = stmt.where(Issuance.report_id != exclude_report_id)
    found = []
    for iss in session.scalars(stmt):
        ha = overlap_ha(boundary_geometry(iss.project.boundary), geom)
        if ha > OVERLAP_TOLERANCE_HA:
            found.append((iss, ha))
    return found


def _issuable(report: MonitoringReport, quantity: int | None) -> int:
    """The quantity to issue: all whole verified tonnes, or the asked part of them."""
    available = math.floor(report.net_creditable_tco2e + 1e-9)
    qty = available if quantity is None else quantity
    if qty <= 0:
        raise ConflictError(
            "核证减排量为零，无可签发 (nothing to issue: the verified net creditable amount is zero)"
        )
    if qty > available:
        raise ValidationFailedError(
            "签发量超过核证量 (quantity exceeds the verified amount)",
            details=[{"loc": ["quantity"], "msg": f"at most {available} t CO2e"}],
        )
    return qty


def _refuse_double_issuance(session: Session, report: MonitoringReport) -> None:
    """409 when the same area was already credited for an overlapping vintage (by any project)."""
    project = report.project
    clash = overlapping_issuances(
        session,
        geom=boundary_geometry(project.boundary),
        vintage_start=report.vintage_start,
        vintage_end=report.vintage_end,
    )
    if not clash:
        return
    iss, ha = clash[0]
    log.warning(
        "double issuance refused",
        extra={"report_id": report.id, "project_id": project.id, "issuance_ids": [i.id for i, _ in clash]},
    )
    label = serial_label(
        iss.project.code, iss.vintage_start, iss.vintage_end, iss.serial_start, iss.serial_end
    )
    raise ConflictError(
        f"重复签发：该区域 {ha:.2f} 公顷在 {iss.vintage_start}-{iss.vintage_end} 监测期已由项目 "
        f"{iss.project.code} 签发 (double issuance refused: the same area and vintage was already "
        f"credited, {label})",
        code="double_issuance",
        details=[{"loc": ["report_id"], "msg": f"overlaps issuance {i.id} by {a:.2f} ha"} for i, a in clash],
    )


def issue(session: Session, *, actor: Actor, report_id: int, quantity: int | None = None) -> Issuance:
    """Issue credits for a verified report as one serial block into the proponent's account."""
    report = session.get(MonitoringReport, report_id)
    if report is None:
        raise ValidationFailedError(
            "监测报告不存在 (unknown monitoring report)",
            details=[{"loc": ["report_id"], "msg": f"no monitoring report {report_id}"}],
        )
    project = report.project
    access.require_registry_admin(actor, access.division_path(session, project.division_code))
    if report.status != ReportStatus.verified:
        raise ConflictError(f"报告尚未通过第三方核查（状态 {report.status}）(the report is not verified)")
    # The counter lock serialises issuances, so the overlap check below cannot race another issuance.
    counter = _lock_counter(session)
    if session.scalar(select(Issuance.id).where(Issuance.report_id == report.id)) is not None:
        log.warning("double issuance refused", extra={"report_id": report.id, "project_id": project.id})
        raise ConflictError(
            "该监测报告已签发 (credits were already issued for this report)", code="double_issuance"
        )
    qty = _issuable(report, quantity)
    _refuse_double_issuance(session, report)
    start = counter.next_serial
    end = start + qty - 1
    counter.next_serial = end + 1
    account = accounts.ensure_department_account(session, actor=actor, department=project.department)
    iss = Issuance(
        project_id=project.id,
        report_id=report.id,
        vintage_start=report.vintage_start,
        vintage_end=report.vintage_end,
        quantity=qty,
        serial_start=start,
        serial_end=end,
        account_id=account.id,
        issued_by=access.holder_name(actor),
    )
    session.add(iss)
    session.flush()
    block = CreditBlock(
        issuance_id=iss.id,
        project_id=project.id,
        vintage_start=iss.vintage_start,
        vintage_end=iss.vintage_end,
        serial_start=start,
        serial_end=end,
        quantity=qty,
        account_id=account.id,
        status=CreditStatus.active,
    )
    session.add(block)
    session.flush()
    session.add(
        CreditMovement(
            kind=MovementKind.issue,
            project_id=project.id,
            block_id=block.id,
            to_account_id=account.id,
            serial_start=start,
            serial_end=end,
            quantity=qty,
            actor_name=access.holder_name(actor),
        )
    )
    session.flush()
    label = serial_label(project.code, iss.vintage_start, iss.vintage_end, start, end)
    audit.record(
        session,
        actor=actor,
        action="carbon.issue",
        entity_type="carbon_issuance",
        entity_id=iss.id,
        division_code=project.division_code,
        department_id=project.department_id,
        detail={"serial": label, "quantity": qty, "report_id": report.id, "account": account.number},
    )
    publish(session, CREDITS_ISSUED, project=project.code, serial=label, quantity=qty)
    log.info(
        "credits issued",
        extra={
            "issuance_id": iss.id,
            "report_id": report.id,
            "project_id": project.id,
            "account_id": account.id,
            "serial_start": start,
            "serial_end": end,
            "quantity": qty,
        },
    )
    return iss


def _take(session: Session, account_id: int, project_id: int | None, quantity: int) -> list[CreditBlock]:
    """Active blocks of an account covering exactly ``quantity``, splitting the last one (its tail stays)."""
    stmt = select(CreditBlock).where(
        CreditBlock.account_id == account_id, CreditBlock.status == CreditStatus.active
    )
    if project_id is not None:
        stmt = stmt.where(CreditBlock.project_id == project_id)
    blocks = list(session.scalars(stmt.order_by(CreditBlock.serial_start).with_for_update()))
    held = sum(b.quantity for b in blocks)
    if held < quantity:
        raise ConflictError(
            f"余额不足：持有 {held} 吨，申请 {quantity} 吨 (insufficient balance: {held} t CO2e held, "
            f"{quantity} requested)",
            code="insufficient_balance",
        )
    taken: list[CreditBlock] = []
    need = quantity
    for b in blocks:
        if need == 0:
            break
        if b.quantity > need:
            tail = CreditBlock(
                issuance_id=b.issuance_id,
                project_id=b.project_id,
                vintage_start=b.vintage_start,
                vintage_end=b.vintage_end,
                serial_start=b.serial_start + need,
                serial_end=b.serial_end,
                quantity=b.quantity - need,
                account_id=b.account_id,
                status=CreditStatus.active,
            )
            b.serial_end = b.serial_start + need - 1
            b.quantity = need
            session.flush()
            session.add(tail)
            session.flush()
        taken.append(b)
        need -= b.quantity
    return taken


def _positive(quantity: int) -> None:
    if quantity <= 0:
        raise ValidationFailedError(
            "数量须为正整数 (quantity must be positive)", details=[{"loc": ["quantity"], "msg": "> 0"}]
        )


def transfer(
    session: Session,
    *,
    actor: Actor,
    from_account_id: int,
    to_account_id: int,
    quantity: int,
    project_id: int | None = None,
) -> list[CreditBlock]:
    """Move credits between accounts (lowest serials first); returns the moved blocks."""
    _positive(quantity)
    src = accounts.require_account(session, account_id=from_account_id, loc="from_account_id")
    dst = accounts.require_account(session, account_id=to_account_id, loc="to_account_id")
    if src.id == dst.id:
        raise ValidationFailedError(
            "转出与转入账户相同 (source and destination are the same account)",
            details=[{"loc": ["to_account_id"], "msg": "must differ from from_account_id"}],
        )
    access.require_holder(session, actor=actor, account=src)
    moved = _take(session, src.id, project_id, quantity)
    for b in moved:
        b.account_id = dst.id
        session.add(
            CreditMovement(
                kind=MovementKind.transfer,
                project_id=b.project_id,
                block_id=b.id,
                from_account_id=src.id,
                to_account_id=dst.id,
                serial_start=b.serial_start,
                serial_end=b.serial_end,
                quantity=b.quantity,
                actor_name=access.holder_name(actor),
            )
        )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="carbon.transfer",
        entity_type="carbon_account",
        entity_id=src.id,
        division_code=src.division_code,
        department_id=src.department_id,
        detail={
            "from": src.number,
            "to": dst.number,
            "quantity": quantity,
            "ranges": [[b.serial_start, b.serial_end] for b in moved],
        },
    )
    log.info(
        "credits transferred",
        extra={
            "from_account_id": src.id,
            "to_account_id": dst.id,
            "quantity": quantity,
            "block_ids": [b.id for b in moved],
        },
    )
    return moved


def retire(
    session: Session,
    *,
    actor: Actor,
    account_id: int,
    quantity: int,
    beneficiary: str,
    reason: str,
    project_id: int | None = None,
) -> list[CreditBlock]:
    """Retire credits for a beneficiary (注销): they leave circulation for good."""
    _positive(quantity)
    if not beneficiary.strip() or not reason.strip():
        raise ValidationFailedError(
            "须填写受益方和注销原因 (beneficiary and reason are required)",
            details=[{"loc": ["beneficiary"], "msg": "required"}],
        )
    acc = accounts.require_account(session, account_id=account_id, loc="account_id")
    access.require_holder(session, actor=actor, account=acc)
    blocks = _take(session, acc.id, project_id, quantity)
    now = utcnow()
    for b in blocks:
        require_move(b.status, CreditStatus.retired, message="区块已注销 (the block is already retired)")
        b.status = CreditStatus.retired
        b.beneficiary = beneficiary.strip()
        b.retirement_reason = reason.strip()
        b.retired_at = now
        session.add(
            CreditMovement(
                kind=MovementKind.retire,
                project_id=b.project_id,
                block_id=b.id,
                from_account_id=acc.id,
                serial_start=b.serial_start,
                serial_end=b.serial_end,
                quantity=b.quantity,
                beneficiary=b.beneficiary,
                reason=b.retirement_reason,
                actor_name=access.holder_name(actor),
            )
        )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="carbon.retire",
        entity_type="carbon_account",
        entity_id=acc.id,
        division_code=acc.division_code,
        department_id=acc.department_id,
        detail={
            "account": acc.number,
            "quantity": quantity,
            "beneficiary": beneficiary,
            "ranges": [[b.serial_start, b.serial_end] for b in blocks],
        },
    )
    publish(session, CREDITS_RETIRED, account=acc.number, quantity=quantity, beneficiary=beneficiary)
    # the beneficiary is a person's or an enterprise's name: it goes to the audit chain and the public
    # registry, never to the application log
    log.info(
        "credits retired",
        extra={"account_id": acc.id, "quantity": quantity, "block_ids": [b.id for b in blocks]},
    )
    return blocks


def project_issuances(session: Session, *, project_id: int) -> list[Issuance]:
    """Issuances of one project."""
    return list(
        session.scalars(select(Issuance).where(Issuance.project_id == project_id).order_by(Issuance.id))
    )


def project_blocks(session: Session, *, project_id: int) -> list[CreditBlock]:
    """Every block of one project (active and retired)."""
    return list(
        session.scalars(
            select(CreditBlock).where(CreditBlock.project_id == project_id).order_by(CreditBlock.serial_start)
        )
    )
