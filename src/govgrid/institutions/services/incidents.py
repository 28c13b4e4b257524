"""Security incidents (安全事件) and their handling, filed from real module data: the exchange gateway's
audited refusals (``core.ports.data_refusals``: calls without a grant or out of scope, and granted calls over
the grant's rate limit, 超频调用) become candidate incidents, one per source, resource, caller and day
(Beijing time), counted; a scan is idempotent (an audit record is counted once). Handling follows the one
transition table ``enums.INCIDENT``, each move noted with who, when and why."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core import ports
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.db import utcnow
from govgrid.core.divisions import service as divisions
from govgrid.core.errors import NotFoundError, ValidationFailedError
from govgrid.institutions import rules
from govgrid.institutions.enums import INCIDENT, IncidentSource, IncidentState
from govgrid.institutions.models import Incident, RegisterEntry
from govgrid.institutions.services import access

log = logging.getLogger(__name__)

BEIJING = timedelta(hours=8)
RATE_LIMITED = "rate_limited"  # the reason of a granted call refused over its rate limit (its own incidents)
STATE_ZH = {
    IncidentState.reported: "待研判",
    IncidentState.investigating: "处置中",
    IncidentState.resolved: "已处置",
    IncidentState.dismissed: "误报",
    IncidentState.closed: "已归档",
}


def scan(session: Session, *, actor: Actor | None, division_code: str, start: datetime, end: datetime) -> int:
    """File the gateway refusals of [start, end) to the division's resources as incidents: new ones filed."""
    div = access.require_view(session, actor=actor, code=division_code)
    who = access.require_login(actor)
    refused = ports.data_refusals(session, start=start, end=end, division_code=div.code)
    if not refused:
        return 0
    catalog = {r.code: r for r in ports.data_resources(session, division_code=div.code)}
    grades: dict[str, str] = {}
    for code, grade in session.execute(
        select(RegisterEntry.resource_code, RegisterEntry.grade).where(
            RegisterEntry.resource_code.in_(list(catalog))
        )
    ):
        grades[code] = grade
    filed = 0
    for r in refused:
        res = catalog.get(r.resource_code)
        if res is None:
            continue
        day = (r.at + BEIJING).date().isoformat()
        source = IncidentSource.rate_limit if r.reason == RATE_LIMITED else IncidentSource.gateway_refusal
        key = f"{source.value}:{r.resource_code}:{r.actor}:{day}"[:200]
        inc = session.scalar(select(Incident).where(Incident.key == key))
        if inc is None:
            grade = (
                grades.get(r.resource_code)
                or rules.default_grade(
                    sharing_type=res.sharing_type,
                    catalog_grade=res.catalog_grade,
                    personal_items=len(res.personal_items),
                    sensitive_items=len(res.sensitive_items),
                )[0].value
            )
            inc = Incident(
                key=key,
                source=source.value,
                resource_code=res.code,
                division_code=res.division_code,
                division_path=res.division_path,
                department_id=res.provider_department_id,
                grade=grade,
                reason=r.reason[:32],
                actor=r.actor[:100],
                count=0,
                audit_seqs=[],
                state=IncidentState.reported.value,
                handling=[],
                first_at=r.at,
                last_at=r.at,
            )
            session.add(inc)
            session.flush()
            filed += 1
            log.info("institutions incident filed", extra={"incident_id": inc.id})
        if r.audit_seq in inc.audit_seqs:
            continue
        inc.audit_seqs = [*inc.audit_seqs, r.audit_seq]
        inc.count = len(inc.audit_seqs)
        inc.first_at, inc.last_at = min(inc.first_at, r.at), max(inc.last_at, r.at)
    session.flush()
    audit.record(
        session,
        actor=who,
        action="institutions.incident_scan",
        entity_type="incident",
        entity_id=div.code,
        division_code=div.code,
        detail={"refusals": len(refused), "filed": filed},
    )
    return filed


def incidents(
    session: Session, *, actor: Actor | None, division_code: str, state: str = ""
) -> list[Incident]:
    """The division's incidents (one state if given), open first, newest first."""
    div = access.require_view(session, actor=actor, code=division_code)
    stmt = select(Incident).where(
        divisions.in_subtree(Incident.division_path, div.path),
        access.rows_clause(actor, Incident.department_id, Incident.division_path),
    )
    if state:
        if state not in IncidentState.__members__:
            raise ValidationFailedError("事件状态不正确 (unknown incident state)")
        stmt = stmt.where(Incident.state == state)
    found = list(session.scalars(stmt.order_by(Incident.last_at.desc(), Incident.id.desc())))
    found.sort(key=lambda i: INCIDENT.is_final(i.state))
    audit.record(
        session,
        actor=access.require_login(actor),
        action="institutions.incidents_read",
        entity_type="incident",
        entity_id=div.code,
        division_code=div.code,
        detail={"count": len(found)},
    )
    return found


def move(session: Session, *, actor: Actor | None, incident_id: int, state: str, note: str) -> Incident:
    """Move an incident along its handling (研判/处置/归档/误报) with a note saying what was done."""
    who = access.require_login(actor)
    inc = session.scalar(
        select(Incident).where(
            Incident.id == incident_id,
            access.rows_clause(who, Incident.department_id, Incident.division_path),
        )
    )
    if inc is None:
        raise NotFoundError(f"安全事件 {incident_id} 不存在或不可见 (no such incident visible to you)")
    access.require_keeper(
        session, actor=who, department_id=inc.department_id, division_code=inc.division_code
    )
    if state not in IncidentState.__members__:
        raise ValidationFailedError(
            "目标状态不正确 (unknown target state)", details=[{"loc": ["body", "state"], "msg": state[:20]}]
        )
    target = IncidentState(state)
    INCIDENT.require_move(
        inc.state,
        target,
        message=f"事件当前为「{STATE_ZH[IncidentState(inc.state)]}」，不能改为「{STATE_ZH[target]}」 "
        f"(cannot move from {inc.state} to {target.value})",
    )
    text = note.strip()
    if not text:
        raise ValidationFailedError(
            "请填写处置说明 (a note on what was done is required)",
            details=[{"loc": ["body", "note"], "msg": "empty"}],
        )
    now = utcnow()
    before = inc.state
    inc.state = target.value
    inc.handling = [
        *inc.handling,
        {"at": now.isoformat(), "by": access.actor_name(who), "state": target.value, "note": text[:2000]},
    ]
    if INCIDENT.is_final(target):
        inc.closed_at = now
    session.flush()
    audit.record(
        session,
        actor=who,
        action="institutions.incident_move",
        entity_type="incident",
        entity_id=inc.id,
        division_code=inc.division_code,
        department_id=inc.department_id,
        detail={"from": before, "to": target.value},
    )
    log.info("institutions incident moved", extra={"incident_id": inc.id, "state": target.value})
    return inc
