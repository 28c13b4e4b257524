"""Security findings of the carbon registry (issues 11, 12, 13): one test per finding, each with its
payload."""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import pytest
from sqlalchemy import func, select

from govgrid.carbon import landcover
from govgrid.carbon.models import MonitoringReport, ReportFile
from govgrid.carbon.services import reports
from govgrid.core import storage
from govgrid.core.identity.models import User
from tests import live
from tests.carbon.registry import conftest as registry
from tests.carbon.registry.conftest import JUNSHAN, JUNSHAN_EAST, landcover_tif, project_body, report_body

P = "/api/v1/carbon"
# the registry tests' fixtures (carbon demo users, the API flow as the right roles)
carbon_users = registry.carbon_users
flow = registry.flow
SCRIPT_BREAKOUT = "</script><script>alert(1)</script>"
IMG_ONERROR = "<img src=x onerror=alert(1)>"


# ---------------------------------------------------------------- helpers


class _Recorder(BaseHTTPRequestHandler):
    """An HTTP server that only writes down what it was asked for."""

    seen: list[str]

    def _record(self) -> None:
        self.seen.append(f"{self.command} {self.path}")
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = _record  # noqa: N815 (the names http.server dispatches to)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def recorder() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server started by the test; yields its base URL and the requests it received."""
    seen: list[str] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def _vrt(source: str, raw: bool = False) -> bytes:
    """A VRT dataset (XML) named like a GeoTIFF, whose pixels come from ``source`` on the server."""
    if raw:
        band = (
            '<VRTRasterBand dataType="Byte" band="1" subClass="VRTRawRasterBand">'
            f'<SourceFilename relativetoVRT="0">{source}</SourceFilename>'
            "<ImageOffset>0</ImageOffset><PixelOffset>1</PixelOffset><LineOffset>20</LineOffset>"
            "</VRTRasterBand>"
        )
    else:
        band = (
            '<VRTRasterBand dataType="Byte" band="1"><SimpleSource>'
            f'<SourceFilename relativeToVRT="0">{source}</SourceFilename><SourceBand>1</SourceBand>'
            "</SimpleSource></VRTRasterBand>"
        )
    from pyproj import Transformer

    x, y = Transformer.from_crs(4326, 32649, always_xy=True).transform(112.7275, 29.4775)
    return (
        '<VRTDataset rasterXSize="20" rasterYSize="20"><SRS>EPSG:32649</SRS>'
        f"<GeoTransform>{x - 100}, 10, 0, {y + 100}, 0, -10</GeoTransform>{band}</VRTDataset>"
    ).encode()


def _store(db, report_id: int, name: str, content: bytes) -> None:
    """A file stored before uploads were checked: the bytes in core.storage, the row with the key."""
    db.add(
        ReportFile(
            report_id=report_id,
            name=name,
            media_type="image/tiff",
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            storage_key=storage.put(reports.FILE_NAMESPACE, content, content_type="image/tiff"),
        )
    )
    db.flush()


def _files(db, report_id: int) -> int:
    return db.scalar(select(func.count()).select_from(ReportFile).where(ReportFile.report_id == report_id))


# ---------------------------------------------------------------- 1. no blocking work on the event loop


def test_upload_files_does_not_block_the_event_loop(client, login, flow, monkeypatch):
    from govgrid.carbon import api, pages

    for router in (api.router, pages.router):
        for route in router.routes:
            assert not inspect.iscoroutinefunction(route.endpoint), f"{route.path} is async def"
    # the upload is read with a bound: one byte over the limit is refused, nothing is kept
    p = flow.project()
    rep = flow.report(p["id"])
    monkeypatch.setattr(reports, "MAX_FILE_BYTES", 1000)
    big = [("files", ("result.json", b"[" + b"0," * 600 + b"0]", "application/json"))]
    r = client.post(f"{P}/reports/{rep['id']}/uploads", files=big, headers=login("jsh_forestry"))
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    ok = [("files", ("result.json", b'{"net": 1}', "application/json"))]
    assert (
        client.post(f"{P}/reports/{rep['id']}/uploads", files=ok, headers=login("jsh_forestry")).status_code
        == 201
    )


# ---------------------------------------------------------------- 2. JSON in pages never leaves its script


