"""Protection alerts (湿地保护预警): a report's land-cover loss over the threshold becomes an alert with
one task for each of the county's forestry and ecology-environment departments, worked from an inbox.

The raster comparison itself is domain code (``govgrid.carbon.landcover``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.carbon import landcover
from govgrid.carbon.enums import AlertStatus, AlertTaskStatus, require_move
from govgrid.carbon.models import AlertTask, CarbonProject, MonitoringReport, ProtectionAlert
from govgrid.carbon.services import access, projects, reports
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.departments import service as departments
from govgrid.core.departments.models import Department
from govgrid.core.errors import AppError, ConflictError, NotFoundError, ValidationFailedError
from govgrid.core.events import publish

log = logging.getLogger(__name__)

PROTECTION_ALERT = "carbon.protection_alert"
ALERT_LINES = ("forestry", "ecology_environment")
TASK_ROLES = ("operator", "admin", "handler", "inspector")


def raise_alert(
    session: Session,
    *,
    actor: Actor,
    project: CarbonProject,
    epoch_from: int,
    epoch_to: int,
    loss: landcover.LandCoverLoss,
    threshold_ha: float,
    report_id: int | None = None,
) -> ProtectionAlert | None:
    """Create an alert and tasks for the county's forestry and ecology-environment departments when loss >
    threshold."""
    if loss.lost_ha <= threshold_ha:
        return None
    alert = ProtectionAlert(
        project_id=project.id,
        report_id=report_id,
        division_code=project.division_code,
        epoch_from=epoch_from,
        epoch_to=epoch_to,
        lost_ha=loss.lost_ha,
        threshold_ha=threshold_ha,
        transitions=dict(loss.transitions),
        status=AlertStatus.open,
    )
    session.add(alert)
    session.flush()
    county = project.division_code[:6]
    dept_ids = []
    for line in ALERT_LINES:
        dept = session.scalar(select(Department).where(Department.code == f"{county}-{line}"))
        if dept is None:
            dept = departments.ensure(session, line_code=line, division_code=county)
        session.add(AlertTask(alert_id=alert.id, department_id=dept.id, status=AlertTaskStatus.open))
        dept_ids.append(dept.id)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="carbon.protection_alert",
        entity_type="carbon_alert",
        entity_id=alert.id,
        division_code=project.division_code,
        department_id=project.department_id,
        detail={
            "project": project.code,
            "lost_ha": loss.lost_ha,
            "transitions": loss.transitions,
            "epochs": [epoch_from, epoch_to],
            "departments": dept_ids,
        },
    )
    publish(
        session,
        PROTECTION_ALERT,
        alert_id=alert.id,
        project=project.code,
        division_code=project.division_code,
        lost_ha=loss.lost_ha,
        epochs=[epoch_from, epoch_to],
        department_ids=dept_ids,
    )
    log.warning(
        "protection alert raised",
        extra={
            "alert_id": alert.id,
            "project_id": project.id,
            "report_id": report_id,
            "lost_ha": loss.lost_ha,
            "threshold_ha": threshold_ha,
            "department_ids": dept_ids,
        },
    )
    return alert


def check_report_landcover(
    session: Session, *, actor: Actor, report_id: int, threshold_ha: float = landcover.DEFAULT_THRESHOLD_HA
) -> tuple[landcover.LandCoverLoss, ProtectionAlert | None]:
    """Compare the report's two land-cover rasters inside the project; raise an alert over the threshold."""
    report = session.get(MonitoringReport, report_id)
    if report is None:
        raise NotFoundError(f"监测报告 {report_id} 不存在 (no monitoring report {report_id})")
    p = access.principal_of(actor)
    if p is not None:
        projects.get_project(session, principal=p, project_id=report.project_id)
    names = [f"landcover_{report.vintage_start}.tif", f"landcover_{report.vintage_end}.tif"]
    files = reports.report_files(session, report_id=report_id, names=names)
    missing = [n for n in names if n not in files]
    if missing:
        raise ConflictError(
            f"报告缺少地类栅格 {missing} (the report has no land-cover rasters: upload them first)"
        )
    try:
        loss = landcover.loss_from_rasters(
            files[names[0]], files[names[1]], json.loads(report.project.boundary), names=(names[0], names[1])
        )
    except AppError:  # core.geofiles: not a GeoTIFF, unreadable, too many pixels (its messages hold no paths)
        raise
    except landcover.RastersNotComparableError as exc:  # our own messages (grids differ, no CRS)
        raise ValidationFailedError(str(exc)) from None
    except Exception:  # rasterio, pyproj and numpy raise many types; their text may name server paths
        # the client gets a short message; the detail (and traceback) stays in the server's log
        log.exception("land-cover check failed", extra={"report_id": report_id})
        raise ValidationFailedError("地类栅格无法读取 (the land-cover rasters could not be read)") from None
    alert = raise_alert(
        session,
        actor=actor,
        project=report.project,
        epoch_from=report.vintage_start,
        epoch_to=report.vintage_end,
        loss=loss,
        threshold_ha=threshold_ha,
        report_id=report.id,
    )
    report.summary = {**report.summary, "landcover_loss": asdict(loss)}
    session.flush()
    return loss, alert


def list_alert_tasks(
    session: Session, *, principal: Principal, status: str | None, limit: int, offset: int
) -> tuple[list[AlertTask], int]:
    """The caller's alert inbox: tasks of departments in scope."""
    stmt = select(AlertTask).where(policy.scope(AlertTask.department_id, principal))
    if status:
        stmt = stmt.where(AlertTask.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(AlertTask.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), total


def update_alert_task(
    session: Session, *, actor: Principal, task_id: int, status: str, note: str | None
) -> AlertTask:
    """Mark an alert task done (or reopen it) with a note."""
    task = session.get(AlertTask, task_id)
    if task is None:
        raise NotFoundError(f"预警任务 {task_id} 不存在 (no alert task {task_id})")
    policy.require(session, actor, task.department_id, TASK_ROLES, what="该预警任务 (this alert task)")
    target = AlertTaskStatus(status)
    before = task.status
    require_move(before, target, message=f"预警任务状态为 {before} (the alert task is {before})")
    done = target == AlertTaskStatus.done
    task.status = target
    task.note = note
    task.done_by = actor.name if done else None
    task.done_at = utcnow() if done else None
    open_left = session.scalar(
        select(func.count())
        .select_from(AlertTask)
        .where(AlertTask.alert_id == task.alert_id, AlertTask.status == AlertTaskStatus.open)
    )
    alert = task.alert
    alert_before = alert.status
    alert_after = AlertStatus.open if open_left else AlertStatus.closed
    require_move(
        alert_before, alert_after, message=f"预警状态为 {alert_before} (the alert is {alert_before})"
    )
    alert.status = alert_after
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="carbon.alert_task_update",
        entity_type="carbon_alert_task",
        entity_id=task.id,
        division_code=alert.division_code,
        department_id=task.department_id,
        detail={"status": status},
    )
    log.info(
        "alert task moved",
        extra={"task_id": task.id, "alert_id": alert.id, "from": str(before), "to": target.value},
    )
    if alert_after != alert_before:
        log.info(
            "protection alert moved",
            extra={"alert_id": alert.id, "from": str(alert_before), "to": alert_after.value},
        )
    return task


def project_alerts(session: Session, *, project_id: int) -> list[ProtectionAlert]:
    """Alerts of one project."""
    return list(
        session.scalars(
            select(ProtectionAlert)
            .where(ProtectionAlert.project_id == project_id)
            .order_by(ProtectionAlert.id)
        )
    )
