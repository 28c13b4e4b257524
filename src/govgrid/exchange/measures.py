"""The exchange's measures for the coordination port (`core.ports.register_measures`).

- 共享审批平均时长 grant approval time: mean hours from submission to decision of the sharing requests decided
  in [start, end) whose handler sits in the subtree;
- 网关调用量 gateway calls: calls served in [start, end) to consumer departments of the subtree.
Aggregates only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.core import ports
from govgrid.core.departments.models import Department
from govgrid.core.divisions import service as divisions
from govgrid.core.divisions.models import Division
from govgrid.exchange.models import GatewayCall, SharingRequest

MEASURES = (
    ports.Measure(
        "exchange.approval_hours", "共享审批平均时长", "Mean sharing approval time", "hours", "lower"
    ),
    ports.Measure("exchange.gateway_calls", "共享接口调用量", "Gateway calls served", "calls", "higher"),
)


def compute(
    session: Session, *, division_code: str, start: datetime, end: datetime
) -> dict[str, float | None]:
    """Mean approval hours and served gateway calls of the subtree over [start, end)."""
    path = divisions.get(session, division_code).path
    decided = session.execute(
        select(SharingRequest.submitted_at, SharingRequest.decided_at).where(
            divisions.in_subtree(SharingRequest.handler_division_path, path),
            SharingRequest.decided_at.is_not(None),
            SharingRequest.decided_at >= start,
            SharingRequest.decided_at < end,
        )
    ).all()
    hours = [(d - s).total_seconds() / 3600 for s, d in decided if s is not None and d is not None]
    calls = session.scalar(
        select(func.count(GatewayCall.id))
        .join(Department, Department.id == GatewayCall.consumer_department_id)
        .join(Division, Division.code == Department.division_code)
        .where(divisions.in_subtree(Division.path, path), GatewayCall.at >= start, GatewayCall.at < end)
    )
    return {
        "exchange.approval_hours": sum(hours) / len(hours) if hours else None,
        "exchange.gateway_calls": float(calls or 0),
    }


def register() -> None:
    """Register the exchange measures with the core port."""
    ports.register_measures(ports.MeasureProvider("exchange", MEASURES, compute))
