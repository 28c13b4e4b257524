"""A crowd and a stuck writer: the server keeps answering, every acknowledged ticket is stored exactly once,
and refusals are quick 503/429 with Retry-After (issue: the server froze under a few concurrent writes)."""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from govgrid.core.deps import get_session
from tests import live
from tests.conftest import api_routes

JSON_BURST = 60
OPEN311_BURST = 20


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[live.LiveServer]:
    s = live.start(tmp_path_factory.mktemp("crowd"), env={"GOVGRID_SQLITE_WRITE_WAIT_SECONDS": "10"})
    yield s
    s.stop()


def _uses_session(dependant) -> bool:
    return any(d.call is get_session or _uses_session(d) for d in dependant.dependencies)


def test_no_async_route_touches_the_database(app):
    """An `async def` route runs on the event loop: with a database session it would freeze every request."""
    routes = api_routes(app)
    assert len(routes) > 100 and any(p == "/open311/v2/requests.{fmt}" for p, _ in routes)
    offenders = [f"{sorted(r.methods)} {path}" for path, r in routes
                 if inspect.iscoroutinefunction(r.endpoint) and _uses_session(r.dependant)]
    assert offenders == []


async def _health_times(base: str, stop: asyncio.Event, out: list[float]) -> None:
    async with httpx.AsyncClient(timeout=10) as c:
        while not stop.is_set():
            t0 = time.perf_counter()
            r = await c.get(base + "/healthz")
            assert r.status_code == 200
            out.append(time.perf_counter() - t0)
            await asyncio.sleep(0.05)


def _api_key(server: live.LiveServer) -> str:
    token = server.token("nh_gov")
    depts = httpx.get(server.url + "/api/v1/departments", params={"division_code": "410527", "limit": 200},
                      headers={"Authorization": f"Bearer {token}"}, timeout=30).json()["items"]
    dept = next(d for d in depts if d["code"] == "410527-hotline_12345")
    r = httpx.post(server.url + "/api/v1/api-keys", json={"name": "crowd", "department_id": dept["id"]},
                   headers={"Authorization": f"Bearer {token}"}, timeout=30)
    r.raise_for_status()
    return str(r.json()["key"])


def test_health_answers_while_a_writer_holds_the_lock(server):
    """Another process holds SQLite's write lock for 3 s; Open311 posts wait in threads,
    /healthz answers fast."""
    key = _api_key(server)
    holder = sqlite3.connect(server.db_path, timeout=30, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(3.0, lambda: (holder.execute("COMMIT"), holder.close()))
    release.start()

    async def run() -> tuple[list[httpx.Response], list[float]]:
        stop, times = asyncio.Event(), []
        health = asyncio.create_task(_health_times(server.url, stop, times))
        async with httpx.AsyncClient(timeout=30) as c:
            posts = [
                c.post(server.url + "/open311/v2/requests.json", data={
                    "api_key": key, "service_code": "garbage", "lat": "35.89", "long": "114.80",
                    "description": f"堆放垃圾 {i}", "jurisdiction_id": "410527",
                })
                for i in range(10)
            ]
            answers = await asyncio.gather(*posts)
        stop.set()
        await health
        return answers, times

    answers, times = asyncio.run(run())
    release.join()
    assert times and max(times) < 1.0, f"health check took {max(times):.2f}s while a writer held the lock"
    refusals = [r.text for r in answers if r.status_code >= 400][:3]
    assert {r.status_code for r in answers} <= {201, 200, 503}, refusals


def test_a_burst_of_tickets_is_answered_and_stored_once(server):
    """JSON API and Open311 together: every 201 stored exactly once, refusals 503/429 with Retry-After,
    no 500."""
    key = _api_key(server)

    async def run() -> tuple[list[httpx.Response], list[httpx.Response], list[float]]:
        stop, times = asyncio.Event(), []
        health = asyncio.create_task(_health_times(server.url, stop, times))
        limits = httpx.Limits(max_connections=JSON_BURST + OPEN311_BURST)
        async with httpx.AsyncClient(timeout=30, limits=limits) as c:
            json_posts = [c.post(server.url + "/api/v1/appeals/tickets",
                                 json={"description": f"路灯不亮 第{i}号", "division_code": "410527",
                                       "channel": "web"}, headers={"Idempotency-Key": f"burst-{i}"})
                          for i in range(JSON_BURST)]
            o311_posts = [
                c.post(server.url + "/open311/v2/requests.json", data={
                    "api_key": key, "service_code": "garbage", "lat": "35.89", "long": "114.80",
                    "description": f"垃圾 第{i}号", "jurisdiction_id": "410527",
                })
                for i in range(OPEN311_BURST)
            ]
            t0 = time.perf_counter()
            answers = await asyncio.gather(*json_posts, *o311_posts)
            assert time.perf_counter() - t0 < 30
        stop.set()
        await health
        return answers[:JSON_BURST], answers[JSON_BURST:], times

    json_answers, o311_answers, times = asyncio.run(run())
    for r in [*json_answers, *o311_answers]:
        assert r.status_code in (200, 201, 429, 503), (r.status_code, r.text[:200])
        if r.status_code in (429, 503):
            assert r.headers.get("retry-after")
    assert max(times) < 1.0, f"health check took {max(times):.2f}s during the burst"
    numbers = [r.json()["number"] for r in json_answers if r.status_code == 201]
    numbers += [r.json()[0]["service_request_id"] for r in o311_answers if r.status_code in (200, 201)]
    assert len(numbers) == len(set(numbers)), "a ticket was acknowledged twice"
    with sqlite3.connect(server.db_path) as conn:
        stored = {row[0]: row[1] for row in conn.execute(
            "SELECT number, count(*) FROM appeals_tickets GROUP BY number")}
    missing = [n for n in numbers if stored.get(n) != 1]
    assert missing == [], f"acknowledged but not stored exactly once: {missing[:5]}"
    # a retry with the same Idempotency-Key returns the first ticket, never a second
    again = httpx.post(server.url + "/api/v1/appeals/tickets", timeout=30,
                       json={"description": "路灯不亮 第0号", "division_code": "410527", "channel": "web"},
                       headers={"Idempotency-Key": "burst-0"})
    first = next(r for r in json_answers[:1])
    if first.status_code == 201:
        assert again.json()["number"] == first.json()["number"]