def test_hostile_names_and_summaries_are_not_inlined_raw_into_scripts(client, login, flow):
    p = flow.project(name="君山" + SCRIPT_BREAKOUT)
    flow.report(
        p["id"],
        summary={
            "stocks_tc": {SCRIPT_BREAKOUT: 1.0, "2018": 10.0},
            "credit": {"net_creditable_tco2e": SCRIPT_BREAKOUT},
        },
    )
    h = login("jsh_forestry")
    for url in ("/carbon/projects", f"/carbon/projects/{p['id']}", "/carbon/registry"):
        r = client.get(url, headers=h)
        assert r.status_code == 200, url
        assert "<script>alert(1)" not in r.text, url
        assert "君山&lt;/script&gt;" in r.text, url  # the name is still shown, as text
    page = client.get(f"/carbon/projects/{p['id']}", headers=h).text
    assert "\\u003c/script\\u003e" in page  # the map feature still carries the name, escaped for a script


# ---------------------------------------------------------------- 4. uploaded rasters never reach GDAL raw


def test_landcover_rasters_cannot_read_server_files_or_urls(client, login, flow, db, recorder):
    base, seen = recorder
    hostname = Path("/etc/hostname").read_text().strip()
    h = login("jsh_forestry")
    before = landcover_tif(np.full((20, 20), 3, np.uint8))
    for hostile in (_vrt("/etc/hostname", raw=True), _vrt(f"/vsicurl/{base}/landcover.tif")):
        p = flow.project()
        rep = flow.report(p["id"])
        files = [
            ("files", ("landcover_2018.tif", before, "image/tiff")),
            ("files", ("landcover_2023.tif", hostile, "image/tiff")),
        ]
        r = client.post(f"{P}/reports/{rep['id']}/uploads", files=files, headers=h)
        assert r.status_code == 422, r.text  # a file named .tif must be a TIFF
        assert _files(db, rep["id"]) == 0
        # a file stored before uploads were checked is refused by the check itself
        _store(db, rep["id"], "landcover_2018.tif", before)
        _store(db, rep["id"], "landcover_2023.tif", hostile)
        r = client.post(f"{P}/reports/{rep['id']}/landcover-check", json={"threshold_ha": 1}, headers=h)
        assert r.status_code == 422, r.text
        assert "transitions" not in r.text and "/etc/hostname" not in r.text and base not in r.text
        if len(hostname) >= 3:
            assert hostname not in r.text
        assert "landcover_loss" not in db.get(MonitoringReport, rep["id"]).summary
    assert seen == []  # GDAL never fetched the URL


# ---------------------------------------------------------------- 6. who may grant the verifier role


