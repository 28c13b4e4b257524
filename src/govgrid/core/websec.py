"""Web security for every response and request: CSP with nonces and the other headers, CSRF tokens and
Origin checks, HEAD as GET, a cap on requests in flight, and a transparent re-run of reads that lost a race.

Pages get `csp_nonce` (put it on every `<script>`) and `csrf_token` / `csrf_input()` (put it in every form,
or send it as the `X-CSRF-Token` header from scripts) in their template context (core.pages)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from urllib.parse import urlsplit

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from govgrid.config import get_settings
from govgrid.core.db import RETRY_MARKER, request_deadline
from govgrid.core.deps import TOKEN_COOKIE
from govgrid.core.errors import ForbiddenError, ValidationFailedError
from govgrid.core.identity import security

log = logging.getLogger(__name__)

CSRF_COOKIE = "govgrid_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Machine interfaces that authenticate by their own key or signature and never by the login cookie.
NO_COOKIE_PREFIXES = ("/open311/", "/channels/")
# Interfaces for programs:
# an unsafe request needs a CSRF token only if it would be authenticated by the cookie.
MACHINE_PREFIXES = ("/api/", "/ckan/", "/ogcapi/", *NO_COOKIE_PREFIXES)
_ANON_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
# A JSON string escape for NUL (\u0000) not itself escaped by a backslash.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------------- CSRF


def _anchor(request: Request) -> str:
    """What a CSRF token is bound to: the login session if there is one,
    else the browser's anonymous cookie."""
    token = request.cookies.get(TOKEN_COOKIE)
    claims = security.decode_token(token) if token else None
    if claims is not None:
        return "s:" + claims.sid
    anon = request.cookies.get(CSRF_COOKIE, "")
    if not _ANON_RE.match(anon):
        anon = getattr(request.state, "csrf_new_cookie", None) or secrets.token_urlsafe(32)
        request.state.csrf_new_cookie = anon  # core.pages sets it on the response
    return "a:" + anon


def csrf_token(request: Request) -> str:
    """The CSRF token for this browser (the same on every page until it logs in or out)."""
    key = get_settings().secret_key.get_secret_value().encode()
    mac = hmac.new(key, b"csrf|" + _anchor(request).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def _same_origin(request: Request, origin: str) -> bool:
    base = get_settings().public_base_url
    if base:
        want = urlsplit(base)
        got = urlsplit(origin)
        return (got.scheme, got.netloc) == (want.scheme, want.netloc)
    # no configured address: the Host the request came to (TrustedHostMiddleware has checked it)
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _caller_origin(request: Request) -> str | None:
    origin = request.headers.get("origin")
    if origin:
        return origin
    referer = request.headers.get("referer")
    if referer:
        parts = urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}"
    return None


def _cookie_authenticated(request: Request) -> bool:
    has_explicit = bool(request.headers.get("authorization") or request.headers.get("x-api-key"))
    return not has_explicit and TOKEN_COOKIE in request.cookies


