"""City map security findings (issues 11 and 12): each test replays the finding's own payload.

Users: pd_* are 平定县 140321, nh_* 内黄县 410527. pd_urban_admin keeps the county's grid and parts.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import subprocess
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import numpy as np
import pyogrio
import pyogrio.raw
import pytest
import shapely
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect
from shapely.geometry import mapping, shape
from sqlalchemy import func, select

from govgrid.citymap import spatial
from govgrid.citymap.models import GridCell, Part
from govgrid.citymap.services import feed, ingest, live, photos
from govgrid.citymap.services import units as unit_service
from govgrid.core.divisions.models import Division
from govgrid.core.events import DomainEvent
from govgrid.core.identity import service as identity
from tests import live as live_server
from tests.citymap import conftest as citymap_fixtures
from tests.citymap.conftest import ACTOR, PASSWORD, TOWN, VILLAGE, village_area

# the city map's fixtures (tests/citymap/conftest.py), for the tests below
grid, users, unit, camera = (citymap_fixtures.grid, citymap_fixtures.users, citymap_fixtures.unit,
                             citymap_fixtures.camera)
sensor_key, urban_admin, pd_civil = (citymap_fixtures.sensor_key, citymap_fixtures.urban_admin,
                                     citymap_fixtures.pd_civil)

API = "/api/v1/citymap"
OCTETS = "application/octet-stream"
HOSTILE_IMG = "<img src=x onerror=alert(1)>"
HOSTILE_SCRIPT = "</script><script>alert(1)</script>"
M_NONE_OPEN = "无在办案卷"
CSP_RECORDER = """window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _gpkg(tmp_path: Path, geoms, name: str = "cells.gpkg") -> bytes:
    path = tmp_path / name
    pyogrio.raw.write(
        str(path),
        geometry=np.array([g.wkb for g in geoms], dtype=object),
        field_data=[np.array([f"c{i}" for i in range(len(geoms))], dtype=object)],
        fields=["name"],
        geometry_type="Polygon",
        crs="EPSG:4326",
        driver="GPKG",
    )
    return path.read_bytes()


def _vrt(source: str, layer: str, field: str) -> bytes:
    """OGR VRT XML (the finding's payload) that turns each line of a CSV source into a feature's `field`."""
    return f"""<OGRVRTDataSource>
  <OGRVRTLayer name="parts">
    <SrcDataSource>CSV:{source}</SrcDataSource>
    <OpenOptions><OOI key="HEADERS">NO</OOI></OpenOptions>
    <SrcSQL dialect="OGRSQL">SELECT field_1 AS {field}, 'POINT (113.6 37.8)' AS wkt FROM "{layer}"</SrcSQL>
    <GeometryField encoding="WKT" field="wkt"/>
  </OGRVRTLayer>
</OGRVRTDataSource>""".encode()  # noqa: S608  (the finding's payload: SQL for GDAL, never run by us)


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_GET(self):
        type(self).seen.append(self.path)
        body = b"root:x:0:0\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET  # noqa: N815  (the name http.server looks up)

    def log_message(self, *args):
        pass


@pytest.fixture()
def recorder():
    """A local HTTP server that records every request it receives."""
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.seen
    server.shutdown()
    server.server_close()


# ---- issue 11 #1 and issue 12 #9: uploads and the live feed off the event loop, with limits ----------------


def test_i11_1_uploads_and_live_feed_do_no_blocking_work_on_the_event_loop(
    client, db, login, monkeypatch, tmp_path, urban_admin, users, unit
):
    seen: list[tuple[str, bool]] = []
    real_from_wkb, real_save_photo = shapely.from_wkb, photos.save_photo
    real_list_units = unit_service.list_units

    def from_wkb(*a, **kw):
        seen.append(("parse", _on_event_loop()))
        return real_from_wkb(*a, **kw)

    def save_photo(*a, **kw):
        seen.append(("photo", _on_event_loop()))
        return real_save_photo(*a, **kw)

    def list_units(*a, **kw):
        seen.append(("live", _on_event_loop()))
        return real_list_units(*a, **kw)

    monkeypatch.setattr(shapely, "from_wkb", from_wkb)
    monkeypatch.setattr(photos, "save_photo", save_photo)
    monkeypatch.setattr(unit_service, "list_units", list_units)
    cells = spatial.square_grid(village_area(db, "140321100201", w=200, h=200), 100)
    r = client.post(
        f"{API}/grid/upload",
        params={"division_code": "140321100201"},
        headers=login("pd_urban_admin"),
        files={"file": ("cells.gpkg", _gpkg(tmp_path, cells), "application/geopackage+sqlite3")},
    )
    assert r.status_code == 201, r.text
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    r = client.post(
        f"{API}/photos/upload", files={"file": ("a.png", png, "image/png")}, headers=login("pd_inspector")
    )
    assert r.status_code == 201, r.text
    with client.stream(
        "GET", f"{API}/live", params={"county_code": "140321", "max_events": 1},
        headers=login("pd_dispatcher"),
    ) as r:
        assert r.status_code == 200
        assert "".join(r.iter_text()).startswith("event: snapshot")
    assert {kind for kind, _ in seen} == {"parse", "photo", "live"}
    assert not [kind for kind, on_loop in seen if on_loop], seen


