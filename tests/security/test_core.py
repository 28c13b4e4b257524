"""Core findings: login throttling, CSRF, sessions, security headers, scope of department-level users, NUL,
HEAD, role grants, forgeable demo tokens and the Host header (one test per finding,
with the payload that worked)."""

from __future__ import annotations

import jwt
import pytest
from sqlalchemy import select

from govgrid.config import get_settings, set_settings
from govgrid.core.audit import service as audit
from govgrid.core.audit.models import AuditRecord
from govgrid.core.audit.service import SystemActor
from govgrid.core.db import utcnow
from govgrid.core.departments.models import Department
from govgrid.core.identity.models import User
from govgrid.demo import DEMO_PASSWORD as PASSWORD
from tests.conftest import api_routes, cookie_login, csrf_token

HTML = {"Accept": "text/html"}


def _dept(db, code: str) -> Department:
    return db.scalars(select(Department).where(Department.code == code)).one()


# ---- issue 11 #5: login throttling -------------------------------------------------------------------------


def test_20_wrong_passwords_lock_the_account_on_the_api(client, db):
    for _ in range(20):
        r = client.post("/api/v1/auth/token", data={"username": "nh_tax", "password": "wrong-guess"})
        assert r.status_code in (401, 429)
    right = client.post("/api/v1/auth/token", data={"username": "nh_tax", "password": PASSWORD})
    assert right.status_code == 429
    assert int(right.headers["Retry-After"]) > 0
    assert "锁定" in right.json()["error"]["message"]
    lockouts = db.scalars(select(AuditRecord).where(AuditRecord.action == "auth.lockout")).all()
    assert lockouts, "each lockout is in the audit chain"


def test_20_wrong_passwords_lock_the_account_on_the_login_form(client):
    token = csrf_token(client)
    for _ in range(20):
        client.post("/login", data={"username": "pd_tax", "password": "wrong-guess", "csrf_token": token},
                    headers=HTML)
    r = client.post("/login", data={"username": "pd_tax", "password": PASSWORD, "csrf_token": token},
                    headers=HTML, follow_redirects=False)
    assert r.status_code == 429 and "锁定" in r.text
    assert "govgrid_token" not in r.cookies


def test_a_lock_expires_and_a_good_login_clears_the_count(client, db):
    from govgrid.core.identity.models import LoginThrottle

    for _ in range(6):
        client.post("/api/v1/auth/token", data={"username": "jsh_tax", "password": "wrong-guess"})
    row = db.scalars(
        select(LoginThrottle).where(LoginThrottle.scope == "user", LoginThrottle.key == "jsh_tax")
    ).one()
    assert row.locked_until is not None and row.locked_until > utcnow()
    row.locked_until = utcnow()  # time passes
    db.flush()
    r = client.post("/api/v1/auth/token", data={"username": "jsh_tax", "password": PASSWORD})
    assert r.status_code == 200
    db.refresh(row)
    assert row.failures == 0


# ---- issue 11 #6: CSRF -------------------------------------------------------------------------------------


def test_form_post_from_another_origin_without_token_is_refused(client, db):
    from govgrid.appeals.models import Ticket

    cookie_login(client, db, "nh_dispatcher")
    before = db.scalar(select(Ticket.id).order_by(Ticket.id.desc()).limit(1))
    r = client.post(
        "/appeals/hotline",
        data={"description": "来自其他网站的伪造工单", "division_code": "410527"},
        headers={**HTML, "Origin": "https://evil.gov.example"},
    )
    assert r.status_code == 403
    assert db.scalar(select(Ticket.id).order_by(Ticket.id.desc()).limit(1)) == before, "nothing was created"


