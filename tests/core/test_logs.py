"""Operator logs: JSON (or console) lines, each with the request id the client sees in X-Request-ID; one
access line per request without the query string; refusals logged; personal data never in a line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from govgrid.cli import app as cli_app
from govgrid.core.logs import configure_logging


@pytest.fixture()
def log_lines() -> Iterator[io.StringIO]:
    """Configure JSON logging into a buffer for one test, then put the loggers back as they were."""
    names = ("govgrid", "uvicorn", "uvicorn.error", "sqlalchemy.pool")
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).propagate, logging.getLogger(n).level)
             for n in names}
    buffer = io.StringIO()
    handler = configure_logging("json", "INFO")
    handler.setStream(buffer)  # type: ignore[attr-defined]
    try:
        yield buffer
    finally:
        for n, (handlers, propagate, level) in saved.items():
            logger = logging.getLogger(n)
            logger.handlers[:], logger.propagate = handlers, propagate
            logger.setLevel(level)
        logging.getLogger("uvicorn.access").disabled = False


def _lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_every_line_is_json_with_the_request_id_the_client_sees(client, login, log_lines):
    r = client.get("/api/v1/divisions/410527/children?secret=13800138000", headers=login("nh_gov"))
    assert r.status_code == 200
    rid = r.headers["X-Request-ID"]
    lines = _lines(log_lines)
    access = [x for x in lines if x["logger"] == "govgrid.access"]
    assert access and access[-1]["request_id"] == rid
    assert access[-1]["method"] == "GET" and access[-1]["status"] == 200
    assert access[-1]["path"] == "/api/v1/divisions/410527/children"  # never the query string
    assert "13800138000" not in log_lines.getvalue()
    assert {"ts", "level", "logger", "msg", "request_id"} <= set(access[-1])


def test_a_refusal_is_one_line_with_its_status_and_code(client, login, log_lines):
    r = client.get("/api/v1/me", headers={"X-Request-ID": "trace-abc-123"})
    assert r.status_code == 401
    refusals = [x for x in _lines(log_lines) if x["msg"] == "request refused"]
    assert len(refusals) == 1
    assert refusals[0]["status"] == 401 and refusals[0]["code"]
    assert refusals[0]["request_id"] == "trace-abc-123"


def test_a_state_change_in_a_worker_thread_carries_the_request_id(client, login, log_lines):
    # a sync route runs in the thread pool: its service's log line still knows the request
    r = client.post("/api/v1/auth/token", data={"username": "nh_gov", "password": "wrong-password"})
    assert r.status_code == 401
    rid = r.headers["X-Request-ID"]
    failed = [x for x in _lines(log_lines) if x["msg"] == "login failed"]
    assert failed and failed[-1]["request_id"] == rid and failed[-1]["logger"].startswith("govgrid.core")
    assert "wrong-password" not in log_lines.getvalue()


def test_serve_refuses_an_unknown_log_format():
    result = CliRunner().invoke(cli_app, ["serve", "--log-format", "xml"])
    assert result.exit_code == 2
    assert "--log-format" in result.output


def test_a_request_id_that_is_not_a_plain_token_is_replaced(client):
    r = client.get("/healthz", headers={"X-Request-ID": "a b\tc{\"x\": 1}"})
    assert r.headers["X-Request-ID"] != "a b\tc{\"x\": 1}" and len(r.headers["X-Request-ID"]) == 32
    kept = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.1"})
    assert kept.headers["X-Request-ID"] == "lb-7f3a.1"


def test_no_log_call_names_an_extra_field_logging_reserves():
    # `extra={"created": ...}` raises KeyError once INFO is on (as under `govgrid serve`): it stopped the
    # demo loader at the market step and would answer 500 to the request that logged it. Tests log at WARNING,
    # so such a call passes every other test: the keys are checked in the source.
    import ast
    from pathlib import Path

    import govgrid

    reserved = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
    found = []
    for path in Path(govgrid.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            for kw in node.keywords:
                if kw.arg == "extra" and isinstance(kw.value, ast.Dict):
                    keys = [k.value for k in kw.value.keys if isinstance(k, ast.Constant)]
                    found += [f"{path.name}:{node.lineno} {k}" for k in keys if k in reserved]
    assert not found, found
