"""The public registry: projects, issuances and retirements for everyone; no accounts, holders or people."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.carbon.enums import CreditStatus
from govgrid.carbon.models import CarbonProject, CreditBlock, Issuance
from govgrid.carbon.serials import serial_label


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
    return {
        "projects": [
            {
                "code": p.code,
                "name": p.name,
                "division_code": p.division_code,
                "proponent": p.department.name,
                "methodology": p.methodology,
                "area_ha": p.area_ha,
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
                "serial": serial_label(
                    i.project.code, i.vintage_start, i.vintage_end, i.serial_start, i.serial_end
                ),
                "quantity": i.quantity,
                "issued_at": i.issued_at,
            }
            for i in issuances
        ],
        "retirements": [
            {
                "project_code": b.project.code,
                "vintage": f"{b.vintage_start}-{b.vintage_end}",
                "serial": serial_label(
                    b.project.code, b.vintage_start, b.vintage_end, b.serial_start, b.serial_end
                ),
                "quantity": b.quantity,
                "beneficiary": b.beneficiary,
                "reason": b.retirement_reason,
                "retired_at": b.retired_at,
            }
            for b in retired
        ],
        "totals": {
            "issued": sum(i.quantity for i in issuances),
            "retired": sum(b.quantity for b in retired),
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
