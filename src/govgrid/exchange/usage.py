"""The exchange's data-use port (`core.ports.register_data_use`), read by the institutions module (数据制度).

- uses: the gateway call log (`exchange_calls`, one row per served call) joined with its audit record (the
  purpose the caller gave), aggregated per resource, consumer department, call kind and purpose;
- resources: the catalog entries provided in a subtree with their sharing type, catalog grade and personal
  (and sensitive) data items: the defaults of the security grading;
- refusals: the audited refusals of the gateway to resources of the subtree: `exchange.gateway.denied` (no
  grant, not visible) and `exchange.gateway.refused` (a granted call over the grant's rate limit).
Aggregates and catalog facts only: never a record served.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, and_, cast, func, literal_column, or_, select
from sqlalchemy.orm import Session, aliased

from govgrid.core import ports
from govgrid.core.audit.models import AuditRecord
from govgrid.core.departments.models import Department
from govgrid.core.divisions import service as divisions
from govgrid.exchange.models import GatewayCall, Grant, Resource
from govgrid.exchange.services import ratelimit

DENIED = "exchange.gateway.denied"


def uses(session: Session, *, start: datetime, end: datetime, division_code: str) -> list[ports.DataUse]:
    """Served calls of the subtree's resources over [start, end), per resource, consumer, kind and purpose."""
    path = divisions.get(session, division_code).path
    provider = aliased(Department)
    consumer = aliased(Department)
    # inline '' (no bind parameter): PostgreSQL matches the GROUP BY expression with the selected one
    purpose = func.coalesce(AuditRecord.purpose, literal_column("''"))
    rows = session.execute(
        select(
            Resource.code,
            Resource.name,
            Resource.provider_department_id,
            provider.line_code,
            Resource.division_code,
            GatewayCall.consumer_department_id,
            func.coalesce(consumer.name, ""),
            GatewayCall.kind,
            purpose,
            func.count(GatewayCall.id),
            func.coalesce(func.sum(GatewayCall.rows), 0),
            func.max(GatewayCall.at),
        )
        .join(Resource, Resource.id == GatewayCall.resource_id)
        .join(provider, provider.id == Resource.provider_department_id)
        .outerjoin(consumer, consumer.id == GatewayCall.consumer_department_id)
        .outerjoin(AuditRecord, AuditRecord.seq == GatewayCall.audit_seq)
        .where(
            divisions.in_subtree(Resource.division_path, path), GatewayCall.at >= start, GatewayCall.at < end
        )
        .group_by(
            Resource.code,
            Resource.name,
            Resource.provider_department_id,
            provider.line_code,
            Resource.division_code,
            GatewayCall.consumer_department_id,
            consumer.name,
            GatewayCall.kind,
            purpose,
        )
        .order_by(Resource.code, GatewayCall.consumer_department_id, GatewayCall.kind, purpose)
    ).all()
    return [
        ports.DataUse(
            resource_code=r[0],
            resource_name=r[1],
            provider_department_id=r[2],
            provider_line_code=r[3],
            provider_division_code=r[4],
            consumer_department_id=r[5],
            consumer_name=r[6],
            kind=str(r[7]),
            purpose=r[8] or "",
            calls=int(r[9]),
            rows=int(r[10] or 0),
            last_at=r[11],
        )
        for r in rows
    ]


def resources(session: Session, *, division_code: str) -> list[ports.DataResourceInfo]:
    """The catalog resources provided in the subtree, with their personal and sensitive items."""
    path = divisions.get(session, division_code).path
    found = session.scalars(
        select(Resource).where(divisions.in_subtree(Resource.division_path, path)).order_by(Resource.code)
    ).all()
    return [
        ports.DataResourceInfo(
            code=r.code,
            name=r.name,
            provider_department_id=r.provider_department_id,
            line_code=r.line_code,
            division_code=r.division_code,
            division_path=r.division_path,
            sharing_type=r.sharing_type,
            open_type=r.open_type,
            catalog_grade=r.grade,
            personal_items=tuple(i.name for i in r.items if i.personal),
            sensitive_items=tuple(i.name for i in r.items if i.sensitive),
        )
        for r in found
    ]


def refusals(
    session: Session, *, start: datetime, end: datetime, division_code: str
) -> list[ports.DataRefusal]:
    """Audited gateway refusals of calls to the subtree's resources over [start, end): denied calls (no grant,
    not visible) and granted calls refused over the grant's rate limit (`rate_limited`)."""
    path = divisions.get(session, division_code).path
    window = (
        AuditRecord.at >= start,
        AuditRecord.at < end,
        divisions.in_subtree(Resource.division_path, path),
    )
    named = session.execute(  # refusals recorded on the resource, by the caller
        select(
            AuditRecord.seq,
            AuditRecord.at,
            Resource.code,
            AuditRecord.actor_type,
            AuditRecord.actor_id,
            AuditRecord.detail,
        )
        .join(Resource, Resource.code == AuditRecord.entity_id)
        .where(
            or_(
                AuditRecord.action == DENIED,
                and_(
                    AuditRecord.action == ratelimit.REFUSED, AuditRecord.entity_type != ratelimit.GRANT_KIND
                ),
            ),
            *window,
        )
    ).all()
    by_grant = session.execute(  # rate-limit refusals recorded on the grant: the caller is its consumer
        select(
            AuditRecord.seq,
            AuditRecord.at,
            Resource.code,
            literal_column("'department'"),
            cast(Grant.consumer_department_id, String),
            AuditRecord.detail,
        )
        .join(Grant, cast(Grant.id, String) == AuditRecord.entity_id)
        .join(Resource, Resource.id == Grant.resource_id)
        .where(
            AuditRecord.action == ratelimit.REFUSED, AuditRecord.entity_type == ratelimit.GRANT_KIND, *window
        )
    ).all()
    return [
        ports.DataRefusal(
            audit_seq=int(r[0]),
            at=r[1],
            resource_code=r[2],
            actor=f"{r[3]}:{r[4] or ''}",
            reason=str((r[5] or {}).get("reason", "denied")),
        )
        for r in sorted([*named, *by_grant], key=lambda r: int(r[0]))
    ]


def register() -> None:
    """Install the exchange as the platform's data-use provider."""
    ports.register_data_use(ports.DataUseProvider(uses=uses, resources=resources, refusals=refusals))
