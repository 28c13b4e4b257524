"""Every operation declares its security in the OpenAPI document.

The app's security schemes (the login cookie, a bearer token: the JWT of `/api/v1/auth/token` or an API key,
and the `X-API-Key` header) go into `components.securitySchemes`, and each operation gets a `security`
requirement computed from its dependencies: an operation whose dependency tree holds the principal dependency
(`core.deps.get_principal`, 401 when anonymous) requires one of the schemes; an operation marked with
`openapi_extra=public()` says `security: []` (open to anonymous callers, possibly with its own check such as a
signature, described in `x-public`). Anything else is left undeclared (`x-security-undeclared`), and
`tests/security/test_isolation_matrix.py` fails on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from govgrid.core.deps import TOKEN_COOKIE, get_optional_principal, get_principal

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": TOKEN_COOKIE,
        "description": "浏览器登录会话 (the login form's session cookie; writes also need the CSRF token)",
    },
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "POST /api/v1/auth/token 得到的令牌，或 API 密钥 (a session token or an API key)",
    },
    "apiKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "部门 API 密钥 (a department's API key)",
    },
}
LOGIN_REQUIRED: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]
PUBLIC_KEY = "x-public"
UNDECLARED_KEY = "x-security-undeclared"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def public(reason: str | bool = True) -> dict[str, Any]:
    """`openapi_extra` of an operation open to anonymous callers (`reason`: its own check, if any)."""
    return {PUBLIC_KEY: reason, "security": []}


def dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    """Every callable in a route's dependency tree."""
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from dependency_calls(sub)


def route_policy(route: APIRoute) -> str:
    """`public`, `login` (the principal dependency), `optional` (the caller is optional and the route does not
    say it is public) or `none` (no caller at all and no declaration)."""
    if (route.openapi_extra or {}).get(PUBLIC_KEY):
        return "public"
    calls = set(dependency_calls(route.dependant))
    if get_principal in calls:
        return "login"
    return "optional" if get_optional_principal in calls else "none"


def routes(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    """Every API route of the app with its full path (routers included under prefixes are walked)."""
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if isinstance(route, APIRoute):
            yield ctx.path or route.path, route


def public_operations(app: FastAPI) -> set[tuple[str, str]]:
    """The registry of public operations: (METHOD, path) of every route marked `public()`."""
    return {(method, path) for path, route in routes(app) if route_policy(route) == "public"
            for method in route.methods or ()}


def build_schema(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document with the security schemes and one security requirement per operation."""
    schema = get_openapi(
        title=app.title, version=app.version, openapi_version=app.openapi_version, summary=app.summary,
        description=app.description, terms_of_service=app.terms_of_service, contact=app.contact,
        license_info=app.license_info, routes=app.routes, webhooks=app.webhooks.routes, tags=app.openapi_tags,
        servers=app.servers, separate_input_output_schemas=app.separate_input_output_schemas,
        external_docs=app.openapi_external_docs,
    )
    schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    policies = {(method.lower(), path): route_policy(route) for path, route in routes(app)
                if route.include_in_schema for method in route.methods or ()}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            policy = policies.get((method, path), "none")
            if policy == "public":
                operation["security"] = []
            elif policy == "login":
                operation["security"] = LOGIN_REQUIRED
            else:
                operation.pop("security", None)
                operation[UNDECLARED_KEY] = True
    return schema


def install(app: FastAPI) -> None:
    """Serve `build_schema` (computed once) as the app's `/openapi.json`."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_schema(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
