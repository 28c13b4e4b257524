"""``govgrid tenants ...``: onboard counties as tenants of this deployment (托管), one or a whole subtree."""

from __future__ import annotations

import secrets
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(name="tenants", help="统筹托管 hosting: onboard counties as tenants", no_args_is_help=True)
console = Console()
err = Console(stderr=True)
CODE = typer.Option(..., "--division", help="GB/T 2260 code, e.g. 640522")


@app.callback()
def main() -> None:
    """统筹托管 hosting lower levels (a group, so `govgrid tenants onboard` keeps its name)."""


@app.command("onboard")
def onboard(
    division: Annotated[str, CODE],
    admin: Annotated[
        str | None, typer.Option("--admin", help="admin user name (default t<code>_admin)")
    ] = None,
) -> None:
    """Onboard one county: its standard departments, an admin user (password printed once), the event."""
    from govgrid.coordination.services import tenants
    from govgrid.core.audit.service import SystemActor
    from govgrid.core.bootstrap import bootstrap
    from govgrid.core.db import session_scope
    from govgrid.core.errors import AppError

    bootstrap()
    password = secrets.token_urlsafe(15)
    try:
        with session_scope() as session:
            t = tenants.onboard(
                session,
                actor=SystemActor("cli"),
                division_code=division,
                admin_password=password,
                admin_username=admin,
            )
            name, user, n = t.division.name, t.admin_username, len(t.department_codes)
    except AppError as exc:
        err.print(f"[red]{exc.message}[/red]")
        for d in exc.details:
            err.print(f"  {d.get('loc')}: {d.get('msg')}")
        raise typer.Exit(2) from None
    console.print(f"已托管 {name} ({division})：{n} 个部门 (departments)")
    console.print(f"管理员 (admin): {user}")
    console.print(f"初始密码 (initial password, shown once): {password}", soft_wrap=True)

@app.command("onboard-all")
def onboard_all(
    under: Annotated[str, typer.Option("--under", help="province or city code, e.g. 640000")],
) -> None:
    """Onboard every county below a province or city that is not yet a tenant (passwords printed once)."""
    from sqlalchemy import select

    from govgrid.coordination.models import Tenant
    from govgrid.coordination.services import tenants
    from govgrid.core.audit.service import SystemActor
    from govgrid.core.bootstrap import bootstrap
    from govgrid.core.db import session_scope
    from govgrid.core.divisions import service as divisions
    from govgrid.core.errors import AppError

    bootstrap()
    actor = SystemActor("cli")
    try:
        with session_scope() as session:
            top = divisions.get(session, under)
            counties, _ = divisions.descendants(session, top, level="county", limit=5000)
            have = set(session.scalars(select(Tenant.division_code)))
            made = []
            for county in counties:
                if county.code in have:
                    continue
                password = secrets.token_urlsafe(15)
                t = tenants.onboard(session, actor=actor, division_code=county.code, admin_password=password)
                made.append((county.code, county.name, t.admin_username, password))
    except AppError as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from None
    for code, name, user, password in made:
        console.print(f"{code} {name}  {user}  {password}")
    console.print(
        f"已托管 {len(made)} 个县级区划 (counties onboarded)；密码仅显示一次 (passwords shown once)"
    )
