"""The govgrid command line: demo, serve, db upgrade, divisions load, audit verify, users create and the
modules' commands."""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from govgrid.config import Settings
from govgrid.core.bootstrap import bootstrap, settings_or_exit, use_database_secret
from govgrid.core.logs import LOG_FORMATS, configure_logging
from govgrid.core.modules import DEMO_PASSWORD, DemoContext

if TYPE_CHECKING:
    from fastapi import FastAPI

    from govgrid.demo import DemoProgress

app = typer.Typer(help="govgrid: 条块协同的数字政府平台 (digital government across lines and territories)",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database: migrations and reference data", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log", no_args_is_help=True)
users_app = typer.Typer(help="Users and roles", no_args_is_help=True)
storage_app = typer.Typer(help="File storage (a local folder or S3-compatible object storage)",
                          no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(users_app, name="users")
app.add_typer(storage_app, name="storage")
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
    if not url.startswith("sqlite"):  # PostgreSQL: the job queue's own tables (procrastinate; idempotent)
        from govgrid.core.jobs import queue

        queue.apply_schema(url)
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


@db_app.command("backup")
def db_backup(dest: Annotated[Path, typer.Argument(help="file to write (never overwritten)")]) -> None:
    """Copy the database online (SQLite backup API or pg_dump) with a signed manifest of the audit head."""
    from govgrid.core import backup
    from govgrid.core.errors import AppError

    settings = settings_or_exit()
    bootstrap(settings)
    use_database_secret(settings)
    try:
        made = backup.backup(settings.database_url, dest)
    except AppError as exc:
        err.print(f"[red]备份失败：[/red]{exc.message}")
        raise typer.Exit(1) from None
    typer.echo(f"备份完成：{dest}")
    typer.echo(f"清单：{backup.manifest_path(dest)}")
    typer.echo(f"审计链头：第 {made.audit_seq} 条 {made.audit_hash}")
    typer.echo(f"实例公钥：{made.public_key}")


@db_app.command("restore")
def db_restore(
    source: Annotated[Path, typer.Argument(help="a backup written by `govgrid db backup`")],
    yes: Annotated[bool, typer.Option("--yes", help="replace the current database without asking")] = False,
) -> None:
    """Replace the database with a checked backup; verify the audit chain and the signed head after."""
    from govgrid.core import backup
    from govgrid.core.errors import AppError

    settings = settings_or_exit()
    bootstrap(settings)
    use_database_secret(settings)
    if not yes and not typer.confirm(f"用 {source} 替换当前数据库？", default=False):
        raise typer.Exit(1)
    try:
        result = backup.restore(settings.database_url, source)
    except AppError as exc:
        err.print(f"[red]恢复被拒绝：[/red]{exc.message}")
        raise typer.Exit(1) from None
    if not result.ok:
        err.print(f"[red]恢复后审计链校验失败，第 {result.broken_seq} 条：[/red]{result.reason}")
        raise typer.Exit(1)
    typer.echo(f"恢复完成，审计链完整：已校验 {result.checked} 条")


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
    host: str = "127.0.0.1", port: int = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="web processes (more than 1: PostgreSQL)")] = 1,
    log_format: LogFormatOption = None,
) -> None:
    """Run the web server against GOVGRID_DATABASE_URL (`--workers N`: N processes; scheduled work runs in
    `govgrid worker` on PostgreSQL, in the server itself on SQLite)."""
    settings = _with_log_format(settings_or_exit(), log_format)
    if not settings.demo_mode and not settings.public_base_url:
        err.print("[red]配置错误 (configuration error):[/red] GOVGRID_PUBLIC_BASE_URL is not set: links and "
                  "redirects are built from it and only its host is answered (e.g. https://gov.example.cn)")
        raise typer.Exit(2)
    if workers > 1 and settings.is_sqlite:
        err.print("[red]参数错误 (bad option):[/red] SQLite 只能由一个进程服务，多个工作进程需要 PostgreSQL "
                  "(--workers > 1 needs PostgreSQL: set GOVGRID_DATABASE_URL=postgresql+psycopg://...)")
        raise typer.Exit(2)
    bootstrap(settings)
    use_database_secret(settings)
    if workers > 1:
        _run_workers(host, port, workers, settings)
        return
    _run_server(host, port)


