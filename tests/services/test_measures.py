"""Measures against hand-computed numbers, deadlines on the working-day calendar, overdue cases for the
supervisor, 好差评 with follow-up, e-certificate verification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import select

from govgrid.core.workdays import SHANGHAI, Calendar
from govgrid.services.models import Application
from govgrid.services.services import certificates, measures, workflow
from tests.services.conftest import apply, decide, open_task


def _item(statutory: int, promised: int, spot: bool, online: bool, mobile: bool, visits: int):
    return SimpleNamespace(
        statutory_days=statutory,
        promised_days=promised,
        on_the_spot=spot,
        online=online,
        mobile=mobile,
        visits=visits,
    )


def test_catalogue_measures_match_hand_computed_numbers():
    rows = [
        _item(20, 5, True, True, True, 0),
        _item(30, 3, False, True, False, 1),
        _item(10, 10, False, False, False, 2),
    ]
    m = measures.item_measures(rows)  # type: ignore[arg-type]
    assert m["items"] == 3
    assert m["on_the_spot_rate"] == 1 / 3
    assert m["online_rate"] == 2 / 3 and m["mobile_rate"] == 1 / 3
    # (20-5 + 30-3 + 10-10) / (20+30+10) = 42 / 60
    assert m["compression_ratio"] == 42 / 60
    assert m["zero_or_one_visit_rate"] == 2 / 3


def test_application_measures_match_hand_computed_numbers():
    due = datetime(2026, 12, 10, tzinfo=UTC)
    apps = [
        SimpleNamespace(status="approved", finished_at=due - timedelta(days=1), due_at=due, visits=0),
        SimpleNamespace(status="approved", finished_at=due + timedelta(days=1), due_at=due, visits=1),
        SimpleNamespace(status="rejected", finished_at=due, due_at=due, visits=0),
        SimpleNamespace(status="in_progress", finished_at=None, due_at=due, visits=1),
    ]
    ratings = [
        SimpleNamespace(score="5", follow_up=None),
        SimpleNamespace(score="1", follow_up=None),
        SimpleNamespace(score="2", follow_up="已整改"),
    ]
    m = measures.application_measures(apps, ratings)  # type: ignore[arg-type]
    assert m["finished"] == 3 and m["on_time_rate"] == 2 / 3
    assert m["visits_mean"] == 0.5
    assert m["good_rate"] == 1 / 3 and m["bad_open"] == 1


def test_deadlines_skip_weekends_and_holidays():
    cal = Calendar(holidays={datetime(2026, 10, d).date() for d in range(1, 9)})
    app = SimpleNamespace(due_at=None)
    friday = datetime(2026, 9, 25, 10, 0, tzinfo=SHANGHAI)
    import govgrid.services.services.workflow as wmod

    original = wmod.default_calendar
    wmod.default_calendar = lambda: cal  # type: ignore[assignment]
    try:
        workflow.start_clock(app, 5, friday)  # type: ignore[arg-type]
        # Mon 28, Tue 29, Wed 30 Sep, then the National Day holiday to 8 Oct, then Fri 9, Mon 12 Oct
        assert app.due_at.astimezone(SHANGHAI).date() == datetime(2026, 10, 12).date()
        # 补正 on Tue 29 Sep keeps the working days that were left; resuming counts them again
        paused = SimpleNamespace(due_at=app.due_at, remaining_days=None, paused_at=None)
        workflow.pause_clock(paused, datetime(2026, 9, 29, 10, 0, tzinfo=SHANGHAI))  # type: ignore[arg-type]
        assert paused.remaining_days == 3  # Wed 30, Fri 9, Mon 12
        workflow.resume_clock(paused, datetime(2026, 10, 9, 10, 0, tzinfo=SHANGHAI))  # type: ignore[arg-type]
        assert paused.due_at.astimezone(SHANGHAI).date() == datetime(2026, 10, 14).date()
    finally:
        wmod.default_calendar = original  # type: ignore[assignment]


def test_overdue_cases_surface_to_the_supervisor_only_in_their_territory(client, login, world, db):
    number = apply(client, login("sv_citizen")).json()["number"]
    app = db.scalar(select(Application).where(Application.number == number))
    app.due_at = datetime.now(UTC) - timedelta(days=3)
    db.flush()
    rows = client.get("/api/v1/services/overdue", headers=login("nh_supervisor")).json()
    mine = [r for r in rows if r["number"] == number]
    assert mine and mine[0]["waiting"] == ["签发出生医学证明"] and mine[0]["late_working_days"] >= 1
    assert number not in {
        r["number"] for r in client.get("/api/v1/services/overdue", headers=login("pd_supervisor")).json()
    }


def test_rating_and_follow_up_of_a_bad_rating(client, login, world):
    citizen = login("sv_citizen")
    number = apply(client, citizen).json()["number"]
    rate = f"/api/v1/services/applications/{number}/rating"
    assert client.post(rate, headers=citizen, json={"score": "2", "comment": "慢"}).status_code == 409  # open
    health = login("sv_health")
    decide(client, health, open_task(client, health, number)["id"], "reject", "材料不符")
    assert client.post(rate, headers=citizen, json={"score": "1"}).status_code == 422  # say why
    assert client.post(rate, headers=login("sv_other"), json={"score": "5"}).status_code == 404
    assert (
        client.post(rate, headers=citizen, json={"score": "1", "comment": "没说清楚缺什么"}).status_code
        == 201
    )
    assert client.post(rate, headers=citizen, json={"score": "5"}).status_code == 409  # once
    bad = [
        b
        for b in client.get("/api/v1/services/ratings/bad", headers=login("nh_supervisor")).json()
        if b["application"] == number
    ]
    assert bad and bad[0]["follow_up"] is None
    url = f"/api/v1/services/ratings/{bad[0]['id']}/follow-up"
    assert client.post(url, headers=login("pd_supervisor"), json={"note": "x"}).status_code == 404
    assert (
        client.post(url, headers=login("nh_supervisor"), json={"note": "已电话回访并说明"}).status_code == 200
    )
    m = client.get("/api/v1/services/measures?division=410527", headers=login("nh_supervisor")).json()
    assert m["total"]["ratings"] >= 1 and 0 <= m["total"]["on_time_rate"] <= 1


def test_certificates_verify_and_a_changed_byte_fails(client, login, world):
    doc = {"type": "出生医学证明", "number": "X", "holder": "李*"}
    sig = certificates.sign(doc)
    assert certificates.verify_document(doc, sig)
    assert not certificates.verify_document({**doc, "holder": "王*"}, sig)
    r = client.post("/api/v1/services/certificates/verify", json={"document": doc, "signature": sig})
    assert r.json()["valid"] is True
    assert client.get("/api/v1/services/certificates/NOPE/verify").status_code == 404
