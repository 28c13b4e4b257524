"""Scheduled pulls from the data exchange through the core data port: rows become vintages with source
``exchange``; bad rows refuse the whole pull; a feed is only set up for a department one reports for."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from govgrid.core import ports
from govgrid.core.audit.service import SystemActor
from govgrid.core.departments import service as departments
from govgrid.economy.models import Feed, Observation

P = "/api/v1/economy"
ROWS: list[dict[str, Any]] = []
CALLS: list[dict[str, Any]] = []


def fake_provider(
    session, *, actor, department_id, resource_code, filters, purpose, limit
) -> ports.PulledRows:
    CALLS.append(
        {
            "actor": actor.name,
            "department_id": department_id,
            "resource": resource_code,
            "purpose": purpose,
            "filters": filters,
        }
    )
    return ports.PulledRows(resource_code, list(ROWS), ["xzqh", "ny", "ydl"], [], grant_id=7)


@pytest.fixture()
def provider():
    saved = list(ports.DATA_PROVIDERS)
    ports.register_data_provider(fake_provider)
    ROWS.clear()
    CALLS.clear()
    yield
    ports.DATA_PROVIDERS.clear()
    ports.DATA_PROVIDERS.extend(saved)


def feed_body(db) -> dict[str, Any]:
    dept = departments.get_by_code(db, "410527-development_reform")
    return {
        "resource_code": "NH-POWER-MONTHLY",
        "indicator": "ELEC_IND",
        "department_id": dept.id,
        "division_field": "xzqh",
        "period_field": "ny",
        "value_field": "ydl",
        "filters": {"hy": "工业"},
    }


def test_feed_pull_imports_vintages(client, login, db, provider):
    h = login("nh_gov")
    r = client.post(P + "/feeds", json=feed_body(db), headers=h)
    assert r.status_code == 201, r.text
    feed_id = r.json()["id"]
    ROWS.extend(
        [
            {"xzqh": "410527", "ny": "202609", "ydl": "5123.5"},
            {"xzqh": "410527", "ny": "2026-10", "ydl": 5301},
        ]
    )
    r = client.post(f"{P}/feeds/{feed_id}/runs", headers=h)
    assert r.status_code == 201 and r.json()["rows"] == 2
    assert CALLS[0]["actor"] == "nh_gov" and CALLS[0]["filters"] == {"hy": "工业"}
    assert "ELEC_IND" in CALLS[0]["purpose"]
    got = db.scalars(select(Observation).where(Observation.source == "exchange")).all()
    assert sorted((o.period, o.value) for o in got) == [("2026-09", 5123.5), ("2026-10", 5301.0)]
    # the scheduler's pass, after a revision at the source
    ROWS[1]["ydl"] = 5350
    from govgrid.economy.services import feeds

    assert feeds.run_all_feeds(db, actor=SystemActor("test")) == 1
    v = db.scalars(
        select(Observation)
        .where(Observation.period == "2026-10", Observation.source == "exchange")
        .order_by(Observation.vintage)
    ).all()
    assert [(o.vintage, o.value, o.current) for o in v] == [(1, 5301.0, False), (2, 5350.0, True)]
    assert db.get(Feed, feed_id).last_status.startswith("ok")


def test_bad_rows_refuse_the_whole_pull(client, login, db, provider):
    h = login("nh_gov")
    feed_id = client.post(P + "/feeds", json=feed_body(db), headers=h).json()["id"]
    before = db.scalar(select(func.count()).select_from(Observation))
    ROWS.extend(
        [{"xzqh": "410527", "ny": "202609", "ydl": "5123.5"}, {"xzqh": "410527", "ny": "202609", "ydl": "x"}]
    )
    r = client.post(f"{P}/feeds/{feed_id}/runs", headers=h)
    assert r.status_code == 422
    assert {d["loc"][2] for d in r.json()["error"]["details"]} == {"period", "value"}
    assert db.scalar(select(func.count()).select_from(Observation)) == before
    from govgrid.economy.services import feeds

    assert feeds.run_all_feeds(db, actor=SystemActor("test")) == 0
    assert db.get(Feed, feed_id).last_status.startswith("failed")


def test_feed_only_for_a_department_one_reports_for(client, login, db, provider):
    assert client.post(P + "/feeds", json=feed_body(db), headers=login("pd_gov")).status_code == 403
    assert client.post(P + "/feeds", json=feed_body(db), headers=login("nh_tax")).status_code == 403
    assert (
        client.post(P + "/feeds", json={**feed_body(db), "extra": 1}, headers=login("nh_gov")).status_code
        == 422
    )
    feed_id = client.post(P + "/feeds", json=feed_body(db), headers=login("nh_gov")).json()["id"]
    assert client.post(f"{P}/feeds/{feed_id}/runs", headers=login("pd_gov")).status_code == 404
    assert client.get(P + "/feeds", headers=login("pd_gov")).json() == []
    assert client.get(P + "/feeds").status_code == 401
    assert client.post(f"{P}/feeds/{feed_id}/runs").status_code == 401


def test_without_the_exchange_the_pull_is_unavailable(client, login, db):
    saved = list(ports.DATA_PROVIDERS)
    ports.DATA_PROVIDERS.clear()
    try:
        feed_id = client.post(P + "/feeds", json=feed_body(db), headers=login("nh_gov")).json()["id"]
        r = client.post(f"{P}/feeds/{feed_id}/runs", headers=login("nh_gov"))
        assert r.status_code == 503 and "数据共享交换" in r.json()["error"]["message"]
    finally:
        ports.DATA_PROVIDERS.extend(saved)
