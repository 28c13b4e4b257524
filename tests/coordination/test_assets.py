"""Assets (硬/软): the duplication check, utilisation, and who sees whose registry."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.coordination.models import Asset, SoftwareSystem

PROVINCE_PLATFORM = {
    "department_code": "410000-data_management",
    "kind": "data_platform",
    "name": "河南省一体化数据共享交换平台",
    "state": "operating",
    "offered_below": True,
    "users": 5000,
}
COUNTY_PLAN = {
    "department_code": "410527-data_management",
    "kind": "data_platform",
    "name": "内黄县数据中台",
    "state": "planned",
    "budget_wan": 380,
}


def test_a_countys_planned_data_platform_is_flagged_when_the_province_hosts_one(
    client, db: Session, login, users
):
    r = client.post("/api/v1/coordination/systems", json=COUNTY_PLAN, headers=login("nh_data"))
    assert r.status_code == 201 and r.json()["duplicate_of"] is None  # nothing offered above yet
    r = client.post("/api/v1/coordination/systems", json=PROVINCE_PLATFORM, headers=login("hn_gov_t"))
    assert r.status_code == 201, r.text
    r = client.post(
        "/api/v1/coordination/systems",
        json={**COUNTY_PLAN, "name": "内黄县数据中台二期"},
        headers=login("nh_data"),
    )
    assert r.status_code == 201
    assert r.json()["duplicate_of"] == "河南省一体化数据共享交换平台"
    assert "建议直接使用" in r.json()["duplicate_note"]
    listed = {
        s["name"]: s for s in client.get("/api/v1/coordination/systems", headers=login("nh_data")).json()
    }
    assert (
        listed["内黄县数据中台"]["duplicate_of"] == "河南省一体化数据共享交换平台"
    )  # checked again on listing
    # an operating county system, or another kind, is not flagged
    r = client.post(
        "/api/v1/coordination/systems",
        headers=login("nh_data"),
        json={**COUNTY_PLAN, "kind": "gis_platform", "name": "内黄县地理信息平台"},
    )
    assert r.json()["duplicate_of"] is None


def test_hardware_utilisation_and_scope(client, db: Session, login, users):
    body = {
        "department_code": "410527-data_management",
        "kind": "server",
        "name": "数据局服务器",
        "lon": 114.9,
        "lat": 35.97,
        "capacity": 8,
        "capacity_unit": "台",
        "utilisation": 0.2,
    }
    assert client.post("/api/v1/coordination/assets", json=body, headers=login("nh_data")).status_code == 201
    body2 = {**body, "name": "数据局服务器二", "utilisation": 0.8}
    assert client.post("/api/v1/coordination/assets", json=body2, headers=login("nh_data")).status_code == 201
    report = client.get("/api/v1/coordination/assets/utilisation", headers=login("nh_gov")).json()
    row = next(r for r in report if r["division_code"] == "410527" and r["kind"] == "server")
    assert row["count"] >= 2 and row["under_used"] >= 1
    # the county sees its hardware; 平定县 and anonymous callers do not
    assert any(
        a["name"] == "数据局服务器"
        for a in client.get("/api/v1/coordination/assets", headers=login("nh_gov")).json()
    )
    assert not any(
        a["division_code"] == "410527"
        for a in client.get("/api/v1/coordination/assets", headers=login("pd_gov")).json()
    )
    assert client.get("/api/v1/coordination/assets").status_code == 401
    assert client.get("/api/v1/coordination/systems").status_code == 401


def test_registering_for_another_department_or_with_bad_input_writes_nothing(
    client, db: Session, login, users
):
    before = (db.scalar(select(func.count(Asset.id))), db.scalar(select(func.count(SoftwareSystem.id))))
    r = client.post(
        "/api/v1/coordination/systems",
        json={**COUNTY_PLAN, "department_code": "140321-data_management"},
        headers=login("nh_data"),
    )
    assert r.status_code == 403
    r = client.post(
        "/api/v1/coordination/assets",
        headers=login("nh_data"),
        json={"department_code": "410527-data_management", "kind": "spaceship", "name": "x"},
    )
    assert r.status_code == 422 and r.json()["error"]["details"]
    r = client.post(
        "/api/v1/coordination/assets",
        headers=login("nh_data"),
        json={"department_code": "410527-data_management", "kind": "server", "name": "x", "utilisation": 3},
    )
    assert r.status_code == 422
    r = client.post(
        "/api/v1/coordination/systems",
        json={**COUNTY_PLAN, "department_code": "999999-x"},
        headers=login("nh_data"),
    )
    assert r.status_code == 404
    assert (
        db.scalar(select(func.count(Asset.id))),
        db.scalar(select(func.count(SoftwareSystem.id))),
    ) == before