def test_form_post_without_token_is_refused_and_with_token_accepted(client, db):
    cookie_login(client, db, "nh_dispatcher")
    r = client.post(
        "/appeals/hotline", data={"description": "没有令牌的表单", "division_code": "410527"}, headers=HTML
    )
    assert r.status_code == 403 and "刷新" in r.text
    token = csrf_token(client, "/appeals/hotline")
    ok = client.post(
        "/appeals/hotline",
        data={"description": "路灯不亮，带令牌提交", "division_code": "410527", "csrf_token": token},
        headers=HTML,
        follow_redirects=False,
    )
    assert ok.status_code in (200, 303), ok.text[:300]


def test_cookie_json_post_needs_the_header_token(client, db):
    cookie_login(client, db, "nh_gov")
    body = {"name": "x", "department_id": _dept(db, "410527-tax").id}
    assert client.post("/api/v1/api-keys", json=body).status_code == 403
    token = csrf_token(client, "/")
    assert client.post("/api/v1/api-keys", json=body, headers={"X-CSRF-Token": token}).status_code == 201


# ---- issue 11 #7: sessions --------------------------------------------------------------------------------


def test_logout_ends_the_session_at_once(client, db):
    cookie_login(client, db, "nh_gov")
    assert client.get("/api/v1/me").status_code == 200
    old = client.cookies.get("govgrid_token")
    token = csrf_token(client, "/")
    r = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    client.cookies.set("govgrid_token", old)  # the attacker kept a copy of the cookie
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {old}"}).status_code == 401


def test_logout_by_get_only_asks(client, db):
    cookie_login(client, db, "nh_gov")
    page = client.get("/logout", headers=HTML)
    assert page.status_code == 200 and 'action="/logout"' in page.text
    assert client.get("/api/v1/me").status_code == 200


def test_bearer_logout_and_password_change_end_sessions(client, db):
    first = client.post("/api/v1/auth/token", data={"username": "nh_viewer", "password": PASSWORD}).json()
    second = client.post("/api/v1/auth/token", data={"username": "nh_viewer", "password": PASSWORD}).json()
    h1 = {"Authorization": f"Bearer {first['access_token']}"}
    h2 = {"Authorization": f"Bearer {second['access_token']}"}
    changed = client.post(
        "/api/v1/me/password",
        headers=h1,
        json={"current_password": PASSWORD, "new_password": "a-new-pass-123"},
    )
    assert changed.status_code == 204
    assert client.get("/api/v1/me", headers=h1).status_code == 200, "the caller's own session stays"
    assert client.get("/api/v1/me", headers=h2).status_code == 401, "every other session ends"
    assert client.post("/api/v1/auth/logout", headers=h1).status_code == 204
    assert client.get("/api/v1/me", headers=h1).status_code == 401


def test_disabling_a_user_ends_its_sessions(client, db, login):
    victim = login("nh_viewer")
    uid = db.scalar(select(User.id).where(User.username == "nh_viewer"))
    r = client.post(f"/api/v1/users/{uid}/disable", headers=login("nh_gov"))
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert client.get("/api/v1/me", headers=victim).status_code == 401
    other = client.post(f"/api/v1/users/{uid}/enable", headers=login("pd_gov"))
    assert other.status_code == 403, "another county's admin cannot touch this account"


def test_token_without_exp_or_session_is_refused(client, db):
    uid = db.scalar(select(User.id).where(User.username == "nh_gov"))
    secret = get_settings().secret_key.get_secret_value()
    no_exp = jwt.encode({"sub": str(uid), "sid": "whatever"}, secret, algorithm="HS256")
    no_sid = jwt.encode({"sub": str(uid), "exp": 4102444800}, secret, algorithm="HS256")
    for token in (no_exp, no_sid):
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


# ---- issue 11 #8: security headers ------------------------------------------------------------------------


def _html_pages(app) -> list[str]:
    return sorted({path for path, r in api_routes(app) if "GET" in r.methods
                   and "{" not in path and not path.startswith(("/api/", "/open311", "/ckan", "/ogcapi"))
                   and not path.endswith((".json", ".xml", ".jsonld", ".ttl", ".geojson", ".csv"))})


