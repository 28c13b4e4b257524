"""Logins, API keys and the secret policy."""

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from govgrid.config import DEMO_SECRET_PREFIX, Settings, get_settings, set_settings
from govgrid.core.departments.models import Department
from govgrid.core.identity.models import User
from govgrid.demo import DEMO_PASSWORD


def _dept_id(db, code):
    return db.scalar(select(Department.id).where(Department.code == code))


def test_api_key_lifecycle(client, db, login):
    admin = login("nh_gov")
    dept = _dept_id(db, "410527-tax")
    created = client.post("/api/v1/api-keys", headers=admin, json={"name": "税务对接", "department_id": dept})
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert key.startswith("gg_")
    # the key works as Bearer, bare Authorization (CKAN style) and X-API-Key, and sees only its department
    for headers in ({"Authorization": f"Bearer {key}"}, {"Authorization": key}, {"X-API-Key": key}):
        me = client.get("/api/v1/me", headers=headers)
        assert me.status_code == 200 and me.json()["kind"] == "api_key"
        deps = client.get("/api/v1/departments", headers=headers).json()["items"]
        assert [d["code"] for d in deps] == ["410527-tax"]
    # stored hashed: the clear key is nowhere in the table
    listed = client.get("/api/v1/api-keys", headers=admin).json()
    assert all("key" not in k for k in listed)
    revoked = client.delete(f"/api/v1/api-keys/{created.json()['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_api_key_for_another_county_is_forbidden(client, db, login):
    r = client.post("/api/v1/api-keys", headers=login("nh_gov"),
                    json={"name": "x", "department_id": _dept_id(db, "140321-tax")})
    assert r.status_code == 403


def test_forged_api_key_is_401(client):
    r = client.get("/api/v1/me", headers={"Authorization": "Bearer gg_deadbeef_notakey"})
    assert r.status_code == 401


def test_password_is_stored_as_argon2(db):
    user = db.scalar(select(User).where(User.username == "nh_gov"))
    assert user.password_hash.startswith("$argon2id$")


def test_demo_accounts_refused_outside_demo_mode(client):
    saved = get_settings()
    set_settings(saved.model_copy(update={"demo_mode": False}))
    try:
        r = client.post("/api/v1/auth/token", data={"username": "nh_gov", "password": DEMO_PASSWORD})
    finally:
        set_settings(saved)
    assert r.status_code == 401
    assert "演示" in r.json()["error"]["message"]


def test_no_default_secret_outside_demo_mode(monkeypatch):
    monkeypatch.delenv("GOVGRID_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError):
        Settings(demo_mode=False)
    with pytest.raises(ValidationError):
        Settings(demo_mode=False, secret_key=DEMO_SECRET_PREFIX + "x" * 40)
    with pytest.raises(ValidationError):
        Settings(demo_mode=False, secret_key="short")
    # demo mode without a secret: a random one, never a constant from the source
    first, second = (Settings(demo_mode=True).secret_key.get_secret_value(),
                     Settings(demo_mode=True).secret_key.get_secret_value())
    assert first.startswith(DEMO_SECRET_PREFIX) and first != second and len(first) > 40
    assert Settings(demo_mode=False, secret_key="s" * 40).secret_key.get_secret_value() == "s" * 40


def test_create_user_and_assign_role_within_scope(client, db, login):
    admin = login("nh_gov")
    clerk = {"username": "nh_clerk", "password": "long-enough-1"}
    r = client.post("/api/v1/users", headers=admin, json=clerk)
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    ok = client.post(f"/api/v1/users/{uid}/roles", headers=admin,
                     json={"department_id": _dept_id(db, "410527-civil_affairs"), "role": "operator"})
    assert ok.status_code == 201
    denied = client.post(f"/api/v1/users/{uid}/roles", headers=admin,
                         json={"department_id": _dept_id(db, "140321-civil_affairs"), "role": "operator"})
    assert denied.status_code == 403
    dup = client.post("/api/v1/users", headers=admin, json=clerk)
    assert dup.status_code == 409
    weak = client.post("/api/v1/users", headers=admin, json={"username": "nh_weak", "password": "short"})
    assert weak.status_code == 422


def test_users_create_cli(tmp_path):
    import os
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {
        **os.environ, "GOVGRID_DATABASE_URL": url, "GOVGRID_SECRET_KEY": "k" * 40, "GOVGRID_MODULES": "none"
    }
    upgrade = [sys.executable, "-m", "govgrid.cli", "db", "upgrade"]
    up = subprocess.run(upgrade, env=env, capture_output=True, text=True)
    assert up.returncode == 0, up.stderr
    made = subprocess.run([sys.executable, "-m", "govgrid.cli", "users", "create", "alice", "--password",
                           "correct-horse-1", "--superuser"], env=env, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    again = subprocess.run([sys.executable, "-m", "govgrid.cli", "users", "create", "alice", "--password",
                            "correct-horse-1"], env=env, capture_output=True, text=True)
    assert again.returncode == 2 and "已存在" in again.stderr
    without_secret = {k: v for k, v in env.items() if k != "GOVGRID_SECRET_KEY"}
    nosecret = subprocess.run(upgrade, env=without_secret, capture_output=True, text=True)
    assert nosecret.returncode == 2 and "GOVGRID_SECRET_KEY" in nosecret.stderr
