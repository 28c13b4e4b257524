"""Schemathesis over the published OpenAPI document: for every operation, inputs generated from the schema
(valid and not) never get a server error, signed in as the platform administrator (who reaches every route)
and (for reads) anonymously. Bounded: one generated example per operation."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

EXAMPLES = 1  # per operation (schemathesis adds its explicit examples and edge cases): keeps the suite fast


@pytest.fixture()
def api_schema(app, db):
    """The app's own OpenAPI document, called in-process (ASGI) inside the test's rolled-back transaction."""
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


# The live map's server-sent-event stream never ends by design: its behaviour is tested in tests/citymap.
STREAMS = r"^/api/v1/citymap/live$"
MODULES = ("exchange", "appeals", "citymap", "carbon", "services", "economy", "market", "reuse",
           "coordination", "institutions")
# One test per group so that the workers share the run (a single test of every operation took five minutes
# on one worker while the other sat idle).
GROUPS = {
    "core": r"^/api/v1/(?!(" + "|".join(MODULES) + r")/)",
    **{m: rf"^/api/v1/{m}/" for m in MODULES},
    "standards": r"^/(?!api/v1/)",  # Open311, CKAN, OGC API Features, DCAT, WeChat
}


def check_case(case, login) -> None:
    """No server error, and the one error shape on /api/v1 errors."""
    callers = [login("admin")] + ([{}] if case.method == "GET" else [])  # writes: anonymous is one 401 anyway
    for headers in callers:
        response = case.call(headers=headers)
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}")
        content_type = response.headers.get("content-type") or [""]
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        if response.status_code >= 400 and content_type.startswith("application/json") \
                and case.path.startswith("/api/v1"):
            body = response.json()
            assert "error" in body and body["error"]["message"], body  # the one error shape, with a message


def _group_test(name: str, regex: str):
    @schema.include(path_regex=regex).exclude(path_regex=STREAMS).parametrize()
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def test(case, login):
        check_case(case, login)

    test.__name__ = f"test_no_input_makes_a_server_error_{name}"
    return test


for _name, _regex in GROUPS.items():
    globals()[f"test_no_input_makes_a_server_error_{_name}"] = _group_test(_name, _regex)
