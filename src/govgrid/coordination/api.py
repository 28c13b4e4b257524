"""Coordination JSON API under /api/v1/coordination. Routes stay thin: parse, call one service, serialise.

Every route needs a signed-in official (401 otherwise); what each sees is decided by ``services.access``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query

from govgrid.coordination import schemas as s
from govgrid.coordination.enums import AssignmentState, JobState
from govgrid.coordination.models import Asset, ComputeJob, ComputePool, SoftwareSystem, Task, Tenant
from govgrid.coordination.services import assets, compute, targets, tasks, tenants
from govgrid.core import ports
from govgrid.core.deps import CurrentPrincipal, SessionDep

router = APIRouter(prefix="/coordination", tags=["coordination"])
ID = Annotated[int, Path(ge=1, le=2_147_483_647)]
CODE = Annotated[str, Path(pattern=r"^\d{6,32}$", description="GB/T 2260 code (or a longer sub-county code)")]


def period(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The reporting period: default the last 90 days up to now; naive times are read as UTC."""
    end = end or datetime.now(UTC)
    start = start or end - timedelta(days=90)
    return (start if start.tzinfo else start.replace(tzinfo=UTC)), (
        end if end.tzinfo else end.replace(tzinfo=UTC)
    )


def view_read(v: tasks.AssignmentView) -> s.AssignmentRead:
    """Serialise an evaluated assignment."""
    a = v.row
    return s.AssignmentRead(
        id=a.id,
        task_id=a.task_id,
        task_code=a.task.code,
        task_title=a.task.title,
        division_code=a.division_code,
        division_name=a.division.name,
        state=AssignmentState(a.state),
        measure_value=v.measure_value,
        progress=v.progress,
        met=v.met,
        colour=v.colour,
        days_left=v.days_left,
        deadline=a.task.deadline,
        evidence=a.evidence,
    )


def task_read(t: Task, views: list[tasks.AssignmentView]) -> s.TaskRead:
    """Serialise a task with the parts the caller may see."""
    return s.TaskRead(
        id=t.id,
        code=t.code,
        title=t.title,
        description=t.description,
        division_code=t.division_code,
        measure_key=t.measure_key,
        target_value=t.target_value,
        better=t.better,
        period_start=t.period_start,
        deadline=t.deadline,
        assignments=[view_read(v) for v in views],
    )


def system_read(system: SoftwareSystem, dup: SoftwareSystem | None) -> s.SystemRead:
    """Serialise a software system with its duplication flag."""
    note = None
    if dup is not None:
        note = (
            f"上级 {dup.division_code} 已提供同类系统「{dup.name}」，建议直接使用 (an upper level offers one)"
        )
    return s.SystemRead(
        id=system.id,
        kind=system.kind,
        name=system.name,
        division_code=system.division_code,
        department_code=system.department.code,
        platform=system.platform,
        state=system.state,
        offered_below=system.offered_below,
        users=system.users,
        budget_wan=system.budget_wan,
        duplicate_of=dup.name if dup else None,
        duplicate_note=note,
    )


def pool_read(p: ComputePool) -> s.PoolRead:
    """Serialise a pool (the scheduler address stays private)."""
    return s.PoolRead(
        id=p.id,
        code=p.code,
        name=p.name,
        region=p.region,
        division_code=p.division_code,
        capacity_units=p.capacity_units,
        used_units=p.used_units,
        cost_per_unit=p.cost_per_unit,
        residency=list(p.residency),
        has_scheduler=bool(p.scheduler_address),
    )


def job_read(j: ComputeJob) -> s.JobRead:
    """Serialise a job."""
    return s.JobRead(
        id=j.id,
        name=j.name,
        data_division_code=j.data_division_code,
        units=j.units,
        pool_code=j.pool.code if j.pool else None,
        state=JobState(j.state),
        reason=j.reason,
        cost=j.cost,
        result={k: float(v) for k, v in j.result.items()},
    )


@router.get("/measures", response_model=list[s.MeasureRead])
def measure_list(principal: CurrentPrincipal) -> list[s.MeasureRead]:
    """The measures the modules provide (keys for targets and tasks)."""
    return [
        s.MeasureRead(key=m.key, title_zh=m.title_zh, title_en=m.title_en, unit=m.unit, better=m.better)
        for m in ports.measure_catalog().values()
    ]


