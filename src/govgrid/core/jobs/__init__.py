"""One job API for every module (任务队列): periodic passes and on-demand jobs.

A module declares `ModuleSpec.periodic` (PeriodicJob: run once per period however many workers run) and
`ModuleSpec.jobs` (Job: queued with `defer(name, **kwargs)`, JSON-able kwargs, idempotent function); a core
piece that is not a module calls `register_periodic` / `register_job`. On PostgreSQL `govgrid worker` runs
them on procrastinate (`queue`); on SQLite they run in the server's process (`inprocess`)."""

from govgrid.core.jobs.registry import register_job, register_periodic
from govgrid.core.jobs.service import defer, defer_after_commit, list_failed, retry_failed, start_in_process
from govgrid.core.modules import Job, PeriodicJob

__all__ = [
    "Job",
    "PeriodicJob",
    "defer",
    "defer_after_commit",
    "list_failed",
    "register_job",
    "register_periodic",
    "retry_failed",
    "start_in_process",
]
