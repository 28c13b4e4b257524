"""Operator logs: one line per event, with the request id on every line, as JSON or for a console.

The audit chain (core.audit) is the record of who did what; these logs are for running the service. Lines
carry ids and codes in structured fields (`log.info("case moved", extra={"case_id": 7, "to": "filed"})`),
never personal data. `govgrid serve --log-format json` (or GOVGRID_LOG_FORMAT=json) writes one JSON object
per line for a log collector; `console` (the default) writes readable lines with the same fields as key=value.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any, Literal

from govgrid.core.audit.service import request_id_var

LogFormat = Literal["json", "console"]
LOG_FORMATS: tuple[str, ...] = ("json", "console")

# attributes every LogRecord has: whatever else a record carries came from `extra=` and is a field of the line
_RECORD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id", "taskName"}
_OUR_LOGGERS = ("govgrid", "uvicorn", "uvicorn.error", "sqlalchemy.pool")

access_log = logging.getLogger("govgrid.access")


class RequestIdFilter(logging.Filter):
    """Puts the current request id (or '-') on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a record carries (its `extra=`)."""
    return {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, request_id, then the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key, value in fields(record).items():
            line.setdefault(key, value)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class ConsoleFormatter(logging.Formatter):
    """`time LEVEL [request id] logger: message key=value ...`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = " ".join(f"{k}={v}" for k, v in fields(record).items())
        return f"{text} {extra}" if extra else text


def configure_logging(fmt: str = "console", level: str = "INFO") -> logging.Handler:
    """Send govgrid's and the server's logs to stderr in one format with request ids; returns the handler."""
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {fmt!r}")
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else ConsoleFormatter())
    for name in _OUR_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.propagate = False
    logging.getLogger("govgrid").setLevel(level)
    # AccessLogMiddleware writes one line per request instead
    logging.getLogger("uvicorn.access").disabled = True
    return handler


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class AccessLogMiddleware:
    """One line per HTTP request: method, path (never the query string: it may hold personal data), status and
    duration. Static files and the health check log at DEBUG."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            path = str(scope.get("path", ""))
            quiet = path.startswith("/static/") or path == "/healthz"
            access_log.log(logging.DEBUG if quiet else logging.INFO, "request", extra={
                "method": scope.get("method"), "path": path, "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
