"""Settings: the only place that reads the environment (prefix GOVGRID_)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Marks a secret generated for one demo database (see core.instance); never accepted outside demo mode.
DEMO_SECRET_PREFIX = "demo-"  # noqa: S105  (a marker, not a secret)


class Settings(BaseSettings):
    """Runtime configuration for one govgrid deployment."""

    model_config = SettingsConfigDict(env_prefix="GOVGRID_", env_file=None, extra="ignore")

    database_url: str = "sqlite:///./govgrid.db"
    redis_url: str = Field(default="", description="redis://host:6379/0 keeps the shared rate-limit counters "
                           "in Redis; empty = in the database (PostgreSQL) or in process (SQLite)")
    compute_schedulers: str = Field(default="", description="the Dask scheduler addresses a compute pool "
                                    "may name (tcp://host:port, space-separated); empty = none: every pool "
                                    "runs its jobs in the server process")
    demo_mode: bool = False
    secret_key: SecretStr = Field(default=SecretStr(""), description="signs sessions, tokens and CSRF; "
                                  "seals secrets at rest (never logged or shown)")
    token_minutes: int = 8 * 60
    default_locale: str = "zh-CN"
    default_division: str = ""
    max_body_bytes: int = 2 * 1024 * 1024
    max_page_size: int = 500
    upload_max_bytes: int = 50 * 1024 * 1024
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = Field(default="console", description="operator log lines: json "
                                                   "(one object per line) or console")
    exchange_check_working_days: int = Field(default=2, ge=0, description="days to check a sharing request")
    exchange_answer_working_days: int = Field(default=5, ge=0, description="days for the provider to answer")
    modules: str = Field(default="all", description="comma-separated modules to enable, 'all' or 'none'")
    working_day_calendar: str = Field(default="", description="path to a holiday calendar CSV; "
                                      "empty = built-in")
    public_base_url: str = Field(default="", description="the address users reach the site at, e.g. "
                                 "https://gov.example.cn; links and redirects are built from it, "
                                 "never from Host")
    allowed_hosts: str = Field(default="", description="comma-separated Host names the server answers; "
                               "empty = the host of public_base_url (demo: localhost names)")
    forwarded_allow_ips: str = Field(default="127.0.0.1", description="comma-separated addresses or networks "
                                     "of the reverse proxies whose X-Forwarded-Proto/-For are believed "
                                     "(uvicorn's --forwarded-allow-ips); anyone else's are ignored")
    behind_tls: bool = Field(default=False, description="the site is only reached over HTTPS (a proxy "
                             "terminates TLS without sending X-Forwarded-Proto): cookies get Secure and "
                             "responses Strict-Transport-Security as for an https request")
    hsts_max_age: int = Field(default=31536000, ge=0, description="Strict-Transport-Security max-age in "
                              "seconds on responses served over TLS (0: no HSTS header)")
    worker_threads: int = Field(default=40, ge=4, le=512, description="threads serving blocking work; the "
                                "database pool is sized to them")
    max_in_flight: int = Field(default=400, ge=8, description="requests in progress per process before new "
                               "ones get 503 + Retry-After")
    sqlite_write_wait_seconds: float = Field(default=10.0, gt=0, le=60, description="how long a write "
                                             "waits for admission (its turn on SQLite; a free slot on "
                                             "PostgreSQL) before a 503")
    login_free_failures: int = Field(default=5, ge=1,
                                     description="wrong passwords per account before backoff")
    login_address_free_failures: int = Field(default=20, ge=1, description="failures per client address "
                                             "(all accounts) before backoff")
    login_max_lock_minutes: int = Field(default=30, ge=1,
                                        description="longest lockout after repeated failures")
    map_tiles: str = Field(default="", description="basemap tiles for every map: an XYZ URL template "
                           "({z}/{x}/{y}, optional {s}) or a WMTS one ({TileMatrix}/{TileRow}/{TileCol}), "
                           "e.g. "
                           "天地图 https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&"
                           "VERSION=1.0.0&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&"
                           "TILEROW={y}&TILECOL={x}&tk=<key>; empty = offline (division boundaries and "
                           "names)")
    map_tiles_labels: str = Field(default="", description="an optional label overlay in the same form "
                                  "(天地图: LAYER=cva, vec_w -> cva_w)")
    map_tiles_attribution: str = Field(default="", description="the tile provider's attribution text")
    storage_url: str = Field(default="", description="where files (photos, uploads) are kept: a folder, "
                             "file:///path, or s3://bucket/prefix for S3-compatible object storage; empty = "
                             "a files/ folder beside the SQLite database (./files on PostgreSQL)")
    storage_s3_endpoint_url: str = Field(default="", description="S3-compatible endpoint, e.g. "
                                         "https://oss-cn-hangzhou.aliyuncs.com or a MinIO address; "
                                         "empty = AWS")
    storage_s3_region: str = Field(default="", description="S3 region name (optional)")
    storage_s3_key_id: str = Field(default="", description="S3 access key id; empty = the standard AWS "
                                   "credential chain (AWS_ACCESS_KEY_ID, instance role)")
    storage_s3_secret: SecretStr = Field(default=SecretStr(""), description="S3 secret access key")

    @model_validator(mode="after")
    def _secret_policy(self) -> Settings:
        """Refuse to run without a real secret outside demo mode; demo mode never uses a known constant."""
        key = self.secret_key.get_secret_value()
        if not key:
            if self.demo_mode:
                # A per-process random secret until the demo database's own one is loaded (core.instance):
                # nothing signed with it can be forged from the source.
                self.secret_key = SecretStr(DEMO_SECRET_PREFIX + secrets.token_urlsafe(32))
            else:
                raise ValueError(
                    "GOVGRID_SECRET_KEY is not set: set a random secret of at least 32 characters "
                    "(python -c 'import secrets; print(secrets.token_urlsafe(48))'), or run in demo mode"
                )
        elif not self.demo_mode and (key.startswith(DEMO_SECRET_PREFIX) or len(key) < 32):
            raise ValueError("GOVGRID_SECRET_KEY is a demo secret or shorter than 32 characters")
        return self

    def host_allow_list(self) -> list[str]:
        """Host names the server answers (TrustedHostMiddleware)."""
        hosts = [h.strip() for h in self.allowed_hosts.split(",") if h.strip()]
        if self.public_base_url:
            from urllib.parse import urlsplit

            host = urlsplit(self.public_base_url).hostname
            if host and host not in hosts:
                hosts.append(host)
        if self.demo_mode or not hosts:
            # demo, or nothing configured: the local names only (a deployment sets GOVGRID_PUBLIC_BASE_URL)
            hosts += [h for h in ("127.0.0.1", "localhost", "::1", "[::1]", "testserver") if h not in hosts]
        return hosts

    def map_tile_origins(self) -> list[str]:
        """The origins the basemap tiles come from (the pages' CSP allows images from them)."""
        from urllib.parse import urlsplit

        out = []
        for url in (self.map_tiles, self.map_tiles_labels):
            parts = urlsplit(url.strip())
            if parts.scheme in ("http", "https") and parts.hostname:
                host = parts.netloc.split("@")[-1]
                if "{" in host:  # a subdomain placeholder: CSP allows a wildcard only as the first label
                    host = "*." + host.split(".", 1)[-1]
                origin = f"{parts.scheme}://{host}"
                if origin not in out:
                    out.append(origin)
        return out

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
