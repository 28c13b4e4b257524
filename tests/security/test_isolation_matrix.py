"""The isolation matrix: every operation of the app (every API path from the routes behind the OpenAPI
document, every page and standard interface) against five personas — anonymous, a user of another county
(平定县 vs 内黄县), another department of the same county, another line's role, and the owner — asserting
the operation's declared policy.

The policy comes from the operation itself (core.openapi: the principal dependency -> login; `public()` ->
public) or, for pages and standard interfaces that are not in the OpenAPI document, from the tables below. A
route with no policy, or a route the matrix did not visit, fails `test_every_route_is_in_the_matrix`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from govgrid.core import db as coredb
from govgrid.core import openapi
from govgrid.core.divisions import service as divisions_service
from govgrid.core.modules import DemoContext, module_specs
from govgrid.core.pages import PagePrincipal
from govgrid.demo import DEMO_PASSWORD
from tests.conftest import auth_headers
from tests.security.isolation_world import (
    LOADED_DEMOS,
    NEIHUANG,
    PINGDING,
    Objects,
    find_objects,
)

HTML = {"Accept": "text/html"}
DENIED = {400, 401, 403, 404, 405, 409, 413, 422}
# The live map's event stream never ends for a logged-in caller: its scope is tested in tests/citymap.
STREAMS = {("GET", "/api/v1/citymap/live")}
# Operations that end or change the caller's own login (run them last, or only anonymously).
SELF = {("POST", "/logout"), ("POST", "/api/v1/auth/logout")}

# ---- declared policy of what is not in the OpenAPI document --------------------------------------------
# Pages and standard interfaces open to anonymous visitors (anything else outside /api/v1 must send an
# anonymous visitor to the login page or refuse it).
PUBLIC_ROUTES = {
    "/", "/login", "/logout", "/lang/{code}", "/favicon.ico", "/healthz", "/docs",
    # resident-facing pages: report, track, public statistics, e-certificate checks, published draws
    "/appeals/report", "/appeals/report/place", "/appeals/track", "/appeals/stats", "/appeals/stats/monthly",
    "/citymap/report", "/citymap/track",
    "/services", "/services/items/{code}", "/services/certificates/{number}",
    "/carbon", "/carbon/registry", "/carbon/registry/certificates/{block_id}", "/carbon/market",
    "/carbon/market/certificates/{number}", "/carbon/market/benefits", "/carbon/market/listings/{listing_id}",
    "/carbon/projects/new/sample-boundary.geojson",
    "/market", "/market/draws", "/market/draws/{draw_id}", "/market/results",
    "/exchange", "/exchange/resources/{code}", "/exchange/matrix",
    # module entries that only redirect to their first page (which declares its own policy)
    "/reuse", "/coordination", "/institutions",
    # standard interfaces with their own access rules (anonymous: public datasets and collections only)
    "/catalog.jsonld", "/catalog.ttl", "/ckan/api", "/ckan/api/3", "/ckan/api/3/action/{action}",
    "/ckan/api/action/{action}", "/ogcapi", "/ogcapi/", "/ogcapi/conformance", "/ogcapi/api",
    "/ogcapi/collections", "/ogcapi/collections/{collection_id}",
    "/ogcapi/collections/{collection_id}/queryables", "/ogcapi/collections/{collection_id}/items",
    "/ogcapi/collections/{collection_id}/items/{fid}",
}
# Reads every logged-in user may make of another county's object, by design: the exchange's resource
# directory (政务数据资源目录) is how departments find data to ask for (the data itself needs a grant, and
# its page is public anyway), and a service item's guide and application form are open to every applicant.
SHARED_EVERYWHERE = {
    ("GET", "/api/v1/exchange/resources"),
    ("GET", "/api/v1/exchange/resources/{code}"),
    ("GET", "/api/v1/exchange/resources/{code}/versions"),
    ("GET", "/api/v1/services/items/{code}/prefill"),  # the caller's own pre-fill sources for the item
    ("GET", "/services/apply/{code}"),
}
# ... and inside the county (and up its line): the territory's economic indicators (aggregate statistics).
# The institutions module's division views answer a provider department in the county (or its line above)
# with its own rows only (its resources' use, grades and incidents), by design: a department sees its
# contribution; the rows of the others stay hidden (tests/institutions/test_api.py checks the filter).
SHARED_IN_COUNTY = SHARED_EVERYWHERE | {
    ("GET", "/economy/divisions/{code}"),
    ("GET", "/api/v1/institutions/divisions/{code}/ledger"),
    ("GET", "/api/v1/institutions/divisions/{code}/register"),
    ("GET", "/api/v1/institutions/divisions/{code}/incidents"),
}
PERSONAS = {
    "other_county": {NEIHUANG: "pd_gov", PINGDING: "nh_gov"},
    "other_department": {NEIHUANG: "nh_tax", PINGDING: "pd_tax"},
    "other_line": {NEIHUANG: "ay_tax", PINGDING: "ay_tax"},
    "owner": {NEIHUANG: "nh_gov", PINGDING: "pd_gov"},
}


@dataclass
class Op:
    """One operation of the matrix."""

    method: str
    path: str
    policy: str  # public | login
    api: bool
    params: bool = field(init=False)

    def __post_init__(self) -> None:
        self.params = "{" in self.path


PAGE_LOGIN = PagePrincipal.__metadata__[0].dependency  # the pages' "log in first" dependency


def _is_page_login(route: APIRoute) -> bool:
    return PAGE_LOGIN in set(openapi.dependency_calls(route.dependant))


def declared_policy(path: str, route: APIRoute) -> str | None:
    """public, login, or None (nothing declared: the matrix fails)."""
    if route.include_in_schema:
        policy = openapi.route_policy(route)
        return policy if policy in ("public", "login") else None
    if path in PUBLIC_ROUTES:
        return "public"
    if _is_page_login(route) or openapi.route_policy(route) in ("login", "optional"):
        return "login"  # pages that take the caller decide for themselves: anonymous must be sent to log in
    return None


def operations(app) -> tuple[list[Op], list[str]]:
    """Every (method, path) of the app with its declared policy; the undeclared ones by name."""
    ops, undeclared = [], []
    for path, route in openapi.routes(app):
        policy = declared_policy(path, route)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            if policy is None:
                undeclared.append(f"{method} {path}")
            else:
                ops.append(Op(method, path, policy, api=route.include_in_schema))
    return ops, undeclared


@dataclass
class World:
    client: TestClient
    objects: Objects
    headers: dict[str, dict[str, str]]
    ops: list[Op]
    undeclared: list[str]
    visited: set[tuple[str, str]] = field(default_factory=set)


@pytest.fixture(scope="module")
def world(app, database_url) -> Iterator[World]:
    """The cheap module demos and one appeal in one transaction for the whole file, rolled back at its end."""
    engine = coredb.get_engine()
    conn = engine.connect()
    outer = conn.begin()
    factory = sessionmaker(bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint")
    coredb.set_session_factory(factory)
    version = divisions_service.locator_version
    session = factory()
    try:
        ctx = DemoContext(password=DEMO_PASSWORD)
        for spec in module_specs():
            if spec.name in LOADED_DEMOS and spec.load_demo is not None:
                spec.load_demo(session, ctx)
        _one_appeal(session, ctx)
        users = {u for table in PERSONAS.values() for u in table.values()} | {"nh_handler"}
        headers = {u: auth_headers(session, u) for u in users}
        session.commit()
        objects = find_objects(session)
        ops, undeclared = operations(app)
        with TestClient(app, raise_server_exceptions=False) as client:
            yield World(client, objects, headers, ops, undeclared)
    finally:
        session.close()
        outer.rollback()
        conn.close()
        coredb.set_session_factory(sessionmaker(bind=engine, expire_on_commit=False))
        if divisions_service.locator_version != version:
            divisions_service.invalidate_locator()


def _one_appeal(session, ctx: DemoContext) -> None:
    """The appeals channel and keys, and one ticket of 内黄县 (the appeals history takes minutes to make)."""
    from govgrid.appeals import demo as appeals_demo
    from govgrid.core import ports
    from tests.appeals.conftest import make_ticket

    appeals_demo.ensure_setup(session, ctx)
    session.flush()
    report = ports.report_city_event
    ports.report_city_event = lambda *_a, **_k: None  # type: ignore[assignment]  # the city map's side
    try:
        make_ticket(session)
    finally:
        ports.report_city_event = report  # type: ignore[assignment]


def call(world: World, op: Op, path: str, headers: dict[str, str]) -> Any:
    """One request as a browser (pages) or a program (APIs) would send it, with an empty body for writes."""
    h = {**headers, **({} if op.api else HTML)}
    kwargs: dict[str, Any] = {}
    if op.method in ("POST", "PUT", "PATCH", "DELETE"):
        kwargs = {"json": {}} if op.api else {"data": {}}
    world.visited.add((op.method, op.path))
    return world.client.request(op.method, path, headers=h, follow_redirects=False, **kwargs)


def _error_code(r) -> str | None:
    try:
        return r.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def _where(r) -> str:
    return f"{r.status_code} {r.headers.get('location', '')} {r.text[:200]!r}"


# ---- the declared policy of every operation --------------------------------------------------------------


def test_every_operation_declares_its_security_in_openapi(app):
    doc = app.openapi()
    schemes = doc["components"]["securitySchemes"]
    assert {"sessionCookie", "bearerAuth", "apiKeyHeader"} <= set(schemes)
    missing = [f"{m.upper()} {p}" for p, ops in doc["paths"].items() for m, op in ops.items()
               if "security" not in op]
    assert not missing, f"operations without a declared security requirement: {missing}"
    assert doc["paths"]["/api/v1/lines"]["get"]["security"] == []  # public, and it says so
    assert ("GET", "/api/v1/lines") in openapi.public_operations(app)  # the registry of public operations
    assert doc["paths"]["/api/v1/sessions"]["get"]["security"] == openapi.LOGIN_REQUIRED


def test_a_route_without_a_declared_policy_is_found(app):
    from fastapi import APIRouter, FastAPI

    router = APIRouter()

    @router.get("/api/v1/undeclared")
    def undeclared() -> dict[str, str]:
        return {}

    probe = FastAPI()
    probe.include_router(router)
    ops, missing = operations(probe)
    assert not ops and missing == ["GET /api/v1/undeclared"]
    assert openapi.build_schema(probe)["paths"]["/api/v1/undeclared"]["get"][openapi.UNDECLARED_KEY]


# ---- personas ----------------------------------------------------------------------------------------------


def test_anonymous(world):
    """Deny by default (absorbs the former tests/test_anonymous.py): a non-public API operation answers 401 in
    the one error shape, a page sends the visitor to log in, a public one never fails."""
    wrong = []
    for op in world.ops:
        path, _county, _real = world.objects.fill(op.path)
        r = call(world, op, path, {})
        if r.status_code >= 500:
            wrong.append(f"{op.method} {op.path}: server error {_where(r)}")
        elif op.policy == "public":
            continue
        elif op.api and (r.status_code != 401 or _error_code(r) != "unauthorized"):
            wrong.append(f"{op.method} {op.path}: {_where(r)} (want 401 unauthorized)")
        elif not op.api and not (r.status_code in (401, 403)
                                 or (r.status_code == 303 and r.headers["location"].startswith("/login"))):
            wrong.append(f"{op.method} {op.path}: {_where(r)} (want the login page)")
    assert not wrong, f"{len(wrong)} of {len(world.ops)} operations broke their policy:\n" + "\n".join(wrong)


def _foreign_objects(
    world: World, persona: str, shared: set[tuple[str, str]], *, real_only: bool
) -> list[str]:
    """Every operation on another's object, as `persona`: refused, never answered with the object
    (`real_only`: skip paths the demo has no object for, whose 404 the other-county run already saw)."""
    wrong = []
    table = PERSONAS[persona]
    for op in world.ops:
        if not op.params or op.policy == "public" or (op.method, op.path) in STREAMS | SELF:
            continue
        path, county, real = world.objects.fill(op.path)
        if real_only and not real:
            continue
        user = table.get(county or NEIHUANG, table[NEIHUANG])
        r = call(world, op, path, world.headers[user])
        if r.status_code >= 500:
            wrong.append(f"{op.method} {op.path} as {user}: server error {_where(r)}")
        elif r.status_code < 300 and (op.method, op.path) not in shared:
            wrong.append(f"{op.method} {path} as {user}: {_where(r)}")
    return wrong


def test_another_county_gets_none_of_its_objects(world):
    wrong = _foreign_objects(world, "other_county", SHARED_EVERYWHERE, real_only=False)
    assert not wrong, "\n".join(wrong)


def test_another_county_finds_none_of_them_in_lists(world):
    wrong = []
    for op in world.ops:
        if not op.api or op.params or op.method != "GET" or op.policy == "public" \
                or (op.method, op.path) in STREAMS \
                or (op.method, op.path) in SHARED_EVERYWHERE:
            continue
        for county, user in PERSONAS["other_county"].items():
            if not world.objects.markers.get(county):
                continue
            r = call(world, op, op.path, world.headers[user])
            seen = [m for m in world.objects.markers.get(county, ()) if m in r.text]
            if r.status_code >= 500 or seen:
                wrong.append(f"{op.path} as {user}: {r.status_code}, shows {seen}")
    assert not wrong, "\n".join(wrong)


def test_another_department_of_the_same_county(world):
    wrong = _foreign_objects(world, "other_department", SHARED_IN_COUNTY, real_only=True)
    assert not wrong, "\n".join(wrong)


def test_another_lines_role(world):
    wrong = _foreign_objects(world, "other_line", SHARED_IN_COUNTY, real_only=True)
    assert not wrong, "\n".join(wrong)


def test_the_owner_reaches_its_objects(world):
    """The objects are real: their own county's administrator reads them (else the refusals prove nothing)."""
    reads = [op for op in world.ops
             if op.api and op.params and op.method == "GET" and (op.method, op.path) not in STREAMS]
    reached, errors = 0, []
    for op in reads:
        path, county, real = world.objects.fill(op.path)
        if not real:
            continue
        user = PERSONAS["owner"].get(county or NEIHUANG, "nh_gov")
        r = call(world, op, path, world.headers[user])
        if r.status_code >= 500:
            errors.append(f"{op.path} as {user}: {_where(r)}")
        reached += real and r.status_code == 200
    assert not errors, "\n".join(errors)
    real = sum(world.objects.fill(op.path)[2] for op in reads)
    assert reached >= real // 2, f"the owner read only {reached} of {real} objects"


def test_every_route_is_in_the_matrix(world):
    """Runs last: every operation has a declared policy and was visited by at least one persona."""
    total = len(world.ops) + len(world.undeclared)
    missed = sorted(f"{op.method} {op.path}" for op in world.ops if (op.method, op.path) not in world.visited)
    covered = total - len(missed) - len(world.undeclared)
    coverage = f"isolation matrix coverage: {covered}/{total} operations ({100 * covered / total:.1f}%)"
    assert not world.undeclared, f"{coverage}; no declared policy: {world.undeclared}"
    assert not missed, f"{coverage}; never visited: {missed}"
    assert covered == total, coverage
    print(coverage)  # noqa: T201  (the figure, also in every failure message above)
    api_paths = {op.path for op in world.ops if op.api}
    assert len(api_paths) > 100 and re.search(r"/api/v1/", " ".join(api_paths))
