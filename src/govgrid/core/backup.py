"""Backup and restore of the whole database, with the audit head exported signed.

A backup is two files: the copy (SQLite's online backup API, or `pg_dump --format=custom`) and a manifest
beside it (`<file>.manifest.json`) naming the copy's SHA-256 and the audit chain's head at the time of the
backup, signed with an Ed25519 key derived from the instance secret. The manifest proves two things later:
the copy restored is the copy made (its hash), and the live chain still extends the head that was backed up
(`check_anchor`): an audit record edited or removed after the backup shows as a broken anchor even if the
editor re-hashed the chain behind it."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from govgrid.core.audit import service as audit
from govgrid.core.audit.models import AuditHead, AuditRecord
from govgrid.core.errors import BadRequestError, ConflictError, ValidationFailedError
from govgrid.core.sealing import instance_public_key_b64, instance_signing_key

FORMAT = "govgrid-backup/1"


@dataclass(frozen=True)
class Manifest:
    """What a backup holds, and the signed audit head at the time it was made."""

    format: str
    database: str  # "sqlite" | "postgresql"
    created_at: str
    file: str
    sha256: str
    audit_seq: int
    audit_hash: str
    public_key: str  # base64 raw Ed25519 public key of the instance
    signature: str = ""  # base64 Ed25519 signature over `signed_text()`

    def signed_text(self) -> bytes:
        """The bytes the signature covers."""
        return "\n".join([self.format, self.database, self.created_at, self.file, self.sha256,
                          str(self.audit_seq), self.audit_hash]).encode()


def signing_key() -> Ed25519PrivateKey:
    """The instance's Ed25519 key (core.sealing derives it from GOVGRID_SECRET_KEY; packs use the same)."""
    return instance_signing_key()


def public_key_b64() -> str:
    """The instance's public key (publish it so others can check signed audit heads)."""
    return instance_public_key_b64()


def audit_head(session: Session) -> tuple[int, str]:
    """The chain's last record (sequence number and hash); (0, "") for an empty chain."""
    head = session.get(AuditHead, 1)
    return (head.seq, head.hash) if head is not None else (0, "")


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_path(path: Path) -> Path:
    """Where the manifest of a backup file lives."""
    return path.with_name(path.name + ".manifest.json")


def _kind(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BadRequestError(f"不支持备份这种数据库：{backend}")
    return backend


def _sqlite_file(url: str) -> Path:
    name = make_url(url).database
    if not name or name == ":memory:":
        raise BadRequestError("内存数据库无法备份")
    return Path(name)


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
                        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if not candidates:
        raise BadRequestError(f"找不到 {name}：请安装 PostgreSQL 客户端工具（postgresql-client）")
    return str(candidates[-1])


def _pg_env(url: str) -> tuple[str, dict[str, str]]:
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return plain, env


def _run(argv: list[str], env: dict[str, str]) -> None:
    # argv is the PostgreSQL tool, fixed flags and the configured database URL: no user input
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        tail = (done.stderr or "").strip().splitlines()[-3:]
        raise BadRequestError(f"{Path(argv[0]).name} 失败：" + " / ".join(tail))


def backup(url: str, dest: Path) -> Manifest:
    """Copy the database at `url` to `dest` (online: writers keep working) and write its signed manifest."""
    kind = _kind(url)
    dest = dest.resolve()
    if dest.exists():
        raise ConflictError(f"{dest.name} 已存在；请换一个文件名，备份不会覆盖已有文件")
    dest.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    try:
        if kind == "sqlite":
            source = sqlite3.connect(_sqlite_file(url))
            target = sqlite3.connect(dest)
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
            # the head as of the copy: read it from the copy itself
            copy = create_engine(f"sqlite:///{dest}")
            with Session(copy) as session:
                seq, head = audit_head(session)
            copy.dispose()
        else:
            with Session(engine) as session:  # the head first: the dump holds at least this much
                seq, head = audit_head(session)
            plain, env = _pg_env(url)
            _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(dest), plain], env)
    finally:
        engine.dispose()
    manifest = Manifest(FORMAT, kind, datetime.now(UTC).isoformat(timespec="seconds"), dest.name,
                        file_sha256(dest), seq, head, public_key_b64())
    signature = base64.b64encode(signing_key().sign(manifest.signed_text())).decode()
    signed = Manifest(**{**asdict(manifest), "signature": signature})
    manifest_path(dest).write_text(json.dumps(asdict(signed), ensure_ascii=False, indent=2), encoding="utf-8")
    return signed


def read_manifest(source: Path) -> Manifest:
    """The manifest beside a backup, its signature and the file's hash checked (422 when either fails)."""
    path = manifest_path(source)
    if not path.exists():
        raise ValidationFailedError(f"缺少备份清单 {path.name}：没有清单的备份无法证明未被改动")
    try:
        manifest = Manifest(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise ValidationFailedError(f"备份清单 {path.name} 无法读取：{exc}") from None
    if manifest.format != FORMAT:
        raise ValidationFailedError(f"备份格式 {manifest.format} 不是本版本支持的 {FORMAT}")
    if manifest.public_key != public_key_b64():
        raise ValidationFailedError(
            "备份清单不是本实例签署的（或实例密钥 GOVGRID_SECRET_KEY 已更换），无法证明其来源"
        )
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(manifest.public_key))
        key.verify(base64.b64decode(manifest.signature), manifest.signed_text())
    except (InvalidSignature, ValueError):
        raise ValidationFailedError("备份清单的签名不成立：清单在备份之后被改动过") from None
    if file_sha256(source) != manifest.sha256:
        raise ValidationFailedError(f"{source.name} 的内容与清单中的哈希不符：备份文件在备份之后被改动过")
    return manifest


def restore(url: str, source: Path) -> audit.VerifyResult:
    """Replace the database at `url` with a checked backup, then verify the audit chain against its head."""
    kind = _kind(url)
    manifest = read_manifest(source)
    if manifest.database != kind:
        raise BadRequestError(f"这是 {manifest.database} 的备份，不能恢复到 {kind} 数据库")
    if kind == "sqlite":
        target_path = _sqlite_file(url)
        backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        target = sqlite3.connect(target_path)
        try:
            backup_db.backup(target)
        finally:
            target.close()
            backup_db.close()
    else:
        plain, env = _pg_env(url)
        _run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
              "--dbname", plain, str(source)], env)
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            result = audit.verify(session)
            if result.ok and not check_anchor(session, manifest.audit_seq, manifest.audit_hash):
                return audit.VerifyResult(False, result.checked, manifest.audit_seq,
                                          "the restored chain does not hold the backed-up head")
            return result
    finally:
        engine.dispose()


def check_anchor(session: Session, seq: int, expected_hash: str) -> bool:
    """True if the chain's record `seq` still has the hash a signed head recorded (seq 0: empty chain)."""
    if seq == 0:
        return True
    found = session.scalar(select(AuditRecord.hash).where(AuditRecord.seq == seq))
    return found == expected_hash
