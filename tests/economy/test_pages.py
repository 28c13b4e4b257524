"""Pages in zh-CN (English on request): dashboard, indicator detail, peers, upload, registry; anonymous
visitors go to the login page, another division's pages are refused, forms carry the CSRF token."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from govgrid.economy.models import Alert
from tests.conftest import cookie_login, csrf_token
from tests.economy.conftest import csv_bytes

HTML = {"Accept": "text/html"}
PAGES = [
    "/economy",
    "/economy/divisions/410527",
    "/economy/divisions/410527/indicators/IND_VA",
    "/economy/divisions/410527/peers",
    "/economy/upload",
    "/economy/indicators",
]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_goes_to_login(client, path):
    r = client.get(path, headers=HTML, follow_redirects=False)
    assert r.status_code in (302, 303, 307) and "/login" in r.headers["location"]


def test_dashboard_in_chinese(client, db, econ):
    cookie_login(client, db, "nh_gov")
    r = client.get("/economy", headers=HTML)
    assert r.status_code == 200 and "内黄县 · 经济运行看板" in r.text
    for text in ("规模以上工业增加值", "同比", "累计同比", "待核实预警", "亿元", "异常值", "内黄县统计局"):
        assert text in r.text, text
    assert 'id="chart-IND_VA"' in r.text
    assert "Anomaly" not in r.text and "Open alerts" not in r.text
    # JSON goes into the page only through |tojson inside a nonce'd script
    assert re.search(r'<script nonce="[^"]+">\s*const cards = \[', r.text)


def test_dashboard_in_english(client, db, econ):
    cookie_login(client, db, "nh_gov")
    r = client.get("/economy/divisions/410527?lang=en", headers=HTML)
    assert "Economy dashboard" in r.text and "Open alerts" in r.text


def test_indicator_page_shows_band_vintages_alert_and_answer_form(client, db, econ):
    cookie_login(client, db, "nh_gov")
    r = client.get("/economy/divisions/410527/indicators/IND_VA", headers=HTML)
    assert r.status_code == 200
    for text in (
        "预期区间",
        "季节调整用 STL",
        "短期预测（80% 区间）",
        "数据版本（修订记录）",
        "已核实处理",
    ):
        assert text in r.text, text
    alert = db.scalar(select(Alert).where(Alert.kind == "anomaly"))
    assert f'id="alert-{alert.id}"' in r.text
    assert 'name="csrf_token"' in r.text


def test_answer_an_alert_from_the_page(client, db, econ):
    cookie_login(client, db, "nh_gov")
    alert = db.scalar(select(Alert).where(Alert.kind == "anomaly"))
    page = "/economy/divisions/410527/indicators/IND_VA"
    token = csrf_token(client, page)
    r = client.post(
        f"/economy/alerts/{alert.id}",
        data={"status": "dismissed", "note": "企业新投产，数据属实"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 403  # no CSRF token
    r = client.post(
        f"/economy/alerts/{alert.id}",
        data={"status": "dismissed", "note": "企业新投产，数据属实", "csrf_token": token},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith(f"#alert-{alert.id}")
    db.refresh(alert)
    assert alert.status == "dismissed" and alert.note == "企业新投产，数据属实"
    assert "已排除" in client.get(page, headers=HTML).text


def test_other_division_pages_are_refused(client, db, econ):
    cookie_login(client, db, "pd_gov")
    for path in PAGES[1:4]:
        r = client.get(path, headers=HTML)
        assert r.status_code == 403, path
        assert "不在您的辖区内" in r.text


def test_peers_page(client, db, econ):
    cookie_login(client, db, "nh_gov")
    r = client.get("/economy/divisions/410527/peers?indicator=RETAIL", headers=HTML)
    assert r.status_code == 200
    assert "与本市其他县（市、区）比较" in r.text and "安阳市" in r.text and "累计同比" in r.text
    assert "河南省" in r.text
    assert client.get("/economy/divisions/410527/peers?indicator=bad", headers=HTML).status_code == 422


def test_upload_page_shows_every_bad_row(client, db, econ, econ_users):
    cookie_login(client, db, "nh_stats_t")
    token = csrf_token(client, "/economy/upload")
    body = csv_bytes(["IND_VA,410527,2026-11,12.5,亿元", "IND_VA,410527,2026-11,12.6,万元"])
    r = client.post(
        "/economy/upload",
        files={"file": ("bad.csv", body, "text/csv")},
        data={"csrf_token": token},
        headers=HTML,
    )
    assert r.status_code == 422
    assert "文件未导入" in r.text and "重复" in r.text and "单位" in r.text
    good = csv_bytes(["IND_VA,410527,2026-11,12.5,亿元"])
    r = client.post(
        "/economy/upload",
        files={"file": ("ok.csv", good, "text/csv")},
        data={"csrf_token": token},
        headers=HTML,
    )
    assert r.status_code == 200 and "已导入" in r.text


def test_registry_page(client, db):
    cookie_login(client, db, "nh_viewer")
    r = client.get("/economy/indicators", headers=HTML)
    assert r.status_code == 200 and "指标目录" in r.text and "统计" in r.text and "万千瓦时" in r.text