def test_only_the_registry_administrator_grants_verifier(client, login, db, carbon_users):
    from govgrid.core.departments import service as departments

    jsh_eco = departments.get_by_code(db, "430611-ecology_environment")
    jsh_data = departments.get_by_code(db, "430611-data_management")
    yy_eco = departments.get_by_code(db, "430600-ecology_environment")
    clerk = User(
        username="eco_clerk",
        display_name="eco_clerk",
        password_hash="!",  # an unusable hash
        home_department_id=yy_eco.id,
    )
    jsh_clerk = User(
        username="jsh_eco_clerk",
        display_name="jsh_eco_clerk",
        password_hash="!",  # an unusable hash
        home_department_id=jsh_eco.id,
    )
    data_clerk = User(
        username="data_clerk",
        display_name="data_clerk",
        password_hash="!",  # an unusable hash
        home_department_id=jsh_data.id,
    )
    db.add_all([clerk, jsh_clerk, data_clerk])
    db.flush()
    # a county department admin, in its own department: refused
    r = client.post(
        f"/api/v1/users/{data_clerk.id}/roles",
        json={"department_id": jsh_data.id, "role": "verifier"},
        headers=login("jsh_data"),
    )
    assert r.status_code == 403, r.text
    # the county's division-wide admin, in the county's ecology department: refused too
    r = client.post(
        f"/api/v1/users/{jsh_clerk.id}/roles",
        json={"department_id": jsh_eco.id, "role": "verifier", "reach": "department"},
        headers=login("jsh_gov"),
    )
    assert r.status_code == 403, r.text
    # the province's registry administrator grants it in its territory
    r = client.post(
        f"/api/v1/users/{clerk.id}/roles",
        json={"department_id": yy_eco.id, "role": "verifier", "reach": "line"},
        headers=login("hn_registry"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["role"] == "verifier"
    # and is still bound by the core's rules: not wider than its own reach
    r = client.post(
        f"/api/v1/users/{clerk.id}/roles",
        json={"department_id": yy_eco.id, "role": "verifier", "reach": "division"},
        headers=login("hn_registry"),
    )
    assert r.status_code == 403


# ---------------------------------------------------------------- 7. no raw exception text to clients


def test_unreadable_rasters_do_not_leak_server_details(client, login, flow, db, monkeypatch, caplog):
    h = login("jsh_forestry")
    p = flow.project()
    rep = flow.report(p["id"])
    broken = b"II*\x00" + b"\x00" * 64  # TIFF magic, nothing behind it
    files = [("files", ("landcover_2018.tif", broken, "image/tiff"))]
    r = client.post(f"{P}/reports/{rep['id']}/uploads", files=files, headers=h)
    assert r.status_code == 422 and "/tmp" not in r.text and "vsimem" not in r.text  # a leak check
    _store(db, rep["id"], "landcover_2018.tif", broken)
    _store(db, rep["id"], "landcover_2023.tif", broken)
    r = client.post(f"{P}/reports/{rep['id']}/landcover-check", json={}, headers=h)
    assert r.status_code == 422
    for leak in ("/tmp", "vsimem", "gg-up-", "upload.tif", "Traceback"):  # what must not leak
        assert leak not in r.text, leak
    # an unexpected failure deeper down: the client gets a short message, the log keeps the detail
    db.execute(ReportFile.__table__.delete().where(ReportFile.report_id == rep["id"]))
    _store(db, rep["id"], "landcover_2018.tif", landcover_tif(np.full((20, 20), 3, np.uint8)))
    _store(db, rep["id"], "landcover_2023.tif", landcover_tif(np.full((20, 20), 6, np.uint8)))

    def boom(*args, **kwargs):
        raise RuntimeError("/srv/govgrid/private/engine.py line 12: numpy exploded")

    monkeypatch.setattr(landcover, "detect_loss", boom)
    with caplog.at_level(logging.ERROR):
        r = client.post(f"{P}/reports/{rep['id']}/landcover-check", json={}, headers=h)
    assert r.status_code == 422
    assert "/srv/govgrid" not in r.text and "numpy exploded" not in r.text
    assert "地类栅格" in r.json()["error"]["message"]
    assert "numpy exploded" in caplog.text


# ---------------------------------------------------------------- browser tests (3, 5, 8)


@pytest.fixture(scope="module")
def carbon_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[live.LiveServer]:
    """A live server with the carbon registry's users (the full carbon demo would run the engine: not
    needed)."""
    server = live.start(tmp_path_factory.mktemp("carbon-live"), modules="carbon")
    url = f"sqlite:///{server.db_path}"
    script = (
        "from govgrid.config import Settings, set_settings; from govgrid.core import db\n"
        f"set_settings(Settings(database_url={url!r}, demo_mode=True)); db.configure({url!r})\n"
        "from govgrid.carbon.demo import ACTOR, USERS\n"
        "from govgrid.core.identity import service as identity\n"
        "with db.session_scope() as s:\n"
        "    for u, name, dept, role, reach in USERS:\n"
        "        identity.ensure_user_with_role(s, actor=ACTOR, username=u,\n"
        f"            password={live.DEMO_PASSWORD!r},\n"
        "            display_name=name, department_code=dept, role=role, reach=reach, is_demo=True)\n"
    )
    try:
        subprocess.run(  # this interpreter, the test's own script
            [sys.executable, "-c", script],
            check=True,
            capture_output=True,
            env={"GOVGRID_DATABASE_URL": url, "GOVGRID_DEMO_MODE": "1", "PATH": "/usr/bin:/bin"},
        )
        yield server
    finally:
        server.stop()


def _api(server: live.LiveServer, username: str):
    return httpx.Client(
        base_url=server.url + P, headers={"Authorization": f"Bearer {server.token(username)}"}, timeout=30
    )


def _browser_login(chromium, server: live.LiveServer, username: str):
    """A browser context logged in through the /login form; it records dialogs and requests."""
    context = chromium.new_context(viewport={"width": 1300, "height": 900}, accept_downloads=True)
    context.dialogs, context.requests = [], []
    context.on("request", lambda req: context.requests.append(f"{req.method} {req.url}"))
    page = context.new_page()
    page.on("dialog", lambda d: (context.dialogs.append(d.message), d.dismiss()))
    page.goto(server.url + "/login")
    page.fill("#username", username)
    page.fill("#password", live.DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url, timeout=15_000)
    return context, page


@pytest.fixture(scope="module")
def hostile_projects(carbon_server: live.LiveServer) -> list[dict]:
    """Two projects with hostile names (a script breakout and an HTML element), side by side."""
    with _api(carbon_server, "jsh_forestry") as api:
        made = []
        for name, boundary in ((SCRIPT_BREAKOUT, JUNSHAN), (IMG_ONERROR, JUNSHAN_EAST)):
            r = api.post("/projects", json=project_body(name=name, boundary=boundary))
            assert r.status_code == 201, r.text
            made.append(r.json())
        r = api.post(
            f"/projects/{made[0]['id']}/reports",
            json=report_body(summary={"stocks_tc": {SCRIPT_BREAKOUT: 1.0, "2018": 5.0}}),
        )
        assert r.status_code == 201, r.text
    return made


@pytest.mark.browser
def test_map_popups_show_project_names_as_text(chromium, carbon_server, hostile_projects):
    context, page = _browser_login(chromium, carbon_server, "jsh_forestry")
    try:
        page.goto(carbon_server.url + "/carbon/projects")
        page.locator("path.leaflet-interactive[stroke='#555']").first.wait_for()  # county drawn, map fitted
        shapes = page.locator("path.leaflet-interactive[stroke='#2f855a']")
        assert shapes.count() == 2  # both projects drawn: no name broke the page's script
        shown = {}
        for i in range(2):
            shapes.nth(i).click(force=True)
            popup = page.locator(".leaflet-popup-content").last
            popup.wait_for()
            shown[popup.locator("a").inner_text()] = popup.inner_text()
            assert popup.locator("img, script").count() == 0  # the name is text, not an element
        names = {p["code"]: p["name"] for p in hostile_projects}
        assert set(shown) == set(names)
        for code, text in shown.items():
            assert names[code] in text, text
        assert context.dialogs == []
    finally:
        context.close()


@pytest.mark.browser
def test_uploaded_report_cannot_run_script_in_the_verifiers_browser(
    chromium, carbon_server, hostile_projects
):
    project = hostile_projects[1]
    with _api(carbon_server, "jsh_forestry") as api:
        rep = api.post(f"/projects/{project['id']}/reports", json=report_body()).json()
        verify = f"/api/v1/carbon/reports/{rep['id']}/verify"
        # the payload of issue 12 #3: a report that loads a .json holding JavaScript, which posts the
        # verification
        js = (
            "fetch('/carbon/projects').then(r => r.text())"
            '.then(t => { const m = t.match(/csrf-token" content="([^"]+)/);'
            f" fetch('{verify}', {{method: 'POST', headers: {{'Content-Type': 'application/json',"
            " 'X-CSRF-Token': m && m[1]},"
            " body: JSON.stringify({approve: true, statement: 'self-approved'})}); });"
            " alert('xss');"
        )
        hostile = (
            f'<html><body><h1>MRV</h1><script src="x.json"></script><script>{js}</script>'
            '<img src=x onerror="alert(2)"></body></html>'
        ).encode()
        api.post(
            f"/reports/{rep['id']}/uploads", files=[("files", ("x.json", js.encode(), "application/json"))]
        )
        r = api.post(
            f"/reports/{rep['id']}/uploads", files=[("files", ("report.html", hostile, "text/html"))]
        )
        assert r.status_code == 201, r.text
    context, page = _browser_login(chromium, carbon_server, "yy_verifier")
    try:
        page.goto(f"{carbon_server.url}/carbon/projects/{project['id']}")
        # the project page links the Chinese MRV page; the uploaded file is reached by its API address
        url = carbon_server.url + f"/api/v1/carbon/reports/{rep['id']}/files/report.html"
        from playwright.sync_api import Error as PlaywrightError

        # "Download is starting": the browser saves it, it is not a page
        with page.expect_download(timeout=10_000) as download, contextlib.suppress(PlaywrightError):
            page.goto(url)
        assert download.value.suggested_filename == "report.html"
        page.goto(f"{carbon_server.url}/carbon/projects/{project['id']}")
        page.locator("#chart-stock .main-svg").first.wait_for()
        assert context.dialogs == []
        assert not [q for q in context.requests if q.startswith("POST") and "/verify" in q], context.requests
    finally:
        context.close()
    with _api(carbon_server, "yy_verifier") as api:
        assert api.get(f"/reports/{rep['id']}").json()["status"] == "submitted"


@pytest.mark.browser
def test_hostile_project_names_never_execute_in_any_page(chromium, carbon_server, hostile_projects):
    context, page = _browser_login(chromium, carbon_server, "yy_verifier")
    try:
        # each page's own script still runs to its end (a name that broke out of it would stop it there)
        pages = {
            "/carbon/projects": "path.leaflet-interactive[stroke='#555']",
            "/carbon/registry": "#chart .main-svg",
        }
        pages.update({f"/carbon/projects/{p['id']}": "#chart-stock .main-svg" for p in hostile_projects})
        for path, drawn in pages.items():
            page.goto(carbon_server.url + path)
            page.locator(drawn).first.wait_for(timeout=15_000)
            body = page.locator("body").inner_text()
            assert SCRIPT_BREAKOUT in body or IMG_ONERROR in body, path  # the names are shown as text
            if path.startswith("/carbon/projects/"):
                assert page.locator("path.leaflet-interactive[stroke='#2f855a']").count() == 1, path
        assert context.dialogs == []
    finally:
        context.close()
