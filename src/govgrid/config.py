"""Settings: the only place that reads the environment (prefix GOVGRID_)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_SECRET = "govgrid-demo-secret-not-for-production"


class Settings(BaseSettings):
    """Runtime configuration for one govgrid deployment."""

    model_config = SettingsConfigDict(env_prefix="GOVGRID_", env_file=None, extra="ignore")

    database_url: str = "sqlite:///./govgrid.db"
    demo_mode: bool = False
    secret_key: str = ""
    token_minutes: int = 8 * 60
    default_locale: str = "zh-CN"
    default_division: str = ""
    max_body_bytes: int = 2 * 1024 * 1024
    max_page_size: int = 500
    upload_max_bytes: int = 50 * 1024 * 1024
    log_level: str = "INFO"
    exchange_check_working_days: int = Field(default=2, ge=0, description="days to check a sharing request")
    exchange_answer_working_days: int = Field(default=5, ge=0, description="days for the provider to answer")
    modules: str = Field(default="all", description="comma-separated modules to enable, 'all' or 'none'")
    working_day_calendar: str = Field(default="", description="path to a holiday calendar CSV; empty = built-in")

    @model_validator(mode="after")
    def _secret_policy(self) -> Settings:
        """Refuse to run without a real secret outside demo mode."""
        if not self.secret_key:
            if self.demo_mode:
                self.secret_key = DEMO_SECRET
            else:
                raise ValueError(
                    "GOVGRID_SECRET_KEY is not set: set a random secret of at least 32 characters "
                    "(python -c 'import secrets; print(secrets.token_urlsafe(48))'), or run in demo mode"
                )
        elif not self.demo_mode and (self.secret_key == DEMO_SECRET or len(self.secret_key) < 32):
            raise ValueError("GOVGRID_SECRET_KEY is the demo secret or shorter than 32 characters")
        return self

    @property
    def is_sqlite(self) -> bool:
        """True when the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")


_override: Settings | None = None


@lru_cache
def _from_env() -> Settings:
    return Settings()


def get_settings() -> Settings:
    """The active settings (an override set by the CLI or tests wins)."""
    return _override if _override is not None else _from_env()


def set_settings(settings: Settings | None) -> None:
    """Install settings for this process (CLI demo, tests)."""
    global _override
    _override = settings
