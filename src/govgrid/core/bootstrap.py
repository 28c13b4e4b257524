"""One start-up path for every command line: the `govgrid` CLI and every module's sub-commands.

A command calls `settings_or_exit()` (configuration errors become a readable message and exit code 2, never a
traceback), then `bootstrap(settings)` to point the process at the configured database. Commands that sign or
verify tokens on a demo database call `use_database_secret(settings)` after the schema exists.
"""

from __future__ import annotations

import typer
from pydantic import SecretStr, ValidationError
from rich.console import Console

from govgrid.config import DEMO_SECRET_PREFIX, Settings, get_settings, set_settings

_err = Console(stderr=True)


def settings_or_exit() -> Settings:
    """The process settings, or a zh-CN message per configuration error and exit code 2."""
    try:
        return get_settings()
    except ValidationError as exc:
        for e in exc.errors():
            _err.print(f"[red]配置错误 (configuration error):[/red] {e['msg']}")
        raise typer.Exit(2) from None


def bootstrap(settings: Settings | None = None) -> Settings:
    """Install the settings for this process and point it at their database; returns the settings."""
    from govgrid.core import db

    settings = settings if settings is not None else settings_or_exit()
    set_settings(settings)
    db.configure(settings.database_url)
    return settings


def use_database_secret(settings: Settings) -> Settings:
    """In demo mode without GOVGRID_SECRET_KEY, sign with the demo database's own random secret (every worker
    and every restart agree on it; nothing in the source can forge a token)."""
    if not settings.demo_mode or not settings.secret_key.get_secret_value().startswith(DEMO_SECRET_PREFIX):
        return settings  # a configured secret always wins; only the per-process placeholder is replaced
    from govgrid.core.db import session_scope
    from govgrid.core.identity.instance import demo_secret

    with session_scope() as session:
        secret = demo_secret(session)
    settings = settings.model_copy(update={"secret_key": SecretStr(secret)})
    set_settings(settings)
    return settings
