"""The security register (数据分类分级台账, GB/T 43697-2024): every catalog resource of a division by grade
(核心/重要/一般), with the controls its grade requires and the periodic review due.

Entries are synced from the exchange catalog through ``core.ports.data_resources``, never typed in:
the default grade is the highest of the rules that apply (就高从严: catalog grade, not shared,
sensitive personal items); a sync raises a grade when the catalog changes (动态更新) and never lowers
one a review raised. A review may confirm or raise the grade, never set it below the default.
"""

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
from govgrid.institutions.enums import CONTROLS, GRADE_RANK, REVIEW_DAYS, Grade
from govgrid.institutions.models import RegisterEntry, Review
from govgrid.institutions.services import access

log = logging.getLogger(__name__)


def sync(session: Session, *, actor: Actor | None, division_code: str) -> tuple[int, int]:
    """Bring the division's register up to date with the catalog: (entries added, grades raised)."""
    div = access.require_sync(session, actor=actor, code=division_code)
    who = access.require_login(actor)
    found = ports.data_resources(session, division_code=div.code)
    have = {
        e.resource_code: e
        for e in session.scalars(
            select(RegisterEntry).where(RegisterEntry.resource_code.in_([r.code for r in found]))
        )
    }
    now = utcnow()
    added = raised = 0
    for r in found:
        grade, reasons = rules.default_grade(
            sharing_type=r.sharing_type,
            catalog_grade=r.catalog_grade,
            personal_items=len(r.personal_items),
            sensitive_items=len(r.sensitive_items),
        )
        entry = have.get(r.code)
        if entry is None:
            session.add(
                RegisterEntry(
                    resource_code=r.code,
                    resource_name=r.name,
                    division_code=r.division_code,
                    division_path=r.division_path,
                    department_id=r.provider_department_id,
                    line_code=r.line_code,
                    default_grade=grade.value,
                    grade=grade.value,
                    reasons=reasons,
                    controls=list(CONTROLS[grade]),
                    next_review_due=now,  # never reviewed: the first review is due at once
                    synced_at=now,
                )
            )
            added += 1
            continue
        entry.resource_name, entry.default_grade, entry.reasons, entry.synced_at = (
            r.name,
            grade.value,
            reasons,
            now,
        )
        if GRADE_RANK[grade] > GRADE_RANK[Grade(entry.grade)]:
            entry.grade = grade.value
            entry.controls = list(CONTROLS[grade])
            entry.next_review_due = min(entry.next_review_due, now + timedelta(days=REVIEW_DAYS[grade]))
            raised += 1
    session.flush()
    audit.record(
        session,
        actor=who,
        action="institutions.register_sync",
        entity_type="register",
        entity_id=div.code,
        division_code=div.code,
        detail={"resources": len(found), "added": added, "raised": raised},
    )
    log.info(
        "institutions register synced", extra={"division_code": div.code, "added": added, "raised": raised}
    )
    return added, raised


def entries(
    session: Session,
    *,
    actor: Actor | None,
    division_code: str,
    line: str = "",
    due_by: datetime | None = None,
) -> list[RegisterEntry]:
    """The division's register (one line 条 if given; only reviews due by `due_by` if given), by grade."""
    div = access.require_view(session, actor=actor, code=division_code)
    stmt = select(RegisterEntry).where(
        divisions.in_subtree(RegisterEntry.division_path, div.path),
        access.rows_clause(actor, RegisterEntry.department_id, RegisterEntry.division_path),
    )
    if line:
        stmt = stmt.where(RegisterEntry.line_code == line)
    if due_by is not None:
        stmt = stmt.where(RegisterEntry.next_review_due <= due_by)
    found = list(session.scalars(stmt.order_by(RegisterEntry.next_review_due, RegisterEntry.resource_code)))
    found.sort(key=lambda e: -GRADE_RANK[Grade(e.grade)])
    audit.record(
        session,
        actor=access.require_login(actor),
        action="institutions.register_read",
        entity_type="register",
        entity_id=div.code,
        division_code=div.code,
        detail={"line": line, "count": len(found)},
    )
    return found


def review(
    session: Session, *, actor: Actor | None, resource_code: str, grade: str, note: str = ""
) -> Review:
    """Record a periodic review: confirm or raise the grade (never below the default); set the next due."""
    who = access.require_login(actor)
    entry = session.scalar(select(RegisterEntry).where(RegisterEntry.resource_code == resource_code))
    if entry is None or not session.scalar(
        select(RegisterEntry.id).where(
            RegisterEntry.id == entry.id,
            access.rows_clause(who, RegisterEntry.department_id, RegisterEntry.division_path),
        )
    ):
        raise NotFoundError(f"台账中没有资源 {resource_code[:64]} (no register entry visible to you)")
    access.require_keeper(
        session, actor=who, department_id=entry.department_id, division_code=entry.division_code
    )
    if grade not in Grade.__members__:
        raise ValidationFailedError(
            "级别应为 核心/重要/一般 之一 (grade: core, important or general)",
            details=[{"loc": ["body", "grade"], "msg": grade[:20]}],
        )
    if GRADE_RANK[Grade(grade)] < GRADE_RANK[Grade(entry.default_grade)]:
        raise ValidationFailedError(
            "就高从严：评估级别不得低于按规则确定的默认级别 (a review may not grade below the default)",
            details=[{"loc": ["body", "grade"], "msg": f"default {entry.default_grade}"}],
        )
    now = utcnow()
    g = Grade(grade)
    row = Review(
        entry_id=entry.id, grade=g.value, note=note.strip()[:2000], reviewed_by=access.actor_name(who)
    )
    entry.reviews.append(row)
    entry.grade, entry.controls = g.value, list(CONTROLS[g])
    entry.last_reviewed_at = now
    entry.next_review_due = now + timedelta(days=REVIEW_DAYS[g])
    session.flush()
    audit.record(
        session,
        actor=who,
        action="institutions.review",
        entity_type="register",
        entity_id=entry.resource_code,
        division_code=entry.division_code,
        department_id=entry.department_id,
        detail={"grade": g.value, "review": row.id},
    )
    log.info("institutions review recorded", extra={"entry_id": entry.id, "review_id": row.id})
    return row
