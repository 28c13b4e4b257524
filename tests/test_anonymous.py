"""Deny by default: anonymous callers get 401 on every API endpoint that is not declared public.

A route is public only if it says so with `openapi_extra={"x-public": True}` (or lives outside /api/v1, where
standard APIs such as Open311 and CKAN define their own access rules and test them)."""

import re

CORE_PUBLIC = {
    ("POST", "/api/v1/auth/token"),
    ("GET", "/api/v1/divisions"),
    ("GET", "/api/v1/divisions/locate"),
    ("GET", "/api/v1/divisions/{code}"),
    ("GET", "/api/v1/divisions/{code}/children"),
    ("GET", "/api/v1/divisions/{code}/descendants"),
    ("GET", "/api/v1/divisions/{code}/boundary"),
    ("GET", "/api/v1/lines"),
}


def _fill(path):
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_non_public_api_route_requires_login(app, client):
    checked = 0
    for path, operations in app.openapi()["paths"].items():
        if not path.startswith("/api/v1"):
            continue
        for method, op in operations.items():
            method = method.upper()
            if (method, path) in CORE_PUBLIC or op.get("x-public"):
                continue
            r = client.request(method, _fill(path), json={})
            assert r.status_code == 401, f"{method} {path} answered {r.status_code} to an anonymous caller"
            assert r.json()["error"]["code"] == "unauthorized"
            checked += 1
    assert checked >= 10