@router.post("/tenants", response_model=s.TenantRead, status_code=201)
def tenant_onboard(body: s.TenantOnboard, session: SessionDep, principal: CurrentPrincipal) -> s.TenantRead:
    """Onboard a county as a tenant (departments, admin user, seeding event)."""
    t = tenants.onboard(
        session,
        actor=principal,
        division_code=body.division_code,
        admin_password=body.admin_password,
        admin_username=body.admin_username,
    )
    return tenant_read(t)


def tenant_read(t: Tenant) -> s.TenantRead:
    """Serialise a tenant."""
    return s.TenantRead(
        division_code=t.division_code,
        division_name=t.division.name,
        level=t.division.level,
        host_division_code=t.host_division_code,
        admin_username=t.admin_username,
        departments=len(t.department_codes),
        onboarded_at=t.onboarded_at,
        onboarded_by=t.onboarded_by,
    )


@router.get("/tenants", response_model=list[s.TenantRead])
def tenant_list(
    session: SessionDep,
    principal: CurrentPrincipal,
    division: Annotated[str | None, Query(pattern=r"^\d{6,32}$")] = None,
) -> list[s.TenantRead]:
    """Tenants in the caller's territory."""
    return [tenant_read(t) for t in tenants.list_tenants(session, actor=principal, division_code=division)]


@router.get("/rollup/{code}", response_model=s.Rollup)
def rollup(
    code: CODE,
    session: SessionDep,
    principal: CurrentPrincipal,
    start: datetime | None = None,
    end: datetime | None = None,
) -> s.Rollup:
    """A division's children side by side: measures, departments, users, lagging."""
    a, b = period(start, end)
    div, rows, applying = tenants.rollup(session, actor=principal, division_code=code, start=a, end=b)
    catalog = ports.measure_catalog()
    return s.Rollup(
        division_code=div.code,
        division_name=div.name,
        start=a,
        end=b,
        measures={
            k: {"zh": m.title_zh, "en": m.title_en, "unit": m.unit, "better": m.better}
            for k, m in catalog.items()
        },
        targets=applying,
        rows=[
            s.RollupRow(
                division_code=r.division.code,
                division_name=r.division.name,
                tenant=r.tenant,
                departments=r.departments,
                users=r.users,
                measures=r.measures,
                lagging=r.lagging,
            )
            for r in rows
        ],
    )


@router.post("/targets", response_model=s.TargetRead, status_code=201)
def target_set(body: s.TargetCreate, session: SessionDep, principal: CurrentPrincipal) -> s.TargetRead:
    """Set a level's target on a measure."""
    t = targets.set_target(
        session,
        actor=principal,
        division_code=body.division_code,
        measure_key=body.measure_key,
        threshold=body.threshold,
    )
    return s.TargetRead(
        id=t.id,
        division_code=t.division_code,
        measure_key=t.measure_key,
        threshold=t.threshold,
        better=t.better,
        set_by=t.set_by,
    )


@router.get("/targets/{code}", response_model=list[s.TargetRead])
def target_list(code: CODE, session: SessionDep, principal: CurrentPrincipal) -> list[s.TargetRead]:
    """The targets applying at a division."""
    return [
        s.TargetRead(
            id=t.id,
            division_code=t.division_code,
            measure_key=t.measure_key,
            threshold=t.threshold,
            better=t.better,
            set_by=t.set_by,
        )
        for t in targets.list_targets(session, actor=principal, division_code=code)
    ]


@router.post("/tasks", response_model=s.TaskRead, status_code=201)
def task_create(body: s.TaskCreate, session: SessionDep, principal: CurrentPrincipal) -> s.TaskRead:
    """Assign a task down the tree."""
    t = tasks.create_task(
        session,
        actor=principal,
        division_code=body.division_code,
        title=body.title,
        description=body.description,
        deadline=body.deadline,
        assignees=body.assignees,
        measure_key=body.measure_key,
        target_value=body.target_value,
        period_start=body.period_start,
    )
    return task_read(t, [tasks.evaluate(session, a) for a in t.assignments])


@router.get("/tasks", response_model=list[s.TaskRead])
def task_board(
    session: SessionDep,
    principal: CurrentPrincipal,
    division: Annotated[str | None, Query(pattern=r"^\d{6,32}$")] = None,
) -> list[s.TaskRead]:
    """The task board: visible tasks with the caller's visible parts and their computed progress."""
    return [task_read(t, views) for t, views in tasks.board(session, actor=principal, division_code=division)]