def test_every_html_response_has_the_security_headers(app, client, db):
    cookie_login(client, db, "nh_gov")
    pages = _html_pages(app)
    assert "/" in pages and "/login" in pages and len(pages) > 10
    checked = 0
    for path in [*pages, "/no-such-page"]:
        r = client.get(path, headers=HTML, follow_redirects=False)
        if not r.headers.get("content-type", "").startswith("text/html"):
            continue
        checked += 1
        csp = r.headers.get("content-security-policy", "")
        assert "script-src 'self' 'nonce-" in csp and "frame-ancestors 'none'" in csp, path
        assert r.headers.get("x-frame-options") == "DENY", path
        assert r.headers.get("x-content-type-options") == "nosniff", path
        assert r.headers.get("referrer-policy") == "same-origin", path
        nonce = csp.split("'nonce-")[1].split("'")[0]
        assert r.text.count("<script") == r.text.count(f'nonce="{nonce}"'), (
            f"a script without the nonce on {path}"
        )
    assert checked > 10


# ---- issue 11 #9: department-level users see only their department ----------------------------------------


def test_department_admin_cannot_read_another_departments_audit_records(client, db, login):
    tax = _dept(db, "410527-tax")
    audit.record(db, actor=SystemActor("test"), action="test.secret_of_tax", entity_type="x", entity_id="1",
                 department_id=tax.id, division_code=tax.division_code)
    audit.record(db, actor=SystemActor("test"), action="test.county_wide", entity_type="x", entity_id="2",
                 division_code="410527")
    db.flush()
    seen = client.get("/api/v1/audit", params={"limit": 500}, headers=login("nh_data")).json()["items"]
    actions = {r["action"] for r in seen}
    assert "test.secret_of_tax" not in actions and "test.county_wide" not in actions
    assert client.get(f"/api/v1/departments/{tax.id}", headers=login("nh_data")).status_code == 403
    county = client.get("/api/v1/audit", params={"limit": 500}, headers=login("nh_gov")).json()["items"]
    seen = {r["action"] for r in county}
    assert {"test.secret_of_tax", "test.county_wide"} <= seen, "the county admin still sees"


# ---- issue 11 #11: NUL, HEAD ------------------------------------------------------------------------------


