"""The dead-letter view (失败任务) for operators: `GET /api/v1/jobs/failed`, its retry, `/admin/jobs`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel

from govgrid.core.deps import CurrentPrincipal, SessionDep
from govgrid.core.jobs import service
from govgrid.core.jobs.models import JobFailure
from govgrid.core.pages import PagePrincipal, register_messages, render

api_router = APIRouter(prefix="/jobs", tags=["jobs"])
page_router = APIRouter(include_in_schema=False)
FAILURE_ID = Annotated[int, Path(ge=1, le=2_147_483_647)]

MESSAGES = {
    "zh-CN": {
        "jobs.title": "失败任务",
        "jobs.help": "重试次数用尽仍然失败的后台任务（死信）。排除原因后点“重试”重新排队。",
        "jobs.backend_pg": "任务队列：数据库任务队列（由独立的任务进程执行）",
        "jobs.backend_sqlite": "任务队列：本进程内执行（演示库，失败记录保存在数据库表中）",
        "jobs.none": "没有失败任务。",
        "jobs.id": "编号",
        "jobs.name": "任务",
        "jobs.error": "错误",
        "jobs.attempts": "尝试次数",
        "jobs.failed_at": "失败时间（UTC）",
        "jobs.args": "参数",
        "jobs.retry": "重试",
        "jobs.retried": "任务 {id} 已重新排队。",
    },
    "en": {
        "jobs.title": "Failed jobs",
        "jobs.help": "Background jobs that still failed after their last retry (dead letters). Fix the "
                     "cause, then press Retry to queue one again.",
        "jobs.backend_pg": "Job queue: PostgreSQL (run by govgrid worker)",
        "jobs.backend_sqlite": "Job queue: in this process (SQLite demo; the records are kept in a table)",
        "jobs.none": "No failed jobs.",
        "jobs.id": "No.",
        "jobs.name": "Job",
        "jobs.error": "Error",
        "jobs.attempts": "Attempts",
        "jobs.failed_at": "Failed at (UTC)",
        "jobs.args": "Arguments",
        "jobs.retry": "Retry",
        "jobs.retried": "Job {id} was queued again.",
    },
}
register_messages(MESSAGES)


class FailedJobRead(BaseModel):
    """A dead letter: the job, its arguments, the last error and how many attempts it had."""

    id: int
    job_name: str
    queue_job_id: int | None
    args: dict[str, object]
    error: str
    attempts: int
    status: str
    failed_at: datetime
    retried_at: datetime | None


def _read(f: JobFailure) -> FailedJobRead:
    return FailedJobRead(id=f.id, job_name=f.job_name, queue_job_id=f.queue_job_id, args=f.args,
                         error=f.error, attempts=f.attempts, status=f.status, failed_at=f.failed_at,
                         retried_at=f.retried_at)


@api_router.get("/failed", response_model=list[FailedJobRead])
def failed_jobs(session: SessionDep, principal: CurrentPrincipal) -> list[FailedJobRead]:
    """Jobs that failed their last attempt, newest first (platform administrators only)."""
    return [_read(f) for f in service.list_failed(session, actor=principal)]


@api_router.post("/failed/{failure_id}/retry", response_model=FailedJobRead)
def retry_failed_job(
    failure_id: FAILURE_ID, session: SessionDep, principal: CurrentPrincipal
) -> FailedJobRead:
    """Queue a failed job again (platform administrators only); 409 if it was already retried."""
    return _read(service.retry_failed(session, actor=principal, failure_id=failure_id))


@page_router.get("/admin/jobs")
def jobs_page(request: Request, session: SessionDep, principal: PagePrincipal) -> HTMLResponse:
    """The dead-letter page with a retry button per job."""
    from govgrid.config import get_settings

    failures = service.list_failed(session, actor=principal)
    retried = request.query_params.get("retried", "")
    return render(request, "admin_jobs.html", {
        "failures": failures,
        "retried": retried if retried.isdigit() else "",
        "sqlite": get_settings().is_sqlite,
    })


@page_router.post("/admin/jobs/{failure_id}/retry")
def jobs_page_retry(
    failure_id: FAILURE_ID, session: SessionDep, principal: PagePrincipal
) -> RedirectResponse:
    """The page's retry button (the form carries the CSRF token); back to the list with a note."""
    service.retry_failed(session, actor=principal, failure_id=failure_id)
    return RedirectResponse(f"/admin/jobs?retried={failure_id}", status_code=303)
