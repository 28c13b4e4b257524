"""Pages render in zh-CN (English on ?lang=en), need a login where personal, and carry the CSRF field."""

from __future__ import annotations

from tests.conftest import cookie_login
from tests.services.conftest import BIRTH


def test_guide_pages_are_public_and_chinese(client, world):
    r = client.get("/services", headers={"Accept": "text/html"})
    assert r.status_code == 200 and "办事指南" in r.text and "新生儿出生一件事" in r.text
    g = client.get(f"/services/items/{BIRTH}", headers={"Accept": "text/html"})
    assert "设定依据" in g.text and "政府部门已有，无需提交" in g.text
    en = client.get("/services?lang=en", headers={"Accept": "text/html"})
    assert "Service guide" in en.text


def test_personal_pages_redirect_anonymous_visitors_to_login(client, world):
    for path in (
        "/services/my",
        f"/services/apply/{BIRTH}",
        "/services/work",
        "/services/supervisor",
        "/services/measures",
    ):
        r = client.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
        assert r.status_code in (302, 303, 307) and "/login" in r.headers["location"], path


def test_apply_page_shows_the_prefill_masked_with_its_source_and_a_csrf_field(client, db, world):
    cookie_login(client, db, "sv_citizen")
    r = client.get(f"/services/apply/{BIRTH}", headers={"Accept": "text/html"})
    assert r.status_code == 200
    assert "李*" in r.text and "13812345678" not in r.text and world["resource"] in r.text
    assert 'name="csrf_token"' in r.text and "onclick" not in r.text


def test_a_post_without_csrf_token_is_refused(client, db, world):
    cookie_login(client, db, "sv_citizen")
    r = client.post(f"/services/apply/{BIRTH}", data={"f_child_name": "x"}, headers={"Accept": "text/html"})
    assert r.status_code == 403
