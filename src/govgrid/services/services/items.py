"""Service items (政务服务事项) and bundles (一件事): catalogue, guide (办事指南), seeding."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core.audit.service import Actor
from govgrid.core.departments import service as departments
from govgrid.core.errors import NotFoundError
from govgrid.services import catalog
from govgrid.services.models import ProcessDefinition, ServiceItem
from govgrid.services.services import processes

log = logging.getLogger(__name__)


def list_items(
    session: Session,
    *,
    division_code: str | None = None,
    kind: str | None = None,
) -> list[ServiceItem]:
    """The public catalogue, bundles first (filtered by the deciding division's prefix and the kind)."""
    stmt = select(ServiceItem)
    if division_code:
        stmt = stmt.where(ServiceItem.division_code.like(division_code + "%"))
    if kind:
        stmt = stmt.where(ServiceItem.kind == kind)
    return list(session.scalars(stmt.order_by(ServiceItem.kind.desc(), ServiceItem.code)))


def get_item(session: Session, *, code: str) -> ServiceItem:
    """One item by code (404 with the code when there is none)."""
    item = session.scalar(select(ServiceItem).where(ServiceItem.code == code))
    if item is None:
        raise NotFoundError(f"事项 {code} 不存在 (no service item {code})")
    return item


def members(session: Session, *, item: ServiceItem) -> list[ServiceItem]:
    """A bundle's member items, in order."""
    if not item.members:
        return []
    rows = {i.code: i for i in session.scalars(select(ServiceItem).where(ServiceItem.code.in_(item.members)))}
    return [rows[c] for c in item.members if c in rows]


def guide(session: Session, *, code: str) -> dict[str, Any]:
    """The 办事指南 of an item: its fields, materials (and which the government already holds), members."""
    item = get_item(session, code=code)
    mats = item.materials or []
    return {
        "item": item,
        "members": members(session, item=item),
        "materials_held": [m for m in mats if m.get("held")],
        "materials_needed": [m for m in mats if not m.get("held")],
        "compression": compression_ratio(item.statutory_days, item.promised_days),
    }


def compression_ratio(statutory_days: int, promised_days: int) -> float:
    """承诺时限压缩比 = (statutory - promised) / statutory (0 when there is no statutory limit)."""
    if statutory_days <= 0:
        return 0.0
    return (statutory_days - promised_days) / statutory_days


def ensure_bundle_processes(session: Session, *, actor: Actor) -> dict[str, ProcessDefinition]:
    """The shipped bundle processes, stored (validated like an upload) when missing."""
    out = {}
    for pid in catalog.BUNDLE_FILES:
        row = session.scalar(select(ProcessDefinition).where(ProcessDefinition.process_id == pid).limit(1))
        out[pid] = (
            row if row is not None else processes.store(session, actor=actor, data=catalog.bundle_xml(pid))[0]
        )
    return out


def ensure_catalogue(session: Session, *, actor: Actor, division_code: str) -> list[ServiceItem]:
    """The shipped items and bundles of one county, created where missing (departments ensured too)."""
    departments.ensure_lines(session)
    ensure_bundle_processes(session, actor=actor)
    out = []
    for spec in catalog.items_for(division_code):
        item = session.scalar(select(ServiceItem).where(ServiceItem.code == spec["code"]))
        if item is None:
            dept = departments.ensure(session, line_code=spec["line"], division_code=division_code)
            item = ServiceItem(
                code=spec["code"],
                name=spec["name"],
                kind=spec.get("kind", "item"),
                department_id=dept.id,
                division_code=division_code,
                legal_basis=spec["legal_basis"],
                statutory_days=spec["statutory_days"],
                promised_days=spec["promised_days"],
                on_the_spot=spec["on_the_spot"],
                fee=spec["fee"],
                visits=spec["visits"],
                online=spec["online"],
                mobile=spec["mobile"],
                materials=spec["materials"],
                prefill=spec["prefill"],
                form_fields=spec["form_fields"],
                members=spec.get("members", []),
                process_id=spec["process_id"],
                certificate_type=spec["certificate_type"],
            )
            session.add(item)
            log.info("service item created", extra={"item": spec["code"]})
        out.append(item)
    for line in (
        "health",
        "public_security",
        "medical_security",
        "human_resources",
        "market_regulation",
        "tax",
        "administrative_approval",
    ):
        departments.ensure(session, line_code=line, division_code=division_code)
    session.flush()
    return out
