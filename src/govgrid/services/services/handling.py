"""Department handling (部门办理): the work list of each department role, decisions on tasks (同意, 不予许可,
补正), the supervisor's overdue view."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core.audit import service as audit
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.errors import ConflictError, NotFoundError, ValidationFailedError
from govgrid.core.workdays import default_calendar
from govgrid.services import engine
from govgrid.services.enums import AppStatus, Decision, EventKind
from govgrid.services.models import Application, TaskRecord
from govgrid.services.services import certificates, workflow
from govgrid.services.services.access import (
    KIND,
    require_login,
    require_task_role,
    supervisor_clause,
    task_clause,
)

log = logging.getLogger(__name__)
DECISION_ZH = {Decision.approve: "同意", Decision.reject: "不予许可", Decision.supplement: "要求补正"}


def work_list(session: Session, *, actor: Principal | None) -> list[tuple[TaskRecord, Application]]:
    """Open tasks the caller's department roles may do, oldest first."""
    who = require_login(actor)
    stmt = (
        select(TaskRecord, Application)
        .join(Application, Application.id == TaskRecord.application_id)
        .where(TaskRecord.open.is_(True), task_clause(who))
        .order_by(TaskRecord.created_at, TaskRecord.id)
        .limit(500)
    )
    return [(t, a) for t, a in session.execute(stmt).all()]


def _task(session: Session, who: Principal, task_id: int) -> tuple[TaskRecord, Application]:
    row = session.execute(
        select(TaskRecord, Application)
        .join(Application, Application.id == TaskRecord.application_id)
        .where(TaskRecord.id == task_id, task_clause(who))
    ).first()
    if row is None:
        raise NotFoundError(f"任务 {task_id} 不存在或不在您的待办中 (no task {task_id} for you)")
    return row[0], row[1]


def decide(
    session: Session,
    *,
    actor: Principal | None,
    task_id: int,
    decision: str,
    note: str = "",
) -> Application:
    """A department's decision on its task; the process moves on and its state is persisted."""
    who = require_login(actor)
    try:
        choice = Decision(decision)
    except ValueError:
        raise ValidationFailedError(
            "请选择办理意见：同意、不予许可或要求补正 (invalid decision)",
            details=[{"loc": ["decision"], "msg": ", ".join(Decision)}],
        ) from None
    note = (note or "").strip()[:1000]
    if choice != Decision.approve and not note:
        raise ValidationFailedError(
            "不予许可或要求补正时必须写明理由 (a reason is required)",
            details=[{"loc": ["note"], "msg": "required"}],
        )
    task, app = _task(session, who, task_id)
    require_task_role(session, who, task)
    if not task.open:
        raise ConflictError("该任务已办理 (the task was already done)")
    if app.status == AppStatus.supplement:
        raise ConflictError(
            "办件正在等待申请人补正，补正后才能继续办理 (waiting for the applicant's supplement)"
        )
    if app.status != AppStatus.in_progress:
        raise ConflictError("办件已结束 (the application is closed)")
    now = utcnow()
    name = workflow.actor_name(who)
    text = f"{task.department.name}：{task.name} — {DECISION_ZH[choice]}" + (f"（{note}）" if note else "")
    if choice == Decision.supplement:
        workflow.move(app, AppStatus.supplement)
        workflow.pause_clock(app, now)
        workflow.note(
            session,
            app,
            kind=EventKind.supplement_requested,
            actor=who,
            department_id=task.department_id,
            text=text + "，计时暂停",
        )
    else:
        wf = workflow.load(app)
        if choice == Decision.approve:
            try:
                engine.complete(wf, task.task_uuid, {"decision": choice.value, "by": name})
            except engine.BpmnRunError as exc:
                raise ConflictError(f"流程无法继续：{exc} (the process cannot continue)") from None
        else:
            engine.cancel(wf)
        workflow.persist(app, wf)
        task.open, task.decision, task.note, task.done_by, task.done_at = False, choice.value, note, name, now
        workflow.note(
            session, app, kind=EventKind.task_done, actor=who, department_id=task.department_id, text=text
        )
        if choice == Decision.reject:
            workflow.move(app, AppStatus.rejected)
            app.finished_at, app.decision_note = now, note
            workflow.close_open_tasks(session, app, by=name)
            workflow.note(session, app, kind=EventKind.rejected, actor=who, text=f"不予许可：{note}")
        else:
            workflow.sync_tasks(session, app, wf, actor=who)
            if workflow.finish_if_done(session, app, wf, actor=who):
                cert = certificates.issue(session, actor=who, app=app)
                workflow.note(
                    session,
                    app,
                    kind=EventKind.certificate,
                    actor=who,
                    text=f"电子证照已签发：{cert.cert_type} {cert.number}",
                )
    audit.record(
        session,
        actor=who,
        action=f"services.task.{choice.value}",
        entity_type=KIND,
        entity_id=app.number,
        department_id=task.department_id,
        division_code=app.decided_division_code,
        detail={"task": task.spec, "task_id": task.id},
    )
    log.info(
        "application task decided",
        extra={"application": app.number, "task": task.id, "decision": choice.value},
    )
    session.flush()
    return app


def overdue(
    session: Session, *, actor: Principal | None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Open applications past their promised limit in the supervisor's territory (补正 pauses the clock)."""
    who = require_login(actor)
    at = now or utcnow()
    rows = session.scalars(
        select(Application)
        .where(Application.status == AppStatus.in_progress, Application.due_at < at, supervisor_clause(who))
        .order_by(Application.due_at)
        .limit(500)
    )
    out = []
    for app in rows:
        waiting = list(
            session.scalars(
                select(TaskRecord).where(TaskRecord.application_id == app.id, TaskRecord.open.is_(True))
            )
        )
        out.append(
            {
                "app": app,
                "waiting": waiting,
                "late_days": default_calendar().working_days_between(app.due_at, at) if app.due_at else 0,
            }
        )
    return out
