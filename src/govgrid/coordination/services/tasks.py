"""Tasks down the tree (任务分解) with deadlines, progress and the 三色督查单 (blue → orange → red).

A measure-backed task's progress is computed from the measures port over [period_start, now) for each assigned
division (never typed in); a hand-reported task's progress is what the division reports, with evidence. The
assigning level sees every part; an assigned division sees its own part. Overdue parts surface on the
assigning level's 督查单; red ones (overdue past the warning) also on the level above it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from govgrid.coordination.enums import (
    ASSIGNMENT,
    BLUE_DAYS,
    OPEN_ASSIGNMENT,
    ORANGE_DAYS,
    AssignmentState,
    Better,
    Colour,
)
from govgrid.coordination.models import Assignment, Task
from govgrid.coordination.services import access, targets
from govgrid.core import ports
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.db import utcnow
from govgrid.core.departments import service as departments
from govgrid.core.divisions import service as divisions
from govgrid.core.errors import NotFoundError, ValidationFailedError

log = logging.getLogger(__name__)


@dataclass
class AssignmentView:
    """An assignment with its computed figures: measure value, progress (0..1), met, colour, days left."""

    row: Assignment
    measure_value: float | None
    progress: float | None
    met: bool
    colour: Colour
    days_left: int


def colour_of(state: str, deadline: datetime, now: datetime, met: bool) -> tuple[Colour, int]:
    """The 三色 colour of an open part and whole days left (negative: overdue)."""
    days_left = (deadline - now) // timedelta(days=1)
    if state not in OPEN_ASSIGNMENT:
        return Colour.none, days_left
    if deadline >= now:
        return (Colour.blue if days_left < BLUE_DAYS and not met else Colour.none), days_left
    return (Colour.orange if -days_left <= ORANGE_DAYS else Colour.red), days_left


def evaluate(session: Session, row: Assignment, *, now: datetime | None = None) -> AssignmentView:
    """An assignment's figures now (the measure computed from the modules for measure-backed tasks)."""
    now = now or utcnow()
    task = row.task
    value: float | None = None
    if task.measure_key and task.target_value is not None:
        end = max(min(now, task.deadline), task.period_start + timedelta(seconds=1))
        value = ports.measures(session, row.division_code, task.period_start, end).get(task.measure_key)
        if value is None:
            progress = None
        elif task.better == Better.more:
            progress = min(1.0, value / task.target_value) if task.target_value else 1.0
        else:
            progress = min(1.0, task.target_value / value) if value else 1.0
        met = value is not None and targets.meets(value, task.target_value, task.better)
    else:
        progress = 1.0 if row.state == AssignmentState.done else row.reported_progress
        met = row.state == AssignmentState.done
    colour, days_left = colour_of(row.state, task.deadline, now, met)
    return AssignmentView(row, value, progress, met, colour, days_left)


def next_code(session: Session) -> str:
    """The next task number of the year, e.g. RW-2026-000001."""
    year = utcnow().year
    n = session.scalar(select(func.count(Task.id)).where(Task.code.like(f"RW-{year}-%"))) or 0
    return f"RW-{year}-{n + 1:06d}"


def create_task(
    session: Session,
    *,
    actor: Actor,
    division_code: str,
    title: str,
    deadline: datetime,
    description: str = "",
    assignees: list[str] | None = None,
    measure_key: str | None = None,
    target_value: float | None = None,
    period_start: datetime | None = None,
    is_demo: bool = False,
) -> Task:
    """Assign a task from a level to divisions below it (default: every direct child)."""
    problems = []
    better = Better.more.value
    if measure_key:
        m = targets.measure(measure_key)
        better = m.better
        if target_value is None:
            problems.append({"loc": ["target_value"], "msg": "指标任务需要目标值 (a measure needs a target)"})
        elif m.unit == "ratio" and target_value > 1:
            problems.append({"loc": ["target_value"], "msg": "比率在 0 到 1 之间 (a ratio is 0..1)"})
    start = period_start or utcnow()
    if deadline.tzinfo is None or start.tzinfo is None:
        problems.append({"loc": ["deadline"], "msg": "时间须带时区 (timezone required)"})
    elif deadline <= start:
        problems.append({"loc": ["deadline"], "msg": "截止时间应晚于开始时间 (deadline after start)"})
    if problems:
        raise ValidationFailedError("任务无法下达 (the task cannot be assigned)", details=problems)
    div = access.require_oversee(session, actor=actor, code=division_code, roles=access.WRITE_ROLES)
    wanted = list(dict.fromkeys(assignees or [c.code for c in divisions.children(session, div.code)]))
    below = []
    for code in wanted:
        child = access.division(session, code)
        if not child.path.startswith(div.path) or child.code == div.code:
            problems.append(
                {"loc": ["assignees", code], "msg": f"{child.name} 不在 {div.name} 之下 (not below)"}
            )
        below.append(child)
    if not below:
        problems.append({"loc": ["assignees"], "msg": "没有下级区划可以分解 (no division below)"})
    if problems:
        raise ValidationFailedError("任务无法下达 (the task cannot be assigned)", details=problems)
    dept = departments.ensure(session, line_code="government", division_code=div.code)
    task = Task(
        code=next_code(session),
        title=title.strip(),
        description=description,
        division_code=div.code,
        division_path=div.path,
        department_id=dept.id,
        measure_key=measure_key or None,
        target_value=target_value if measure_key else None,
        better=better,
        period_start=start,
        deadline=deadline,
        created_by=access.actor_name(actor),
        is_demo=is_demo,
    )
    session.add(task)
    session.flush()
    for child in below:
        session.add(
            Assignment(
                task_id=task.id,
                division_code=child.code,
                division_path=child.path,
                state=AssignmentState.assigned.value,
            )
        )
    session.flush()
    session.refresh(task)
    audit.record(
        session,
        actor=actor,
        action="coordination.task_create",
        entity_type="task",
        entity_id=task.id,
        division_code=div.code,
        detail={"assignees": [c.code for c in below], "measure": measure_key},
    )
    log.info("task assigned", extra={"task_id": task.id, "assignments": len(below)})
    return task


