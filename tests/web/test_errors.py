"""Errors answer a browser with a page in the site's layout and an API client with the one JSON shape, for
every page of every module (decided by the route and the Accept header, never per module); the favicon."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI, Form
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from govgrid.core.errors import ConflictError, ForbiddenError, NotFoundError
from govgrid.core.http import localized_message, standard_api_prefixes
from tests.conftest import api_routes, cookie_login, csrf_token

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"Accept": "application/json"}
PARAM = re.compile(r"\{[^}]+\}")


def _error_page(r) -> str:
    assert r.headers["content-type"].startswith("text/html"), r.text[:200]
    assert 'id="error-page"' in r.text, r.text[:200]
    assert "/static/bootstrap/css/bootstrap.min.css" in r.text, "in the site's layout"
    return r.text


def test_unknown_address_is_a_page_for_a_browser_and_json_for_a_client(client):
    page = _error_page(client.get("/no/such/page", headers=BROWSER))
    assert "找不到页面或记录" in page and "no such endpoint" not in page
    r = client.get("/no/such/page", headers=JSON)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = client.get("/api/v1/no-such-thing", headers=BROWSER)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", "the API always answers JSON"


def test_english_page_when_the_visitor_chose_english(client):
    page = _error_page(client.get("/no/such/page?lang=en", headers=BROWSER))
    assert "Page or record not found" in page and "no such endpoint: /no/such/page" in page
    assert "没有这个地址" not in page


def test_another_divisions_department_is_a_403_page(client, db):
    from govgrid.core.departments import service as departments

    other = departments.get_by_code(db, "140321-tax")  # 平定县: outside 内黄县's viewer's reach
    cookie_login(client, db, "nh_viewer")
    r = client.get(f"/departments/{other.id}", headers=BROWSER)
    assert r.status_code == 403
    page = _error_page(r)
    assert "无权访问" in page and "not in your scope" not in page
    assert client.get(f"/departments/{other.id}", headers=JSON).json()["error"]["code"] == "forbidden"


def _page_routes(app) -> list[str]:
    """Every page route of every module that takes an id in its path (GET, outside /api)."""
    out = []
    standard = ("/api/", *standard_api_prefixes())  # standard APIs keep their own error format
    for path, route in api_routes(app):
        if (isinstance(route, APIRoute) and "GET" in route.methods and not path.startswith(standard)
                and PARAM.search(path) and not route.include_in_schema):
            out.append(path)
    return sorted(set(out))


def test_every_module_page_with_a_missing_object_answers_a_page(app, client, db):
    """A made-up id behind any page (a city case, a ticket, a project, a resource...) is a 4xx page, never
    JSON and never a 500, for whatever module is installed."""
    cookie_login(client, db, "admin")
    paths = _page_routes(app)
    assert any(p.startswith("/citymap") for p in paths) or any(p.startswith("/appeals") for p in paths)
    wrong = []
    for path in paths:
        url = PARAM.sub("987654321", path)
        r = client.get(url, headers=BROWSER, follow_redirects=False)
        if r.status_code in (200, 303, 307):  # a page that answers for any id (a list, a redirect)
            continue
        html = r.headers.get("content-type", "").startswith("text/html") and 'id="error-page"' in r.text
        if not (400 <= r.status_code < 500 and html):
            wrong.append(f"{url}: {r.status_code} {r.headers.get('content-type')}")
    assert wrong == [], "\n".join(wrong)


@pytest.fixture(scope="module")
def raising(app) -> TestClient:
    """A small app with the platform's error handlers and routes that fail in each way."""
    from govgrid.core.http import RequestContextMiddleware, install_error_handlers

    test_app = FastAPI()
    install_error_handlers(test_app)
    test_app.add_middleware(RequestContextMiddleware)

    @test_app.get("/conflict")
    def conflict() -> None:
        raise ConflictError("案卷已结案，不能再派遣 (the case is closed)")

    @test_app.get("/forbidden")
    def forbidden() -> None:
        raise ForbiddenError("无权查看该诉求 (not your ticket)")

    @test_app.get("/gone")
    def gone() -> None:
        raise NotFoundError("没有这个项目 (no such project)")

    @test_app.post("/form")
    def form(count: int = Form(...), name: str = Form(...)) -> None:
        return None

    @test_app.get("/bug")
    def bug() -> None:
        raise RuntimeError("a bug")

    return TestClient(test_app, raise_server_exceptions=False)


@pytest.mark.parametrize(("path", "status", "title", "text"), [
    ("/conflict", 409, "与当前状态冲突", "案卷已结案，不能再派遣"),
    ("/forbidden", 403, "无权访问", "无权查看该诉求"),
    ("/gone", 404, "找不到页面或记录", "没有这个项目"),
    ("/bug", 500, "服务器内部错误", "服务器内部错误，已记录"),
])
def test_each_status_has_its_page(raising, path, status, title, text):
    r = raising.get(path, headers=BROWSER)
    assert r.status_code == status
    page = _error_page(r)
    assert title in page and text in page
    assert "(" + "the case" not in page and "internal error" not in page, "no English in a zh-CN page"
    if status == 500:
        assert re.search(r'id="request-id">[0-9a-f]{32}<', page), "a 500 names the request to quote"
    assert raising.get(path, headers=JSON).json()["error"]["message"].startswith(text)


def test_a_form_mistake_lists_each_field_in_chinese(raising):
    r = raising.post("/form", data={"count": "many"}, headers=BROWSER)
    assert r.status_code == 422
    page = _error_page(r)
    assert "填写的内容有误" in page
    fields = re.search(r'<ul id="error-fields">(.*?)</ul>', page, re.S).group(1)
    assert "count</strong>：应为整数" in fields and "name</strong>：必填项，不能为空" in fields
    assert "Field required" not in page and "valid integer" not in page
    details = raising.post("/form", data={}, headers=JSON).json()["error"]["details"]
    assert {tuple(d["loc"]) for d in details} == {("body", "count"), ("body", "name")}


def test_a_page_form_post_error_keeps_the_csrf_and_layout(client, db):
    cookie_login(client, db, "nh_viewer")
    token = csrf_token(client, "/")
    r = client.post("/account/password", data={"csrf_token": token}, headers=BROWSER)
    assert r.status_code in (403, 422)
    _error_page(r)


def test_bilingual_messages_split_by_locale():
    message = "没有这个地址 (no such endpoint): /x"
    assert localized_message(message, "zh-CN") == "没有这个地址: /x"
    assert localized_message(message, "en") == "no such endpoint: /x"
    assert localized_message("只有中文", "en") == "只有中文"
    assert localized_message("面积 (ha) 超限", "zh-CN") == "面积 (ha) 超限", "a unit stays"


def test_favicon(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert r.content[:4] == b"\x00\x00\x01\x00", "an ICO file"
    assert "max-age" in r.headers.get("cache-control", "")
    svg = client.get("/static/govgrid/favicon.svg")
    assert svg.status_code == 200 and b"<svg" in svg.content
    home = client.get("/", headers=BROWSER).text
    assert '<link rel="icon" href="/static/govgrid/favicon.svg"' in home
