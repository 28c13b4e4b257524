"""Targets and tasks: a city assigns to its counties, progress computed from real appeals data, the 督查单."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.coordination.models import Assignment, Task
from tests.coordination.conftest import ticket

NOW = datetime.now(UTC)
DAY = timedelta(days=1)
COUNTIES = ["410527", "410526"]  # 内黄县, 滑县


def city_task(client, login, **extra):
    body = {
        "division_code": "410500",
        "title": "诉求按期办结率达到 95%",
        "assignees": COUNTIES,
        "measure_key": "appeals.on_time_rate",
        "target_value": 0.95,
        "period_start": (NOW - 20 * DAY).isoformat(),
        "deadline": (NOW + 20 * DAY).isoformat(),
        **extra,
    }
    return client.post("/api/v1/coordination/tasks", json=body, headers=login("ay_gov_t"))


def test_a_city_task_shows_each_countys_progress_from_appeals_data(client, db: Session, login, users):
    for _ in range(4):  # 内黄: all answered on time
        ticket(db, "410527", created=NOW - 10 * DAY, due=NOW - 2 * DAY, answered=NOW - 3 * DAY)
    ticket(db, "410526", created=NOW - 10 * DAY, due=NOW - 2 * DAY, answered=NOW - 3 * DAY)  # 滑县: 1 of 2
    ticket(db, "410526", created=NOW - 10 * DAY, due=NOW - 2 * DAY, answered=None, state="signed")
    r = city_task(client, login)
    assert r.status_code == 201, r.text
    parts = {a["division_code"]: a for a in r.json()["assignments"]}
    assert parts["410526"]["measure_value"] == 0.5
    assert parts["410526"]["met"] is False
    assert abs(parts["410526"]["progress"] - 0.5 / 0.95) < 1e-9
    assert parts["410527"]["met"] is True and parts["410527"]["progress"] == 1.0
    assert parts["410527"]["measure_value"] >= 0.95
    # progress is computed, not typed in
    a = parts["410526"]["id"]
    r = client.post(
        f"/api/v1/coordination/assignments/{a}/report",
        json={"progress": 1, "evidence": "x"},
        headers=login("ay_gov_t"),
    )
    assert r.status_code == 422
    # the county cannot report the part done while its figure misses the target
    r = client.post(
        f"/api/v1/coordination/assignments/{a}/report",
        json={"evidence": "已整改", "done": True},
        headers=login("ay_gov_t"),
    )
    assert r.status_code == 422 and "未达到" in r.json()["error"]["message"]


def test_an_overdue_county_appears_on_the_citys_supervision_list(client, db: Session, login, users):
    r = client.post(
        "/api/v1/coordination/tasks",
        headers=login("ay_gov_t"),
        json={
            "division_code": "410500",
            "title": "政务服务大厅标准化改造",
            "assignees": COUNTIES,
            "period_start": (NOW - 40 * DAY).isoformat(),
            "deadline": (NOW - 10 * DAY).isoformat(),
        },
    )
    assert r.status_code == 201, r.text
    parts = {a["division_code"]: a for a in r.json()["assignments"]}
    # 内黄 reports done with evidence (its own admin); 滑县 stays overdue
    r = client.post(
        f"/api/v1/coordination/assignments/{parts['410527']['id']}/report",
        json={"evidence": "改造完成，验收单已上传", "done": True},
        headers=login("nh_gov"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "done" and r.json()["colour"] == "none"
    flags = client.get("/api/v1/coordination/supervision/410500", headers=login("ay_gov_t")).json()
    flagged = {f["division_code"]: f["colour"] for f in flags}
    assert flagged == {"410526": "red"}
    # red escalates to the level above the assigning city
    above = client.get("/api/v1/coordination/supervision/410000", headers=login("hn_gov_t")).json()
    assert [f["division_code"] for f in above] == ["410526"]
    # a county may not read the city's supervision list
    assert client.get("/api/v1/coordination/supervision/410500", headers=login("nh_gov")).status_code == 403


def test_a_county_sees_its_own_part_only(client, db: Session, login, users):
    assert city_task(client, login).status_code == 201
    board = client.get("/api/v1/coordination/tasks", headers=login("nh_gov")).json()
    assert board and all(a["division_code"] == "410527" for t in board for a in t["assignments"])
    assert client.get("/api/v1/coordination/tasks", headers=login("pd_gov")).json() == []
    city = client.get("/api/v1/coordination/tasks", headers=login("ay_gov_t")).json()
    assert {a["division_code"] for t in city for a in t["assignments"]} == set(COUNTIES)
    other = (
        city[0]["assignments"][1]["id"]
        if city[0]["assignments"][0]["division_code"] == "410527"
        else city[0]["assignments"][0]["id"]
    )
    r = client.post(
        f"/api/v1/coordination/assignments/{other}/report",
        json={"evidence": "x", "done": True},
        headers=login("nh_gov"),
    )
    assert r.status_code == 404


def test_assigning_needs_a_login_a_territory_and_divisions_below(client, db: Session, login, users):
    before = db.scalar(select(func.count(Task.id)))
    assert city_task(client, lambda _u: {}).status_code == 401
    assert city_task(client, login, division_code="410500").status_code == 201
    r = client.post(
        "/api/v1/coordination/tasks",
        headers=login("nh_gov"),
        json={"division_code": "410500", "title": "越权", "deadline": (NOW + DAY).isoformat()},
    )
    assert r.status_code == 403
    r = city_task(client, login, assignees=["140321"])  # 平定县 is not below 安阳市
    assert r.status_code == 422
    r = city_task(client, login, measure_key="appeals.nope")
    assert r.status_code == 422
    r = city_task(client, login, deadline=(NOW - 30 * DAY).isoformat())
    assert r.status_code == 422
    assert db.scalar(select(func.count(Task.id))) == before + 1
    assert db.scalar(select(func.count(Assignment.id)).where(Assignment.division_code == "140321")) == 0


def test_targets_flag_lagging_children_in_the_rollup(client, db: Session, login, users):
    ticket(db, "410526", created=NOW - 10 * DAY, due=NOW - 2 * DAY, answered=None, state="signed")
    r = client.post(
        "/api/v1/coordination/targets",
        headers=login("ay_gov_t"),
        json={"division_code": "410500", "measure_key": "appeals.on_time_rate", "threshold": 0.95},
    )
    assert r.status_code == 201, r.text
    bad = client.post(
        "/api/v1/coordination/targets",
        headers=login("ay_gov_t"),
        json={"division_code": "410500", "measure_key": "appeals.on_time_rate", "threshold": 95},
    )
    assert bad.status_code == 422
    roll = client.get("/api/v1/coordination/rollup/410500", headers=login("ay_gov_t")).json()
    rows = {r["division_code"]: r for r in roll["rows"]}
    assert rows["410526"]["lagging"] == ["appeals.on_time_rate"]
    assert roll["targets"]["appeals.on_time_rate"] == 0.95
    assert client.get("/api/v1/coordination/rollup/410500", headers=login("nh_gov")).status_code == 403
    assert client.get("/api/v1/coordination/rollup/410500").status_code == 401
