"""One deployment holds a province: every county of 宁夏 onboarded as a tenant, no county reads another's data
(through the appeals and exchange APIs), the province reads the roll-ups."""

from __future__ import annotations

import json
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.coordination.models import Tenant
from govgrid.core.departments.models import Department
from govgrid.core.divisions import service as divisions
from govgrid.core.identity import security
from tests.coordination.conftest import add_user

# a fresh strong password per run: passes the policy, never a literal secret in the tree
PASSWORD = "Nx-" + secrets.token_urlsafe(18)


def test_every_county_of_a_province_is_a_tenant_and_isolated(client, db: Session, login, monkeypatch):
    # argon2 is slow by design: the tenants' admins share one hash here (isolation is under test, not hashing)
    monkeypatch.setattr(security, "hash_password", security.demo_password_hash)
    add_user(db, "nx_gov", "640000-government", "admin", "division")
    counties, total = divisions.descendants(db, divisions.get(db, "640000"), level="county", limit=1000)
    assert total >= 20  # 宁夏: 22 counties and districts
    nx = login("nx_gov")
    for county in counties:
        r = client.post(
            "/api/v1/coordination/tenants",
            headers=nx,
            json={"division_code": county.code, "admin_password": PASSWORD},
        )
        assert r.status_code == 201, r.text
        assert r.json()["departments"] == 26 and r.json()["host_division_code"] == "640000"
    assert db.scalar(select(func.count(Tenant.id)).where(Tenant.host_division_code == "640000")) == total
    a, b = counties[0].code, counties[1].code
    ta, tb = login(f"t{a}_admin"), login(f"t{b}_admin")

    # onboarding twice, by a county, or of a province is refused; nothing is written
    assert (
        client.post(
            "/api/v1/coordination/tenants", headers=nx, json={"division_code": a, "admin_password": PASSWORD}
        ).status_code
        == 409
    )
    assert (
        client.post(
            "/api/v1/coordination/tenants", headers=ta, json={"division_code": b, "admin_password": PASSWORD}
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/v1/coordination/tenants",
            headers=nx,
            json={"division_code": "640000", "admin_password": PASSWORD},
        ).status_code
        == 422
    )

    # appeals: a resident's concern in county A is seen by A's admin, not by B's
    r = client.post(
        "/api/v1/appeals/tickets", json={"description": "小区门口路灯不亮，晚上出行不便", "division_code": a}
    )
    assert r.status_code == 201, r.text
    mine = client.get("/api/v1/appeals/tickets", headers=ta).json()
    assert mine["total"] == 1
    ticket_id = mine["items"][0]["id"]
    assert client.get(f"/api/v1/appeals/tickets/{ticket_id}", headers=ta).status_code == 200
    assert client.get("/api/v1/appeals/tickets", headers=tb).json()["total"] == 0
    assert client.get(f"/api/v1/appeals/tickets/{ticket_id}", headers=tb).status_code in (403, 404)

    # exchange: A's data is read by A and refused to B (no grant)
    r = client.post(
        "/api/v1/exchange/resources",
        headers=ta,
        json={
            "class_code": "A01",
            "name": "低保对象名册",
            "sharing_type": "conditional",
            "sharing_conditions": "仅限社会救助核查",
            "provider_department_code": f"{a}-civil_affairs",
            "items": [
                {"name": "name", "label": "姓名", "personal": True},
                {"name": "village", "label": "村"},
            ],
        },
    )
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    rows = json.dumps([{"name": "张三", "village": "一村"}]).encode()
    up = client.post(
        f"/api/v1/exchange/resources/{code}/upload",
        headers=ta,
        files={"file": ("rows.json", rows, "application/json")},
        data={"format": "json"},
    )
    assert up.status_code == 201, up.text
    assert client.get(f"/api/v1/exchange/resources/{code}/records", headers=ta).status_code == 200
    assert client.get(f"/api/v1/exchange/resources/{code}/records", headers=tb).status_code == 403

    # the province reads the roll-up of its cities; a county may not
    roll = client.get("/api/v1/coordination/rollup/640000", headers=nx)
    assert roll.status_code == 200, roll.text
    rows_by_city = roll.json()["rows"]
    in_cities = sum(r["departments"] for r in rows_by_city)
    assert in_cities == db.scalar(
        select(func.count(Department.id)).where(
            Department.division_code.like("64%") & (Department.division_code != "640000")
        )
    )
    assert in_cities >= 26 * total
    assert client.get("/api/v1/coordination/rollup/640000", headers=ta).status_code == 403
    listed = client.get("/api/v1/coordination/tenants", headers=nx).json()
    assert len(listed) == total
    assert [t["division_code"] for t in client.get("/api/v1/coordination/tenants", headers=ta).json()] == [a]