def test_i12_9_oversized_uploads_are_refused_early(client, db, login, urban_admin):
    big = io.BytesIO()
    with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("parts.shp", b"\0" * (65 * 1024 * 1024))  # unpacks past the module's 64 MB limit
        z.writestr("parts.shx", b"\0" * 100)
        z.writestr("parts.dbf", b"\0" * 100)
    uploads = (("grid/upload", {"division_code": VILLAGE}), ("parts/upload", {"county_code": "140321"}))
    for path, params in uploads:
        r = client.post(
            f"{API}/{path}",
            params=params,
            headers=login("pd_urban_admin"),
            files={"file": ("big.zip", big.getvalue(), "application/zip")},
        )
        assert r.status_code == 413, (path, r.text)
        assert r.json()["error"]["code"] == "payload_too_large"
    many = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [113.6, 37.8]}, "properties": {}}
        ]
        * 20_001,
    }
    r = client.post(
        f"{API}/grid/upload",
        params={"division_code": VILLAGE},
        headers=login("pd_urban_admin"),
        files={"file": ("cells.geojson", json.dumps(many).encode(), "application/geo+json")},
    )
    assert r.status_code == 413, r.text
    assert db.scalar(select(func.count()).select_from(GridCell)) == 0


# ---- issue 11 #4 and #10: hostile names never run in the map (real browser) --------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _populate(server: live_server.LiveServer) -> None:
    """A 3 x 3 grid, cameras, units and a part with hostile names, through the API as the platform admin."""
    h = {"Authorization": f"Bearer {server.token('admin')}"}
    feat = httpx.get(f"{server.url}/api/v1/divisions/{VILLAGE}/boundary", timeout=30).json()
    boundary = shape(feat["geometry"])
    proj = spatial.Projector.around(boundary)
    c = proj.to_metres(boundary.representative_point())
    inner = proj.to_metres(boundary).buffer(-5)
    cells = []
    for j in range(3):
        for i in range(3):
            x0, y0 = c.x + (i - 1.5) * 60, c.y + (j - 1.5) * 60
            box = shapely.box(x0, y0, x0 + 60, y0 + 60)
            cells.append(proj.to_lonlat(box.intersection(inner)))
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": mapping(g), "properties": {"name": HOSTILE_IMG}} for g in cells]}
    r = httpx.post(f"{server.url}{API}/grid/import", params={"division_code": VILLAGE}, json=fc, headers=h,
                   timeout=60)
    assert r.status_code == 201, r.text
    centres = [g.representative_point() for g in cells]
    cams = [
        ("T-CAM-A", HOSTILE_IMG, 'http://cam.invalid/a"><img src=x onerror=alert(2)>', centres[0]),
        ("T-CAM-B", HOSTILE_SCRIPT, "rtmp://cam.invalid/live", centres[2]),
    ]
    for code, name, url, p in cams:
        r = httpx.post(f"{server.url}{API}/cameras", headers=h, timeout=30, json={
            "code": code, "name": name, "lon": p.x, "lat": p.y, "stream_url": url, "range_m": 40})
        assert r.status_code == 201, r.text
    for code, name, p in (("T-U-1", HOSTILE_IMG, centres[8]), ("T-U-2", HOSTILE_SCRIPT, centres[6])):
        r = httpx.post(f"{server.url}{API}/units", headers=h, timeout=30, json={
            "code": code, "name": name, "kind": "enforcement", "department_code": "140321-urban_management",
            "skills": ["enforcement"], "lon": p.x, "lat": p.y})
        assert r.status_code == 201, r.text
    r = httpx.post(f"{server.url}{API}/parts/import", params={"county_code": "140321"}, headers=h, timeout=30,
                   json={"type": "FeatureCollection", "features": [{
                       "type": "Feature", "geometry": mapping(centres[5]),
                       "properties": {"class_code": "0102", "name": HOSTILE_SCRIPT, "status": "<b>x</b>"}}]})
    assert r.status_code == 201, r.text


