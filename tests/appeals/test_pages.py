"""Pages: resident report and tracking (public), desk and ticket pages (login), statistics (public)."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from govgrid.appeals.services import workflow
from tests.appeals.conftest import make_ticket, principal, village_point
from tests.conftest import csrf_token

HTML = {"Accept": "text/html"}
SH = ZoneInfo("Asia/Shanghai")


def test_report_form_and_submit_then_track(client, world, db):
    r = client.get("/appeals/report", headers=HTML)
    assert r.status_code == 200 and 'id="report-form"' in r.text and "我要反映" in r.text
    lon, lat = village_point(db, "410527100201")
    token = csrf_token(client, "/appeals/report")
    r = client.post(
        "/appeals/report",
        data={
            "csrf_token": token,
            "description": "西街村垃圾堆放没人清运",
            "lon": str(lon),
            "lat": str(lat),
            "reporter_name": "周明",
            "reporter_phone": "13612345678",
        },
        headers=HTML,
    )
    assert r.status_code == 200 and 'id="tracking-code"' in r.text
    code = re.search(r'id="tracking-code"[^>]*>([A-Z0-9]{10})<', r.text).group(1)
    page = client.get(f"/appeals/track?code={code}", headers=HTML)
    assert page.status_code == 200 and "待派遣" in page.text
    assert "13612345678" not in page.text and "周明" not in page.text
    bad = client.post("/appeals/report", data={"description": "", "csrf_token": token}, headers=HTML)
    assert bad.status_code == 422 and 'id="errors"' in bad.text
    assert client.get("/appeals/track?code=XXXX", headers=HTML).status_code == 404


def test_staff_pages_need_login_and_show_the_right_lists(client, world, db, login):
    assert client.get("/appeals/desk", headers=HTML, follow_redirects=False).status_code == 303
    t = make_ticket(db)
    db.flush()
    inbox = client.get("/appeals/desk", headers={**HTML, **login("nh_dispatcher")})
    assert inbox.status_code == 200 and t.number in inbox.text
    page = client.get(f"/appeals/tickets/{t.id}", headers={**HTML, **login("nh_dispatcher")})
    assert page.status_code == 200 and 'id="dispatch-form"' in page.text and "13912345678" not in page.text
    r = client.post(
        f"/appeals/tickets/{t.id}/act",
        data={"action": "dispatch"},
        headers={**HTML, **login("nh_dispatcher")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    db.refresh(t)
    assert t.state == "dispatched"
    handler = client.get(f"/appeals/tickets/{t.id}", headers={**HTML, **login("nh_handler")})
    assert "13912345678" in handler.text and "签收" in handler.text
    r = client.post(
        f"/appeals/tickets/{t.id}/act",
        data={"action": "answer", "text": "x"},
        headers={**HTML, **login("nh_handler")},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "error=" in r.headers["location"]
    assert client.get(f"/appeals/tickets/{t.id}", headers={**HTML, **login("pd_handler")}).status_code == 404
    sup = client.get("/appeals/desk", headers={**HTML, **login("nh_supervisor")})
    assert sup.status_code == 200 and "下沉监督" in sup.text


def test_hotline_page(client, world, db, login):
    r = client.post(
        "/appeals/hotline",
        data={"description": "楚旺镇停水两天了", "reporter_phone": "13500000000"},
        headers={**HTML, **login("nh_operator")},
    )
    assert r.status_code == 200 and 'id="created"' in r.text


def test_public_stats_page(client, world, db):
    disp = principal(db, "nh_dispatcher")
    workflow.dispatch(db, actor=disp, ticket=make_ticket(db))
    r = client.get("/appeals/stats", headers=HTML)
    assert (
        r.status_code == 200
        and "/static/plotly/plotly.min.js" in r.text
        and "/static/leaflet/leaflet.js" in r.text
    )


def test_monthly_report_page(client, world, db):
    disp = principal(db, "nh_dispatcher")
    t = make_ticket(db)
    workflow.dispatch(db, actor=disp, ticket=t)
    month = t.created_at.astimezone(SH).strftime("%Y-%m")
    r = client.get(f"/appeals/stats/monthly?month={month}&division=410527", headers=HTML)
    assert r.status_code == 200 and 'id="monthly-kpis"' in r.text and "城关镇" in r.text
    assert "王建国" not in r.text and "13912345678" not in r.text
    assert client.get("/appeals/stats/monthly?month=2026-1x", headers=HTML).status_code == 422
