"""The CKAN Action API routes (v3 and unversioned paths) and the table of supported actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from govgrid.core.authz.principal import Principal
from govgrid.core.deps import OptionalPrincipal, SessionDep
from govgrid.core.errors import NotFoundError
from govgrid.core.http import site_url
from govgrid.exchange.ckan import datastore, packages
from govgrid.exchange.ckan.errors import help_url
from govgrid.exchange.ckan.params import ParamsDep

router = APIRouter(prefix="/ckan", include_in_schema=False)
Action = Callable[[Session, Principal | None, dict[str, Any], str], Any]
ACTIONS: dict[str, Action] = {
    f.__name__: f
    for f in (
        packages.status_show,
        packages.package_list,
        packages.package_show,
        packages.package_search,
        packages.organization_list,
        packages.organization_show,
        packages.group_list,
        packages.resource_show,
        datastore.datastore_search,
    )
}


def _call(
    action: str, request: Request, session: Session, principal: Principal | None, params: dict[str, Any]
) -> Response:
    fn = ACTIONS.get(action)
    if fn is None:
        raise NotFoundError(f"不支持的操作 (Action name not known): {action}")
    # Rate limits (429 + Retry-After) and every other refusal reach the client through CKAN's error renderer.
    result = fn(session, principal, params, site_url(request))
    return JSONResponse({"help": help_url(request, action), "success": True, "result": result})


# Plain `def` routes: FastAPI runs them (and their database work) in the worker threads, off the event loop.
@router.api_route("/api/3/action/{action}", methods=["GET", "POST"])
def action_v3(
    action: str, request: Request, session: SessionDep, principal: OptionalPrincipal, params: ParamsDep
) -> Response:
    """CKAN Action API, version 3 path."""
    return _call(action, request, session, principal, params)


@router.api_route("/api/action/{action}", methods=["GET", "POST"])
def action(
    action: str, request: Request, session: SessionDep, principal: OptionalPrincipal, params: ParamsDep
) -> Response:
    """CKAN Action API, unversioned path (what ckanapi uses)."""
    return _call(action, request, session, principal, params)


@router.get("/api/3")
@router.get("/api")
def api_version() -> dict[str, int]:
    """CKAN answers its API version here."""
    return {"version": 3}
