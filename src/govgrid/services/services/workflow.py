"""Running an application's BPMN process: start, persist after every step, department tasks in sync, the
timeline, the working-day clock (paused during 补正), timers, completion."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core.audit.service import Actor
from govgrid.core.db import utcnow
from govgrid.core.departments.models import Department
from govgrid.core.errors import ConflictError
from govgrid.core.workdays import default_calendar
from govgrid.services import engine
from govgrid.services.enums import AppStatus, EventKind, require_move
from govgrid.services.models import Application, TaskRecord, TimelineEvent

log = logging.getLogger(__name__)
# Form fields kept out of the process data (the BPMN sees only what its conditions need).
PERSONAL_FIELDS = ("applicant_id_number", "applicant_name", "phone", "address", "household_no")


def actor_name(actor: Actor) -> str:
    """The name written on timeline entries and task records."""
    return actor.audit_identity[2] or actor.audit_identity[0]


def note(
    session: Session,
    app: Application,
    *,
    kind: str,
    text: str,
    actor: Actor,
    department_id: int | None = None,
    division_code: str | None = None,
) -> None:
    """Append one timeline entry (seen by the applicant and both divisions of the envelope)."""
    session.add(
        TimelineEvent(
            application_id=app.id,
            at=utcnow(),
            kind=kind,
            text=text[:2000],
            actor=actor_name(actor),
            department_id=department_id,
            division_code=division_code or app.decided_division_code,
        )
    )


def process_data(form: dict[str, Any], number: str) -> dict[str, Any]:
    """The initial task data of a process: the non-personal form fields and the application number."""
    return {"application": number, "form": {k: v for k, v in form.items() if k not in PERSONAL_FIELDS}}


def load(app: Application) -> BpmnWorkflow:
    """The application's workflow as last persisted."""
    return engine.loads(app.workflow_state)


def persist(app: Application, wf: BpmnWorkflow) -> None:
    """Write the workflow's whole state into the row (called after every step; flushed with the session)."""
    app.workflow_state = engine.dumps(wf)
    app.steps = (app.steps or 0) + 1
    app.waiting_timer = engine.has_waiting_timers(wf)


def _department_for(session: Session, app: Application, line: str) -> Department:
    dept = session.scalar(
        select(Department)
        .where(Department.line_code == line, Department.division_code == app.decided_division_code)
        .order_by(Department.id)
        .limit(1)
    )
    if dept is None:
        raise ConflictError(
            f"办理地没有{line}部门，无法分派任务 (no {line} department in the deciding division)"
        )
    return dept


def sync_tasks(session: Session, app: Application, wf: BpmnWorkflow, *, actor: Actor) -> list[TaskRecord]:
    """Open a task record for every newly ready user task (the department work lists)."""
    known = set(session.scalars(select(TaskRecord.task_uuid).where(TaskRecord.application_id == app.id)))
    created = []
    for ready in engine.ready_tasks(wf):
        if ready.id in known:
            continue
        dept = _department_for(session, app, ready.line)
        rec = TaskRecord(
            application_id=app.id,
            task_uuid=ready.id,
            spec=ready.spec,
            name=ready.name,
            line_code=ready.line,
            role=ready.role,
            department_id=dept.id,
            created_at=utcnow(),
        )
        session.add(rec)
        created.append(rec)
        note(
            session,
            app,
            kind=EventKind.task_ready,
            text=f"{dept.name}：{ready.name}（待办）",
            actor=actor,
            department_id=dept.id,
        )
    return created


def start_clock(app: Application, promised_days: int, now: datetime) -> None:
    """The promised limit in working days from submission (weekends and holidays skipped)."""
    app.due_at = default_calendar().add_working_days(now, promised_days)


def pause_clock(app: Application, now: datetime) -> None:
    """补正: stop the clock, keeping the working days that were left."""
    due = app.due_at or now
    app.remaining_days = max(0, default_calendar().working_days_between(now, due)) if due > now else 0
    app.paused_at = now


def resume_clock(app: Application, now: datetime) -> None:
    """The clock runs again with the working days that were left when it paused."""
    app.due_at = default_calendar().add_working_days(now, app.remaining_days or 0)
    app.paused_at = None
    app.remaining_days = None


def move(app: Application, target: AppStatus) -> None:
    """Change the status through the transition table (409 on a move it forbids)."""
    require_move(app.status, target)
    app.status = target


def finish_if_done(session: Session, app: Application, wf: BpmnWorkflow, *, actor: Actor) -> bool:
    """Mark the application completed when its process ended; True if it did."""
    if not engine.is_completed(wf):
        return False
    move(app, AppStatus.approved)
    app.finished_at = utcnow()
    note(session, app, kind=EventKind.approved, text="全部事项办结", actor=actor)
    log.info("application completed", extra={"application": app.number})
    return True


def close_open_tasks(session: Session, app: Application, *, by: str) -> None:
    """Close every open task of an application (refusal, withdrawal)."""
    for rec in session.scalars(
        select(TaskRecord).where(TaskRecord.application_id == app.id, TaskRecord.open.is_(True))
    ):
        rec.open = False
        rec.done_at = utcnow()
        rec.done_by = rec.done_by or by


def refresh_timers(session: Session, *, actor: Actor, limit: int = 500) -> int:
    """Fire due BPMN timers of open applications and persist each one that moved; how many moved."""
    moved = 0
    rows = session.scalars(
        select(Application)
        .where(Application.waiting_timer.is_(True), Application.status == AppStatus.in_progress)
        .limit(limit)
    )
    for app in rows:
        wf = load(app)
        fired = engine.refresh_timers(wf)
        if not fired:
            continue
        persist(app, wf)
        for name in fired:
            note(session, app, kind=EventKind.timer, text=f"计时事件 {name} 到期", actor=actor)
        sync_tasks(session, app, wf, actor=actor)
        finish_if_done(session, app, wf, actor=actor)
        moved += 1
        log.info("application timers fired", extra={"application": app.number, "timers": len(fired)})
    session.flush()
    return moved