async def _presented_token(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    ctype = request.headers.get("content-type", "")
    if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        try:
            value = (await request.form()).get(CSRF_FIELD)
        except Exception:  # a malformed body is reported by the route's own parsing
            return None
        return value if isinstance(value, str) else None
    return None


async def check_csrf(request: Request) -> None:
    """Refuse an unsafe request from another site, or a browser's unsafe request without a valid token."""
    if request.method not in UNSAFE_METHODS:
        return
    path = request.url.path
    if path.startswith(NO_COOKIE_PREFIXES):
        return
    origin = _caller_origin(request)
    if origin is not None and not _same_origin(request, origin):
        raise ForbiddenError(
            "跨站请求被拒绝：请求来自其他网站 (cross-site request refused: it came from another origin)",
            code="csrf_failed",
        )
    explicit = bool(request.headers.get("authorization") or request.headers.get("x-api-key"))
    if explicit or (path.startswith(MACHINE_PREFIXES) and not _cookie_authenticated(request)):
        # a credential in a header is never sent by a browser on another site's behalf
        return
    presented = await _presented_token(request)
    if not presented or not hmac.compare_digest(presented, csrf_token(request)):
        raise ForbiddenError(
            "页面已过期或缺少安全令牌，请刷新页面后重试 (missing or stale CSRF token: reload the page "
            "and try again)",
            code="csrf_failed",
        )


# ------------------------------------------------------------------------------------------ NUL characters


async def check_nul(request: Request) -> None:
    """Refuse NUL characters anywhere in the request's text: PostgreSQL cannot store them,
    so no backend does."""
    raw_query = request.scope.get("query_string", b"")
    if b"%00" in raw_query.lower() or b"\x00" in raw_query or "\x00" in request.url.path:
        raise ValidationFailedError(
            "请求中含有空字符 (NUL)，请删除后重试 (the request contains a NUL character)",
            details=[{"loc": ["query"], "msg": "NUL character"}],
        )
    if request.method not in UNSAFE_METHODS:
        return
    ctype = request.headers.get("content-type", "")
    if "json" in ctype:
        body = await request.body()
        if _JSON_NUL.search(body) or b"\x00" in body:
            raise ValidationFailedError(
                "请求体中含有空字符 (NUL)，请删除后重试 (the request body contains a NUL character)",
                details=[{"loc": ["body"], "msg": "NUL character"}],
            )
    elif ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        try:
            form = await request.form()
        except Exception:
            return
        for name, value in form.multi_items():
            if isinstance(value, str) and "\x00" in value:
                raise ValidationFailedError(
                    "表单中含有空字符 (NUL)，请删除后重试 (a form field contains a NUL character)",
                    details=[{"loc": ["body", name], "msg": "NUL character"}],
                )


async def guard_request(request: Request) -> None:
    """The app-wide request guard: NUL characters, then CSRF and Origin."""
    await check_nul(request)
    await check_csrf(request)


# ------------------------------------------------------------------------------------------------ headers


def content_security_policy(nonce: str) -> str:
    """The pages' CSP: our own scripts and those carrying this response's nonce; no framing; no plugins."""
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        "style-src 'self' 'unsafe-inline'",  # Leaflet and Plotly set style attributes
        " ".join(["img-src 'self' data: blob:", *get_settings().map_tile_origins()]),  # basemap tiles
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


_COMMON = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]


