"""Which jobs exist: every enabled module's `periodic` and `jobs`, and those core pieces registered."""

from __future__ import annotations

from govgrid.core.events import OUTBOX_RELAY
from govgrid.core.modules import Job, PeriodicJob, module_specs

_periodic: dict[str, PeriodicJob] = {OUTBOX_RELAY.name: OUTBOX_RELAY}  # core.events: at-least-once delivery
_on_demand: dict[str, Job] = {}


def register_periodic(job: PeriodicJob) -> None:
    """Declare a periodic job of a core piece that is not a module (e.g. the events outbox relay)."""
    every_to_cron(job.every_seconds)  # refuse a period the queue cannot schedule, at declaration time
    _periodic[job.name] = job


def register_job(job: Job) -> None:
    """Declare an on-demand job of a core piece that is not a module."""
    _on_demand[job.name] = job


def unregister(name: str) -> None:
    """Forget a registered core job (tests, plugins that stop)."""
    _periodic.pop(name, None)
    _on_demand.pop(name, None)


def periodic_jobs() -> list[PeriodicJob]:
    """Every periodic job: the registered core ones, then each enabled module's."""
    found = dict(_periodic)
    for spec in module_specs():
        for job in spec.periodic:
            found.setdefault(job.name, job)
    return list(found.values())


def on_demand_jobs() -> list[Job]:
    """Every on-demand job: the registered core ones, then each enabled module's."""
    found = dict(_on_demand)
    for spec in module_specs():
        for job in spec.jobs:
            found.setdefault(job.name, job)
    return list(found.values())


def find_job(name: str) -> Job | None:
    """The on-demand job of that name, if any."""
    return next((j for j in on_demand_jobs() if j.name == name), None)


def find_periodic(name: str) -> PeriodicJob | None:
    """The periodic job of that name, if any."""
    return next((j for j in periodic_jobs() if j.name == name), None)


def every_to_cron(seconds: int) -> str:
    """The cron line (seconds as a sixth field when needed) of a period that divides a minute, an hour or a
    day evenly; ValueError for any other period."""
    if seconds <= 0:
        raise ValueError(f"period must be positive: {seconds}")
    if seconds < 60 and 60 % seconds == 0:
        return f"* * * * * */{seconds}"
    minutes, rest = divmod(seconds, 60)
    if not rest and minutes < 60 and 60 % minutes == 0:
        return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
    hours, rest = divmod(seconds, 3600)
    if not rest and hours < 24 and 24 % hours == 0:
        return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
    days, rest = divmod(seconds, 86400)
    if not rest and days == 1:
        return "0 0 * * *"
    raise ValueError(f"a period of {seconds} s does not divide a minute, an hour or a day")
