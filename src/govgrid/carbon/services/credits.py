"""Credits: issuance as serial blocks (no double issuance of an area and vintage), transfers, retirement.

Serial numbers come from one registry-wide counter row taken under a row lock; partial moves split a block so
the blocks of an issuance always partition its range exactly. Every issuance holds the tail of its range
back in the buffer pool (缓冲池) by the project's risk rating. Only active blocks move: a reserved (listed on
the market) or cancelled block is refused with its reason.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.carbon.enums import (
    BUFFER_SHARE,
    AccountKind,
    CreditStatus,
    MovementKind,
    ReportStatus,
    RiskRating,
    require_move,
)
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
from govgrid.core.errors import ConflictError, NotFoundError, ValidationFailedError
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
        ha = overlap_ha(project_geometry(iss.project), geom)
        if ha > OVERLAP_TOLERANCE_HA:
            found.append((iss, ha))
    return found


def project_geometry(project: CarbonProject) -> Any:
    """The geometry the overlap check runs on: the project's parcels (地块), or its boundary without them."""
    return boundary_geometry(project.parcels or project.boundary)


def buffer_quantity(quantity: int, risk_rating: str) -> int:
    """Tonnes of an issuance held back in the buffer pool: the rating's share, rounded, at least one tonne
    left to the project."""
    share = BUFFER_SHARE[RiskRating(risk_rating)]
    return max(0, min(quantity - 1, math.floor(quantity * share + 0.5)))


def methodology_buffer(report: MonitoringReport) -> float:
    """The methodology's own non-permanence deduction stated in the verified report (t CO2e), else 0.

    The registry's buffer pool (held back from every issuance by risk rating, as credits that a reversal can
    cancel) replaces it: the deduction is added back before issuance so the buffer is taken once, not twice.
    Only a figure of the report's own credit arithmetic counts (its net creditable equals the verified
    one)."""
    credit = report.summary.get("credit") if isinstance(report.summary, dict) else None
    if not isinstance(credit, dict):
        return 0.0
    value, net = credit.get("buffer_tco2e"), credit.get("net_creditable_tco2e")
    numbers = [v for v in (value, net) if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) != 2 or not all(math.isfinite(v) for v in numbers) or float(numbers[0]) < 0:
        return 0.0
    if abs(float(numbers[1]) - report.net_creditable_tco2e) > 0.01:
        return 0.0
    return float(numbers[0])


def _issuable(report: MonitoringReport, quantity: int | None) -> int:
    """The quantity to issue: all whole verified tonnes before the buffer, or the asked part of them."""
    available = issuable_quantity(report)
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
        geom=project_geometry(project),
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
    """Issue credits for a verified report: one serial range, its buffer share into the buffer pool."""
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
    held_back = buffer_quantity(qty, project.risk_rating)
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
        buffer_quantity=held_back,
        risk_rating=project.risk_rating,
    )
    session.add(iss)
    session.flush()
    to_project = qty - held_back
    _new_block(session, actor, iss, account.id, start, start + to_project - 1, MovementKind.issue)
    pool = None
    if held_back:
        pool = accounts.ensure_buffer_account(session, actor=actor, division_code=project.division_code)
        _new_block(session, actor, iss, pool.id, start + to_project, end, MovementKind.buffer)
    label = serial_label(project.code, iss.vintage_start, iss.vintage_end, start, end)
    audit.record(
        session,
        actor=actor,
        action="carbon.issue",
        entity_type="carbon_issuance",
        entity_id=iss.id,
        division_code=project.division_code,
        department_id=project.department_id,
        detail={
            "serial": label,
            "quantity": qty,
            "buffer": held_back,
            "report_id": report.id,
            "account": account.number,
            "buffer_account": pool.number if pool else None,
        },
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
            "buffer_quantity": held_back,
        },
    )
    return iss


