"""`govgrid exchange ...`: look at the catalog and the stuck approvals from the command line."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from govgrid.core.bootstrap import bootstrap

cli = typer.Typer(help="Data catalog and exchange (数据目录与共享交换)", no_args_is_help=True)
console = Console()


@cli.command("overdue")
def overdue() -> None:
    """List sharing requests past their working-day deadline, oldest deadline first."""
    from govgrid.core.db import session_scope
    from govgrid.exchange.services import deadlines

    bootstrap()
    table = Table(
        "id", "resource", "status", "handler dept", "due", title="逾期未办的共享申请 (overdue approvals)"
    )
    with session_scope() as session:
        for r in deadlines.overdue_requests(session):
            table.add_row(
                str(r.id),
                r.resource.code,
                r.status,
                str(r.handler_department_id),
                deadlines.due_at(r).isoformat(),
            )
    console.print(table)


@cli.command("search")
def search(q: str, limit: int = 10) -> None:
    """Full-text search of the whole catalog (as the platform, no scoping)."""
    from govgrid.core.authz.principal import Principal
    from govgrid.core.db import session_scope
    from govgrid.exchange.services import search as catalog_search

    bootstrap()
    system = Principal(kind="user", id=0, name="cli", display_name="cli", is_superuser=True)
    with session_scope() as session:
        rows, total = catalog_search.search_resources(session, actor=system, q=q, limit=limit)
        console.print(f"{total} found")
        for res, score in rows:
            console.print(f"{score:8.0f}  {res.code:<24} {res.name}  [{res.sharing_type}]")
