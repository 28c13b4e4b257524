"""Coordination pages (zh-CN first): overview (children's measures side by side, lagging highlighted, tenants,
targets), task board with the 督查单, hardware and systems with the asset map and duplication flags, compute
pools and jobs. Forms post with the CSRF token and redirect back (303) or show what went wrong."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from govgrid.coordination.enums import AssetKind, SystemKind, SystemState
from govgrid.coordination.messages import MESSAGES
from govgrid.coordination.models import Asset, ComputePool
from govgrid.coordination.schemas import AssetCreate, PoolCreate
from govgrid.coordination.services import assets, compute, targets, tasks, tenants
from govgrid.core import ports
from govgrid.core.authz.principal import Principal
from govgrid.core.deps import SessionDep
from govgrid.core.errors import AppError, ValidationFailedError
from govgrid.core.pages import PagePrincipal, register_messages, render

router = APIRouter(prefix="/coordination", include_in_schema=False)
ID = Annotated[int, Path(ge=1, le=2_147_483_647)]
SHANGHAI_OFFSET = timedelta(hours=8)
register_messages(MESSAGES)


def fail(request: Request, exc: AppError, back: str) -> HTMLResponse:
    """A page saying what went wrong and how to go back (the error's status)."""
    return render(
        request,
        "coordination/error.html",
        {"message": exc.message, "details": exc.details, "back": back},
        status_code=exc.status,
    )


def home_division(principal: Principal, wanted: str) -> str:
    """The division a page shows: the one asked for, else the caller's widest division-reach level."""
    if wanted.isdigit() and 6 <= len(wanted) <= 32:
        return wanted
    overseen = sorted(
        (a for a in principal.assignments if a.reach == "division"), key=lambda a: len(a.division_path)
    )
    if overseen:
        return overseen[0].division_code
    return principal.primary.division_code if principal.primary else "410000"


def number(value: str, name: str, *, lo: float, hi: float) -> float:
    """A number from a form field, or a 422 naming the field."""
    try:
        x = float(value)
    except ValueError:
        raise ValidationFailedError(
            f"{name} 应为数字 ({name}: a number)", details=[{"loc": ["form", name], "msg": value[:20]}]
        ) from None
    if not lo <= x <= hi:
        raise ValidationFailedError(
            f"{name} 应在 {lo:g}-{hi:g} 之间 ({name}: {lo:g}-{hi:g})",
            details=[{"loc": ["form", name], "msg": value[:20]}],
        )
    return x


def day_end(value: str) -> datetime:
    """The end of a day given as YYYY-MM-DD (Beijing time), as aware UTC."""
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise ValidationFailedError(
            "截止日期格式应为 YYYY-MM-DD (deadline: YYYY-MM-DD)",
            details=[{"loc": ["form", "deadline"], "msg": value[:20]}],
        ) from None
    return datetime.combine(day.date(), time(23, 59, 59), tzinfo=UTC) - SHANGHAI_OFFSET


@router.get("")
def coordination_home() -> RedirectResponse:
    """The module's entry: the overview."""
    return RedirectResponse("/coordination/overview", status_code=303)


@router.get("/overview")
def overview_page(
    request: Request, session: SessionDep, principal: PagePrincipal, division: str = "", done: str = ""
) -> HTMLResponse:
    """A level's children side by side with lagging measures highlighted; its tenants and targets."""
    code = home_division(principal, division)
    end = datetime.now(UTC)
    start = end - timedelta(days=90)
    try:
        div, rows, applying = tenants.rollup(
            session, actor=principal, division_code=code, start=start, end=end
        )
        hosted = tenants.list_tenants(session, actor=principal, division_code=code)
    except AppError as exc:
        return fail(request, exc, "/coordination/overview")
    return render(
        request,
        "coordination/overview.html",
        {
            "div": div,
            "rows": rows,
            "targets": applying,
            "tenants": hosted,
            "catalog": ports.measure_catalog(),
            "start": start,
            "end": end,
            "done": done[:100],
        },
    )


@router.post("/tenants")
def tenant_form(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    division_code: Annotated[str, Form(max_length=32)] = "",
    admin_username: Annotated[str, Form(max_length=64)] = "",
    admin_password: Annotated[str, Form(max_length=200)] = "",
    back: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Onboard a county from the overview form."""
    back_url = f"/coordination/overview?division={quote(back)}"
    try:
        t = tenants.onboard(
            session,
            actor=principal,
            division_code=division_code.strip(),
            admin_password=admin_password,
            admin_username=admin_username.strip() or None,
        )
    except AppError as exc:
        return fail(request, exc, back_url)
    return RedirectResponse(f"{back_url}&done={quote(t.admin_username)}", status_code=303)


@router.post("/targets")
def target_form(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    division_code: Annotated[str, Form(max_length=32)] = "",
    measure_key: Annotated[str, Form(max_length=64)] = "",
    threshold: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Set a target from the overview form."""
    back_url = f"/coordination/overview?division={quote(division_code)}"
    try:
        targets.set_target(
            session,
            actor=principal,
            division_code=division_code,
            measure_key=measure_key,
            threshold=number(threshold, "threshold", lo=0, hi=1_000_000),
        )
    except AppError as exc:
        return fail(request, exc, back_url)
    return RedirectResponse(back_url, status_code=303)


@router.get("/tasks")
def tasks_page(
    request: Request, session: SessionDep, principal: PagePrincipal, division: str = "", done: str = ""
) -> HTMLResponse:
    """The task board with computed progress, the level's 督查单, and the form to assign a task."""
    code = home_division(principal, division)
    try:
        board = tasks.board(session, actor=principal)
        flags = tasks.supervision(session, actor=principal, division_code=code)
    except AppError as exc:
        return fail(request, exc, "/coordination/tasks")
    return render(
        request,
        "coordination/tasks.html",
        {
            "board": board,
            "flags": flags,
            "code": code,
            "catalog": ports.measure_catalog(),
            "done": done[:40],
        },
    )


@router.post("/tasks")
def task_form(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    division_code: Annotated[str, Form(max_length=32)] = "",
    title: Annotated[str, Form(max_length=200)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
    assignees: Annotated[str, Form(max_length=4000)] = "",
    measure_key: Annotated[str, Form(max_length=64)] = "",
    target_value: Annotated[str, Form(max_length=20)] = "",
    deadline: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Assign a task from the board's form."""
    back_url = f"/coordination/tasks?division={quote(division_code)}"
    try:
        if len(title.strip()) < 2:
            raise ValidationFailedError(
                "请填写任务名称 (a title is required)",
                details=[{"loc": ["form", "title"], "msg": "required"}],
            )
        value = number(target_value, "target_value", lo=0, hi=1_000_000) if measure_key else None
        task = tasks.create_task(
            session,
            actor=principal,
            division_code=division_code,
            title=title,
            description=description,
            deadline=day_end(deadline),
            assignees=assignees.split() or None,
            measure_key=measure_key or None,
            target_value=value,
        )
    except AppError as exc:
        return fail(request, exc, back_url)
    return RedirectResponse(f"{back_url}&done={quote(task.code)}", status_code=303)


@router.post("/assignments/{assignment_id}/report")
def report_form(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    assignment_id: ID,
    evidence: Annotated[str, Form(max_length=4000)] = "",
    progress: Annotated[str, Form(max_length=10)] = "",
    done: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """A division reports progress on its part."""
    try:
        share = number(progress, "progress", lo=0, hi=100) / 100 if progress.strip() else None
        tasks.report_progress(
            session,
            actor=principal,
            assignment_id=assignment_id,
            progress=share,
            evidence=evidence,
            done=bool(done),
        )
    except AppError as exc:
        return fail(request, exc, "/coordination/tasks")
    return RedirectResponse("/coordination/tasks?done=report", status_code=303)


ASSET_FIELDS = ("department_code", "kind", "name", "location", "lon", "lat", "capacity", "capacity_unit",
                "utilisation")
POOL_FIELDS = ("department_code", "code", "name", "region", "capacity_units", "cost_per_unit", "residency",
               "scheduler_address")


@dataclass
class FormState:
    """A form as the user filled it, the fields in error and a message for the whole form."""

    values: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    message: str = ""
    status: int = 200


def invalid_fields(exc: ValidationError | AppError, known: tuple[str, ...]) -> list[str]:
    """The form fields an error names (a schema's locations or a service error's details)."""
    locs = [e["loc"] for e in exc.errors()] if isinstance(exc, ValidationError) else [
        d.get("loc", []) for d in exc.details or []
    ]
    return list(dict.fromkeys(str(part) for loc in locs for part in loc if str(part) in known))


def failed(exc: ValidationError | AppError, values: dict[str, str], known: tuple[str, ...]) -> FormState:
    """The form state after a refused submission: 422 for bad input, else the service error's status."""
    fields = invalid_fields(exc, known)
    if isinstance(exc, ValidationError):
        return FormState(values, fields, "", 422)
    return FormState(values, fields, "" if fields and exc.status == 422 else exc.message, exc.status)


def blank(value: str) -> str | None:
    """An optional form value: None when left empty."""
    return value.strip() or None


def asset_values(asset: Asset) -> dict[str, str]:
    """A piece of hardware as the edit form shows it (utilisation in percent)."""
    return {
        "department_code": asset.department.code,
        "kind": asset.kind,
        "name": asset.name,
        "location": asset.location,
        # 15 significant digits: the stored value comes back whole (":g" kept 6, moving an asset ~100 m)
        "lon": "" if asset.lon is None else f"{asset.lon:.15g}",
        "lat": "" if asset.lat is None else f"{asset.lat:.15g}",
        "capacity": f"{asset.capacity:.15g}",
        "capacity_unit": asset.capacity_unit,
        "utilisation": f"{asset.utilisation * 100:.12g}",
    }


def render_assets(
    request: Request, session: SessionDep, principal: Principal, *, form: FormState, editing: int = 0,
    done: str = "",
) -> HTMLResponse:
    """The assets page with the hardware form in the given state."""
    hardware = assets.list_assets(session, actor=principal)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [a.lon, a.lat]},
            "properties": {"name": a.name, "kind": a.kind, "utilisation": a.utilisation},
        }
        for a in hardware
        if a.lon is not None and a.lat is not None
    ]
    systems = assets.list_systems(session, actor=principal)
    writable = [a for a in principal.assignments if a.role in ("admin", "operator")]
    return render(
        request,
        "coordination/assets.html",
        {
            "hardware": hardware,
            "features": features,
            "report": assets.utilisation(session, actor=principal),
            "systems": systems,
            "asset_kinds": list(AssetKind),
            "system_kinds": list(SystemKind),
            "system_states": [SystemState.planned, SystemState.operating],
            "writable": writable,
            "form": form,
            "editing": editing,
            "done": done[:200],
        },
        status_code=form.status,
    )


@router.get("/assets")
def assets_page(
    request: Request, session: SessionDep, principal: PagePrincipal, edit: int = 0, done: str = ""
) -> HTMLResponse:
    """Hardware on the map and in a table, the utilisation report, systems with duplication flags; the
    hardware form (registering, or changing `edit`)."""
    form = FormState()
    if edit:
        try:
            form = FormState(asset_values(assets.get_asset(session, actor=principal, asset_id=edit)))
        except AppError as exc:
            return fail(request, exc, "/coordination/assets")
    return render_assets(request, session, principal, form=form, editing=edit, done=done)


def asset_data(values: dict[str, str]) -> assets.AssetData:
    """The hardware a form describes, checked by the API's schema (utilisation given in percent)."""
    util = blank(values["utilisation"]) or "0"
    try:
        share: float | str = float(util) / 100
    except ValueError:
        share = util  # the schema names the field
    body = AssetCreate.model_validate({
        "department_code": values["department_code"],
        "kind": values["kind"],
        "name": values["name"].strip(),
        "location": values["location"].strip(),
        "lon": blank(values["lon"]),
        "lat": blank(values["lat"]),
        "capacity": blank(values["capacity"]) or "0",
        "capacity_unit": values["capacity_unit"].strip(),
        "utilisation": share,
    })
    return assets.AssetData(**body.model_dump(exclude={"department_code"}))


AssetForm = Annotated[str, Form(max_length=300)]


@router.post("/assets")
def asset_form(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    asset_id: Annotated[int, Form(ge=0, le=2_147_483_647)] = 0,
    department_code: Annotated[str, Form(max_length=64)] = "",
    kind: Annotated[str, Form(max_length=24)] = "",
    name: AssetForm = "",
    location: AssetForm = "",
    lon: Annotated[str, Form(max_length=30)] = "",
    lat: Annotated[str, Form(max_length=30)] = "",
    capacity: Annotated[str, Form(max_length=30)] = "",
    capacity_unit: Annotated[str, Form(max_length=30)] = "",
    utilisation: Annotated[str, Form(max_length=30)] = "",
) -> Response:
    """Register a piece of hardware, or change one (`asset_id`); bad input is shown in the form."""
    values = {
        "department_code": department_code, "kind": kind, "name": name, "location": location, "lon": lon,
        "lat": lat, "capacity": capacity, "capacity_unit": capacity_unit, "utilisation": utilisation,
    }
    try:
        with session.begin_nested():  # a refusal leaves nothing half-written
            if asset_id:
                current = assets.get_asset(session, actor=principal, asset_id=asset_id)
                values["department_code"] = current.department.code
                data = asset_data(values)
                saved = assets.update_asset(session, actor=principal, asset_id=asset_id, data=data)
            else:
                saved = assets.add_asset(
                    session, actor=principal, department_code=department_code, data=asset_data(values)
                )
    except (ValidationError, AppError) as exc:
        state = failed(exc, values, ASSET_FIELDS)
        return render_assets(request, session, principal, form=state, editing=asset_id)
    return RedirectResponse(f"/coordination/assets?done={quote(saved.name)}#hardware", status_code=303)


@router.post("/systems")
def system_form(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    department_code: Annotated[str, Form(max_length=64)] = "",
    kind: Annotated[str, Form(max_length=24)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    state: Annotated[str, Form(max_length=16)] = "planned",
    offered_below: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Register a software system from the form (a planned one is checked for duplication)."""
    try:
        if kind not in {k.value for k in SystemKind} or state not in {s.value for s in SystemState}:
            raise ValidationFailedError(
                "请选择系统类别和状态 (choose a kind and a state)",
                details=[{"loc": ["form", "kind"], "msg": kind[:24]}],
            )
        if not name.strip():
            raise ValidationFailedError(
                "请填写系统名称 (a name is required)", details=[{"loc": ["form", "name"], "msg": "required"}]
            )
        assets.add_system(
            session,
            actor=principal,
            department_code=department_code,
            data=assets.SystemData(
                kind=SystemKind(kind), name=name, state=SystemState(state), offered_below=bool(offered_below)
            ),
        )
    except AppError as exc:
        return fail(request, exc, "/coordination/assets")
    return RedirectResponse("/coordination/assets#systems", status_code=303)


def render_pools(
    request: Request, session: SessionDep, principal: Principal, *, form: FormState, done: str = ""
) -> HTMLResponse:
    """The pools page with the pool form in the given state."""
    return render(
        request,
        "coordination/pools.html",
        {
            "pools": compute.list_pools(session, actor=principal),
            "jobs": compute.list_jobs(session, actor=principal),
            "code": home_division(principal, ""),
            "writable": [a for a in principal.assignments if a.role in ("admin", "operator")],
            "form": form,
            "done": done[:40],
        },
        status_code=form.status,
    )


@router.get("/pools")
def pools_page(
    request: Request, session: SessionDep, principal: PagePrincipal, done: str = ""
) -> HTMLResponse:
    """Compute pools with capacity, cost and residency; jobs; the forms to register a pool, submit a job."""
    return render_pools(request, session, principal, form=FormState(), done=done)


@router.post("/pools")
def pool_form(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    department_code: Annotated[str, Form(max_length=64)] = "",
    code: Annotated[str, Form(max_length=64)] = "",
    name: Annotated[str, Form(max_length=300)] = "",
    region: Annotated[str, Form(max_length=200)] = "",
    capacity_units: Annotated[str, Form(max_length=30)] = "",
    cost_per_unit: Annotated[str, Form(max_length=30)] = "",
    residency: Annotated[str, Form(max_length=4000)] = "",
    scheduler_address: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    """Register a compute pool from the form; bad input is shown in the form."""
    values = {
        "department_code": department_code, "code": code, "name": name, "region": region,
        "capacity_units": capacity_units, "cost_per_unit": cost_per_unit, "residency": residency,
        "scheduler_address": scheduler_address,
    }
    try:
        with session.begin_nested():  # a refusal leaves nothing half-written
            pool = _register_pool(session, principal, values)
    except (ValidationError, AppError) as exc:
        return render_pools(request, session, principal, form=failed(exc, values, POOL_FIELDS))
    return RedirectResponse(f"/coordination/pools?done={quote(pool.code)}#pools", status_code=303)


def _register_pool(session: SessionDep, principal: Principal, values: dict[str, str]) -> ComputePool:
    body = PoolCreate.model_validate({
        "department_code": values["department_code"],
        "code": values["code"].strip(),
        "name": values["name"].strip(),
        "region": values["region"].strip(),
        "capacity_units": values["capacity_units"].strip(),
        "cost_per_unit": values["cost_per_unit"].strip(),
        "residency": values["residency"].replace(",", " ").replace("，", " ").split(),
        "scheduler_address": values["scheduler_address"].strip(),
    })
    return compute.add_pool(
        session,
        actor=principal,
        department_code=body.department_code,
        data=compute.PoolData(**body.model_dump(exclude={"department_code"})),
    )


@router.post("/jobs")
def job_form(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    name: Annotated[str, Form(max_length=200)] = "",
    data_division_code: Annotated[str, Form(max_length=32)] = "",
    units: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Submit a batch job from the form: placed by residency and cost, run on the chosen cluster."""
    try:
        if not name.strip():
            raise ValidationFailedError(
                "请填写作业名称 (a name is required)", details=[{"loc": ["form", "name"], "msg": "required"}]
            )
        compute.submit_job(
            session,
            actor=principal,
            name=name.strip(),
            data_division_code=data_division_code,
            units=int(number(units, "units", lo=1, hi=1_000_000)),
            size=128,
        )
    except AppError as exc:
        return fail(request, exc, "/coordination/pools")
    return RedirectResponse("/coordination/pools#jobs", status_code=303)
