"""Secure cookies and HSTS over TLS (direct, or X-Forwarded-Proto from a trusted proxy only), and the proxy
options `govgrid serve` gives uvicorn (issue 16 #10)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from govgrid.cli import proxy_options
from govgrid.config import get_settings, set_settings

HTML = {"Accept": "text/html"}
PROXY = "10.20.30.40"


@pytest.fixture()
def settings_override() -> Iterator:
    """Change settings for one test (restored after it)."""
    before = get_settings()

    def change(**values):
        set_settings(before.model_copy(update=values))

    yield change
    set_settings(before)


def _cookies(response) -> list[str]:
    return response.headers.get_list("set-cookie")


def _proxied(app, client_host: str, settings=None) -> TestClient:
    """The app behind uvicorn's proxy-header handling configured exactly as `govgrid serve` does it."""
    allowed = proxy_options(settings or get_settings())["forwarded_allow_ips"]
    return TestClient(ProxyHeadersMiddleware(app, trusted_hosts=allowed), client=(client_host, 40000),
                      raise_server_exceptions=False)


def test_over_https_cookies_are_secure_and_hsts_is_sent(app, db):
    with TestClient(app, base_url="https://testserver") as client:
        r = client.get("/login", headers=HTML)
    assert r.status_code == 200
    assert r.headers["strict-transport-security"].startswith("max-age=31536000")
    cookies = _cookies(r)
    assert cookies and all("Secure" in c for c in cookies), cookies  # the CSRF anchor cookie


def test_over_plain_http_no_hsts_and_no_secure_flag(client):
    r = client.get("/login", headers=HTML)
    assert "strict-transport-security" not in r.headers
    assert _cookies(r) and not any("Secure" in c for c in _cookies(r))


def test_the_language_cookie_is_secure_over_https(app, db):
    with TestClient(app, base_url="https://testserver") as client:
        r = client.get("/lang/en", follow_redirects=False)
    assert r.status_code == 303
    assert "govgrid_lang=en" in r.headers["set-cookie"] and "Secure" in r.headers["set-cookie"]


def test_a_trusted_proxy_forwarding_https_gets_hsts_and_secure_cookies(app, db, settings_override):
    settings_override(forwarded_allow_ips=PROXY)
    r = _proxied(app, PROXY).get("/login", headers={**HTML, "X-Forwarded-Proto": "https"})
    assert r.status_code == 200
    assert "strict-transport-security" in r.headers
    assert all("Secure" in c for c in _cookies(r))


def test_an_untrusted_x_forwarded_proto_is_ignored(app, db, settings_override):
    settings_override(forwarded_allow_ips=PROXY)
    r = _proxied(app, "203.0.113.9").get("/login", headers={**HTML, "X-Forwarded-Proto": "https"})
    assert r.status_code == 200
    assert "strict-transport-security" not in r.headers
    assert not any("Secure" in c for c in _cookies(r))


def test_the_default_trusts_only_the_local_proxy(app, db):
    assert proxy_options(get_settings()) == {"proxy_headers": True, "forwarded_allow_ips": "127.0.0.1"}
    r = _proxied(app, "198.51.100.7").get("/login", headers={**HTML, "X-Forwarded-Proto": "https"})
    assert "strict-transport-security" not in r.headers


def test_behind_tls_declares_the_site_https_only(client, settings_override):
    settings_override(behind_tls=True, hsts_max_age=600)
    r = client.get("/login", headers=HTML)
    assert r.headers["strict-transport-security"] == "max-age=600; includeSubDomains"
    assert all("Secure" in c for c in _cookies(r))


def test_hsts_can_be_switched_off(app, db, settings_override):
    settings_override(hsts_max_age=0)
    with TestClient(app, base_url="https://testserver") as client:
        r = client.get("/login", headers=HTML)
    assert "strict-transport-security" not in r.headers
    assert all("Secure" in c for c in _cookies(r))  # cookies stay Secure over TLS
