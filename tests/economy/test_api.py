"""The JSON API: anonymous access refused, another division's data refused, alerts with their band and
explanation, uploads all-or-nothing with row-level reasons, vintages kept, the department's answer."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from govgrid.economy.models import Alert, ImportBatch, Observation
from tests.economy.conftest import PERIODS, csv_bytes

P = "/api/v1/economy"


def count(db, model=Observation):
    return db.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/indicators"),
        ("post", "/indicators"),
        ("get", "/series/IND_VA?division=410527"),
        ("get", "/series/IND_VA/vintages?division=410527"),
        ("post", "/uploads"),
        ("post", "/scans?division=410527"),
        ("get", "/alerts?division=410527"),
        ("post", "/alerts/1"),
    ],
)
def test_anonymous_is_refused(client, method, path):
    r = getattr(client, method)(P + path)
    assert r.status_code == 401
    assert "error" in r.json()


def test_alerts_for_the_county_with_band_and_explanation(client, login, econ):
    r = client.get(P + "/alerts", params={"division": "410527"}, headers=login("nh_gov"))
    assert r.status_code == 200
    alerts = {(a["kind"], a["indicator"]): a for a in r.json()}
    assert set(alerts) == {("anomaly", "IND_VA"), ("crosscheck", "TAX_REV"), ("crosscheck", "ELEC_IND")}
    a = alerts[("anomaly", "IND_VA")]
    assert a["period"] == "2026-09"
    assert a["value"] > a["expected_high"] > a["expected_low"] > 0
    assert "预期区间" in a["explanation"] and "亿元" in a["explanation"]
    assert a["department"] == "内黄县统计局"
    x = alerts[("crosscheck", "TAX_REV")]
    assert x["unit"] == "%" and not x["expected_low"] <= x["value"] <= x["expected_high"]
    assert "规模以上工业增加值" in x["explanation"]


def test_another_division_is_refused(client, login, econ):
    r = client.get(P + "/alerts", params={"division": "410527"}, headers=login("pd_gov"))
    assert r.status_code == 403
    assert "辖区" in r.json()["error"]["message"]
    r = client.get(P + "/series/IND_VA", params={"division": "410527"}, headers=login("pd_gov"))
    assert r.status_code == 403
    r = client.get(P + "/series/IND_VA/vintages", params={"division": "410527"}, headers=login("pd_gov"))
    assert r.status_code == 403
    r = client.post(P + "/scans", params={"division": "410527"}, headers=login("pd_gov"))
    assert r.status_code == 403
    own = client.get(P + "/alerts", params={"division": "140321"}, headers=login("pd_gov"))
    assert own.status_code == 200 and own.json() == []


def test_a_department_sees_only_its_own_line(client, login, econ):
    # 内黄县税务局 (department reach) sees the tax figures and the tax cross-check,
    # not the statistics bureau's
    r = client.get(P + "/alerts", params={"division": "410527"}, headers=login("nh_tax"))
    assert [(a["kind"], a["indicator"]) for a in r.json()] == [("crosscheck", "TAX_REV")]
    assert (
        client.get(P + "/series/TAX_REV", params={"division": "410527"}, headers=login("nh_tax")).status_code
        == 200
    )
    assert (
        client.get(P + "/series/IND_VA", params={"division": "410527"}, headers=login("nh_tax")).status_code
        == 404
    )
    # 安阳市税务局 (line reach) sees the tax cross-check of its county
    r = client.get(P + "/alerts", params={"division": "410527"}, headers=login("ay_tax"))
    assert [a["indicator"] for a in r.json()] == ["TAX_REV"]


def test_series_has_growth_rates(client, login, econ):
    r = client.get(P + "/series/RETAIL", params={"division": "410527"}, headers=login("nh_gov"))
    body = r.json()
    assert body["unit"] == "亿元" and body["periods"][-1] == "2026-10"
    assert body["yoy_pct"][0] is None and isinstance(body["yoy_pct"][-1], float)
    assert isinstance(body["ytd_pct"][-1], float)


def test_bad_upload_is_refused_row_by_row_and_nothing_is_written(client, login, db, econ, econ_users):
    before, batches = count(db), count(db, ImportBatch)
    body = csv_bytes(
        [
            "IND_VA,410527,2026-11,12.5,亿元",
            "IND_VA,410527,2026-11,12.6,亿元",  # duplicate period
            "ELEC_IND,410527,2026-11,5400,亿千瓦时",  # wrong unit
            "RETAIL,410527,2026-11,一二三,亿元",  # not a number
            "RETAIL,410527,2026/13,9.1,亿元",  # no such month
        ]
    )
    r = client.post(P + "/uploads", files={"file": ("bad.csv", body, "text/csv")}, headers=login("nh_gov"))
    assert r.status_code == 422
    err = r.json()["error"]
    assert "未导入" in err["message"]
    by_row = {(d["loc"][1], d["loc"][2]): d["msg"] for d in err["details"]}
    assert "重复" in by_row[(3, "period")] and "第 2 行" in by_row[(3, "period")]
    assert "万千瓦时" in by_row[(4, "unit")]
    assert "不是数字" in by_row[(5, "value")]
    assert "期别" in by_row[(6, "period")]
    assert (2, "value") not in by_row
    assert count(db) == before and count(db, ImportBatch) == batches


def test_revision_is_a_new_vintage_and_the_old_one_is_kept(client, login, db, econ, econ_users):
    h = login("nh_stats_t")
    body = csv_bytes(["IND_VA,410527,2026-09,11.8,亿元", "IND_VA,410527,2026-10,12.0,亿元"])
    r = client.post(P + "/uploads", files={"file": ("fix.csv", body, "text/csv")}, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["rows"] == 2 and r.json()["revised"] == 2
    v = client.get(P + "/series/IND_VA/vintages", params={"division": "410527"}, headers=h).json()
    sep = [o for o in v if o["period"] == "2026-09"]
    assert [(o["vintage"], o["current"]) for o in sep] == [(2, True), (1, False)]
    assert sep[0]["value"] == 11.8
    assert sep[1]["value"] == pytest.approx(float(econ["IND_VA"][0, PERIODS.index("2026-09")]))
    # the same file again writes nothing
    r = client.post(P + "/uploads", files={"file": ("fix.csv", body, "text/csv")}, headers=h)
    assert r.json()["rows"] == 0 and r.json()["unchanged"] == 2


def test_upload_for_another_department_or_division_is_refused(client, login, db, econ, econ_users):
    before = count(db)
    body = csv_bytes(["IND_VA,140321,2026-11,3.1,亿元", "TAX_REV,410527,2026-11,0.9,亿元"])
    r = client.post(P + "/uploads", files={"file": ("x.csv", body, "text/csv")}, headers=login("nh_stats_t"))
    assert r.status_code == 422
    msgs = {d["loc"][1]: d["msg"] for d in r.json()["error"]["details"]}
    assert "无权" in msgs[2] and "无权" in msgs[3]
    assert count(db) == before


def test_upload_of_a_non_table_is_refused(client, login, db, econ_users):
    before = count(db)
    r = client.post(
        P + "/uploads",
        files={"file": ("x.xlsx", b"not a workbook", "application/octet-stream")},
        headers=login("nh_stats_t"),
    )
    assert r.status_code == 422 and "Excel" in r.json()["error"]["message"]
    r = client.post(P + "/uploads", files={"file": ("x.csv", b"", "text/csv")}, headers=login("nh_stats_t"))
    assert r.status_code == 422
    assert count(db) == before


def test_the_department_answers_an_alert(client, login, db, econ, econ_users):
    alert = db.scalar(select(Alert).where(Alert.kind == "anomaly"))
    # 平定县 cannot see it; 内黄县税务局 sees no statistics alert
    r = client.post(f"{P}/alerts/{alert.id}", json={"status": "resolved"}, headers=login("pd_gov"))
    assert r.status_code == 404
    r = client.post(f"{P}/alerts/{alert.id}", json={"status": "resolved"}, headers=login("nh_tax"))
    assert r.status_code == 404
    r = client.post(
        f"{P}/alerts/{alert.id}",
        json={"status": "resolved", "note": "录入错误，已更正"},
        headers=login("nh_stats_t"),
    )
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    r = client.post(f"{P}/alerts/{alert.id}", json={"status": "dismissed"}, headers=login("nh_stats_t"))
    assert r.status_code == 409 and "已处理" in r.json()["error"]["message"]
    r = client.post(f"{P}/alerts/{alert.id}", json={"status": "closed"}, headers=login("nh_stats_t"))
    assert r.status_code == 422
    open_now = client.get(P + "/alerts", params={"division": "410527"}, headers=login("nh_gov")).json()
    assert alert.id not in [a["id"] for a in open_now]


def test_scan_by_the_county_raises_nothing_twice(client, login, econ):
    r = client.post(P + "/scans", params={"division": "410527"}, headers=login("nh_gov"))
    assert r.status_code == 201 and r.json() == {"division": "410527", "series": 4, "new_alerts": 0}


def test_registry(client, login, db):
    r = client.get(P + "/indicators", headers=login("nh_viewer"))
    assert r.status_code == 200 and {"IND_VA", "TAX_REV", "NEW_ENT"} <= {i["code"] for i in r.json()}
    body = {
        "code": "GRAIN",
        "name_zh": "粮食产量",
        "name_en": "Grain output",
        "unit": "万吨",
        "line_code": "agriculture",
    }
    assert client.post(P + "/indicators", json=body, headers=login("nh_gov")).status_code == 403
    r = client.post(P + "/indicators", json=body, headers=login("admin"))
    assert r.status_code == 201 and r.json()["unit"] == "万吨"
    assert client.post(P + "/indicators", json=body, headers=login("admin")).status_code == 409
    r = client.post(
        P + "/indicators", json={**body, "code": "X2", "line_code": "nope"}, headers=login("admin")
    )
    assert r.status_code == 422


def test_bad_query_parameters(client, login):
    assert client.get(P + "/alerts", params={"division": "41x"}, headers=login("nh_gov")).status_code == 422
    assert client.get(P + "/alerts", headers=login("nh_gov")).status_code == 422
    r = client.get(P + "/alerts", params={"division": "999999"}, headers=login("nh_gov"))
    assert r.status_code == 404