@pytest.fixture(scope="module")
def city_server(tmp_path_factory):
    """`govgrid serve` over the core demo plus a small hostile city map."""
    server = live_server.start(tmp_path_factory.mktemp("citymap-live"))
    try:
        _populate(server)
        yield server
    finally:
        server.stop()


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [{"width": 1400, "height": 1000}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_i11_4_hostile_camera_and_unit_names_show_as_text_and_the_pages_work(city_server, chromium, viewport):
    page = chromium.new_page(viewport=viewport)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.add_init_script(CSP_RECORDER)
    page.goto(city_server.url + "/login")
    page.fill("#username", "admin")
    page.fill("#password", live_server.DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    with page.expect_response(lambda r: "/map/grid?" in r.url):  # the map fits itself to the grid it draws
        page.goto(city_server.url + "/citymap?county=140321")
    page.wait_for_selector(".cam-icon", state="attached")
    expect(page.locator("#unit-list li")).to_have_count(2)
    # first (before any popup pans the map): the grid cell under the middle of the map, whose name came from
    # the imported file. Only the grid layer is shown for this click: the desktop run reports a case at the
    # village centre, whose marker would otherwise take the click.
    show = "([keys, on]) => keys.forEach(k => { const cb = document.getElementById('lyr-' + k); " \
           "cb.checked = on; cb.dispatchEvent(new Event('change')); })"
    page.evaluate(show, [["cases", "cameras", "units"], False])
    popup = page.locator(".leaflet-popup-content", has_text=HOSTILE_IMG)
    for _ in range(5):  # the grid's response is in; its drawing and fit follow within a frame or two
        page.locator("#citymap").click()
        try:
            popup.first.wait_for(timeout=2000)
            break
        except PlaywrightTimeout:
            continue
    assert HOSTILE_IMG in popup.first.inner_text(timeout=5000)
    page.locator(".leaflet-popup-close-button").last.click()
    page.evaluate(show, [["cases", "cameras", "units"], True])
    expect(page.locator(".leaflet-popup")).to_have_count(0)
    # the unit list and the unit tooltips
    units = page.locator("#unit-list").inner_text()
    assert HOSTILE_IMG in units and HOSTILE_SCRIPT in units
    for icon in page.locator(".unit-icon").all():
        icon.hover(force=True)
        tip = page.locator(".leaflet-tooltip").last.inner_text()
        assert tip in (HOSTILE_IMG, HOSTILE_SCRIPT)
    # each camera's popup: its name as text; the stream URL a link only for http(s)/rtsp
    texts, links = [], []
    for icon in page.locator(".cam-icon").all():
        icon.click(force=True)
        shown = page.locator(".leaflet-popup-content", has_text="T-CAM-").last  # an older popup may be fading
        expect(shown).to_contain_text(M_NONE_OPEN)  # the nearby cases were fetched and added as text
        texts.append(shown.inner_text())
        links += [a.get_attribute("href") for a in shown.locator("a").all()]
    joined = "\n".join(texts)
    assert HOSTILE_IMG in joined and HOSTILE_SCRIPT in joined
    assert 'http://cam.invalid/a"><img src=x onerror=alert(2)>' in joined
    assert 'http://cam.invalid/a"><img src=x onerror=alert(2)>' in links  # a link, quotes and all, as href
    assert "rtmp://cam.invalid/live" in joined and not [h for h in links if h and h.startswith("rtmp")]
    # nothing was injected: no element from a name, no dialog
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("script:not([nonce])").count() == 0
    assert page.evaluate("window.__csp") == []  # and the page itself runs under the CSP
    # the inspector's report page still files a report (its POST carries the CSRF header), and the case page
    # opens
    page.goto(city_server.url + "/citymap/report")
    page.wait_for_selector("#pick .leaflet-overlay-pane path")  # the grid drawn and fitted
    page.locator("#pick").click()
    page.click("#report-form button[type=submit]")
    expect(page.locator("#result .alert")).to_have_class(re.compile("alert-success"), timeout=60_000)
    link = page.locator("#result .alert-success a")
    code = link.inner_text()
    link.click()
    expect(page.locator("h1")).to_contain_text(code)
    assert dialogs == []
    page.close()


# ---- issue 11 #10: OGC API collections list only what the caller can read ----------------------------------


def test_i11_10_anonymous_collections_list_only_readable_ones(client, login, unit, camera):
    listed = client.get("/ogcapi/collections").json()["collections"]
    ids = {c["id"] for c in listed}
    assert ids == {"grid-cells", "cases"}
    for cid in ids:
        assert client.get(f"/ogcapi/collections/{cid}/items").status_code == 200
        assert client.get(f"/ogcapi/collections/{cid}").status_code == 200
    listed = client.get("/ogcapi/collections", headers=login("pd_dispatcher")).json()["collections"]
    mine = {c["id"] for c in listed}
    assert mine == {"grid-cells", "cases", "parts", "units", "cameras"}
    for cid in mine:
        r = client.get(f"/ogcapi/collections/{cid}/items", headers=login("pd_dispatcher"))
        assert r.status_code == 200


@pytest.mark.skipif("OAPIF" not in pyogrio.list_drivers(), reason="pyogrio's GDAL has no OAPIF driver")
def test_i11_10_gdal_oapif_reads_the_service_anonymously_without_errors(city_server):
    # GDAL as a standard OGC API client, in its own process: the test process's pyogrio keeps only the upload
    # drivers once an upload has been read (core.geofiles.restrict_vector_drivers).
    script = (
        "import sys, pyogrio, pyogrio.raw\n"
        "source = 'OAPIF:' + sys.argv[1] + '/ogcapi'\n"
        "layers = sorted(str(name) for name, _ in pyogrio.list_layers(source))\n"
        "for name in layers:\n"
        "    pyogrio.read_info(source, layer=name)\n"
        "    pyogrio.raw.read(source, layer=name, max_features=5)\n"
        "print(','.join(layers))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, city_server.url], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.strip().split(",")) == {"grid-cells", "cases"}
    assert "ERROR" not in done.stderr


# ---- issue 12 #1: uploaded files never reach GDAL's other drivers ------------------------------------------


def test_i12_1_vrt_in_a_gpkg_reads_no_server_file(client, db, login, urban_admin):
    hostname = Path("/etc/hostname").read_text().strip() or "localhost"
    for path, params, field in (
        ("parts/upload", {"county_code": "140321"}, "class_code"),
        ("grid/upload", {"division_code": VILLAGE}, "code"),
    ):
        r = client.post(
            f"{API}/{path}",
            params=params,
            headers=login("pd_urban_admin"),
            files={"file": ("parts.gpkg", _vrt("/etc/hostname", "hostname", field), OCTETS)},
        )
        assert r.status_code == 422, r.text
        assert f"'{hostname}'" not in r.text and f": {hostname}" not in r.text
        if len(hostname) >= 4:
            assert hostname not in r.text
        r = client.post(
            f"{API}/{path}",
            params=params,
            headers=login("pd_urban_admin"),
            files={"file": ("parts.gpkg", _vrt("/etc/passwd", "passwd", field), OCTETS)},
        )
        assert r.status_code == 422 and "root:" not in r.text and "/bin/" not in r.text, r.text
    assert db.scalar(select(func.count()).select_from(Part)) == 0


def test_i12_1_vsicurl_in_an_upload_fetches_nothing(client, db, login, urban_admin, recorder):
    url, seen = recorder
    for path, params, field in (
        ("parts/upload", {"county_code": "140321"}, "class_code"),
        ("grid/upload", {"division_code": VILLAGE}, "code"),
    ):
        r = client.post(
            f"{API}/{path}",
            params=params,
            headers=login("pd_urban_admin"),
            files={"file": ("parts.gpkg", _vrt(f"/vsicurl/{url}/leak.csv", "leak", field), OCTETS)},
        )
        assert r.status_code == 422, r.text
        assert "root:" not in r.text
    assert seen == []


# ---- issue 12 #4: the live feed is scoped like its snapshot ------------------------------------------------


def test_i12_4_live_feed_sends_no_event_outside_the_subscriber_scope(client, db, login, grid, users, unit):
    # another county: refused before anything is streamed
    r = client.get(
        f"{API}/live", params={"county_code": "140321", "max_events": 1}, headers=login("nh_dispatcher")
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert "T-ENF-01" not in r.text
    # a township's dispatcher watching its county sees its own township only
    identity.ensure_user_with_role(
        db, actor=ACTOR, username="pd_town_dispatcher", password=PASSWORD, display_name="冶西镇派遣员",
        department_code="140321101-government", role="dispatcher", reach="division",
    )
    town_unit = unit_service.create_unit(
        db, actor=ACTOR, code="T-TOWN-01", name="冶西镇环卫", kind="sanitation",
        department_code="140321101-government", skills=["sanitation"],
    )
    case = ingest.report_event(
        db, actor=ACTOR, source="inspector", kind="event", class_code="0101",
        lon=grid[0].center_lon, lat=grid[0].center_lat, check_roles=False,
    ).case  # in 冠山镇 (140321100), outside 冶西镇
    db.flush()
    stranger = {"channel": "unit", "county": "140321", "id": 999}
    outside = [live.unit_event(unit), live.case_event(case), stranger]
    inside = live.unit_event(town_unit)
    headers = login("pd_town_dispatcher")
    got: dict[str, str] = {}

    def watch():
        with client.stream(
            "GET", f"{API}/live", params={"county_code": "140321", "max_events": 2, "heartbeat_s": 0.05},
            headers=headers,
        ) as resp:
            got["status"] = str(resp.status_code)
            got["text"] = "".join(resp.iter_text())

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    for _ in range(300):  # until the stream has its one event after the snapshot (the in-scope one)
        for payload in [*outside, inside]:
            feed.on_live(DomainEvent(live.LIVE_EVENT, {"data": payload}))
        t.join(0.1)
        if not t.is_alive():
            break
    assert got.get("status") == "200", got
    frames = [f for f in got["text"].split("\n\n") if f.startswith("event:")]
    snapshot = json.loads(frames[0].split("data: ", 1)[1])
    assert [u["code"] for u in snapshot["units"]] == ["T-TOWN-01"]
    assert len(frames) == 2 and '"T-TOWN-01"' in frames[1]
    assert "T-ENF-01" not in got["text"] and case.code not in got["text"] and '"id": 999' not in got["text"]
    assert '"scope"' not in got["text"]  # the scoping fields stay on the server


# ---- issue 12 #5: only the urban-management administrator changes the grid and parts ----------------------


def test_i12_5_only_the_urban_management_admin_changes_grid_and_parts(
    client, db, login, grid, urban_admin, pd_civil
):
    cells = spatial.square_grid(village_area(db, "140321100201", w=200, h=200), 100)
    fc = {"type": "FeatureCollection",
          "features": [{"type": "Feature", "geometry": mapping(g)} for g in cells]}
    point = {"type": "Point", "coordinates": [grid[0].center_lon, grid[0].center_lat]}
    part = {"type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": point, "properties": {"class_code": "0102"}}]}
    n_cells = db.scalar(select(func.count()).select_from(GridCell))
    for who in ("pd_tax", "pd_civil"):
        h = login(who)
        assert client.post(f"{API}/grid/import", params={"division_code": "140321100201"}, json=fc,
                           headers=h).status_code == 403
        assert client.post(f"{API}/grid/generate", json={"division_code": "140321100201", "cell_m": 100,
                           "within": mapping(village_area(db, "140321100201", w=200, h=200))},
                           headers=h).status_code == 403
        assert client.delete(f"{API}/grid", params={"division_code": TOWN}, headers=h).status_code == 403
        assert client.post(f"{API}/grid/upload", params={"division_code": "140321100201"}, headers=h, files={
            "file": ("cells.geojson", json.dumps(fc).encode(), "application/geo+json")}).status_code == 403
        assert client.post(f"{API}/parts/import", params={"county_code": "140321"}, json=part,
                           headers=h).status_code == 403
        assert client.post(f"{API}/parts/upload", params={"county_code": "140321"}, headers=h, files={
            "file": ("parts.geojson", json.dumps(part).encode(), "application/geo+json")}).status_code == 403
    assert db.scalar(select(func.count()).select_from(GridCell)) == n_cells
    assert db.scalar(select(func.count()).select_from(Part)) == 0
    # validation needs read access to the division's grid
    assert client.get(f"{API}/grid/validate", params={"division_code": VILLAGE}).status_code == 401
    r = client.get(f"{API}/grid/validate", params={"division_code": VILLAGE}, headers=login("nh_viewer"))
    assert r.status_code == 403
    assert client.get(f"{API}/grid/validate", params={"division_code": VILLAGE},
                      headers=login("pd_dispatcher")).status_code == 200
    # the county's urban-management administrator may
    h = login("pd_urban_admin")
    r = client.post(f"{API}/grid/import", params={"division_code": "140321100201"}, json=fc, headers=h)
    assert r.status_code == 201, r.text
    r = client.post(f"{API}/parts/import", params={"county_code": "140321"}, json=part, headers=h)
    assert r.status_code == 201, r.text
    r = client.delete(f"{API}/grid", params={"division_code": "140321100201"}, headers=h)
    assert r.status_code == 200 and r.json()["deleted"] == len(cells)
    # another county's urban-management administrator may not
    identity.ensure_user_with_role(
        db, actor=ACTOR, username="nh_urban_admin", password=PASSWORD, display_name="内黄县城管局管理员",
        department_code="410527-urban_management", role="admin", reach="department",
    )
    assert client.delete(f"{API}/grid", params={"division_code": TOWN},
                         headers=login("nh_urban_admin")).status_code == 403
    assert db.scalar(select(func.count()).select_from(GridCell)) == n_cells


# ---- issue 12 #10: permission before any detail ------------------------------------------------------------


def test_i12_10_ingest_checks_permission_before_the_duplicate_lookup(
    client, db, login, grid, camera, sensor_key
):
    lon, lat = camera.lon, camera.lat
    event = {"source": "video", "external_ref": "PD-CAM-1-0001", "class_code": "0409", "lon": lon, "lat": lat}
    first = client.post(f"{API}/ingest", json=event, headers=sensor_key)
    assert first.status_code == 201, first.text
    code, case_id = first.json()["case_code"], first.json()["case_id"]
    r = client.post(f"{API}/ingest", json=event, headers=login("nh_viewer"))
    assert r.status_code == 403, r.text
    assert code not in r.text and f'"case_id":{case_id}' not in r.text.replace(" ", "")
    # an inspector of another county replaying the reference at home learns nothing about the Pingding case
    identity.ensure_user_with_role(
        db, actor=ACTOR, username="nh_inspector", password=PASSWORD, display_name="内黄县监督员",
        department_code="410527-urban_management", role="inspector", reach="division",
    )
    nh = db.get(Division, "410527100200")
    r = client.post(f"{API}/ingest", json={**event, "lon": nh.center_lon, "lat": nh.center_lat},
                    headers=login("nh_inspector"))
    assert r.status_code == 409, r.text
    assert code not in r.text and "state" not in r.json()


# ---- issue 12 #12: bad input is a 4xx, never a 500 ---------------------------------------------------------


def test_i12_12_naive_and_out_of_range_datetimes_and_a_zip_with_a_csv_are_422(
    client, login, grid, users, unit, urban_admin
):
    h = login("pd_dispatcher")
    naive = "2024-05-01T08:00:00"
    for url, params in (
        (f"{API}/units/{unit.id}/track", {"since": naive}),
        (f"{API}/map/cases", {"county_code": "140321", "since": naive}),
        (f"{API}/map/cases", {"county_code": "140321", "until": naive}),
        (f"{API}/map/heat", {"county_code": "140321", "since": naive}),
        (f"{API}/map/heat", {"county_code": "140321", "until": naive}),
        (f"{API}/indicators", {"division_code": "140321", "start": "0001-01-01T00:00:00+08:00"}),
        (f"{API}/indicators", {"division_code": "140321", "end": "0001-01-01T00:00:00+00:00"}),
        (f"{API}/indicators", {"division_code": "140321", "end": "9999-12-31T23:59:59-08:00"}),
        (f"{API}/map/cases", {"county_code": "140321", "since": "0001-01-01T00:00:00+08:00"}),
    ):
        r = client.get(url, params=params, headers=h)
        assert r.status_code == 422, (url, params, r.status_code, r.text)
        assert r.json()["error"]["code"] == "validation_error"
    bad = ("0001-01-01T00:00:00+08:00", "0001-01-01T00:00:00+08:00/..", "../9999-12-31T23:59:59-08:00")
    for value in bad:
        r = client.get("/ogcapi/collections/cases/items", params={"datetime": value})
        assert r.status_code == 400, (value, r.text)
        assert r.json()["code"] == "InvalidParameterValue" and set(r.json()) == {"code", "description"}
    r = client.get("/ogcapi/collections/cases/items", params={"reported_at": "0001-01-01T00:00:00+08:00"})
    assert r.status_code == 400, r.text
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("parts.csv", "class_code,lon,lat\n0102,113.6,37.8\n")
    r = client.post(
        f"{API}/parts/upload",
        params={"county_code": "140321"},
        headers=login("pd_urban_admin"),
        files={"file": ("parts.zip", buf.getvalue(), "application/zip")},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", r.text