class SecurityMiddleware:
    """Security headers and CSP nonces, HEAD served as GET, a cap on requests in flight,
    reads re-run after a race."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._in_flight = 0
        self._writers: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("path") != "/healthz" and not self._enter():
            await _busy(send)
            return
        settings = get_settings()
        arrived = time.monotonic()
        deadline = request_deadline.set(arrived + settings.sqlite_write_wait_seconds)
        admitted = False
        try:
            if scope["method"] in UNSAFE_METHODS:
                # Writers wait for admission here, on the event loop, not in worker threads: on SQLite they
                # then queue for the one write turn, and the turn's holder must always find a free thread; on
                # PostgreSQL every write takes the audit chain's head lock in turn, so a burst beyond the
                # database pool waits here, bounded, and is answered 503 + Retry-After instead of hanging.
                if self._writers is None:
                    share = settings.worker_threads // 2 if settings.is_sqlite else settings.worker_threads
                    self._writers = asyncio.Semaphore(max(1, share))
                try:
                    await asyncio.wait_for(
                        self._writers.acquire(), timeout=settings.sqlite_write_wait_seconds
                    )
                except TimeoutError:
                    await _busy(send)
                    return
                admitted = True
            head = scope["method"] == "HEAD"
            if head:
                scope = {**scope, "method": "GET"}
            reads = scope["method"] in ("GET", "OPTIONS")
            retried = await self._run(scope, receive, send, head=head, may_retry=reads)
            if retried:
                log.info("read re-run after a concurrent write: %s", scope.get("path"))
                await self._run({**scope, "govgrid.retry": True}, _empty_receive(receive), send, head=head,
                                may_retry=False)
        finally:
            if admitted and self._writers is not None:
                self._writers.release()
            request_deadline.reset(deadline)
            if scope.get("path") != "/healthz":
                self._leave()

    def _enter(self) -> bool:
        with self._lock:
            if self._in_flight >= get_settings().max_in_flight:
                return False
            self._in_flight += 1
            return True

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    async def _run(self, scope: Scope, receive: Receive, send: Send, *, head: bool, may_retry: bool) -> bool:
        """Run the app once; True if its answer asked for a re-run (and was swallowed)."""
        nonce = secrets.token_urlsafe(18)
        tls = served_over_tls(scope)
        scope.setdefault("state", {})
        scope["state"]["csp_nonce"] = nonce
        swallow = False

        async def wrapped(message: Message) -> None:
            nonlocal swallow
            if message["type"] == "http.response.start":
                marker = RETRY_MARKER.encode()
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != marker]
                if may_retry and len(headers) != len(message.get("headers", [])):
                    swallow = True
                    return
                message = {**message, "headers": _with_security_headers(headers, nonce, tls=tls)}
            elif message["type"] == "http.response.body":
                if swallow:
                    return
                if head:
                    message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, wrapped)
        return swallow


def served_over_tls(scope: Scope) -> bool:
    """True if the request came over HTTPS: directly, through a trusted proxy's X-Forwarded-Proto (uvicorn
    rewrites the scheme only for GOVGRID_FORWARDED_ALLOW_IPS), or on a site declared HTTPS-only."""
    return scope.get("scheme") in ("https", "wss") or get_settings().behind_tls


def _secure_cookie(value: bytes) -> bytes:
    return value if b"; secure" in value.lower() else value + b"; Secure"


def _with_security_headers(
    headers: list[tuple[bytes, bytes]], nonce: str, *, tls: bool = False
) -> list[tuple[bytes, bytes]]:
    present = {k.lower() for k, _ in headers}
    out = list(headers)
    if tls:  # every cookie over TLS is Secure (session, CSRF anchor, language); the browser stays on HTTPS
        out = [(k, _secure_cookie(v)) if k.lower() == b"set-cookie" else (k, v) for k, v in out]
        max_age = get_settings().hsts_max_age
        if max_age and b"strict-transport-security" not in present:
            out.append((b"strict-transport-security", f"max-age={max_age}; includeSubDomains".encode()))
    for k, v in _COMMON:
        if k not in present:
            out.append((k, v))
    ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
    if b"content-security-policy" not in present:
        if ctype.startswith(b"text/html"):
            out.append((b"content-security-policy", content_security_policy(nonce).encode()))
        else:
            out.append((b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"))
    if b"x-frame-options" not in present:
        out.append((b"x-frame-options", b"DENY"))
    return out


def _empty_receive(original: Receive) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return await original()

    return receive


async def _busy(send: Send) -> None:
    body = (
        '{"error": {"code": "unavailable", "message": "服务器繁忙，请稍后重试 (server busy, retry shortly)", '
        '"details": []}}'
    ).encode()
    await send({"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", b"application/json"),
        (b"retry-after", b"2"),
        (b"content-length", str(len(body)).encode()),
        *_COMMON,
    ]})
    await send({"type": "http.response.body", "body": body})


def attachment_headers(filename: str) -> dict[str, str]:
    """Headers for serving an uploaded file: always a download, never run as a page on our origin."""
    from urllib.parse import quote

    ascii_name = re.sub(r'[^A-Za-z0-9._-]', "_", filename) or "download"
    return {
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
    }


def state_nonce(request: Request) -> str:
    """This response's CSP nonce (set by SecurityMiddleware)."""
    return str(getattr(request.state, "csp_nonce", "") or "")
