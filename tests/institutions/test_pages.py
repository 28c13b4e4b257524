"""The pages without a browser: anonymous visitors are sent to log in, zh-CN by default, forms need the CSRF
token, a bad form answers with a message and writes nothing, another division's data is not shown."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govgrid.institutions.models import Incident, RegisterEntry, ScoringRule
from tests.conftest import cookie_login, csrf_token

PAGES = ["/institutions/ledger", "/institutions/security"]
HTML = {"Accept": "text/html"}


def test_anonymous_visitors_are_sent_to_log_in(client):
    for path in PAGES:
        r = client.get(path, headers=HTML, follow_redirects=False)
        assert r.status_code in (302, 303, 401), path


def test_pages_show_the_ledger_and_register_in_chinese(client, db: Session, usage):
    cookie_login(client, db, "in_nh")
    r = client.get("/institutions/ledger?division=410527", headers=HTML)
    assert r.status_code == 200
    assert "数据贡献台账" in r.text and "内黄县公安局" in r.text and "免提交材料（预填）" in r.text
    assert "T03-140321-0001" not in r.text
    assert "Contribution ledger" not in r.text
    en = client.get("/institutions/ledger?division=410527&lang=en", headers=HTML)
    assert "Contribution ledger" in en.text
    token = csrf_token(client, "/institutions/security?division=410527")
    r = client.post(
        "/institutions/register/sync",
        data={"division_code": "410527", "csrf_token": token},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200 and "台账已同步：新增 2 项" in r.text and "已生成 1 起候选安全事件" in r.text
    assert "重要数据" in r.text and "含敏感个人信息" in r.text and "待研判" in r.text


def test_another_division_is_refused_with_a_message(client, db: Session, usage):
    cookie_login(client, db, "in_pd")
    for path in PAGES:
        r = client.get(path + "?division=410527", headers=HTML)
        assert r.status_code == 403 and "不在您的管辖范围" in r.text, path


def test_a_form_without_the_csrf_token_is_refused(client, db: Session, usage):
    cookie_login(client, db, "in_nh")
    r = client.post("/institutions/rules", data={"division_code": "410527", "case": "9"})
    assert r.status_code == 403
    assert db.scalar(select(func.count(ScoringRule.id))) == 0


def test_rule_form_saves_a_version_and_a_bad_one_writes_nothing(client, db: Session, usage):
    cookie_login(client, db, "in_nh")
    token = csrf_token(client, "/institutions/ledger?division=410527")
    form = {
        "division_code": "410527",
        "prefill": "3",
        "verify": "2",
        "case": "4",
        "sync": "1",
        "other": "0",
        "row_weight": "0",
        "csrf_token": token,
    }
    r = client.post("/institutions/rules", data=form, headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and "计分规则已保存为第 1 版" in r.text and "410527 第 1 版" in r.text
    r = client.post("/institutions/rules", data={**form, "case": "很多"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 422 and "应为数字" in r.text
    r = client.post("/institutions/rules", data={**form, "case": "-1"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 422
    assert db.scalar(select(func.count(ScoringRule.id))) == 1


def test_incident_form_moves_and_refuses_a_skipped_step(client, db: Session, usage):
    cookie_login(client, db, "in_nh")
    token = csrf_token(client, "/institutions/security?division=410527")
    client.post(
        "/institutions/register/sync",
        data={"division_code": "410527", "csrf_token": token},
        headers={"X-CSRF-Token": token},
    )
    inc = db.scalar(select(Incident))
    assert inc is not None and db.scalar(select(func.count(RegisterEntry.id))) == 2
    url = f"/institutions/incidents/{inc.id}/move"
    r = client.post(
        url,
        data={"division_code": "410527", "state": "closed", "note": "x", "csrf_token": token},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 409 and "不能改为" in r.text
    r = client.post(
        url,
        data={"division_code": "410527", "state": "investigating", "note": "核实调用方", "csrf_token": token},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200 and "事件状态已更新" in r.text and "核实调用方" in r.text


def test_a_line_page_shows_only_that_line(client, db: Session, usage):
    cookie_login(client, db, "in_nh")
    r = client.get("/institutions/ledger?division=410527&line=market_regulation", headers=HTML)
    assert r.status_code == 200
    assert 'data-resource="T02-410527-0001"' in r.text and 'data-resource="T01-410527-0001"' not in r.text
    assert '<option value="market_regulation" selected>' in r.text
