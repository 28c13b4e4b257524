"""The public registry: projects, issuances, serial blocks, retirements with their certificates, cancellations
and the buffer pool, for everyone; no accounts, holders or people (free text is scrubbed)."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.carbon.enums import AccountKind, CreditStatus
from govgrid.carbon.models import Adjustment, CarbonAccount, CarbonProject, CreditBlock, Issuance
from govgrid.carbon.serials import serial_label
from govgrid.carbon.services import buffer
from govgrid.core.errors import NotFoundError
from govgrid.core.privacy import scrub_text

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _label(b: CreditBlock | Issuance) -> str:
    """The printed serial block of a block or an issuance."""
    return serial_label(b.project.code, b.vintage_start, b.vintage_end, b.serial_start, b.serial_end)


def public_registry(session: Session) -> dict[str, Any]:
    """Projects, issuances and retirements for the public: no accounts, holders or people."""
    projects = list(session.scalars(select(CarbonProject).order_by(CarbonProject.code)))
    issuances = list(session.scalars(select(Issuance).order_by(Issuance.serial_start)))
    retired = list(
        session.scalars(
            select(CreditBlock)
            .where(CreditBlock.status == CreditStatus.retired)
            .order_by(CreditBlock.serial_start)
        )
    )
    cancelled = list(
        session.scalars(
            select(CreditBlock)
            .where(CreditBlock.status == CreditStatus.cancelled)
            .order_by(CreditBlock.serial_start)
        )
    )
    return {
        "projects": [
            {
                "code": p.code,
                "name": p.name,
                "division_code": p.division_code,
                "proponent": p.department.name,
                "methodology": p.methodology,
                "area_ha": p.area_ha,
                "area_crs": p.area_crs,
                "risk_rating": p.risk_rating,
                "crediting_start": p.crediting_start,
                "crediting_end": p.crediting_end,
                "boundary": json.loads(p.boundary),
            }
            for p in projects
        ],
        "issuances": [
            {
                "project_code": i.project.code,
                "vintage": f"{i.vintage_start}-{i.vintage_end}",
                "serial": _label(i),
                "quantity": i.quantity,
                "buffer_quantity": i.buffer_quantity,
                "issued_at": i.issued_at,
            }
            for i in issuances
        ],
        "retirements": [
            {
                "project_code": b.project.code,
                "vintage": f"{b.vintage_start}-{b.vintage_end}",
                "serial": _label(b),
                "quantity": b.quantity,
                "beneficiary": scrub_text(b.beneficiary),
                "reason": scrub_text(b.retirement_reason),
                "retired_at": b.retired_at,
                "certificate": f"/carbon/registry/certificates/{b.id}",
            }
            for b in retired
        ],
        "cancellations": [
            {
                "project_code": b.project.code,
                "vintage": f"{b.vintage_start}-{b.vintage_end}",
                "serial": _label(b),
                "quantity": b.quantity,
                "reason": scrub_text(b.cancellation_reason),
                "cancelled_at": b.cancelled_at,
            }
            for b in cancelled
        ],
        "buffer_pools": buffer.pool_balances(session),
        "totals": {
            "issued": sum(i.quantity for i in issuances),
            "retired": sum(b.quantity for b in retired),
            "cancelled": sum(b.quantity for b in cancelled),
            "buffer": sum(i.buffer_quantity for i in issuances),
            "projects": len(projects),
        },
    }


def totals_per_project(registry: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Issued and retired tonnes per project code, from a ``public_registry`` document (for its chart)."""
    per_project: dict[str, dict[str, int]] = {}
    for i in registry["issuances"]:
        per_project.setdefault(i["project_code"], {"issued": 0, "retired": 0})["issued"] += i["quantity"]
    for r in registry["retirements"]:
        per_project.setdefault(r["project_code"], {"issued": 0, "retired": 0})["retired"] += r["quantity"]
    return per_project


def block_rows(session: Session) -> list[dict[str, Any]]:
    """Every serial block with its public facts (the export's records), in serial order."""
    rows = session.execute(
        select(CreditBlock, CarbonAccount.kind, Issuance.issued_at)
        .join(CarbonAccount, CarbonAccount.id == CreditBlock.account_id)
        .join(Issuance, Issuance.id == CreditBlock.issuance_id)
        .order_by(CreditBlock.serial_start)
    ).all()
    return [
        {
            "serial_range": _label(b),
            "serial_start": b.serial_start,
            "serial_end": b.serial_end,
            "quantity": b.quantity,
            "vintage_start": b.vintage_start,
            "vintage_end": b.vintage_end,
            "project_id": b.project.code,
            "project_name": b.project.name,
            "methodology": b.project.methodology,
            "division_code": b.project.division_code,
            "status": b.status,
            "buffer_pool": kind == AccountKind.buffer,
            "issued_at": issued_at.isoformat(),
            "retired_at": b.retired_at.isoformat() if b.retired_at else "",
            "retirement_beneficiary": scrub_text(b.beneficiary) or "",
            "retirement_reason": scrub_text(b.retirement_reason) or "",
            "cancelled_at": b.cancelled_at.isoformat() if b.cancelled_at else "",
            "cancellation_reason": scrub_text(b.cancellation_reason) or "",
        }
        for b, kind, issued_at in rows
    ]


def certificate(session: Session, *, block_id: int) -> dict[str, Any]:
    """The public retirement certificate (注销证明) of a retired block; 404 for any other block."""
    b = session.get(CreditBlock, block_id)
    if b is None or b.status != CreditStatus.retired:
        raise NotFoundError(f"没有编号为 {block_id} 的注销证明 (no retirement certificate {block_id})")
    return {
        "number": f"RC-{b.id:08d}",
        "serial": _label(b),
        "quantity": b.quantity,
        "vintage": f"{b.vintage_start}-{b.vintage_end}",
        "project_code": b.project.code,
        "project_name": b.project.name,
        "methodology": b.project.methodology,
        "proponent": b.project.department.name,
        "beneficiary": scrub_text(b.beneficiary),
        "reason": scrub_text(b.retirement_reason),
        "retired_at": b.retired_at,
        "retired_on": b.retired_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if b.retired_at else "",
    }


def adjustments(session: Session) -> list[Adjustment]:
    """Every compensating entry (reversals and corrections), newest first."""
    return list(session.scalars(select(Adjustment).order_by(Adjustment.id.desc())))