@router.post("/assignments/{assignment_id}/report", response_model=s.AssignmentRead)
def assignment_report(
    assignment_id: ID, body: s.ProgressReport, session: SessionDep, principal: CurrentPrincipal
) -> s.AssignmentRead:
    """Report progress (with evidence) or completion of a division's part."""
    return view_read(
        tasks.report_progress(
            session,
            actor=principal,
            assignment_id=assignment_id,
            progress=body.progress,
            evidence=body.evidence,
            done=body.done,
        )
    )


@router.get("/supervision/{code}", response_model=list[s.AssignmentRead])
def supervision(code: CODE, session: SessionDep, principal: CurrentPrincipal) -> list[s.AssignmentRead]:
    """The level's 督查单: its overdue and near-deadline parts, and red parts escalated from below."""
    return [view_read(v) for v in tasks.supervision(session, actor=principal, division_code=code)]


@router.post("/assets", response_model=s.AssetRead, status_code=201)
def asset_add(body: s.AssetCreate, session: SessionDep, principal: CurrentPrincipal) -> s.AssetRead:
    """Register a piece of hardware."""
    data = assets.AssetData(**body.model_dump(exclude={"department_code"}))
    a = assets.add_asset(session, actor=principal, department_code=body.department_code, data=data)
    return asset_read(a)


def asset_read(a: Asset) -> s.AssetRead:
    """Serialise a piece of hardware."""
    return s.AssetRead(
        id=a.id,
        kind=a.kind,
        name=a.name,
        division_code=a.division_code,
        department_code=a.department.code,
        location=a.location,
        lon=a.lon,
        lat=a.lat,
        capacity=a.capacity,
        capacity_unit=a.capacity_unit,
        utilisation=a.utilisation,
    )


@router.get("/assets", response_model=list[s.AssetRead])
def asset_list(session: SessionDep, principal: CurrentPrincipal) -> list[s.AssetRead]:
    """Hardware in the caller's scope or territory."""
    return [asset_read(a) for a in assets.list_assets(session, actor=principal)]


@router.get("/assets/utilisation", response_model=list[s.UtilisationRow])
def asset_utilisation(session: SessionDep, principal: CurrentPrincipal) -> list[s.UtilisationRow]:
    """Utilisation by division and kind."""
    return [s.UtilisationRow(**vars(r)) for r in assets.utilisation(session, actor=principal)]


@router.post("/systems", response_model=s.SystemRead, status_code=201)
def system_add(body: s.SystemCreate, session: SessionDep, principal: CurrentPrincipal) -> s.SystemRead:
    """Register a software system (a planned one is checked for duplication)."""
    data = assets.SystemData(**body.model_dump(exclude={"department_code"}))
    system = assets.add_system(session, actor=principal, department_code=body.department_code, data=data)
    dup = session.get(SoftwareSystem, system.duplicate_of_id) if system.duplicate_of_id else None
    return system_read(system, dup)


@router.get("/systems", response_model=list[s.SystemRead])
def system_list(session: SessionDep, principal: CurrentPrincipal) -> list[s.SystemRead]:
    """Systems in the caller's scope or territory with duplication flags."""
    return [system_read(x, dup) for x, dup in assets.list_systems(session, actor=principal)]


@router.post("/pools", response_model=s.PoolRead, status_code=201)
def pool_add(body: s.PoolCreate, session: SessionDep, principal: CurrentPrincipal) -> s.PoolRead:
    """Register a compute pool."""
    data = compute.PoolData(**body.model_dump(exclude={"department_code"}))
    return pool_read(
        compute.add_pool(session, actor=principal, department_code=body.department_code, data=data)
    )


@router.get("/pools", response_model=list[s.PoolRead])
def pool_list(session: SessionDep, principal: CurrentPrincipal) -> list[s.PoolRead]:
    """Every compute pool."""
    return [pool_read(p) for p in compute.list_pools(session, actor=principal)]


@router.post("/jobs", response_model=s.JobRead, status_code=201)
def job_submit(body: s.JobCreate, session: SessionDep, principal: CurrentPrincipal) -> s.JobRead:
    """Place a batch job by residency and cost and run it (409 with every pool's reason when none fits)."""
    return job_read(
        compute.submit_job(
            session,
            actor=principal,
            name=body.name,
            data_division_code=body.data_division_code,
            units=body.units,
            size=body.size,
        )
    )


@router.get("/jobs", response_model=list[s.JobRead])
def job_list(session: SessionDep, principal: CurrentPrincipal) -> list[s.JobRead]:
    """Jobs on data of the caller's territory."""
    return [job_read(j) for j in compute.list_jobs(session, actor=principal)]
