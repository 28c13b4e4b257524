"""CKAN's error format for every refusal under /ckan: {"success": false, "error": {"__type", "message",
...}}."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from govgrid.core.errors import AppError
from govgrid.core.http import register_error_renderer, site_url

ERROR_TYPES = {
    404: "Not Found Error",
    403: "Authorization Error",
    401: "Authorization Error",
    409: "Validation Error",
    400: "Validation Error",
    413: "Validation Error",
    422: "Validation Error",
    429: "Rate Limit Error",
}
# CKAN answers its errors with these statuses: ValidationError is 409, NotAuthorized 403.
CKAN_STATUS = {401: 403, 422: 409}


class SearchQueryError(AppError):
    """An fq or sort the search does not understand (CKAN answers 409 Search Query Error)."""

    status = 409
    code = "search_query_error"


def help_url(request: Request, action: str) -> str:
    """The `help` link of every CKAN answer."""
    return f"{site_url(request)}/ckan/api/3/action/help_show?name={action}"


def ckan_error(
    request: Request, status: int, code: str, message: str, details: list[dict[str, Any]]
) -> Response:
    """CKAN's error format: {"success": false, "error": {"__type", "message", field: [msgs]}}."""
    etype = (
        "Search Query Error" if code == "search_query_error" else ERROR_TYPES.get(status, "Validation Error")
    )
    error: dict[str, Any] = {"__type": etype, "message": f"{etype}: {message}"}
    for d in details:
        # CKAN keys errors by parameter ({"sort": ['field "x" not in table']}): the first part of the location
        loc = [str(x) for x in d.get("loc", []) if x not in ("body", "query")]
        key = loc[0] if loc else "detail"
        error.setdefault(key, []).append(d.get("msg", ""))
    out_status = CKAN_STATUS.get(status, status)
    action = request.path_params.get("action") or "status_show"
    body = {"help": help_url(request, str(action)), "success": False, "error": error}
    return JSONResponse(body, status_code=out_status)


register_error_renderer("/ckan", ckan_error)
