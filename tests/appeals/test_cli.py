"""`govgrid appeals escalate|train` against a real database file, as an operator runs them from cron."""

import os
import subprocess
import sys


def _run(env, *args):
    return subprocess.run([sys.executable, "-m", "govgrid.cli", *args], env=env, capture_output=True, text=True)


def test_escalate_and_train_commands(tmp_path):
    env = {**os.environ, "GOVGRID_DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}", "GOVGRID_SECRET_KEY": "k" * 40,
           "GOVGRID_MODULES": "appeals"}
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
