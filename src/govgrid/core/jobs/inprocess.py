"""SQLite (the demo, tests): the same job functions run in this process, one scheduler thread per periodic
job and one thread per deferred job, so the demo needs no other server. One process only: `govgrid serve`
refuses several workers on SQLite."""

from __future__ import annotations

import logging
import threading
from typing import Any

from govgrid.core.jobs.runner import run_attempt
from govgrid.core.modules import Job, PeriodicJob

log = logging.getLogger(__name__)
FIRST_RUN_MAX_SECONDS = 300  # a daily job first runs five minutes after the start, not a day later
_stop = threading.Event()
_lock = threading.Lock()
_scheduled: dict[str, threading.Thread] = {}
_deferred: list[threading.Thread] = []


def start(periodic: list[PeriodicJob]) -> int:
    """Start a scheduler thread for each periodic job not already scheduled here; how many started."""
    started = 0
    with _lock:
        _stop.clear()
        for job in periodic:
            running = _scheduled.get(job.name)
            if running is not None and running.is_alive():
                continue
            thread = threading.Thread(target=_schedule, args=(job,), name=f"job-{job.name}", daemon=True)
            _scheduled[job.name] = thread
            thread.start()
            started += 1
    if started:
        log.info("in-process jobs started", extra={"jobs": started})
    return started


def stop(timeout: float = 5.0) -> None:
    """Stop every scheduler thread of this process (tests; a server simply exits)."""
    _stop.set()
    with _lock:
        threads = list(_scheduled.values())
        _scheduled.clear()
    for thread in threads:
        thread.join(timeout)


def _schedule(job: PeriodicJob) -> None:
    delay = min(job.every_seconds, FIRST_RUN_MAX_SECONDS)
    while not _stop.wait(delay):
        run_periodic(job)
        delay = job.every_seconds


def run_periodic(job: PeriodicJob) -> bool:
    """One period's run with its retries; True if an attempt succeeded (a failure is dead-lettered)."""
    return _attempts(job.name, job.func, {}, retries=job.retries, backoff=2)


def run_job(job: Job, kwargs: dict[str, Any]) -> bool:
    """Run an on-demand job in the caller's thread with its retries; True if an attempt succeeded."""
    return _attempts(job.name, job.func, kwargs, retries=job.retries, backoff=job.backoff_seconds)


def submit(job: Job, kwargs: dict[str, Any]) -> threading.Thread:
    """Run an on-demand job in a thread of this process, retrying with exponential backoff."""
    return _in_thread(job.name, job.func, kwargs, retries=job.retries, backoff=job.backoff_seconds)


def submit_periodic(job: PeriodicJob) -> threading.Thread:
    """Run a periodic job once now, in a thread (an operator's retry of a failed pass)."""
    return _in_thread(job.name, job.func, {}, retries=job.retries, backoff=2)


def _in_thread(
    name: str, func: Any, kwargs: dict[str, Any], *, retries: int, backoff: int
) -> threading.Thread:
    thread = threading.Thread(
        target=_attempts, args=(name, func, kwargs),
        kwargs={"retries": retries, "backoff": backoff}, name=f"job-{name}", daemon=True,
    )
    with _lock:
        _deferred[:] = [t for t in _deferred if t.is_alive()]
        _deferred.append(thread)
    thread.start()
    return thread


def wait_idle(timeout: float = 30.0) -> bool:
    """Wait for this process's deferred jobs to finish; True if none is still running."""
    with _lock:
        threads = list(_deferred)
    for thread in threads:
        thread.join(timeout)
    return not any(t.is_alive() for t in threads)


def _attempts(name: str, func: Any, kwargs: dict[str, Any], *, retries: int, backoff: int) -> bool:
    for attempt in range(1, retries + 2):
        final = attempt == retries + 1
        try:
            run_attempt(name, func, kwargs, attempt=attempt, final=final)
        except Exception:  # logged (and dead-lettered when final) by run_attempt
            if final or _stop.wait(backoff**attempt):
                return False
        else:
            return True
    return False
