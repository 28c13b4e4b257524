"""The administrator's sessions page /admin/sessions: who is logged in among my users, and revoke."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from govgrid.core.identity import sessions
from govgrid.core.identity.models import User, UserSession
from tests.conftest import cookie_login, csrf_token

HTML = {"Accept": "text/html"}


def _open(db, username: str, **where) -> int:
    user = db.scalar(select(User).where(User.username == username))
    sessions.start(db, user=user, kind="bearer", **where)
    return db.scalars(select(UserSession.id).where(UserSession.user_id == user.id)
                      .order_by(UserSession.id.desc())).first()


def test_anonymous_is_sent_to_log_in(client):
    r = client.get("/admin/sessions", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/admin/sessions"


def test_a_non_administrator_is_refused(client, db):
    cookie_login(client, db, "nh_tax")
    r = client.get("/admin/sessions", headers=HTML)
    assert r.status_code == 403 and "管理员" in r.text


def test_the_admin_sees_its_users_sessions_in_chinese(client, db):
    _open(db, "nh_tax")
    _open(db, "pd_tax")
    cookie_login(client, db, "nh_gov")
    r = client.get("/admin/sessions", headers=HTML)
    assert r.status_code == 200
    assert "登录会话管理" in r.text and "强制下线" in r.text and "内黄县" in r.text
    assert 'data-username="nh_tax"' in r.text
    assert 'data-username="pd_tax"' not in r.text, "another county's logins are not listed"
    assert 'name="csrf_token"' in r.text


def test_english_on_request(client, db):
    cookie_login(client, db, "nh_gov")
    r = client.get("/admin/sessions?lang=en", headers=HTML)
    assert "Active sessions" in r.text and "强制下线" not in r.text


def test_revoke_ends_the_login_at_once(client, db):
    sid = _open(db, "nh_tax")
    cookie_login(client, db, "nh_gov")
    token = csrf_token(client, "/admin/sessions")
    r = client.post(f"/admin/sessions/{sid}/revoke", data={"csrf_token": token}, headers=HTML,
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/sessions?revoked=1"
    row = db.get(UserSession, sid)
    db.refresh(row)
    assert row.ended_at is not None and row.ended_reason == "admin"
    page = client.get("/admin/sessions?revoked=1", headers=HTML)
    assert "该登录已结束" in page.text and f'data-session="{sid}"' not in page.text


def test_revoke_needs_the_csrf_token(client, db):
    sid = _open(db, "nh_tax")
    cookie_login(client, db, "nh_gov")
    r = client.post(f"/admin/sessions/{sid}/revoke", data={}, headers=HTML, follow_redirects=False)
    assert r.status_code == 403
    assert db.get(UserSession, sid).ended_at is None


def test_another_countys_session_cannot_be_revoked(client, db):
    sid = _open(db, "pd_tax")
    cookie_login(client, db, "nh_gov")
    token = csrf_token(client, "/admin/sessions")
    r = client.post(f"/admin/sessions/{sid}/revoke", data={"csrf_token": token}, headers=HTML)
    assert r.status_code == 404
    assert db.get(UserSession, sid).ended_at is None


def test_the_page_shows_where_a_login_came_from_and_when_it_was_last_used(client, db):
    sid = _open(db, "nh_tax", address="203.0.113.5", user_agent="Mozilla/5.0 (Windows NT 10.0) 测试浏览器")
    cookie_login(client, db, "nh_gov")
    page = client.get("/admin/sessions", headers=HTML).text
    row = page.split(f'data-session="{sid}"', 1)[1].split("</tr>", 1)[0]
    assert "203.0.113.5" in row and "测试浏览器" in row and "最近活动" in page


def test_a_login_through_the_form_records_its_address_and_browser(client, db):
    from govgrid.demo import DEMO_PASSWORD

    token = csrf_token(client)
    r = client.post("/login", data={"username": "nh_viewer", "password": DEMO_PASSWORD, "csrf_token": token},
                    headers={**HTML, "User-Agent": "Mozilla/5.0 govgrid-test"}, follow_redirects=False)
    assert r.status_code == 303
    user = db.scalar(select(User).where(User.username == "nh_viewer"))
    row = db.scalars(select(UserSession).where(UserSession.user_id == user.id)
                     .order_by(UserSession.id.desc())).first()
    assert row.address == "testclient" and row.user_agent == "Mozilla/5.0 govgrid-test"
    assert row.last_seen_at is not None


def test_last_seen_moves_when_the_session_is_used_again_later(client, db):
    token = sessions.start(db, user=db.scalar(select(User).where(User.username == "nh_tax")), kind="bearer")
    sid = db.scalars(select(UserSession.id).order_by(UserSession.id.desc())).first()
    old = db.get(UserSession, sid).last_seen_at - timedelta(hours=1)
    db.execute(update(UserSession).where(UserSession.id == sid).values(last_seen_at=old))
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    row = db.get(UserSession, sid)
    db.refresh(row)
    assert row.last_seen_at > old + timedelta(minutes=59)
