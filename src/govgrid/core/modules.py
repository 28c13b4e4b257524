"""How a module plugs into the platform: one ModuleSpec per module, found by name."""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# The order is the order of the navigation bar.
MODULE_NAMES = [
    "exchange", "appeals", "citymap", "carbon", "services", "economy", "market", "reuse", "coordination",
    "institutions",
]


@dataclass
class NavItem:
    """A link in the top navigation."""

    path: str
    zh: str
    en: str
    # shown to anonymous visitors on the home page (resident reporting, public statistics)
    public: bool = False


@dataclass
class WorkCounter:
    """Open work per department that a module contributes to the 条×块 matrix (e.g. open tickets)."""

    zh: str
    en: str
    count: Callable[[Session, list[int]], dict[int, int]]  # department ids -> open items per department


DEMO_PASSWORD = "govgrid-demo"  # noqa: S105  (the one shared password of the demo accounts; demo mode only)


@dataclass
class DemoContext:
    """What the core demo loader made, for modules to build on (department ids by code, user names)."""

    departments: dict[str, int] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)  # username -> role description (for printing)
    # extra lines `govgrid demo` prints (channel secrets, keys)
    printed: list[str] = field(default_factory=list)
    password: str = DEMO_PASSWORD
    base_url: str = "http://127.0.0.1:8000"  # where the demo is served (printed links use it)


@dataclass(frozen=True)
class PeriodicJob:
    """Work the platform runs every `every_seconds`: once per period however many workers run (core.jobs)."""

    name: str
    every_seconds: int
    func: Callable[[], object]
    retries: int = 0  # the next period tries again anyway


@dataclass(frozen=True)
class Job:
    """On-demand work queued with `core.jobs.defer(name, **kwargs)`: JSON-able kwargs, an idempotent func."""

    name: str
    func: Callable[..., object]
    retries: int = 3
    backoff_seconds: int = 2  # the n-th retry waits backoff_seconds ** n seconds


@dataclass
class ModuleSpec:
    """A module's contributions: routers, pages, navigation, demo data, CLI, background work."""

    name: str
    title_zh: str
    title_en: str
    api_router: APIRouter | None = None  # mounted under /api/v1
    root_routers: list[APIRouter] = field(default_factory=list)  # standard APIs and pages, mounted at /
    # (path, factory of an ASGI app)
    mounts: list[tuple[str, Callable[[], Any]]] = field(default_factory=list)
    nav: list[NavItem] = field(default_factory=list)
    templates_dir: Path | None = None
    load_demo: Callable[[Session, DemoContext], None] | None = None
    cli: Any = None  # a typer.Typer mounted as `govgrid <name>`
    migrations_dir: Path | None = None
    on_startup: Callable[[], None] | None = None
    # long-running tasks started with the server (demo-only helpers; scheduled work goes in `periodic`)
    background: list[Callable[[], Any]] = field(default_factory=list)
    periodic: tuple[PeriodicJob, ...] = ()  # run by `govgrid worker` on PostgreSQL, in-process on SQLite
    jobs: tuple[Job, ...] = ()  # on-demand jobs, queued with core.jobs.defer
    work_counters: list[WorkCounter] = field(default_factory=list)


def enabled_module_names() -> list[str]:
    """Modules enabled by GOVGRID_MODULES (default: all installed)."""
    from pydantic import ValidationError

    from govgrid.config import get_settings

    try:
        wanted = get_settings().modules.strip().lower()
    except ValidationError:  # settings are checked where they are used; listing commands must still work
        wanted = "all"
    if wanted in ("", "all"):
        return list(MODULE_NAMES)
    if wanted == "none":
        return []
    chosen = {w.strip() for w in wanted.split(",")}
    return [n for n in MODULE_NAMES if n in chosen]


def module_specs() -> list[ModuleSpec]:
    """Every enabled module's spec, in navigation order."""
    specs = []
    for name in enabled_module_names():
        modname = f"govgrid.{name}.module"
        try:
            found = importlib.util.find_spec(modname)
        except ModuleNotFoundError:
            found = None
        if found is None:
            continue
        mod = importlib.import_module(modname)
        specs.append(mod.MODULE)
    return specs


def import_all_models() -> None:
    """Import every table so Base.metadata is complete (Alembic, tests)."""
    for m in ("divisions", "departments", "identity", "audit", "guards", "jobs"):
        importlib.import_module(f"govgrid.core.{m}.models")
    for name in MODULE_NAMES:
        modname = f"govgrid.{name}.models"
        try:
            if importlib.util.find_spec(modname) is not None:
                importlib.import_module(modname)
        except ModuleNotFoundError:
            continue


def open_work(session: Session, department_ids: list[int]) -> dict[int, list[tuple[WorkCounter, int]]]:
    """Each department's open work as counted by every enabled module (for the 条×块 matrix)."""
    out: dict[int, list[tuple[WorkCounter, int]]] = {}
    if not department_ids:
        return out
    for spec in module_specs():
        for counter in spec.work_counters:
            for dept_id, n in counter.count(session, department_ids).items():
                if n:
                    out.setdefault(dept_id, []).append((counter, n))
    return out