def _run_workers(host: str, port: int, workers: int, settings: Settings) -> None:
    """Serve with uvicorn's worker processes, each building its app from the environment (app.served_app)."""
    import os

    import uvicorn

    os.environ["GOVGRID_LOG_FORMAT"] = settings.log_format  # the workers read their settings from it
    configure_logging(settings.log_format, settings.log_level)
    # a worker imports every module before it answers the supervisor's health check: minutes on a busy host
    uvicorn.run("govgrid.app:served_app", factory=True, host=host, port=port, workers=workers,
                log_config=None, log_level=settings.log_level.lower(), timeout_worker_healthcheck=120,
                **proxy_options(settings))


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="jobs run at the same time")] = 2,
    log_format: LogFormatOption = None,
) -> None:
    """Run the job queue's worker (PostgreSQL): every periodic pass and queued job, until stopped."""
    settings = _with_log_format(settings_or_exit(), log_format)
    if settings.is_sqlite:
        err.print("[red]参数错误 (bad option):[/red] SQLite 上任务在服务进程内执行，无需单独的 worker "
                  "(on SQLite `govgrid serve` runs the jobs itself; the worker needs PostgreSQL)")
        raise typer.Exit(2)
    bootstrap(settings)
    use_database_secret(settings)
    configure_logging(settings.log_format, settings.log_level)
    from govgrid.core.jobs import queue

    queue.run_worker(settings.database_url, concurrency=concurrency)


def _run_server(host: str, port: int, demo: tuple[DemoProgress, DemoContext] | None = None) -> None:
    """Serve the app; with `demo`, load the demo data in a thread once the server answers (the modules'
    background jobs start after it)."""
    import uvicorn

    from govgrid.app import create_app
    from govgrid.config import get_settings

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    application = create_app(background=demo is None)
    if demo is not None:
        _load_demo_after_start(application, *demo)
    uvicorn.run(application, host=host, port=port, log_config=None, log_level=settings.log_level.lower(),
                **proxy_options(settings))


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's proxy options: X-Forwarded-Proto/-For believed from GOVGRID_FORWARDED_ALLOW_IPS only
    (the scheme then decides Secure cookies and HSTS, core.websec)."""
    return {"proxy_headers": True, "forwarded_allow_ips": settings.forwarded_allow_ips}


def _quiet_loader(record: logging.LogRecord) -> bool:
    """Drop the demo loader thread's lines below WARNING (its progress is printed step by step)."""
    return record.threadName != _LOADER_THREAD or record.levelno >= logging.WARNING


_LOADER_THREAD = "demo-loader"


def _load_demo_after_start(application: FastAPI, progress: DemoProgress, ctx: DemoContext) -> None:
    """Start the demo loader thread when the app starts; pages read `app.state.demo_progress` for the
    banner."""
    from govgrid.core.modules import module_specs

    application.state.demo_progress = progress
    for handler in logging.getLogger().handlers:  # the loader's thousands of INFO lines would bury the output
        handler.addFilter(_quiet_loader)
    inner = application.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        loop = asyncio.get_running_loop()

        def start_jobs() -> None:
            from govgrid.core import jobs

            for spec in module_specs():
                for start in spec.background:
                    if inspect.iscoroutinefunction(start):
                        asyncio.run_coroutine_threadsafe(start(), loop).result()
                    else:
                        start()
            jobs.start_in_process()  # the demo is SQLite: the periodic jobs run in this process

        async with inner(app) as state:
            threading.Thread(target=_load_in_background, args=(progress, ctx, start_jobs),
                             name=_LOADER_THREAD, daemon=True).start()
            yield state

    application.router.lifespan_context = lifespan


