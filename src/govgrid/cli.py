"""The govgrid command line: demo, serve, db upgrade, divisions load, audit verify, users create and the
modules' commands."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from govgrid.config import Settings
from govgrid.core.bootstrap import bootstrap, settings_or_exit, use_database_secret
from govgrid.core.logs import LOG_FORMATS, configure_logging

app = typer.Typer(help="govgrid: 条块协同的数字政府平台 (digital government across lines and territories)",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database: migrations and reference data", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log", no_args_is_help=True)
users_app = typer.Typer(help="Users and roles", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(users_app, name="users")
console = Console()
err = Console(stderr=True)

DEMO_DB = "govgrid-demo.db"


def prepare_database(url: str) -> None:
    """Migrate to the newest schema and load the GB/T 2260 tree and line catalogue (idempotent)."""
    from govgrid.core.db import session_scope
    from govgrid.core.departments import service as departments
    from govgrid.core.divisions import service as divisions
    from govgrid.core.migrate import upgrade

    upgrade(url)
    with session_scope() as session:
        report = divisions.load_gb2260(session)
        departments.ensure_lines(session)
    if report.inserted:
        console.print(f"行政区划: loaded {report.inserted} divisions; "
                      f"skipped {len(report.skipped)} features without a code")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Run Alembic migrations to the newest revision and load reference data."""
    settings = settings_or_exit()
    bootstrap(settings)
    prepare_database(settings.database_url)
    console.print("[green]database is up to date[/green]")


LogFormatOption = Annotated[str | None, typer.Option(
    "--log-format",
    help="json (one object per line, for a log collector) or console; default GOVGRID_LOG_FORMAT",
)]


def _with_log_format(settings: Settings, log_format: str | None) -> Settings:
    if log_format is None:
        return settings
    if log_format not in LOG_FORMATS:
        err.print(f"[red]参数错误 (bad option):[/red] --log-format must be one of {', '.join(LOG_FORMATS)}")
        raise typer.Exit(2)
    return settings.model_copy(update={"log_format": log_format})


@app.command()
def serve(
    host: str = "127.0.0.1", port: int = 8000, workers: int = 1, log_format: LogFormatOption = None
) -> None:
    """Run the web server against GOVGRID_DATABASE_URL."""
    settings = _with_log_format(settings_or_exit(), log_format)
    if not settings.demo_mode and not settings.public_base_url:
        err.print("[red]配置错误 (configuration error):[/red] GOVGRID_PUBLIC_BASE_URL is not set: links and "
                  "redirects are built from it and only its host is answered (e.g. https://gov.example.cn)")
        raise typer.Exit(2)
    bootstrap(settings)
    use_database_secret(settings)
    _run_server(host, port)


def _run_server(host: str, port: int) -> None:
    import uvicorn

    from govgrid.app import create_app
    from govgrid.config import get_settings

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    application = create_app(background=True)
    uvicorn.run(application, host=host, port=port, log_config=None, log_level=settings.log_level.lower())


@app.command()
def demo(host: str = "127.0.0.1", port: int = 8000,
         database: Annotated[Path, typer.Option(help="SQLite file")] = Path(DEMO_DB),
         no_serve: Annotated[bool, typer.Option("--no-serve", help="only prepare the demo database")] = False,
         log_format: LogFormatOption = None) -> None:
    """Create or reuse ./govgrid-demo.db, load the demo data and start the server."""
    from govgrid.core.db import session_scope
    from govgrid.demo import load_demo

    url = f"sqlite:///{database.resolve()}"
    settings = _with_log_format(Settings(database_url=url, demo_mode=True), log_format)
    bootstrap(settings)
    logging.basicConfig(level=logging.WARNING)
    console.print(f"演示数据库 (demo database): {database.resolve()}")
    prepare_database(url)
    use_database_secret(settings)
    with session_scope() as session:
        ctx = load_demo(session, base_url=f"http://{host}:{port}")
    console.rule("govgrid demo")
    console.print(f"打开 (open): [bold]http://{host}:{port}/[/bold]   API: http://{host}:{port}/docs")
    console.print(f"演示账号密码 (demo password for every account): [bold]{ctx.password}[/bold]")
    for username, what in ctx.users.items():
        console.print(f"  {username:<16} {what}")
    for line in ctx.printed:
        console.print(line)
    console.print("[yellow]演示账号只在演示模式下可用 (demo accounts are refused outside demo mode)[/yellow]")
    if not no_serve:
        _run_server(host, port)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit chain; exit 1 and name the first broken record if any was edited, removed or
    reordered."""
    from govgrid.core.audit import service as audit
    from govgrid.core.db import session_scope

    bootstrap(settings_or_exit())
    with session_scope() as session:
        result = audit.verify(session)
    if result.ok:
        console.print(f"[green]audit chain intact[/green]: {result.checked} records verified")
        return
    err.print(f"[red]audit chain broken at record {result.broken_seq}[/red]: {result.reason} "
              f"({result.checked} records verified before it)")
    raise typer.Exit(1)


@users_app.command("create")
def users_create(username: str, password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
                 display_name: str | None = None, superuser: bool = False,
                 department: Annotated[
                     str | None, typer.Option(help="department code, e.g. 410527-tax")] = None,
                 role: str = "viewer", reach: str = "department") -> None:
    """Add a user, optionally with a role in a department."""
    from govgrid.core.audit.service import SystemActor
    from govgrid.core.db import session_scope
    from govgrid.core.departments import service as departments
    from govgrid.core.errors import AppError
    from govgrid.core.identity import service as identity

    bootstrap(settings_or_exit())
    actor = SystemActor("cli")
    try:
        with session_scope() as session:
            user = identity.create_user(session, actor=actor, username=username, password=password,
                                        display_name=display_name, is_superuser=superuser)
            if department:
                identity.assign_role(session, actor=actor, user=user,
                                     department=departments.get_by_code(session, department), role=role,
                                     reach=reach)
    except AppError as exc:
        err.print(f"[red]{exc.message}[/red]")
        for d in exc.details:
            err.print(f"  {'.'.join(map(str, d['loc']))}: {d['msg']}")
        raise typer.Exit(2) from None
    console.print(f"[green]created user {username}[/green]")


def _mount_module_clis() -> None:
    from govgrid.core.modules import module_specs

    for spec in module_specs():
        if spec.cli is not None:
            app.add_typer(spec.cli, name=spec.name)


try:
    _mount_module_clis()
except Exception as exc:  # a broken module must not take the whole CLI down
    err.print(f"[yellow]模块命令不可用 (module commands unavailable):[/yellow] {exc}")
if __name__ == "__main__":
    app()
