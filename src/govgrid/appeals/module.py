"""The appeals module (民声诉求与监督): channels, routing, clocks and escalation, supervision, 三率
figures."""

from __future__ import annotations

from pathlib import Path

from govgrid.appeals import api, callbacks, demo, jobs, measures, open311, packs, pages
from govgrid.appeals.cli import app as cli_app
from govgrid.appeals.services import queries
from govgrid.core.events import subscribe
from govgrid.core.modules import ModuleSpec, NavItem, WorkCounter

for _name, _handler in jobs.SUBSCRIPTIONS:
    subscribe(_name, _handler)

measures.register()  # the appeals figures of the coordination measures port
packs.register()  # the appeals section of solution packs (core.ports, reuse)

MODULE = ModuleSpec(
    name="appeals",
    title_zh="民声诉求",
    title_en="Citizen appeals",
    api_router=api.router,
    root_routers=[callbacks.router, open311.router, pages.router],
    nav=[
        NavItem("/appeals/report", "我要反映", "Report a concern", public=True),
        NavItem("/appeals/track", "诉求查询", "Track a ticket", public=True),
        NavItem("/appeals/stats", "民声统计", "Appeals statistics", public=True),
        NavItem("/appeals/desk", "诉求办理", "Appeals desk"),
    ],
    templates_dir=Path(__file__).parent / "templates",
    load_demo=demo.load_demo,
    cli=cli_app,
    migrations_dir=Path(__file__).parent / "migrations",
    on_startup=pages.register,
    periodic=jobs.PERIODIC,
    work_counters=[WorkCounter("在办诉求", "open tickets", queries.open_work)],
)
