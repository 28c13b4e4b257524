"""The Pingding demo looks like a working county; the map, report and case pages render."""

from sqlalchemy import func, select

from govgrid.citymap import demo
from govgrid.citymap.models import Camera, Case, FieldUnit, GridCell, Part
from govgrid.core.modules import DemoContext

API = "/api/v1/citymap"
DEMO_PASSWORD = "lantern-pingding-grid-47"  # the demo users' password in this test (12+ characters, issue 16)


def _count(db, model, *where):
    return db.scalar(select(func.count()).select_from(model).where(*where))


def test_demo_loads_once_with_every_state(db, client, login):
    ctx = DemoContext(password=DEMO_PASSWORD)
    demo.load_demo(db, ctx)
    cells = _count(db, GridCell)
    assert 500 < cells < 999 * 4
    assert _count(db, Part) > 500 and _count(db, FieldUnit) == 20 and _count(db, Camera) == 16
    states = dict(db.execute(select(Case.state, func.count()).group_by(Case.state)).all())
    assert set(states) >= {"filed", "dispatched", "handling", "closed", "evaluated", "rejected"}
    assert sum(states.values()) > 1500
    assert _count(db, Case, Case.rework_count > 0) > 20
    assert "pd_inspector" in ctx.users and any("API" in line for line in ctx.printed)
    assert "pd_urban_admin" in ctx.users  # the keeper of the grid and parts
    k = client.get(
        f"{API}/indicators", params={"division_code": "140321"}, headers=login("pd_supervisor")
    ).json()
    assert 0.5 < k["closure_rate"] < 1 and 0.5 < k["on_time_closure_rate"] < k["closure_rate"]
    assert 0 < k["rework_rate"] < 0.2 and k["open_overdue"] > 0 and len(k["departments"]) >= 3
    v = client.get(
        f"{API}/grid/validate", params={"division_code": demo.TOWN}, headers=login("pd_gov")
    ).json()
    assert v["ok"] and not v["overlaps"] and not v["invalid"] and not v["outside"]
    demo.load_demo(db, DemoContext(password=DEMO_PASSWORD))  # idempotent
    assert _count(db, GridCell) == cells


def test_pages_need_login_and_render(client, login, grid, users):
    r = client.get("/citymap", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = client.get("/citymap", headers=login("pd_dispatcher"))
    assert (
        r.status_code == 200
        and "/static/leaflet/leaflet.js" in r.text
        and 'const county = "140321"' in r.text
    )
    assert "unpkg" not in r.text and "cdn" not in r.text.lower()
    r = client.get("/citymap/report", headers=login("pd_inspector"))
    assert r.status_code == 200 and "photos/upload" in r.text
    case_id = client.post(
        f"{API}/reports",
        json={"class_code": "0101", "lon": grid[0].center_lon, "lat": grid[0].center_lat},
        headers=login("pd_inspector"),
    ).json()["case_id"]
    r = client.get(f"/citymap/cases/{case_id}", headers=login("pd_dispatcher"))
    assert r.status_code == 200 and "暴露垃圾" in r.text and "信息收集" in r.text
    r = client.get(f"/citymap/cases/{case_id}", headers={**login("nh_dispatcher"), "Accept": "text/html"})
    assert r.status_code == 404


def test_photo_upload_checks_type_and_scope(client, login, grid, users):
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    assert client.post(f"{API}/photos/upload", files={"file": ("a.png", png, "image/png")}).status_code == 401
    r = client.post(
        f"{API}/photos/upload",
        files={"file": ("a.gif", b"GIF89a", "image/gif")},
        headers=login("pd_inspector"),
    )
    assert r.status_code == 422
    r = client.post(
        f"{API}/photos/upload",
        files={"file": ("a.png", b"not a png", "image/png")},
        headers=login("pd_inspector"),
    )
    assert r.status_code == 422
    photo_id = client.post(
        f"{API}/photos/upload", files={"file": ("a.png", png, "image/png")}, headers=login("pd_inspector")
    ).json()["photo_id"]
    client.post(
        f"{API}/reports",
        json={
            "class_code": "0101",
            "lon": grid[0].center_lon,
            "lat": grid[0].center_lat,
            "photo_id": photo_id,
        },
        headers=login("pd_inspector"),
    )
    r = client.get(f"{API}/photos/{photo_id}", headers=login("pd_dispatcher"))
    assert r.status_code == 200 and r.content == png
    assert client.get(f"{API}/photos/{photo_id}", headers=login("nh_dispatcher")).status_code == 404
