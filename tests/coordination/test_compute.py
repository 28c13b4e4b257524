"""Compute pools (东数西算): two local Dask clusters stand in for two regions; residency, then cost."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.coordination.models import ComputeJob
from govgrid.coordination.services import compute


@pytest.fixture(scope="module")
def clusters():
    """Two in-process Dask clusters: 'east' (郑州) and 'west' (中卫)."""
    from distributed import LocalCluster

    east = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0")
    west = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0")
    yield {"east": east.scheduler_address, "west": west.scheduler_address}
    west.close()
    east.close()


@pytest.fixture()
def allowed(clusters, monkeypatch):
    """The operator allows the two clusters' schedulers (GOVGRID_COMPUTE_SCHEDULERS)."""
    from govgrid.config import get_settings

    monkeypatch.setattr(get_settings(), "compute_schedulers", f"{clusters['east']} {clusters['west']}")
    return clusters


def pools(client, login, clusters):
    for body in (
        {
            "code": "HN-ZZ",
            "name": "河南政务云郑州节点",
            "region": "河南·郑州",
            "capacity_units": 64,
            "cost_per_unit": 1.2,
            "residency": ["410000"],
            "scheduler_address": clusters["east"],
        },
        {
            "code": "NX-ZW",
            "name": "宁夏枢纽中卫集群",
            "region": "宁夏·中卫",
            "capacity_units": 512,
            "cost_per_unit": 0.45,
            "residency": ["410000", "640000"],
            "scheduler_address": clusters["west"],
        },
    ):
        r = client.post(
            "/api/v1/coordination/pools",
            json={**body, "department_code": "410000-data_management"},
            headers=login("hn_gov_t"),
        )
        assert r.status_code == 201, r.text


def test_a_job_runs_on_the_cheapest_allowed_cluster(client, db: Session, login, users, allowed):
    clusters = allowed
    pools(client, login, clusters)
    job = {"name": "内黄湿地碳储量", "data_division_code": "410527", "units": 8, "size": 64}
    r = client.post("/api/v1/coordination/jobs", json=job, headers=login("nh_gov"))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["pool_code"] == "NX-ZW" and out["state"] == "finished"
    assert out["cost"] == pytest.approx(0.45 * 8)
    assert out["result"]["cells"] == 64 * 64 and out["result"]["stock_tc"] > 0
    # the same graph on the other cluster gives the same figure: the placement changes where, not what
    seeded = compute.run_on(clusters["east"], 64, seed=db.get(ComputeJob, out["id"]).id)
    assert seeded == pytest.approx(out["result"]["stock_tc"])
    # more than any pool has free: refused; a job that fits goes west again (its units were released)
    r = client.post("/api/v1/coordination/jobs", json={**job, "units": 600}, headers=login("nh_gov"))
    assert r.status_code == 409
    r = client.post("/api/v1/coordination/jobs", json={**job, "units": 60}, headers=login("nh_gov"))
    assert r.json()["pool_code"] == "NX-ZW"
    pools_now = {
        p["code"]: p for p in client.get("/api/v1/coordination/pools", headers=login("nh_gov")).json()
    }
    assert pools_now["NX-ZW"]["used_units"] == 0 and "scheduler_address" not in pools_now["NX-ZW"]


def test_residency_refuses_with_the_reason_and_writes_nothing(
    client, db: Session, login, users, allowed
):
    clusters = allowed
    pools(client, login, clusters)
    before = db.scalar(select(func.count(ComputeJob.id)))
    r = client.post(
        "/api/v1/coordination/jobs",
        headers=login("pd_gov"),
        json={"name": "平定县作业", "data_division_code": "140321", "units": 1, "size": 16},
    )
    assert r.status_code == 409
    assert "出域" in r.json()["error"]["message"]
    assert {d["loc"][1] for d in r.json()["error"]["details"]} == {"HN-ZZ", "NX-ZW"}
    # data of a division outside the caller's territory: refused before placement
    r = client.post(
        "/api/v1/coordination/jobs",
        headers=login("pd_gov"),
        json={"name": "越权", "data_division_code": "410527", "units": 1, "size": 16},
    )
    assert r.status_code == 403
    assert (
        client.post(
            "/api/v1/coordination/jobs", json={"name": "x", "data_division_code": "410527", "units": 1}
        ).status_code
        == 401
    )
    assert db.scalar(select(func.count(ComputeJob.id))) == before


def test_a_scheduler_the_operator_did_not_allow_is_refused_and_never_contacted(
    client, db: Session, login, users, clusters, monkeypatch
):
    # the server connects to a pool's scheduler and takes results back from it: an address anyone typed in
    # would let an operator make the server call any host
    from govgrid.config import get_settings
    from govgrid.coordination.models import ComputePool

    body = {"code": "XX-1", "name": "外部集群", "region": "未知", "capacity_units": 8, "cost_per_unit": 0.1,
            "residency": ["410000"], "scheduler_address": "tcp://203.0.113.9:8786",
            "department_code": "410000-data_management"}
    r = client.post("/api/v1/coordination/pools", json=body, headers=login("hn_gov_t"))
    assert r.status_code == 422 and "scheduler_address" in r.text
    assert db.scalar(select(func.count(ComputePool.id)).where(ComputePool.code == "XX-1")) == 0

    # a pool registered while the address was allowed, then taken off the list: its jobs fail, untried
    monkeypatch.setattr(get_settings(), "compute_schedulers", clusters["east"])
    body = {**body, "scheduler_address": clusters["east"], "cost_per_unit": 0.01}
    assert client.post("/api/v1/coordination/pools", json=body, headers=login("hn_gov_t")).status_code == 201
    monkeypatch.setattr(get_settings(), "compute_schedulers", "")
    monkeypatch.setattr(compute, "run_on", lambda *a, **k: pytest.fail("a disallowed scheduler was called"))
    job = {"name": "试算", "data_division_code": "410527", "units": 1, "size": 8}
    out = client.post("/api/v1/coordination/jobs", json=job, headers=login("nh_gov")).json()
    assert out["state"] == "failed" and "XX-1" in out["reason"]
