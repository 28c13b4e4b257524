"""Object storage for files (photos, uploads, rasters): one interface over fsspec, the local disk by default
and S3-compatible object storage (s3fs) in production.

Keys are generated here (`<namespace>/<yyyymmdd>/<hhmmss>-<uuid hex>`), never taken from user input, and
checked against that exact shape before any read or delete, so no key can leave the storage root. Writers put
the object first and then flush the row that references it: a failed transaction leaves an orphan object,
never a row without its object. `sweep` (`govgrid storage sweep`) removes orphans older than a grace period,
asking each namespace's registered reference source which keys rows still hold."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from govgrid.config import Settings, get_settings
from govgrid.core.errors import NotFoundError, UnavailableError, ValidationFailedError

log = logging.getLogger(__name__)

NAMESPACE_RE = re.compile(r"^[a-z][a-z0-9-]{1,39}$")
KEY_RE = re.compile(r"^([a-z][a-z0-9-]{1,39})/(\d{8})/(\d{6})-([0-9a-f]{32})$")
KEY_MAX_LENGTH = 96  # the longest key: 40 + 1 + 8 + 1 + 6 + 1 + 32
UNAVAILABLE = "文件存储暂不可用，请稍后重试 (file storage unavailable; retry shortly)"
SWEEP_GRACE = timedelta(hours=1)  # an object younger than this may belong to a transaction still running

# namespace -> function(session) returning every key rows of that namespace still reference
ReferenceSource = Callable[[Session], Iterable[str]]
_sources: dict[str, ReferenceSource] = {}
_lock = threading.Lock()
_cache: dict[tuple[str, ...], Storage] = {}


def register_references(namespace: str, source: ReferenceSource) -> None:
    """Declare which keys of `namespace` are in use (the sweep never removes them); a module calls it once."""
    if not NAMESPACE_RE.match(namespace):
        raise ValueError(f"bad storage namespace {namespace!r}")
    _sources[namespace] = source


def default_url(settings: Settings) -> str:
    """Where files go when `storage_url` is empty: a `files/` folder beside the SQLite file, else ./files."""
    if settings.storage_url:
        return settings.storage_url
    url = settings.database_url
    if url.startswith("sqlite") and ":memory:" not in url and "mode=memory" not in url:
        path = url.split("///", 1)[-1].split("?", 1)[0]
        return str(Path(path).resolve().parent / "files")
    return str(Path("files").resolve())


def new_key(namespace: str, *, now: datetime | None = None) -> str:
    """A fresh key in `namespace`: the time it was made (for the sweep's grace period) and a random uuid."""
    if not NAMESPACE_RE.match(namespace):
        raise ValueError(f"bad storage namespace {namespace!r}")
    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{namespace}/{stamp:%Y%m%d}/{stamp:%H%M%S}-{uuid.uuid4().hex}"


def key_time(key: str) -> datetime:
    """When the object under `key` was made (from the key itself; NotFoundError for a malformed key)."""
    m = KEY_RE.match(key)
    if m is None:
        raise NotFoundError("文件不存在 (no such file)")
    return datetime.strptime(m.group(2) + m.group(3), "%Y%m%d%H%M%S").replace(tzinfo=UTC)


@dataclass
class Storage:
    """One storage root: an fsspec filesystem and the path of the root inside it."""

    url: str
    fs: Any
    root: str
    is_local: bool = field(default=True)

    def _path(self, key: str) -> str:
        if len(key) > KEY_MAX_LENGTH or KEY_RE.match(key) is None:
            raise NotFoundError("文件不存在 (no such file)")
        return f"{self.root}/{key}"

    def put(self, namespace: str, data: bytes, *, content_type: str) -> str:
        """Store `data` under a new key in `namespace` and return the key."""
        if not isinstance(data, bytes | bytearray):
            raise ValidationFailedError("文件内容无效 (file content must be bytes)")
        key = new_key(namespace)
        path = self._path(key)
        try:
            if self.is_local:
                # write beside, then rename: a crash mid-write never leaves a partial object under the key
                tmp = f"{path}.part-{uuid.uuid4().hex[:8]}"
                self.fs.pipe_file(tmp, bytes(data))
                self.fs.mv(tmp, path)
            else:
                self.fs.pipe_file(path, bytes(data), ContentType=content_type)
        except OSError as exc:
            log.warning("storage put failed", extra={"namespace": namespace, "reason": type(exc).__name__})
            raise UnavailableError(UNAVAILABLE) from exc
        log.info("storage put", extra={"key": key, "size": len(data)})
        return key

    def get(self, key: str) -> bytes:
        """The bytes under `key` (NotFoundError if there is no such object)."""
        path = self._path(key)
        try:
            return bytes(self.fs.cat_file(path))
        except FileNotFoundError:
            raise NotFoundError("文件不存在 (no such file)") from None
        except OSError as exc:
            raise UnavailableError(UNAVAILABLE) from exc

    def exists(self, key: str) -> bool:
        """True if an object is stored under `key`."""
        try:
            path = self._path(key)
        except NotFoundError:
            return False
        return bool(self.fs.exists(path))

    def delete(self, key: str) -> None:
        """Remove the object under `key` (nothing happens if there is none)."""
        path = self._path(key)
        try:
            self.fs.rm_file(path)
        except FileNotFoundError:
            return
        log.info("storage delete", extra={"key": key})

    def keys(self, namespace: str) -> list[str]:
        """Every key stored in `namespace` (the sweep's listing; partial writes are not keys)."""
        if not NAMESPACE_RE.match(namespace):
            raise ValueError(f"bad storage namespace {namespace!r}")
        base = f"{self.root}/{namespace}"
        if not self.fs.exists(base):
            return []
        out = []
        for path in self.fs.find(base):
            key = str(path)[len(self.root) + 1:] if str(path).startswith(self.root) else str(path)
            if KEY_RE.match(key):
                out.append(key)
        return sorted(out)

    def partials(self, namespace: str) -> list[str]:
        """Leftover partial writes of a crashed local put in `namespace` (paths inside the root)."""
        base = f"{self.root}/{namespace}"
        if not self.is_local or not self.fs.exists(base):
            return []
        return [str(p) for p in self.fs.find(base) if ".part-" in str(p)]


def open_storage(url: str, settings: Settings | None = None) -> Storage:
    """A Storage for `url`: a local directory (a path or file://...) or s3://bucket/prefix."""
    import fsspec

    if url.startswith("s3://"):
        settings = settings or get_settings()
        options: dict[str, Any] = {}
        if settings.storage_s3_endpoint_url:
            options["endpoint_url"] = settings.storage_s3_endpoint_url
        if settings.storage_s3_region:
            options.setdefault("client_kwargs", {})["region_name"] = settings.storage_s3_region
        if settings.storage_s3_key_id:
            options["key"] = settings.storage_s3_key_id
            options["secret"] = settings.storage_s3_secret.get_secret_value()
        fs = fsspec.filesystem("s3", **options)
        root = url[len("s3://"):].rstrip("/")
        if not root:
            raise ValueError("GOVGRID_STORAGE_URL s3://... must name a bucket")
        return Storage(url=url, fs=fs, root=root, is_local=False)
    if "://" in url and not url.startswith("file://"):
        raise ValueError(f"GOVGRID_STORAGE_URL: unsupported scheme in {url!r} (use a folder, file:// or s3://)")
    path = Path(url[len("file://"):] if url.startswith("file://") else url).resolve()
    path.mkdir(parents=True, exist_ok=True)
    fs = fsspec.filesystem("file", auto_mkdir=True)
    return Storage(url=url, fs=fs, root=path.as_posix(), is_local=True)


def get_storage() -> Storage:
    """The storage of the active settings (one per configuration, shared by threads)."""
    settings = get_settings()
    url = default_url(settings)
    ident = (url, settings.storage_s3_endpoint_url, settings.storage_s3_key_id)
    with _lock:
        found = _cache.get(ident)
        if found is None:
            found = _cache[ident] = open_storage(url, settings)
        return found


def put(namespace: str, data: bytes, *, content_type: str) -> str:
    """Store `data` in `namespace` under a new key and return the key (write it before the row)."""
    return get_storage().put(namespace, data, content_type=content_type)


def get(key: str) -> bytes:
    """The bytes stored under `key`."""
    return get_storage().get(key)


def get_verified(key: str, *, size: int, sha256: str) -> bytes:
    """The bytes stored under `key`, checked against the size and SHA-256 recorded when they were stored: a
    changed or truncated object is logged and refused (503), never served."""
    data = get(key)
    if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
        log.error("stored object does not match its hash", extra={"storage_key": key})
        raise UnavailableError("文件校验失败，请联系管理员 (the stored file does not match its hash)")
    return data


def exists(key: str) -> bool:
    """True if something is stored under `key`."""
    return get_storage().exists(key)


def delete(key: str) -> None:
    """Remove the object under `key`."""
    get_storage().delete(key)


@dataclass
class SweepReport:
    """What a sweep found and removed, per namespace."""

    checked: int = 0
    removed: list[str] = field(default_factory=list)
    kept_young: int = 0
    namespaces: list[str] = field(default_factory=list)


def sweep(session: Session, *, grace: timedelta = SWEEP_GRACE, dry_run: bool = False,
          now: datetime | None = None, sources: Mapping[str, ReferenceSource] | None = None) -> SweepReport:
    """Remove objects no row references and older than `grace` (orphans of failed transactions)."""
    store = get_storage()
    now = now or datetime.now(UTC)
    sources = _sources if sources is None else sources
    report = SweepReport(namespaces=sorted(sources))
    for namespace in report.namespaces:
        keys = store.keys(namespace)
        referenced = set(sources[namespace](session)) if keys else set()
        for key in keys:
            report.checked += 1
            if key in referenced:
                continue
            if now - key_time(key) < grace:
                report.kept_young += 1
                continue
            if not dry_run:
                store.delete(key)
            report.removed.append(key)
        for partial in store.partials(namespace):
            if now - key_time(partial[len(store.root) + 1:].split(".part-", 1)[0]) < grace:
                report.kept_young += 1
                continue
            if not dry_run:
                store.fs.rm_file(partial)
            report.removed.append(partial[len(store.root) + 1:])
    log.info("storage sweep", extra={"checked": report.checked, "removed": len(report.removed)})
    return report
