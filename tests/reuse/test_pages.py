"""The reuse pages without a browser: anonymous visitors are sent to log in, forms need the CSRF token,
another division's admin is refused, bad input is a 4xx page in zh-CN with nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.core.audit.service import SystemActor
from govgrid.reuse.models import Case, Installation
from govgrid.reuse.services import cases, packs
from tests.conftest import cookie_login, csrf_token
from tests.reuse.conftest import NEIHUANG, PINGDING

PAGES = ["/reuse/packs", "/reuse/packs/1", "/reuse/cases", "/reuse/cases/1"]
FORMS = ["/reuse/packs/export", "/reuse/packs/1/preview", "/reuse/packs/1/install",
         "/reuse/installations/1/uninstall", "/reuse/cases", "/reuse/cases/1/action"]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_log_in(client, path):
    r = client.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code in (302, 303) and "/login" in r.headers["location"]


@pytest.mark.parametrize("path", FORMS)
def test_forms_refuse_anonymous_posts(client, path):
    r = client.post(path, data={}, headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code in (302, 303, 401, 403)
    assert r.status_code >= 400 or "/login" in r.headers["location"]


def test_a_form_without_the_csrf_token_is_refused(client, neihuang: Session):
    pack = packs.export_pack(neihuang, actor=SystemActor("t"), division_code=NEIHUANG, module="appeals")
    cookie_login(client, neihuang, "pd_gov")
    r = client.post(f"/reuse/packs/{pack.id}/install", data={"division_code": PINGDING, "mapping": "{}"})
    assert r.status_code == 403
    assert neihuang.scalar(select(func.count()).select_from(Installation)) == 0


def test_the_pack_page_previews_then_installs(client, neihuang: Session):
    pack = packs.export_pack(neihuang, actor=SystemActor("t"), division_code=NEIHUANG, module="appeals")
    cookie_login(client, neihuang, "pd_gov")
    token = csrf_token(client, f"/reuse/packs/{pack.id}")
    page = client.post(f"/reuse/packs/{pack.id}/preview",
                       data={"division_code": PINGDING, "mapping": '{"lines": {"petition": "civil_affairs"}}',
                             "csrf_token": token})
    assert page.status_code == 200 and 'id="diff"' in page.text and "村务管理" in page.text
    assert neihuang.scalar(select(func.count()).select_from(Installation)) == 0
    bad = client.post(f"/reuse/packs/{pack.id}/install",
                      data={"division_code": PINGDING, "mapping": "{lines", "csrf_token": token})
    assert bad.status_code == 422 and "参数映射不是有效的 JSON" in bad.text
    other = client.post(f"/reuse/packs/{pack.id}/install",
                        data={"division_code": NEIHUANG, "mapping": "{}", "csrf_token": token})
    assert other.status_code == 403 and "admin" in other.text
    assert neihuang.scalar(select(func.count()).select_from(Installation)) == 0
    done = client.post(f"/reuse/packs/{pack.id}/install",
                       data={"division_code": PINGDING, "mapping": "{}", "csrf_token": token},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("?done=installed")
    assert neihuang.scalar(select(func.count()).select_from(Installation)) == 1


def test_the_case_pages_hide_another_divisions_case_in_review(client, db: Session):
    case = cases.submit(db, actor=SystemActor("t"), division_code=PINGDING, title="平定县一张图",
                        summary="网格")
    cookie_login(client, db, "nh_gov")
    assert client.get(f"/reuse/cases/{case.id}", headers={"Accept": "text/html"}).status_code == 404
    listing = client.get("/reuse/cases", headers={"Accept": "text/html"})
    assert listing.status_code == 200 and "平定县一张图" not in listing.text
    token = csrf_token(client, "/reuse/cases")
    bad = client.post("/reuse/cases", data={"division_code": NEIHUANG, "title": "t", "summary": "s",
                                            "measures_before": "率 high", "csrf_token": token})
    assert bad.status_code == 422 and "指标=数值" in bad.text
    assert db.scalar(select(func.count()).select_from(Case)) == 1


def test_the_case_page_shows_the_divisions_current_figures_from_the_measures_port(client, db: Session):
    from govgrid.core import ports

    seen: list[str] = []

    def compute(session, *, division_code, start, end):
        seen.append(division_code)
        return {"test.on_time": 0.964, "test.empty": None}

    ports.register_measures(ports.MeasureProvider("test_reuse", (
        ports.Measure("test.on_time", "测试按期率", "Test on time", "ratio"),
        ports.Measure("test.empty", "测试空值", "Test empty", "count"),
    ), compute))
    try:
        case = cases.submit(db, actor=SystemActor("t"), division_code=PINGDING, title="图", summary="网格")
        cookie_login(client, db, "pd_gov")
        page = client.get(f"/reuse/cases/{case.id}", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "测试按期率" in page.text and "96.4%" in page.text
        assert "测试空值" not in page.text and seen == [PINGDING]
    finally:
        ports.MEASURE_PROVIDERS.pop("test_reuse", None)


def test_the_case_page_shows_each_adopters_figures_before_and_after_the_install(client, neihuang: Session):
    from datetime import timedelta

    from govgrid.core import ports

    windows: list[tuple[str, float]] = []

    def compute(session, *, division_code, start, end):
        windows.append((division_code, (end - start) / timedelta(days=1)))
        # before the install (the window ends at the install) 80 %, after it 95 %
        return {"test.on_time": 0.95 if end > installed.installed_at else 0.8}

    ports.register_measures(ports.MeasureProvider("test_reuse_effect", (
        ports.Measure("test.on_time", "测试按期率", "Test on time", "ratio"),), compute))
    try:
        pack = packs.export_pack(neihuang, actor=SystemActor("t"), division_code=NEIHUANG, module="appeals")
        installed, _ = packs.install(neihuang, actor=SystemActor("t"), pack=pack, division_code=PINGDING,
                                     mapping={})
        installed.installed_at -= timedelta(days=30)  # installed a month ago
        neihuang.flush()
        case = cases.submit(neihuang, actor=SystemActor("t"), division_code=NEIHUANG, title="内黄县监督群",
                            summary="群众诉求", pack_id=pack.pack_id)
        cases.start_review(neihuang, actor=SystemActor("t"), case_id=case.id)
        cases.decide(neihuang, actor=SystemActor("t"), case_id=case.id, accept=True)
        cookie_login(client, neihuang, "pd_gov")  # the adopter sees its own before and after
        page = client.get(f"/reuse/cases/{case.id}", headers={"Accept": "text/html"})
        assert page.status_code == 200, page.text
        assert "平定县" in page.text and "复用前后" in page.text
        assert "80.0%" in page.text and "95.0%" in page.text
        # the 30 days since the install, set against the 30 days before it (never 90 against 30)
        adopter = [d for c, d in windows if c == PINGDING]
        assert len(adopter) == 2 and all(29.9 < d < 30.1 for d in adopter), windows
        assert "安装前 30 天" in page.text and "安装后 30 天" in page.text
        client.cookies.clear()
        cookie_login(client, neihuang, "nh_gov")  # another county reads the case, not Pingding's figures
        other = client.get(f"/reuse/cases/{case.id}", headers={"Accept": "text/html"})
        assert other.status_code == 200 and "复用前后" not in other.text
    finally:
        ports.MEASURE_PROVIDERS.pop("test_reuse_effect", None)