def _new_block(
    session: Session, actor: Actor, iss: Issuance, account_id: int, start: int, end: int, kind: MovementKind
) -> CreditBlock:
    """One active block of an issuance into an account, with its ledger line."""
    block = CreditBlock(
        issuance_id=iss.id,
        project_id=iss.project_id,
        vintage_start=iss.vintage_start,
        vintage_end=iss.vintage_end,
        serial_start=start,
        serial_end=end,
        quantity=end - start + 1,
        account_id=account_id,
        status=CreditStatus.active,
    )
    session.add(block)
    session.flush()
    session.add(
        CreditMovement(
            kind=kind,
            project_id=iss.project_id,
            block_id=block.id,
            to_account_id=account_id,
            serial_start=start,
            serial_end=end,
            quantity=block.quantity,
            actor_name=access.holder_name(actor),
        )
    )
    session.flush()
    return block


UNAVAILABLE = {
    CreditStatus.retired: "已注销，不能再转让、注销或出售 (retired credits cannot be moved or sold)",
    CreditStatus.cancelled: "已作废（逆转或更正的补偿分录），不能转让、注销或出售 "
    "(cancelled credits cannot be transferred, retired or sold)",
    CreditStatus.reserved: "已挂牌冻结，只能通过交易结算交割；请先撤牌 "
    "(reserved for a market listing: delivered only by settlement; withdraw the listing first)",
}


def require_active(block: CreditBlock) -> None:
    """Refuse (409) to move a block that is not active, saying why (retired, cancelled, reserved)."""
    if block.status != CreditStatus.active:
        reason = UNAVAILABLE.get(CreditStatus(block.status), block.status)
        log.info(
            "carbon move refused: block not active", extra={"block_id": block.id, "status": block.status}
        )
        raise ConflictError(f"序列号区块 {block.id} {reason}", code=f"block_{block.status}")


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
            f"可用余额不足：可用 {held} 吨，申请 {quantity} 吨"
            f"{_unavailable_note(session, account_id, project_id)}"
            f" (insufficient balance: {held} t CO2e available, {quantity} requested)",
            code="insufficient_balance",
        )
    taken: list[CreditBlock] = []
    need = quantity
    for b in blocks:
        if need == 0:
            break
        if b.quantity > need:
            split_block(session, block=b, quantity=need)
        taken.append(b)
        need -= b.quantity
    return taken


def _unavailable_note(session: Session, account_id: int, project_id: int | None) -> str:
    """'；另有 N 吨已挂牌冻结、M 吨已作废' for the account's credits that cannot move, or ''."""
    stmt = select(CreditBlock.status, CreditBlock.quantity).where(
        CreditBlock.account_id == account_id,
        CreditBlock.status.in_([CreditStatus.reserved, CreditStatus.cancelled]),
    )
    if project_id is not None:
        stmt = stmt.where(CreditBlock.project_id == project_id)
    totals: dict[str, int] = {}
    for status, qty in session.execute(stmt):
        totals[status] = totals.get(status, 0) + int(qty)
    parts = []
    if totals.get(CreditStatus.reserved):
        parts.append(f"{totals[CreditStatus.reserved]} 吨已挂牌冻结（不可转让或注销）")
    if totals.get(CreditStatus.cancelled):
        parts.append(f"{totals[CreditStatus.cancelled]} 吨已作废")
    return "；另有 " + "、".join(parts) if parts else ""