def test_nul_characters_are_refused_everywhere(client, db, login):
    r = client.post(
        "/api/v1/appeals/tickets", json={"description": "路灯\u0000不亮", "division_code": "410527"}
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    assert client.get("/api/v1/divisions", params={"q": "内\x00黄"}).status_code == 422
    token = csrf_token(client, "/appeals/report")
    form = client.post("/appeals/report", data={"description": "a\x00b", "csrf_token": token}, headers=HTML)
    assert form.status_code == 422
    escaped = client.post(
        "/api/v1/appeals/tickets", json={"description": "反斜杠 \\u0000 是文字", "division_code": "410527"}
    )
    assert escaped.status_code == 201, "an escaped backslash followed by u0000 is text, not NUL"


def test_head_is_answered_like_get(client):
    r = client.head("/")
    assert r.status_code == 200 and r.content == b""
    assert client.head("/healthz").status_code == 200


# ---- issue 12 #2: role grants -----------------------------------------------------------------------------


def test_department_admin_cannot_make_itself_a_division_admin(client, db, login):
    admin = login("jsh_data")
    r = client.post(
        "/api/v1/users", headers=admin, json={"username": "jsh_sock", "password": "long-enough-1"}
    )
    assert r.status_code == 201
    uid = r.json()["id"]
    own = _dept(db, "430611-data_management").id
    wide = client.post(f"/api/v1/users/{uid}/roles", headers=admin,
                       json={"department_id": own, "role": "admin", "reach": "division"})
    assert wide.status_code == 403
    line = client.post(f"/api/v1/users/{uid}/roles", headers=admin,
                       json={"department_id": own, "role": "operator", "reach": "line"})
    assert line.status_code == 403
    ok = client.post(f"/api/v1/users/{uid}/roles", headers=admin,
                     json={"department_id": own, "role": "operator", "reach": "department"})
    assert ok.status_code == 201
    me = db.scalar(select(User.id).where(User.username == "jsh_data"))
    self_grant = client.post(f"/api/v1/users/{me}/roles", headers=admin,
                             json={"department_id": own, "role": "admin", "reach": "division"})
    assert self_grant.status_code == 403
    refused = db.scalars(select(AuditRecord).where(AuditRecord.action == "user.assign_role_refused")).all()
    assert len(refused) >= 3


def test_no_grant_outside_the_granters_territory(client, db, login):
    made = client.post("/api/v1/users", headers=login("nh_gov"), json={"username": "nh_clerk2",
                                                                          "password": "long-enough-1"})
    uid = made.json()["id"]
    r = client.post(f"/api/v1/users/{uid}/roles", headers=login("jsh_gov"),
                    json={"department_id": _dept(db, "430611-tax").id, "role": "admin"})
    assert r.status_code == 403, "a 君山区 admin cannot attach a role to a user created by 内黄县"


def test_verifier_is_not_granted_by_an_ordinary_admin(client, db, login):
    uid = client.post("/api/v1/users", headers=login("jsh_gov"),
                      json={"username": "jsh_fake_verifier", "password": "long-enough-1"}).json()["id"]
    r = client.post(f"/api/v1/users/{uid}/roles", headers=login("jsh_gov"),
                    json={"department_id": _dept(db, "430611-ecology_environment").id, "role": "verifier"})
    assert r.status_code == 403


def test_every_role_change_is_audited(client, db, login):
    admin = login("nh_gov")
    uid = client.post("/api/v1/users", headers=admin, json={"username": "nh_clerk3",
                                                             "password": "long-enough-1"}).json()["id"]
    dept = _dept(db, "410527-civil_affairs").id
    made = client.post(
        f"/api/v1/users/{uid}/roles", headers=admin, json={"department_id": dept, "role": "operator"}
    )
    client.post(f"/api/v1/users/{uid}/roles", headers=admin,
                json={"department_id": dept, "role": "operator", "reach": "division"})
    gone = client.delete(f"/api/v1/users/{uid}/roles/{made.json()['id']}", headers=admin)
    assert gone.status_code == 204
    actions = [r.action for r in db.scalars(select(AuditRecord).where(AuditRecord.entity_type == "user",
                                                                      AuditRecord.entity_id == str(uid)))]
    assert {"user.assign_role", "user.change_role_reach", "user.revoke_role"} <= set(actions)


# ---- issue 12 #13: forgeable demo tokens, the Host header -------------------------------------------------


def test_a_token_signed_with_the_old_demo_constant_is_refused(client, db):
    uid = db.scalar(select(User.id).where(User.username == "admin"))
    forged = jwt.encode(
        {"sub": str(uid), "sid": "x", "exp": 4102444800},
        "govgrid-demo-secret-not-for-production",
        algorithm="HS256",
    )
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_demo_database_gets_its_own_secret(db):
    from govgrid.core.identity.instance import demo_secret

    first = demo_secret(db)
    assert first == demo_secret(db) and len(first) > 40 and "not-for-production" not in first


def test_a_foreign_host_header_is_refused(client):
    r = client.get("/", headers={"Host": "evil.example"})
    assert r.status_code == 400


def test_links_use_the_configured_base_url(client):
    saved = get_settings()
    set_settings(saved.model_copy(update={"public_base_url": "https://gov.example.cn"}))
    try:
        from fastapi.testclient import TestClient

        from govgrid.app import create_app

        with TestClient(create_app(), base_url="https://gov.example.cn") as c:
            r = c.get("/ckan/api/3/action/package_list")
            assert r.status_code == 200
            assert "testserver" not in r.text
    finally:
        set_settings(saved)


@pytest.mark.parametrize("path", ["/login", "/appeals/report"])
def test_csrf_token_is_stable_per_browser(client, path):
    assert csrf_token(client, path) == csrf_token(client, path)
