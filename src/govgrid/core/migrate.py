"""Alembic driven by Settings: core revisions plus one branch per module (govgrid/<module>/migrations)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config

from govgrid.core.modules import MODULE_NAMES


def version_locations() -> list[Path]:
    """Core's versions folder and every module's migrations folder that exists."""
    root = Path(str(resources.files("govgrid")))
    found = [root / "migrations" / "versions"]
    found += [root / name / "migrations" for name in MODULE_NAMES if (root / name / "migrations").is_dir()]
    return found


def alembic_config(url: str) -> Config:
    """An Alembic config for a database URL, without an alembic.ini."""
    root = Path(str(resources.files("govgrid")))
    cfg = Config()
    cfg.set_main_option("script_location", str(root / "migrations"))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", ":".join(str(p) for p in version_locations()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    """Apply every pending migration (all module branches)."""
    command.upgrade(alembic_config(url), revision)