def _take_block(session: Session, account_id: int, block_id: int, quantity: int) -> list[CreditBlock]:
    """The head of one named block of the account (``quantity`` tonnes), refused unless it is active."""
    block = session.scalar(select(CreditBlock).where(CreditBlock.id == block_id).with_for_update())
    if block is None or block.account_id != account_id:
        raise ValidationFailedError(
            "该账户没有这个序列号区块 (the account holds no such block)",
            details=[{"loc": ["block_id"], "msg": f"no block {block_id} in this account"}],
        )
    require_active(block)
    if quantity > block.quantity:
        raise ValidationFailedError(
            f"数量超过区块持有量 {block.quantity} 吨 (quantity exceeds the block)",
            details=[{"loc": ["quantity"], "msg": f"at most {block.quantity}"}],
        )
    split_block(session, block=block, quantity=quantity)
    return [block]


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
    block_id: int | None = None,
) -> list[CreditBlock]:
    """Move credits between accounts (a named block, or lowest serials first); returns the moved blocks."""
    _positive(quantity)
    src = accounts.require_account(session, account_id=from_account_id, loc="from_account_id")
    dst = accounts.require_account(session, account_id=to_account_id, loc="to_account_id")
    if src.id == dst.id:
        raise ValidationFailedError(
            "转出与转入账户相同 (source and destination are the same account)",
            details=[{"loc": ["to_account_id"], "msg": "must differ from from_account_id"}],
        )
    access.require_holder(session, actor=actor, account=src)
    if dst.kind == AccountKind.buffer:
        raise ValidationFailedError(
            "缓冲池账户只接收签发时的缓冲份额 (the buffer pool takes only issuance buffer shares)",
            details=[{"loc": ["to_account_id"], "msg": "buffer account"}],
        )
    moved = (
        _take_block(session, src.id, block_id, quantity)
        if block_id is not None
        else _take(session, src.id, project_id, quantity)
    )
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
    block_id: int | None = None,
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
    if acc.kind == AccountKind.buffer:
        raise ConflictError(
            "缓冲池额度不能注销，只在逆转时作废 "
            "(buffer credits are never retired, only cancelled on a reversal)"
        )
    blocks = (
        _take_block(session, acc.id, block_id, quantity)
        if block_id is not None
        else _take(session, acc.id, project_id, quantity)
    )
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


def report_issuance(session: Session, *, report_id: int) -> Issuance | None:
    """The issuance of a report, if it was issued."""
    return session.scalar(select(Issuance).where(Issuance.report_id == report_id))


def issuable_quantity(report: MonitoringReport) -> int:
    """The whole verified tonnes of a report before any buffer (what an issuance takes by default): the net
    creditable figure plus the methodology's buffer deduction, which the registry's pool replaces."""
    return math.floor(before_buffer(report, report.net_creditable_tco2e) + 1e-9)


def before_buffer(report: MonitoringReport, tco2e: float) -> float:
    """A net creditable figure of the report (the verified one, or a corrected one) with the methodology's
    buffer share added back in the report's own proportion (see ``methodology_buffer``)."""
    net = report.net_creditable_tco2e
    return tco2e * (1 + methodology_buffer(report) / net) if net > 0 else tco2e


def get_block(session: Session, *, block_id: int) -> CreditBlock:
    """One block by id (404 if there is none); callers check who may see it."""
    block = session.get(CreditBlock, block_id)
    if block is None:
        raise NotFoundError(f"序列号区块 {block_id} 不存在 (no credit block {block_id})")
    return block


def project_blocks(session: Session, *, project_id: int) -> list[CreditBlock]:
    """Every block of one project (active and retired)."""
    return list(
        session.scalars(
            select(CreditBlock).where(CreditBlock.project_id == project_id).order_by(CreditBlock.serial_start)
        )
    )


def split_block(session: Session, *, block: CreditBlock, quantity: int) -> CreditBlock | None:
    """Keep the first ``quantity`` tonnes in ``block``; the tail becomes a new block (returned, or None)."""
    if quantity <= 0:
        raise ValidationFailedError(
            "数量须为正整数 (quantity must be positive)", details=[{"loc": ["quantity"], "msg": "> 0"}]
        )
    if quantity >= block.quantity:
        return None
    tail = CreditBlock(
        issuance_id=block.issuance_id,
        project_id=block.project_id,
        vintage_start=block.vintage_start,
        vintage_end=block.vintage_end,
        serial_start=block.serial_start + quantity,
        serial_end=block.serial_end,
        quantity=block.quantity - quantity,
        account_id=block.account_id,
        status=block.status,
    )
    block.serial_end = block.serial_start + quantity - 1
    block.quantity = quantity
    session.flush()
    session.add(tail)
    session.flush()
    return tail
