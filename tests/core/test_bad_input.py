"""A battery of bad input: every answer is a 4xx in the one error shape, never a 500,
and nothing is written."""

import pytest
from sqlalchemy import func, select

from govgrid.core.divisions.models import Division


def _shape(r):
    body = r.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "details"} <= set(body["error"])
    assert body["error"]["message"]
    return body["error"]


# A township under 内黄县 that does not exist yet; each case below spoils one part of it.
TOWNSHIP = {"parent_code": "410527", "code": "410527901", "name": "x", "level": "township"}


def _polygon(*ring: list[float]) -> dict:
    return {"type": "Polygon", "coordinates": [list(ring)]}


BAD_DIVISIONS = [
    ("malformed json",
     {"content": b'{"parent_code": "410527",', "headers": {"content-type": "application/json"}}, 422),
    ("json array", {"json": [1, 2, 3]}, 422),
    ("wrong types", {"json": {"parent_code": 410527, "code": ["x"], "name": 5, "level": None}}, 422),
    ("unknown parent", {"json": {**TOWNSHIP, "parent_code": "999999", "code": "999999100"}}, 404),
    ("unknown level", {"json": {**TOWNSHIP, "level": "planet"}}, 422),
    ("code not under parent", {"json": {**TOWNSHIP, "code": "140321901"}}, 422),
    ("wrong length", {"json": {**TOWNSHIP, "code": "4105279011"}}, 422),
    ("extra field", {"json": {**TOWNSHIP, "evil": 1}}, 422),
    ("self-intersecting boundary", {"json": {**TOWNSHIP, "boundary": _polygon(
        [114.7, 35.8], [114.9, 35.9], [114.9, 35.8], [114.7, 35.9], [114.7, 35.8])}}, 422),
    ("boundary in metres (wrong CRS)", {"json": {**TOWNSHIP, "boundary": _polygon(
        [500000, 3900000], [501000, 3900000], [501000, 3901000], [500000, 3900000])}}, 422),
    ("boundary outside parent", {"json": {**TOWNSHIP, "boundary": _polygon(
        [100, 30], [100.1, 30], [100.1, 30.1], [100, 30])}}, 422),
    ("not geojson", {"json": {**TOWNSHIP, "boundary": {"type": "Banana"}}}, 422),
    ("duplicate code", {"json": {**TOWNSHIP, "code": "410527100"}}, 409),
]


@pytest.mark.parametrize(("case", "kwargs", "status"), BAD_DIVISIONS, ids=[c[0] for c in BAD_DIVISIONS])
def test_bad_division_create(client, db, login, case, kwargs, status):
    before = db.scalar(select(func.count()).select_from(Division))
    kwargs = dict(kwargs)
    headers = {**login("nh_gov"), **kwargs.pop("headers", {})}
    r = client.post("/api/v1/divisions", headers=headers, **kwargs)
    assert r.status_code == status, (case, r.status_code, r.text)
    _shape(r)
    assert db.scalar(select(func.count()).select_from(Division)) == before


@pytest.mark.parametrize("url", [
    "/api/v1/divisions/999999",
    "/api/v1/divisions/abc",
    "/api/v1/divisions/999999/children",
    "/api/v1/divisions/locate?lon=east&lat=35",
    "/api/v1/divisions/locate?lon=200&lat=35",
    "/api/v1/divisions/locate",
    "/api/v1/divisions?limit=-1",
    "/api/v1/divisions?limit=abc",
    "/api/v1/divisions?level=planet",
    "/api/v1/no-such-endpoint",
])
def test_bad_queries_are_4xx(client, url):
    r = client.get(url)
    assert 400 <= r.status_code < 500, (url, r.status_code)
    _shape(r)


def test_oversized_body_is_413(client, login):
    r = client.post("/api/v1/divisions", headers={**login("nh_gov"), "content-type": "application/json"},
                    content=b'{"name": "' + b"x" * (3 * 1024 * 1024) + b'"}')
    assert r.status_code == 413
    assert _shape(r)["code"] == "payload_too_large"


def test_page_size_is_capped(client):
    r = client.get("/api/v1/divisions?limit=100000")
    assert r.status_code == 200
    assert r.json()["limit"] == 500


def test_wrong_method_is_405_in_shape(client):
    r = client.delete("/api/v1/divisions/410527")
    assert r.status_code == 405
    _shape(r)


def test_bad_token_is_401(client):
    r = client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-jwt"})
    assert r.status_code == 401
    _shape(r)


def test_login_form_missing_fields_is_422(client):
    r = client.post("/api/v1/auth/token", data={"username": "nh_gov"})
    assert r.status_code == 422
    _shape(r)


def test_wrong_department_id_type(client, login):
    r = client.get("/api/v1/departments/not-a-number", headers=login("nh_gov"))
    assert r.status_code == 422
    _shape(r)


def test_unknown_department_is_404(client, login):
    r = client.get("/api/v1/departments/99999999", headers=login("nh_gov"))
    assert r.status_code == 404
    _shape(r)


@pytest.mark.parametrize("url", [
    "/api/v1/departments/99999999999999999999999999",
    "/api/v1/departments?limit=50&offset=99999999999999999999999999",
])
def test_numbers_beyond_64_bits_are_4xx(client, login, url):
    r = client.get(url, headers=login("nh_gov"))
    # SQLite cannot bind such a number (422); PostgreSQL compares it as numeric and finds nothing (404)
    assert r.status_code in (404, 422), r.text
    _shape(r)
