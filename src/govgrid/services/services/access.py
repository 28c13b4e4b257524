"""Who sees and does what in the one-stop services, built only on `core.authz.policy`.

- an applicant sees their own applications;
- a department sees the applications it decides, accepts at its counter, or has a task in (`policy.scope`);
- an overseer of a division (reach `division`) sees every application accepted or decided in its territory
  (`policy.division_clause`): both divisions of a cross-region case envelope see the same case;
- a department task is done by the lane's role in that department (`policy.require`);
- BPMN files are uploaded by an `admin` (any division) or the platform superuser.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session

from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.errors import ForbiddenError, NotFoundError, UnauthorizedError
from govgrid.services.models import Application, TaskRecord

KIND = "services.application"
OVERSIGHT_ROLES = ("admin", "supervisor", "viewer", "operator", "approver")
SUPERVISOR_ROLES = ("supervisor", "admin")


def require_login(actor: Principal | None) -> Principal:
    """The caller, or 401."""
    if actor is None:
        raise UnauthorizedError("请先登录 (log in first)")
    return actor


def application_clause(actor: Principal) -> ColumnElement[bool]:
    """SQL: the applications the actor may see."""
    if actor.is_superuser:
        return Application.id.is_not(None)
    task_in_scope = exists(
        select(TaskRecord.id).where(
            TaskRecord.application_id == Application.id, policy.scope(TaskRecord.department_id, actor)
        )
    )
    return or_(
        Application.applicant_user_id == actor.id if actor.kind == "user" else Application.id.is_(None),
        policy.scope(Application.department_id, actor),
        policy.scope(Application.counter_department_id, actor),
        task_in_scope,
        policy.division_clause(actor, Application.accepted_division_path, OVERSIGHT_ROLES),
        policy.division_clause(actor, Application.decided_division_path, OVERSIGHT_ROLES),
    )


def visible_application(session: Session, *, actor: Principal | None, number: str) -> Application:
    """An application the actor may see, by number (404 when it does not exist or is not visible)."""
    who = require_login(actor)
    app = session.scalar(select(Application).where(Application.number == number, application_clause(who)))
    if app is None:
        raise NotFoundError(f"办件 {number} 不存在或无权查看 (no application {number} visible to you)")
    return app


def is_applicant(actor: Principal, app: Application) -> bool:
    """True when the actor is the application's applicant."""
    return actor.kind == "user" and actor.id == app.applicant_user_id


def require_applicant(actor: Principal, app: Application) -> None:
    """403 unless the actor is the applicant."""
    if not is_applicant(actor, app):
        raise ForbiddenError("只有申请人本人可以进行此操作 (only the applicant can do this)")


def require_task_role(session: Session, actor: Principal, task: TaskRecord) -> None:
    """403 unless the actor holds the lane's role in the task's department."""
    policy.require(
        session,
        actor,
        task.department_id,
        (task.role, "admin"),
        what=f"“{task.name}”任务 (the task {task.spec})",
    )


def require_uploader(actor: Principal | None) -> Principal:
    """The caller if it may upload BPMN files (an admin), else 401/403."""
    who = require_login(actor)
    policy.require_role(who, "admin")
    return who


def supervisor_clause(actor: Principal) -> ColumnElement[bool]:
    """SQL: applications in the territory the actor supervises (either division of the envelope)."""
    return or_(
        policy.division_clause(actor, Application.accepted_division_path, SUPERVISOR_ROLES),
        policy.division_clause(actor, Application.decided_division_path, SUPERVISOR_ROLES),
        policy.scope(Application.department_id, actor, SUPERVISOR_ROLES),
    )


def task_clause(actor: Principal) -> Any:
    """SQL: open tasks the actor may do (lane role in a department in scope)."""
    if actor.is_superuser:
        return TaskRecord.id.is_not(None)
    parts: list[ColumnElement[bool]] = [
        (TaskRecord.role == role) & policy.scope(TaskRecord.department_id, actor, (role, "admin"))
        for role in {a.role for a in actor.assignments}
    ]
    parts += [policy.scope(TaskRecord.department_id, actor, ("admin",))]
    return or_(*parts)
