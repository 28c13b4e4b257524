"""`govgrid appeals escalate|train` against a real database file, as an operator runs them from cron."""

import os
import subprocess
import sys


def _run(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "govgrid.cli", *args], env=env, capture_output=True, text=True
    )


def test_escalate_and_train_commands(tmp_path):
    env = {
        **os.environ,
        "GOVGRID_DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}",
        "GOVGRID_SECRET_KEY": "k" * 40,
        "GOVGRID_MODULES": "appeals",
    }
    up = _run(env, "db", "upgrade")
    assert up.returncode == 0, up.stderr
    ok = _run(env, "appeals", "escalate", "--now", "2026-10-09T09:00:00+08:00")
    assert ok.returncode == 0, ok.stderr
    assert "to superior: 0" in ok.stdout and "to supervisor: 0" in ok.stdout
    naive = _run(env, "appeals", "escalate", "--now", "2026-10-09T09:00:00")
    assert naive.returncode == 2 and "时区" in naive.stderr
    garbage = _run(env, "appeals", "escalate", "--now", "yesterday")
    assert garbage.returncode == 2 and "invalid time" in garbage.stderr
    train = _run(env, "appeals", "train")
    assert train.returncode == 2, train.stdout
    assert "Traceback" not in train.stderr and train.stderr.strip()


UNSEAL = """
from govgrid.core.bootstrap import bootstrap, use_database_secret
from govgrid.core.db import session_scope
from govgrid.appeals.services import channels
settings = use_database_secret(bootstrap())
with session_scope() as session:
    ch = channels.get_channel(session, channel_id="cli_demo")
    print(channels.clear_token(ch), channels.clear_aes_key(ch))
"""


def test_a_channel_saved_in_demo_mode_is_readable_by_the_server(tmp_path):
    """Demo mode without GOVGRID_SECRET_KEY: the CLI seals with the database's own secret, as the server."""
    env = {
        **{k: v for k, v in os.environ.items() if k != "GOVGRID_SECRET_KEY"},
        "GOVGRID_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "GOVGRID_DEMO_MODE": "1",
        "GOVGRID_MODULES": "appeals",
    }
    assert _run(env, "db", "upgrade").returncode == 0
    aes = "a" * 43
    saved = _run(env, "appeals", "channel", "cli_demo", "410527", "tok12345", aes, "wxcli")
    assert saved.returncode == 0, saved.stderr
    read = subprocess.run([sys.executable, "-c", UNSEAL], env=env, capture_output=True, text=True)
    assert read.returncode == 0, read.stderr
    assert read.stdout.split() == ["tok12345", aes]
