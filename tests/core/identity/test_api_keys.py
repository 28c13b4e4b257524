"""API keys expire and rotate: the new key works at once, the old one until its grace period ends."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from govgrid.core.db import utcnow
from govgrid.core.departments.models import Department
from govgrid.core.identity.models import ApiKey


def _dept(db, code: str) -> int:
    return db.scalar(select(Department.id).where(Department.code == code))


def _issue(client, login, db, **extra):
    body = {"name": "民政数据接口", "department_id": _dept(db, "410527-civil_affairs"), **extra}
    r = client.post("/api/v1/api-keys", headers=login("nh_gov"), json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _works(client, key: str) -> bool:
    return client.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 200


def test_a_key_expires_after_its_days(client, db, login):
    made = _issue(client, login, db, valid_days=30)
    assert made["expires_at"] is not None and _works(client, made["key"])
    past = utcnow() - timedelta(seconds=1)
    db.execute(update(ApiKey).where(ApiKey.id == made["id"]).values(expires_at=past))
    db.flush()
    assert not _works(client, made["key"])


def test_rotation_gives_a_new_key_and_a_grace_period_to_the_old(client, db, login):
    old = _issue(client, login, db)
    r = client.post(f"/api/v1/api-keys/{old['id']}/rotate", headers=login("nh_gov"), json={"grace_days": 3})
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["key"] != old["key"] and _works(client, new["key"]) and _works(client, old["key"])
    row = db.get(ApiKey, old["id"])
    db.refresh(row)
    assert row.replaced_by_id == new["id"]
    assert timedelta(days=2) < row.expires_at - utcnow() <= timedelta(days=3)
    again = client.post(f"/api/v1/api-keys/{old['id']}/rotate", headers=login("nh_gov"), json={})
    assert again.status_code == 409 and "已轮换" in again.json()["error"]["message"]
    now = client.post(f"/api/v1/api-keys/{new['id']}/rotate", headers=login("nh_gov"), json={"grace_days": 0})
    assert now.status_code == 201 and not _works(client, new["key"])


def test_rotation_needs_an_admin_of_that_department(client, db, login):
    old = _issue(client, login, db)
    assert client.post(f"/api/v1/api-keys/{old['id']}/rotate", json={}).status_code == 401
    other = client.post(f"/api/v1/api-keys/{old['id']}/rotate", headers=login("pd_gov"), json={})
    assert other.status_code == 403
    bad = client.post(f"/api/v1/api-keys/{old['id']}/rotate", headers=login("nh_gov"),
                      json={"grace_days": 90})
    assert bad.status_code == 422