def visible_assignments(
    session: Session, *, actor: Actor, division_code: str | None = None
) -> list[Assignment]:
    """Assignments the actor may see: all parts of tasks its territory assigned, and its own parts."""
    stmt = (
        select(Assignment)
        .join(Task, Task.id == Assignment.task_id)
        .where(
            or_(
                access.territory(actor, Task.division_path), access.territory(actor, Assignment.division_path)
            )
        )
    )
    if division_code:
        div = access.require_oversee(session, actor=actor, code=division_code)
        stmt = stmt.where(
            or_(
                divisions.in_subtree(Task.division_path, div.path),
                divisions.in_subtree(Assignment.division_path, div.path),
            )
        )
    return list(session.scalars(stmt.order_by(Task.deadline, Task.id, Assignment.division_code)).unique())


def board(
    session: Session, *, actor: Actor, division_code: str | None = None
) -> list[tuple[Task, list[AssignmentView]]]:
    """The task board: each visible task with its visible parts evaluated now."""
    now = utcnow()
    grouped: dict[int, tuple[Task, list[AssignmentView]]] = {}
    for row in visible_assignments(session, actor=actor, division_code=division_code):
        grouped.setdefault(row.task_id, (row.task, []))[1].append(evaluate(session, row, now=now))
    audit.record(
        session,
        actor=actor,
        action="coordination.tasks_read",
        entity_type="task",
        division_code=division_code,
        detail={"tasks": len(grouped)},
    )
    return list(grouped.values())


def get_assignment(session: Session, *, actor: Actor, assignment_id: int) -> Assignment:
    """One visible assignment (404 when outside the actor's view, as for a missing one)."""
    row = session.scalar(
        select(Assignment)
        .join(Task, Task.id == Assignment.task_id)
        .where(
            Assignment.id == assignment_id,
            or_(
                access.territory(actor, Task.division_path), access.territory(actor, Assignment.division_path)
            ),
        )
    )
    if row is None:
        raise NotFoundError(
            f"任务分解 {assignment_id} 不存在或不在您的辖区 (no such assignment in your view)"
        )
    return row


def report_progress(
    session: Session,
    *,
    actor: Actor,
    assignment_id: int,
    progress: float | None = None,
    evidence: str = "",
    done: bool = False,
) -> AssignmentView:
    """The assigned division reports progress with evidence, or that its part is done."""
    row = get_assignment(session, actor=actor, assignment_id=assignment_id)
    access.require_oversee(
        session, actor=actor, code=row.division_code, roles=access.WRITE_ROLES, what="该任务的承办区划"
    )
    task = row.task
    if task.measure_key and progress is not None:
        raise ValidationFailedError(
            "指标任务的进度由业务数据自动计算，不能手工填写 (computed from the measures)",
            details=[{"loc": ["progress"], "msg": "computed"}],
        )
    if not evidence.strip() and (done or progress is not None):
        raise ValidationFailedError(
            "请填写佐证材料说明 (evidence is required)", details=[{"loc": ["evidence"], "msg": "required"}]
        )
    target = AssignmentState.done if done else AssignmentState.in_progress
    ASSIGNMENT.require_move(
        row.state,
        target,
        message=f"该任务当前为 {row.state}，不能再报送 (this part cannot take a report now)",
    )
    if done and task.measure_key:
        view = evaluate(session, row)
        if not view.met:
            shown = "无数据" if view.measure_value is None else f"{view.measure_value:.3g}"
            raise ValidationFailedError(
                f"指标尚未达到目标（当前 {shown}，目标 {task.target_value:g}），不能报结 (target not met)",
                details=[{"loc": ["done"], "msg": "target not met"}],
            )
    row.state = target.value
    if progress is not None:
        row.reported_progress = progress
    row.evidence = evidence.strip()
    row.reported_by = access.actor_name(actor)
    row.reported_at = utcnow()
    row.done_at = row.reported_at if done else None
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="coordination.task_report",
        entity_type="assignment",
        entity_id=row.id,
        division_code=row.division_code,
        detail={"state": row.state},
    )
    log.info("task progress reported", extra={"assignment_id": row.id, "state": row.state})
    return evaluate(session, row)


def supervision(session: Session, *, actor: Actor, division_code: str) -> list[AssignmentView]:
    """The level's 督查单: its tasks' blue/orange/red parts, and red parts of tasks its children set."""
    div = access.require_oversee(session, actor=actor, code=division_code)
    child_codes = [c.code for c in divisions.children(session, div.code)]
    stmt = (
        select(Assignment)
        .join(Task, Task.id == Assignment.task_id)
        .where(
            Assignment.state.in_([s.value for s in OPEN_ASSIGNMENT]),
            or_(Task.division_code == div.code, Task.division_code.in_(child_codes)),
        )
    )
    now = utcnow()
    out = []
    for row in session.scalars(stmt.order_by(Task.deadline)).unique():
        view = evaluate(session, row, now=now)
        own = row.task.division_code == div.code
        if (own and view.colour != Colour.none) or (not own and view.colour == Colour.red):
            out.append(view)
    audit.record(
        session,
        actor=actor,
        action="coordination.supervision_read",
        entity_type="division",
        entity_id=div.code,
        division_code=div.code,
        detail={"flags": len(out)},
    )
    return out
