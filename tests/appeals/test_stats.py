"""三率 formulas on hand-checked numbers, configuration, rankings, public statistics without personal data."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from govgrid.appeals.models import DailyStat, MonthlyStat
from govgrid.appeals.services import config, ratings, stats, workflow
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ValidationFailedError
from tests.appeals.conftest import make_ticket, principal

SH = ZoneInfo("Asia/Shanghai")
COUNTS = {
    "dispatched": 10,
    "signed_on_time": 9,
    "contacted_on_time": 7,
    "responded_on_time": 6,
    "closed": 7,
    "rated": 8,
    "rated_resolved": 6,
    "rated_satisfied": 5,
    "rated_basic": 2,
    "rated_unsatisfied": 1,
}


def test_rates_default_formulas():
    r = stats.compute_rates(COUNTS, config.DEFAULT_RATES)
    assert r.response == pytest.approx(0.6)  # 6 signed and contacted in time / 10 dispatched
    assert r.resolution == pytest.approx(0.75)  # 6 resolved / 8 rated
    assert r.satisfaction == pytest.approx(0.875)  # (5 + 2) / 8
    # composite 30/35/35: (0.6*30 + 0.75*35 + 0.875*35) / 100 * 100 = 18 + 26.25 + 30.625
    assert r.composite == pytest.approx(74.875)


def test_rates_configured_formulas_and_weights():
    cfg = config.validate_rates_config(
        {
            "response_basis": "signed",
            "resolution_basis": "closed",
            "basic_weight": 0.5,
            "weights": {"response": 20, "resolution": 40, "satisfaction": 40},
        }
    )
    r = stats.compute_rates(COUNTS, cfg)
    assert r.response == pytest.approx(0.9)
    assert r.resolution == pytest.approx(0.7)  # 7 closed / 10 dispatched
    assert r.satisfaction == pytest.approx(0.75)  # (5 + 0.5*2) / 8
    assert r.composite == pytest.approx(0.9 * 20 + 0.7 * 40 + 0.75 * 40)
    # zero denominators give no rate, and the composite uses what exists
    empty = stats.compute_rates({"dispatched": 4, "responded_on_time": 2}, config.DEFAULT_RATES)
    assert empty.resolution is None and empty.satisfaction is None and empty.composite == pytest.approx(50.0)


def test_bad_rates_config_reports_every_problem():
    with pytest.raises(ValidationFailedError) as exc:
        config.validate_rates_config(
            {"response_basis": "x", "basic_weight": 2, "weights": {"response": -1}, "bogus": 1}
        )
    locs = {d["loc"][0] for d in exc.value.details}
    assert locs == {"response_basis", "basic_weight", "weights", "bogus"}


def test_rates_config_api(client, world, login):
    assert client.get("/api/v1/appeals/config/rates").json()["weights"]["response"] == 30
    body = {
        "response_basis": "signed",
        "resolution_basis": "survey",
        "basic_weight": 0.8,
        "weights": {"response": 30, "resolution": 35, "satisfaction": 35},
    }
    assert client.put("/api/v1/appeals/config/rates", json=body).status_code == 401
    assert (
        client.put("/api/v1/appeals/config/rates", json=body, headers=login("nh_handler")).status_code == 403
    )
    # a county administrator may not change the platform-wide scoring; the platform administrator may
    assert client.put("/api/v1/appeals/config/rates", json=body, headers=login("nh_gov")).status_code == 403
    r = client.put("/api/v1/appeals/config/rates", json=body, headers=login("admin"))
    assert r.status_code == 200 and r.json()["basic_weight"] == 0.8
    assert client.get("/api/v1/appeals/config/rates").json()["basic_weight"] == 0.8
    bad = client.put(
        "/api/v1/appeals/config/rates", json={**body, "weights": {"a": 1}}, headers=login("admin")
    )
    assert bad.status_code == 422


def test_counters_rankings_and_public_stats(client, world, db):
    disp, handler = principal(db, "nh_dispatcher"), principal(db, "nh_handler")
    day = datetime(2026, 11, 2, 9, 0, tzinfo=SH)
    made = []
    for i, rating in enumerate(["satisfied", "basic", "unsatisfied"]):
        t = make_ticket(db, now=day, reporter_name=f"赵{i}号", reporter_phone=f"1380000000{i}")
        workflow.dispatch(db, actor=disp, ticket=t, now=day.replace(hour=10))
        workflow.sign(db, actor=handler, ticket=t, now=day.replace(hour=11))
        workflow.contact(db, actor=handler, ticket=t, now=day.replace(hour=11, minute=30))
        workflow.answer(db, actor=handler, ticket=t, text="已处理", now=day.replace(hour=15))
        ratings.rate(db, actor=handler, ticket=t, rating=rating, now=day.replace(hour=16))
        made.append(t)
    db.flush()
    root = db.get(Division, "410527100")
    c = stats.counts(db, root=root, start=day.date(), end=day.date())
    assert c["created"] == 3 and c["dispatched"] == 3 and c["responded_on_time"] == 3
    assert (
        c["rated"] == 3 and c["rated_satisfied"] == 1 and c["rated_basic"] == 1 and c["rated_resolved"] == 2
    )
    # the monthly roll-up (whole months) agrees with the daily counters
    month = stats.counts(db, root=root, start=day.date().replace(day=1), end=day.date().replace(day=30))
    assert {k: month.get(k, 0) for k in c} == c or all(month[k] >= c[k] for k in c)
    assert stats.counter_table(start=day.date().replace(day=1), end=day.date().replace(day=30)) is MonthlyStat
    assert stats.counter_table(start=day.date(), end=day.date()) is DailyStat
    r = stats.rates(db, root=root, start=day.date(), end=day.date())
    assert (
        r.response == 1.0 and r.resolution == pytest.approx(2 / 3) and r.satisfaction == pytest.approx(2 / 3)
    )
    towns = stats.rankings(
        db, root=db.get(Division, "410527"), start=day.date(), end=day.date(), by="township"
    )
    assert towns[0]["key"] == "410527100" and towns[0]["rank"] == 1 and towns[0]["dispatched"] == 3
    depts = stats.rankings(
        db, root=db.get(Division, "410527"), start=day.date(), end=day.date(), by="department"
    )
    assert depts[0]["name"].endswith("局") or depts[0]["dispatched"] == 3
    resp = client.get(
        "/api/v1/appeals/stats", params={"division": "410527", "start": "2026-11-01", "end": "2026-11-30"}
    )
    assert resp.status_code == 200
    body = resp.json()
    assert body["totals"]["created"] >= 3 and body["rates"]["response"] is not None
    text = resp.text + client.get("/api/v1/appeals/stats/map", params={"division": "410527"}).text
    text += client.get(
        "/api/v1/appeals/stats/monthly-report", params={"month": "2026-11", "division": "410527"}
    ).text
    for t in made:
        assert t.reporter_phone not in text and t.reporter_name not in text
    assert (
        client.get("/api/v1/appeals/stats", params={"start": "2026-12-01", "end": "2026-11-01"}).status_code
        == 422
    )
    assert client.get("/api/v1/appeals/stats", params={"division": "999999"}).status_code == 404
    assert client.get("/api/v1/appeals/stats/monthly-report", params={"month": "2026-13"}).status_code == 422
