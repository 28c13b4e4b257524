"""The services module's plug (一网通办): API, pages, navigation, demo, the timer job, migrations."""

from __future__ import annotations

from pathlib import Path

from govgrid.core.modules import ModuleSpec, NavItem
from govgrid.services import api, jobs, measures, onboarding, packs, pages
from govgrid.services.demo import load_demo

measures.register()  # 网上可办率, 即办件率 for the coordination measures port

packs.register()  # service items, bundles and BPMN as a solution-pack section (core.ports)

onboarding.register()  # a newly hosted county's starting service items (coordination.tenant_onboarded)

MODULE = ModuleSpec(
    name="services",
    title_zh="一网通办",
    title_en="One-stop services",
    api_router=api.router,
    root_routers=[pages.router],
    nav=[NavItem("/services", "一网通办", "One-stop services", public=True)],
    templates_dir=Path(__file__).parent / "templates",
    load_demo=load_demo,
    migrations_dir=Path(__file__).parent / "migrations",
    periodic=jobs.PERIODIC,
)
