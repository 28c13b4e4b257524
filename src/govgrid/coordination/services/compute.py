"""Compute pools across regions (东数西算): the registry, placement by residency and cost, running on Dask.

A pool names a Dask scheduler (one cluster per region); a batch job is placed by ``placement.place`` (the
cheapest pool with room that the data's residency rules allow) and run through a client of that scheduler. The
demonstration job is a carbon-like raster reduction: land-cover classes times a stock density per class,
summed over the cells (illustrative densities, not the carbon module's methodology).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.config import get_settings
from govgrid.coordination.enums import JOB, JobState
from govgrid.coordination.models import ComputeJob, ComputePool
from govgrid.coordination.placement import PoolView, place
from govgrid.coordination.services import access
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.db import utcnow
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ConflictError, ValidationFailedError

log = logging.getLogger(__name__)
DENSITY = np.array([0.0, 45.0, 120.0, 300.0])  # tC/ha for classes 0 built-up, 1 cropland, 2 forest, 3 wetland
CELL_HA = 0.09  # a 30 m cell


@dataclass
class PoolData:
    """What registering a compute pool needs besides its department."""

    code: str
    name: str
    region: str
    capacity_units: int
    cost_per_unit: float
    residency: list[str] = field(default_factory=list)
    scheduler_address: str = ""


def add_pool(
    session: Session, *, actor: Actor, department_code: str, data: PoolData, is_demo: bool = False
) -> ComputePool:
    """Register a compute pool of a region, with its residency rules."""
    dept = access.department_for_write(session, actor=actor, department_code=department_code)
    problems = [
        {"loc": ["residency", c], "msg": "未知区划 (unknown division)"}
        for c in data.residency
        if session.get(Division, c) is None
    ]
    allowed = get_settings().compute_schedulers.split()
    if data.scheduler_address and data.scheduler_address not in allowed:
        # the server connects to a pool's scheduler and takes results back from it: only the operator's own
        problems.append({"loc": ["scheduler_address"],
                         "msg": "调度器地址不在本平台允许的列表中，请联系平台管理员 "
                                "(not one of the scheduler addresses GOVGRID_COMPUTE_SCHEDULERS allows)"})
    if session.scalar(select(ComputePool.id).where(ComputePool.code == data.code)) is not None:
        problems.append({"loc": ["code"], "msg": "编号已存在 (code taken)"})
    if problems:
        raise ValidationFailedError("算力池无法登记 (the pool cannot be registered)", details=problems)
    pool = ComputePool(
        code=data.code,
        name=data.name,
        region=data.region,
        division_code=dept.division_code,
        division_path=dept.division.path,
        department_id=dept.id,
        capacity_units=data.capacity_units,
        cost_per_unit=data.cost_per_unit,
        residency=list(dict.fromkeys(data.residency)),
        scheduler_address=data.scheduler_address,
        is_demo=is_demo,
    )
    session.add(pool)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="coordination.pool_add",
        entity_type="pool",
        entity_id=pool.id,
        division_code=pool.division_code,
        department_id=dept.id,
    )
    log.info("compute pool registered", extra={"pool_id": pool.id})
    return pool


def list_pools(session: Session, *, actor: Actor | None) -> list[ComputePool]:
    """Every compute pool (a shared registry for signed-in officials)."""
    access.require_login(actor)
    return list(session.scalars(select(ComputePool).order_by(ComputePool.cost_per_unit, ComputePool.code)))


def list_jobs(session: Session, *, actor: Actor, limit: int = 50) -> list[ComputeJob]:
    """Jobs on data of the actor's territory, newest first."""
    stmt = select(ComputeJob).where(access.territory(actor, ComputeJob.data_division_path))
    return list(session.scalars(stmt.order_by(ComputeJob.id.desc()).limit(limit)))


def reduction(size: int, seed: int) -> object:
    """The Dask graph of the demonstration job: total stock (tC) of a size x size class raster."""
    import dask.array as da

    chunk = max(8, size // 4)
    classes = da.random.RandomState(seed).randint(0, len(DENSITY), size=(size, size), chunks=(chunk, chunk))
    stock = da.map_blocks(lambda block: DENSITY[block], classes, dtype=float)
    return stock.sum() * CELL_HA


def run_on(address: str, size: int, seed: int) -> float:
    """Run the reduction on the Dask scheduler at `address` (in-process synchronous when empty)."""
    graph = reduction(size, seed)
    if not address:
        import dask

        return float(dask.compute(graph, scheduler="synchronous")[0])
    from distributed import Client

    with Client(address, timeout="10s", set_as_default=False) as client:
        return float(client.compute(graph).result(timeout=120))


def submit_job(
    session: Session, *, actor: Actor, name: str, data_division_code: str, units: int, size: int = 256
) -> ComputeJob:
    """Place a batch job by residency and cost, run it on the chosen pool's cluster (409 if none fits)."""
    div = access.require_oversee(
        session, actor=actor, code=data_division_code, reaches=("division", "line"), what="该数据所属区划"
    )
    pools = list(session.scalars(select(ComputePool).order_by(ComputePool.code)))
    views = [
        PoolView(p.code, p.name, p.cost_per_unit, p.capacity_units - p.used_units, tuple(p.residency))
        for p in pools
    ]
    chosen = place(views, data_path=div.path, units=units)
    if chosen.pool_code is None:
        log.info("compute job refused", extra={"division_code": div.code, "units": units})
        raise ConflictError(
            "没有可以接收该作业的算力池："
            + ("；".join(f"{c} {r}" for c, r in chosen.refusals.items()) or "尚未登记算力池")
            + " (no pool may take this job)",
            details=[{"loc": ["pool", c], "msg": r} for c, r in chosen.refusals.items()],
            audit={
                "actor": actor,
                "action": "coordination.job_refused",
                "entity_type": "job",
                "division_code": div.code,
                "detail": {"units": units},
            },
        )
    pool = next(p for p in pools if p.code == chosen.pool_code)
    job = ComputeJob(
        name=name,
        data_division_code=div.code,
        data_division_path=div.path,
        units=units,
        pool_id=pool.id,
        state=JobState.placed.value,
        cost=chosen.cost,
        reason="；".join(f"{c}: {r}" for c, r in chosen.refusals.items()),
        submitted_by=access.actor_name(actor),
    )
    pool.used_units += units
    session.add(job)
    session.flush()
    log.info("compute job placed", extra={"job_id": job.id, "pool_id": pool.id})
    try:
        if pool.scheduler_address and pool.scheduler_address not in get_settings().compute_schedulers.split():
            raise PermissionError("scheduler address no longer allowed")  # a pool registered before the list
        total = run_on(pool.scheduler_address, size, seed=job.id)
    except (OSError, TimeoutError, ValueError) as exc:  # unreachable or malformed scheduler address
        JOB.require_move(job.state, JobState.failed, message="作业状态异常 (job state)")
        job.state = JobState.failed.value
        job.reason = f"算力池 {pool.code} 无法连接：{type(exc).__name__} (the pool's cluster is unreachable)"
    else:
        JOB.require_move(job.state, JobState.finished, message="作业状态异常 (job state)")
        job.state = JobState.finished.value
        job.result = {"stock_tc": total, "cells": float(size * size)}
    pool.used_units -= units
    job.finished_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="coordination.job_run",
        entity_type="job",
        entity_id=job.id,
        division_code=div.code,
        detail={"pool": pool.code, "state": job.state},
    )
    log.info("compute job ended", extra={"job_id": job.id, "state": job.state})
    return job
