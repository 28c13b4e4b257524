"""The exchange module's contributions: API, CKAN and DCAT views, pages, demo data, CLI."""

from __future__ import annotations

from pathlib import Path

from govgrid.core.modules import ModuleSpec, NavItem, WorkCounter
from govgrid.exchange import api, ckan, dcat, measures, onboarding, packs, pages, port, usage
from govgrid.exchange.cli import cli
from govgrid.exchange.demo import load_demo
from govgrid.exchange.services import metrics

port.register()  # the data-pull port of core.ports (services pre-fill, economy, market)

measures.register()  # approval time and gateway calls for the coordination measures port

usage.register()  # the data-use port of the institutions module (contribution ledger, security register)

packs.register()  # the catalog section of solution packs and the packs' sharing requests (core.ports)

onboarding.register()  # a newly hosted county's starting catalog (coordination.tenant_onboarded)

MODULE = ModuleSpec(
    name="exchange",
    title_zh="数据目录与共享交换",
    title_en="Data catalog and exchange",
    api_router=api.router,
    root_routers=[ckan.router, dcat.router, pages.router],
    nav=[NavItem("/exchange", "数据共享", "Data exchange")],
    templates_dir=Path(__file__).parent / "templates",
    load_demo=load_demo,
    cli=cli,
    migrations_dir=Path(__file__).parent / "migrations",
    work_counters=[WorkCounter("待审批共享申请", "pending sharing requests", metrics.open_work)],
)
