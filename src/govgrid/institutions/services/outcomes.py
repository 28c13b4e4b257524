"""Outcomes other modules report (成效): case closures (办结案件) from the declared port event
``core.ports.CITY_CASE_CLOSED`` (a city-management case closed, with the reference of the appeal ticket it
came from). The ledger counts, per use, the closed cases its purpose named (``rules.case_refs``)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.institutions.models import CaseClosure

log = logging.getLogger(__name__)


def note_closure(
    session: Session,
    *,
    actor: Actor,
    source: str,
    external_ref: str,
    case_code: str,
    result: str,
    closed_at: datetime,
) -> CaseClosure | None:
    """Record a reported case closure once per case code (a redelivered event changes nothing)."""
    if not case_code:
        return None
    found = session.scalar(select(CaseClosure).where(CaseClosure.case_code == case_code[:64]))
    if found is not None:
        return found
    row = CaseClosure(
        case_code=case_code[:64],
        source=source[:32],
        external_ref=external_ref[:64],
        result=result[:200],
        closed_at=closed_at,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="institutions.case_closure",
        entity_type="case_closure",
        entity_id=row.case_code,
        detail={"source": row.source},
    )
    log.info("institutions case closure noted", extra={"closure_id": row.id})
    return row


def closed_among(session: Session, refs: Iterable[str]) -> dict[str, str]:
    """Of the given references, those of cases reported closed (a case code or the source's reference), each
    with its case code (so a use naming both the ticket and the case counts one case)."""
    wanted = sorted(set(refs))
    found: dict[str, str] = {}
    for i in range(0, len(wanted), 500):  # bounded IN lists
        chunk = set(wanted[i : i + 500])
        for code, ref in session.execute(
            select(CaseClosure.case_code, CaseClosure.external_ref).where(
                or_(CaseClosure.case_code.in_(chunk), CaseClosure.external_ref.in_(chunk))
            )
        ):
            found.update({x: code for x in (code, ref) if x in chunk})
    return found
