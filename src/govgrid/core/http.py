"""HTTP plumbing: the one error shape, request ids, body limits, error renderers for standard APIs."""

from __future__ import annotations

import html
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from govgrid.config import get_settings
from govgrid.core.audit.service import request_id_var
from govgrid.core.db import RETRY_MARKER, is_stale_snapshot
from govgrid.core.errors import AppError, error_body

log = logging.getLogger(__name__)

# Standard APIs with their own error formats (Open311, CKAN) register a renderer for their prefix.
ErrorRenderer = Callable[[Request, int, str, str, list[dict[str, Any]]], Response]
_renderers: dict[str, ErrorRenderer] = {}

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
BUSY_RETRY_AFTER = "2"  # seconds a client waits before retrying when the database is busy


def register_error_renderer(prefix: str, renderer: ErrorRenderer) -> None:
    """Let a standard API under `prefix` render errors in its own format."""
    _renderers[prefix] = renderer


def standard_api_prefixes() -> list[str]:
    """The path prefixes whose errors keep a standard API's own format."""
    return sorted(_renderers)


def render_error(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Render an error in the format of the API the request addressed."""
    path = request.url.path
    response: Response | None = None
    for prefix, renderer in sorted(_renderers.items(), key=lambda kv: -len(kv[0])):
        if path.startswith(prefix):
            response = renderer(request, status, code, message, details or [])
            break
    if response is None and wants_html(request):
        response = _html_error(request, status, message, details or [])
    if response is None:
        response = JSONResponse(error_body(code, message, details), status_code=status)
    if status < 500 or status == 503:  # (a 500 is logged with its traceback where it is caught)
        log.log(logging.WARNING if status in (429, 503) else logging.INFO, "request refused",
                extra={"status": status, "code": code, "method": request.method, "path": path})
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def wants_html(request: Request) -> bool:
    """A browser asking for a page: not an API path, and text/html accepted before JSON."""
    path = request.url.path
    if path.startswith("/api/") or path.endswith((".json", ".xml", ".jsonld", ".ttl", ".geojson", ".csv")):
        return False
    accept = request.headers.get("accept", "").lower()
    html, json = accept.find("text/html"), accept.find("application/json")
    return html >= 0 and (json < 0 or html < json)


# an English translation in brackets inside a Chinese message: "中文 (English)"
_ENGLISH_PART = re.compile(r"\s*[(（]([\x20-\x27\x2a-\x7e]*[A-Za-z]{3}[\x20-\x27\x2a-\x7e]*)[)）]")
_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


def localized_message(message: str, locale: str) -> str:
    """A bilingual "中文 (English): detail" message in the page's language (unchanged if not bilingual)."""
    parts = list(_ENGLISH_PART.finditer(message))
    if not parts or not _CJK.search(message):
        return message
    if locale == "zh-CN":
        return _ENGLISH_PART.sub("", message).strip()
    # the last bracket translates the whole sentence; what follows it is data (a path, a size)
    last = parts[-1]
    return (last.group(1) + message[last.end():]).strip()


# pydantic's messages for the fields of a form, in the pages' languages
_FIELD_MESSAGES = {
    "Field required": ("必填项，不能为空", "required"),
    "Input should be a valid integer": ("应为整数", "must be a whole number"),
    "Input should be a valid number": ("应为数字", "must be a number"),
    "Input should be a valid date": ("应为日期（年-月-日）", "must be a date (YYYY-MM-DD)"),
    "Input should be a valid datetime": ("应为日期和时间", "must be a date and time"),
    "Input should be a valid boolean": ("应为是或否", "must be yes or no"),
    "String should have at most": ("内容过长", "too long"),
    "String should have at least": ("内容过短", "too short"),
    "Input should be greater than": ("数值过小", "too small"),
    "Input should be less than": ("数值过大", "too large"),
    "Input should be": ("不是可选的值", "not one of the allowed values"),
    "Value error": ("格式不正确", "invalid value"),
}


def _field_message(msg: str, locale: str) -> str:
    for prefix, (zh, en) in _FIELD_MESSAGES.items():
        if msg.startswith(prefix):
            return zh if locale == "zh-CN" else en
    text = localized_message(msg, locale)
    if locale == "zh-CN" and not _CJK.search(text):
        return "格式不正确"  # an English-only message from a library: never shown on a zh-CN page
    return text


def _html_error(request: Request, status: int, message: str, details: list[dict[str, Any]]) -> Response:
    """The error as a page in the site's layout (a plain page if even the layout cannot be rendered)."""
    from govgrid.core.deps import get_locale
    from govgrid.core.pages import render

    locale = get_locale(request)
    where = ("body", "query", "path", "form")
    fields = [{"field": ".".join(str(p) for p in d.get("loc", []) if p not in where),
               "msg": _field_message(str(d.get("msg", "")), locale)} for d in details]
    context = {"status": status, "message": localized_message(message, locale), "fields": fields,
               "request_id": request_id_var.get() or getattr(request.state, "request_id", None),
               "next_url": request.url.path}
    try:
        return render(request, "error.html", context, status_code=status)
    except Exception:  # the page itself failed (a broken database): still an answer a person can read
        log.exception("the error page could not be rendered")
        text = html.escape(localized_message(message, locale))
        body = (f'<!doctype html><html lang="{locale}"><meta charset="utf-8"><title>{status}</title>'
                f"<h1>{status}</h1><p>{text}</p><p><a href=\"/\">首页 / Home</a></p></html>")
        return HTMLResponse(body, status_code=status)


def _loc(loc: Any) -> list[Any]:
    return list(loc) if isinstance(loc, (list, tuple)) else [loc]


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception to a 4xx in the right shape; a 500 only for real bugs."""

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        return render_error(request, exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        details = []
        for err in exc.errors():
            msg = err.get("msg", "invalid")
            if err.get("type") == "json_invalid":
                reason = str(err.get("ctx", {}).get("error", ""))
                msg = "请求体不是有效的 JSON (request body is not valid JSON): " + reason
            details.append({"loc": _loc(err.get("loc", [])), "msg": msg})
        return render_error(request, 422, "validation_error", "请求参数无效 (invalid request)", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code
        if exc.status_code == 404 and message == "Not Found":
            message = f"没有这个地址 (no such endpoint): {request.url.path}"
        if exc.status_code == 405:
            message = f"不支持 {request.method} 方法 (method not allowed)"
        return render_error(request, exc.status_code, code, message)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> Response:
        log.info("integrity error: %s", exc.orig)
        return render_error(
            request, 409, "conflict", "数据冲突：记录已存在或仍被引用 (conflict with existing data)"
        )

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, exc: Exception) -> Response:
        # A number or value the database cannot hold (e.g. an id beyond 64 bits):
        # the caller's input, not a bug.
        log.info("value out of range on %s: %s", request.url.path, exc)
        return render_error(request, 422, "validation_error",
                            "数值超出范围 (a number or value in the request is out of range)")

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, exc: OperationalError) -> Response:
        log.error("database unavailable: %s", exc.orig)
        response = render_error(
            request,
            503,
            "unavailable",
            "数据库暂时不可用，请稍后重试 (database unavailable, retry later)",
            headers={"Retry-After": BUSY_RETRY_AFTER},
        )
        if is_stale_snapshot(exc):
            # a read that turned into a write after another commit: the GET is safe to run again (see websec)
            response.headers[RETRY_MARKER] = "1"
        return response

    @app.exception_handler(PoolTimeout)
    async def _pool_timeout(request: Request, exc: PoolTimeout) -> Response:
        log.warning("no database connection free for %s %s", request.method, request.url.path)
        return render_error(
            request,
            503,
            "unavailable",
            "服务器繁忙，请稍后重试 (server busy, retry shortly)",
            headers={"Retry-After": BUSY_RETRY_AFTER},
        )

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> Response:
        # The handler gets the exception as an argument: log its traceback from it, not from sys.exc_info().
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return render_error(
            request, 500, "internal_error", "服务器内部错误，已记录 (internal error; it has been logged)"
        )


class RequestContextMiddleware:
    """Assigns a request id (header X-Request-ID) and refuses bodies over the configured limit."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        # a caller's id is kept when it is a plain token (it goes into every log line); otherwise a new one
        rid = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        # kept on the request too: a 500 page is rendered outside this middleware, after the reset below
        scope.setdefault("state", {})["request_id"] = rid
        limit = get_settings().max_body_bytes
        path = scope.get("path", "")
        if "/uploads" in path or path.endswith("/upload"):
            limit = get_settings().upload_max_bytes
        declared = headers.get(b"content-length")
        try:
            if declared is not None and declared.isdigit() and int(declared) > limit:
                await self._too_large(scope, receive, send, limit, rid)
                return
            received = 0

            async def limited_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise _BodyTooLarge(limit)
                return message

            async def send_with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message.setdefault("headers", [])
                    message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
                await send(message)

            try:
                await self.app(scope, limited_receive, send_with_id)
            except _BodyTooLarge:
                await self._too_large(scope, receive, send, limit, rid)
        finally:
            request_id_var.reset(token)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, limit: int, rid: str) -> None:
        request = Request(scope, receive)
        response = render_error(request, 413, "payload_too_large",
                                f"请求体超过 {limit} 字节上限 (request body exceeds {limit} bytes)")
        response.headers["x-request-id"] = rid
        await response(scope, receive, send)


class _BodyTooLarge(StarletteHTTPException):
    """Raised from receive(); an HTTPException so body parsers pass it through as a 413."""

    def __init__(self, limit: int):
        super().__init__(413, f"请求体超过 {limit} 字节上限 (request body exceeds {limit} bytes)")


class RequestIdLogFilter(logging.Filter):
    """Adds the request id to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True


def site_url(request: Request) -> str:
    """The site's own address for links and redirects.

    GOVGRID_PUBLIC_BASE_URL, or (demo, local) the address the request came to, whose Host
    TrustedHostMiddleware has already checked. Never an unchecked Host header."""
    base = get_settings().public_base_url
    return base.rstrip("/") if base else str(request.base_url).rstrip("/")
