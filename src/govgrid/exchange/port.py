"""The exchange's side of the data-pull port (`govgrid.core.ports.pull_record` / `pull_rows`).

Other modules (services pre-fill, economy, market) read shared resources through the same gateway as any
caller: field scope and row filter of the consumer department's grant, masking, the grant's rate limit, one
audit record with the purpose and one call-log row per pull.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session

from govgrid.core import ports
from govgrid.core.authz.principal import Assignment, Principal
from govgrid.core.departments import service as departments
from govgrid.exchange.enums import CallKind
from govgrid.exchange.services import gateway


def as_consumer(session: Session, *, actor: Principal, department_id: int | None) -> Principal:
    """The caller as seen by the gateway: the actor, reaching through `department_id`'s grants when given.

    A citizen applying for a public service holds no role; the module handling the case names the department
    that pulls the data for it. The audit record keeps the actor's own identity."""
    if department_id is None or department_id in actor.department_ids:
        return actor
    dept = departments.get(session, department_id)
    acting = Assignment(
        department_id=dept.id,
        department_name=dept.name,
        line_code=dept.line_code,
        division_code=dept.division_code,
        division_path=dept.division.path,
        role="viewer",
        reach="department",
    )
    return replace(actor, assignments=(acting,), is_superuser=False)


def pull_rows(
    session: Session,
    *,
    actor: Principal,
    department_id: int | None,
    resource_code: str,
    filters: dict[str, str],
    purpose: str,
    limit: int,
) -> ports.PulledRows:
    """Rows of a resource through the gateway for the consumer department (masked, audited with purpose)."""
    caller = as_consumer(session, actor=actor, department_id=department_id)
    page = gateway.read_records(
        session,
        actor=caller,
        code=resource_code,
        filters=filters,
        limit=max(1, min(int(limit), 1000)),
        purpose=purpose,
        kind=CallKind.records,
    )
    return ports.PulledRows(
        resource_code=page["resource_code"],
        rows=page["records"],
        fields=page["fields"],
        masked_fields=page["masked_fields"],
        grant_id=page["grant_id"],
    )


def register() -> None:
    """Install the exchange as the platform's data provider."""
    ports.register_data_provider(pull_rows)
