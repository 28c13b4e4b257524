"""The parameters of a CKAN action: the query string, then a JSON or form body; typed reads with CKAN's
errors."""

from __future__ import annotations

import json
from typing import Annotated, Any

import anyio
from fastapi import Depends, Request

from govgrid.core.errors import ValidationFailedError

JSON_IN_THREAD = 65536  # bodies at least this big are decoded in a worker thread


def int_param(params: dict[str, Any], key: str, default: int, maximum: int) -> int:
    """A non-negative integer parameter, capped at `maximum` (422 otherwise, CKAN's 409)."""
    value = params.get(key, default)
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ValidationFailedError(
            f"{key} 应为整数 ({key} must be an integer)", details=[{"loc": [key], "msg": "Invalid integer"}]
        ) from None
    if n < 0:
        raise ValidationFailedError(
            f"{key} 不能为负数 ({key} must not be negative)",
            details=[{"loc": [key], "msg": "Must be a positive integer"}],
        )
    return min(n, maximum)


def bool_param(params: dict[str, Any], key: str) -> bool:
    """A boolean parameter (true, 1, yes)."""
    v = params.get(key, False)
    return v if isinstance(v, bool) else str(v).lower() in ("true", "1", "yes")


def json_list(params: dict[str, Any], key: str) -> list[str]:
    """A list of strings given as a list or as JSON text (CKAN's `facet.field`)."""
    value = params.get(key)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValidationFailedError(
                f"{key} 应为 JSON 列表 ({key} must be a JSON list)",
                details=[{"loc": [key], "msg": "Invalid JSON"}],
            ) from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationFailedError(
            f"{key} 应为字符串列表 ({key} must be a list of strings)",
            details=[{"loc": [key], "msg": "not a list"}],
        )
    return value


def json_object(body: bytes) -> dict[str, Any]:
    """A request body that must be a JSON object."""
    try:
        data = json.loads(body)
    except ValueError:
        raise ValidationFailedError(
            "请求体不是有效的 JSON (request body is not valid JSON)",
            details=[{"loc": ["body"], "msg": "Invalid JSON"}],
        ) from None
    if not isinstance(data, dict):
        raise ValidationFailedError(
            "请求体应为 JSON 对象 (body must be a JSON object)",
            details=[{"loc": ["body"], "msg": "must be an object"}],
        )
    return data


async def ckan_params(request: Request) -> dict[str, Any]:
    """The action's parameters: query string, then a JSON or form body (read off the event loop)."""
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        body = await request.body()
        if body.strip():
            ctype = request.headers.get("content-type", "")
            if "form" in ctype:
                form = await request.form()
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
            else:
                # A big body is decoded in a worker thread: the event loop keeps answering other requests.
                data = (
                    json_object(body)
                    if len(body) < JSON_IN_THREAD
                    else await anyio.to_thread.run_sync(json_object, body)
                )
                params.update(data)
    return params


ParamsDep = Annotated[dict[str, Any], Depends(ckan_params)]
