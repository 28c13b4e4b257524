"""Backup and restore: the copy restores with its audit chain whole; a changed copy, a changed manifest or an
audit record edited after the backup is caught."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from govgrid.core import backup
from govgrid.core.audit import service as audit
from govgrid.core.audit.models import AuditRecord
from govgrid.core.errors import ValidationFailedError


@pytest.fixture()
def restore_url(database_url: str, tmp_path: Path):
    """An empty database of the same kind to restore into."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"govgrid_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_backup_restores_with_the_chain_verified_and_the_head_signed(database_url, restore_url, tmp_path):
    made = backup.backup(database_url, tmp_path / "govgrid.backup")
    assert made.audit_seq > 0 and len(made.audit_hash) == 64
    assert backup.read_manifest(tmp_path / "govgrid.backup") == made
    result = backup.restore(restore_url, tmp_path / "govgrid.backup")
    assert result.ok, result.reason
    assert result.checked >= made.audit_seq
    engine = create_engine(restore_url)
    with Session(engine) as session:
        assert backup.audit_head(session)[0] == made.audit_seq
        assert backup.check_anchor(session, made.audit_seq, made.audit_hash)
        # an audit record edited after the backup breaks the anchor and the chain
        session.execute(update(AuditRecord).where(AuditRecord.seq == made.audit_seq)
                        .values(action="user.nothing_to_see"))
        session.commit()
        assert not audit.verify(session).ok
    engine.dispose()


def test_a_changed_copy_or_a_changed_manifest_is_refused(database_url, restore_url, tmp_path):
    copy = tmp_path / "govgrid.backup"
    backup.backup(database_url, copy)
    manifest = backup.manifest_path(copy)
    original = manifest.read_text(encoding="utf-8")
    forged = json.loads(original)
    forged["audit_seq"] += 1
    manifest.write_text(json.dumps(forged), encoding="utf-8")
    with pytest.raises(ValidationFailedError, match="签名不成立"):
        backup.restore(restore_url, copy)
    manifest.write_text(original, encoding="utf-8")
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01
    copy.write_bytes(bytes(data))
    with pytest.raises(ValidationFailedError, match="哈希不符"):
        backup.restore(restore_url, copy)


def test_a_backup_never_overwrites_and_needs_its_manifest(database_url, tmp_path):
    copy = tmp_path / "govgrid.backup"
    backup.backup(database_url, copy)
    with pytest.raises(Exception, match="已存在"):
        backup.backup(database_url, copy)
    backup.manifest_path(copy).unlink()
    with pytest.raises(ValidationFailedError, match="缺少备份清单"):
        backup.read_manifest(copy)


def test_the_cli_backs_up_and_restores(database_url, restore_url, tmp_path):
    import os
    import subprocess
    import sys

    def govgrid(url: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "GOVGRID_DATABASE_URL": url, "GOVGRID_DEMO_MODE": "false",
               "GOVGRID_SECRET_KEY": "cli-backup-test-" + "k" * 32}
        return subprocess.run([sys.executable, "-m", "govgrid.cli", *args], env=env, capture_output=True,
                              text=True, timeout=300, check=False)

    copy = tmp_path / "nightly.backup"
    made = govgrid(database_url, "db", "backup", str(copy))
    assert made.returncode == 0, made.stderr
    assert "审计链头" in made.stdout and backup.manifest_path(copy).exists()
    restored = govgrid(restore_url, "db", "restore", str(copy), "--yes")
    assert restored.returncode == 0, restored.stderr
    assert "审计链完整" in restored.stdout
    # another instance (another secret) cannot pass off this backup as its own
    other = subprocess.run([sys.executable, "-m", "govgrid.cli", "db", "restore", str(copy), "--yes"],
                           env={**os.environ, "GOVGRID_DATABASE_URL": restore_url,
                                "GOVGRID_DEMO_MODE": "false",
                                "GOVGRID_SECRET_KEY": "another-instance-" + "z" * 32},
                           capture_output=True, text=True, timeout=300, check=False)
    assert other.returncode == 1 and "不是本实例签署" in other.stderr