@app.command()
def demo(host: str = "127.0.0.1", port: int = 8000,
         database: Annotated[Path, typer.Option(help="SQLite file")] = Path(DEMO_DB),
         no_serve: Annotated[bool, typer.Option("--no-serve", help="only prepare the demo database")] = False,
         log_format: LogFormatOption = None) -> None:
    """Create or reuse ./govgrid-demo.db and serve it at once; the demo data loads in the background."""
    from govgrid.core.migrate import upgrade
    from govgrid.demo import DemoProgress, demo_steps, run_steps

    url = f"sqlite:///{database.resolve()}"
    settings = _with_log_format(Settings(database_url=url, demo_mode=True), log_format)
    bootstrap(settings)
    logging.basicConfig(level=logging.WARNING)
    # Plain prints, one item per line: a key or an address is never wrapped by a console's width.
    _say(f"演示数据库 (demo database): {database.resolve()}")
    upgrade(url)
    use_database_secret(settings)
    base = f"http://{host}:{port}"
    ctx = DemoContext(password=DEMO_PASSWORD, base_url=base)
    progress = DemoProgress(demo_steps())
    if no_serve:
        run_steps(progress, ctx, report=_say)
        _print_demo(ctx)
        return
    _say(f"打开 (open): {base}/")
    _say(f"API: {base}/docs")
    _say("演示数据在后台加载，页面顶部显示进度 (the demo data loads in the background; pages show a banner)")
    _run_server(host, port, demo=(progress, ctx))


def _say(line: str) -> None:
    print(line, flush=True)  # noqa: T201  (the demo's own output: plain lines, never wrapped)


def _print_demo(ctx: DemoContext) -> None:
    """The accounts, keys and links of the demo, one per line."""
    _say("---- govgrid demo ----")
    _say(f"打开 (open): {ctx.base_url}/")
    _say(f"API: {ctx.base_url}/docs")
    _say("演示账号密码 (demo password for every account):")
    _say(ctx.password)
    for username, what in ctx.users.items():
        _say(f"  {username:<16} {what}")
    for line in ctx.printed:
        _say(line)
    _say("演示账号只在演示模式下可用 (demo accounts are refused outside demo mode)")


def _load_in_background(progress: DemoProgress, ctx: DemoContext, start_jobs: Callable[[], None]) -> None:
    """The demo loader thread: every step, then the accounts and keys, then the modules' background jobs."""
    from govgrid.demo import run_steps

    try:
        run_steps(progress, ctx, report=_say)
    except Exception as exc:  # the server keeps serving what is there; the banner says it failed
        _say(f"演示数据加载失败 (loading the demo data failed): {exc}")
        return
    _print_demo(ctx)
    start_jobs()


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


@storage_app.command("sweep")
def storage_sweep(
    grace_minutes: Annotated[int, typer.Option(min=1, help="keep orphans younger than this")] = 60,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list what would be removed")] = False,
) -> None:
    """Remove stored files no row references (left by failed transactions), older than the grace period."""
    from datetime import timedelta

    from govgrid.core import storage
    from govgrid.core.db import session_scope
    from govgrid.core.modules import module_specs

    bootstrap(settings_or_exit())
    module_specs()  # the modules register which keys their rows hold
    with session_scope() as session:
        report = storage.sweep(session, grace=timedelta(minutes=grace_minutes), dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for key in report.removed:
        console.print(f"  {verb} {key}")
    console.print(f"[green]storage sweep[/green]: {report.checked} files checked in "
                  f"{', '.join(report.namespaces) or 'no namespace'}; {verb} {len(report.removed)} orphans; "
                  f"kept {report.kept_young} younger than {grace_minutes} min")


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
            # a module may name its command group (reuse: `govgrid packs ...`, the interface in issue 19)
            app.add_typer(spec.cli, name=spec.cli.info.name or spec.name)


try:
    _mount_module_clis()
except Exception as exc:  # a broken module must not take the whole CLI down
    err.print(f"[yellow]模块命令不可用 (module commands unavailable):[/yellow] {exc}")
if __name__ == "__main__":
    app()
