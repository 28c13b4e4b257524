"""`govgrid packs export | install [--dry-run] | uninstall`, the interface others rely on (issue 19)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from govgrid.core.audit.service import SystemActor
from govgrid.reuse import cli
from govgrid.reuse.models import Installation
from govgrid.reuse.services import packs
from tests.reuse.conftest import MAPPING, NEIHUANG, PINGDING, SECTION


@pytest.fixture()
def runner(monkeypatch, neihuang: Session) -> CliRunner:
    """The commands against the test's database (already configured; its transaction is rolled back)."""
    monkeypatch.setattr(cli, "_start", lambda: None)
    return CliRunner()


def test_export_dry_run_install_and_uninstall(runner: CliRunner, neihuang: Session, tmp_path):
    pack_file, mapping_file = tmp_path / "nh.json", tmp_path / "map.json"
    mapping_file.write_text(json.dumps(MAPPING), encoding="utf-8")
    export = ["export", "--division", NEIHUANG, "--module", "appeals", "-o", str(pack_file)]
    out = runner.invoke(cli.app, export)
    assert out.exit_code == 0, out.output
    assert json.loads(pack_file.read_text(encoding="utf-8"))["manifest"]["id"] == f"appeals-{NEIHUANG}"
    again = runner.invoke(cli.app, export)
    assert again.exit_code == 2  # never overwrites a file

    before = packs.export_section(neihuang, actor=SystemActor("t"), division_code=PINGDING, key=SECTION)
    dry = runner.invoke(cli.app, ["install", str(pack_file), "--division", PINGDING, "--mapping",
                                  str(mapping_file), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "/categories/village_affairs/line" in dry.output and "dry run" in dry.output
    assert neihuang.scalar(select(func.count()).select_from(Installation)) == 0

    done = runner.invoke(cli.app, ["install", str(pack_file), "--division", PINGDING, "--mapping",
                                   str(mapping_file)])
    assert done.exit_code == 0, done.output
    assert neihuang.scalar(select(func.count()).select_from(Installation)) == 1
    gone = runner.invoke(cli.app, ["uninstall", f"appeals-{NEIHUANG}", "--division", PINGDING])
    assert gone.exit_code == 0, gone.output
    neihuang.expire_all()
    after = packs.export_section(neihuang, actor=SystemActor("t"), division_code=PINGDING, key=SECTION)
    assert after == before


def test_a_tampered_file_is_refused_with_exit_2(runner: CliRunner, tmp_path):
    pack_file = tmp_path / "nh.json"
    assert runner.invoke(cli.app, ["export", "--division", NEIHUANG, "--module", "appeals", "-o",
                                   str(pack_file)]).exit_code == 0
    raw = pack_file.read_bytes()
    at = raw.index(b'"resolve_days": 1')
    pack_file.write_bytes(raw[: at + 16] + b"3" + raw[at + 17:])
    out = runner.invoke(cli.app, ["install", str(pack_file), "--division", PINGDING])
    assert out.exit_code == 2 and "签名核验失败" in out.output
    missing = runner.invoke(cli.app, ["uninstall", "appeals-nowhere", "--division", PINGDING])
    assert missing.exit_code == 2
