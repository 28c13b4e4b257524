"""Report files: uploads are checked for what they claim to be and served as downloads; only the server's own
engine report is shown as a page, and nothing in it runs."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import create_engine, text

from govgrid.carbon.api import GENERATED_REPORT_CSP
from govgrid.carbon.services import reports
from govgrid.core.audit.service import SystemActor

from .conftest import landcover_tif

P = "/api/v1/carbon"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def _upload(client, login, report_id, name, content, media="application/octet-stream"):
    return client.post(
        f"{P}/reports/{report_id}/uploads",
        files=[("files", (name, content, media))],
        headers=login("jsh_forestry"),
    )


def test_uploaded_files_are_served_as_downloads(client, login, flow):
    p = flow.project()
    rep = flow.report(p["id"])
    html = b"<html><body><script>alert(1)</script><img src='fig_maps.png'></body></html>"
    assert _upload(client, login, rep["id"], "report.html", html, "text/html").status_code == 201
    assert _upload(client, login, rep["id"], "fig_maps.png", PNG, "image/png").status_code == 201
    for name in ("report.html", "fig_maps.png"):
        r = client.get(f"{P}/reports/{rep['id']}/files/{name}", headers=login("yy_verifier"))
        assert r.status_code == 200
        assert (
            r.headers["content-disposition"].startswith("attachment;")
            and name in r.headers["content-disposition"]
        )
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-security-policy"].startswith("sandbox")
        assert len(r.headers["x-content-sha256"]) == 64
    # the project page links the MRV report for people (not the engine's own HTML)
    page = client.get(f"/carbon/projects/{p['id']}", headers=login("jsh_forestry")).text
    assert f"/carbon/reports/{rep['id']}/mrv" in page


def test_the_servers_own_report_is_a_page_where_nothing_runs(client, login, flow, db):
    p = flow.project()
    rep = flow.report(p["id"])
    reports.add_report_file(
        db,
        actor=SystemActor("engine"),
        report_id=rep["id"],
        name="report.html",
        content="<html><h1>湿地碳汇监测报告</h1><img src='fig_maps.png'></html>".encode(),
        generated=True,
    )
    db.flush()
    r = client.get(f"{P}/reports/{rep['id']}/files/report.html", headers=login("jsh_forestry"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "content-disposition" not in r.headers
    assert r.headers["content-security-policy"] == GENERATED_REPORT_CSP
    assert "script-src" not in GENERATED_REPORT_CSP and GENERATED_REPORT_CSP.startswith("sandbox;")
    # an upload under the same name replaces it and is a download again
    assert _upload(client, login, rep["id"], "report.html", b"<html>x</html>", "text/html").status_code == 201
    r = client.get(f"{P}/reports/{rep['id']}/files/report.html", headers=login("jsh_forestry"))
    assert r.headers["content-disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("landcover_2018.tif", b"<VRTDataset rasterXSize='1' rasterYSize='1'></VRTDataset>"),
        ("landcover_2018.tif", b""),
        ("fig_maps.png", b"GIF89a...."),
        ("report.pdf", b"<html>not a pdf</html>"),
        ("result.json", b"alert(document.cookie)"),
        ("result.json", b"\xff\xfe{}"),
        ("table.csv", b"a,b\x00,c"),
    ],
)
def test_upload_content_must_match_its_name(client, login, flow, name, content):
    p = flow.project()
    rep = flow.report(p["id"])
    r = _upload(client, login, rep["id"], name, content)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["loc"] == ["file"]
    assert client.get(f"{P}/reports/{rep['id']}", headers=login("jsh_forestry")).json()["files"] == []


def test_valid_engine_outputs_are_accepted(client, login, flow):
    p = flow.project()
    rep = flow.report(p["id"])
    files = [
        ("files", ("landcover_2018.tif", landcover_tif(np.full((20, 20), 3, np.uint8)), "image/tiff")),
        ("files", ("fig_maps.png", PNG, "image/png")),
        ("files", ("report.pdf", b"%PDF-1.4\n%...", "application/pdf")),
        ("files", ("result.json", '{"项目": 1}'.encode(), "application/json")),
        ("files", ("table.csv", "年份,碳储量\n2018,1.5\n".encode(), "text/csv")),
    ]
    r = client.post(f"{P}/reports/{rep['id']}/uploads", files=files, headers=login("jsh_forestry"))
    assert r.status_code == 201, r.text
    assert len(r.json()["files"]) == 5


def test_migration_marks_only_the_demo_loaders_files_as_generated(tmp_path):
    from govgrid.core.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "carbon@carbon_0001")
    engine = create_engine(url)
    with engine.begin() as conn:
        for pid, demo in ((1, True), (2, False)):
            conn.execute(
                text(
                    "INSERT INTO carbon_projects (id, code, name, description, division_code,"
                    " department_id, methodology, wetland_type, tidal, soil, boundary, area_ha, min_lon,"
                    " min_lat, max_lon, max_lat, crediting_start, crediting_end, is_demo, created_by,"
                    " created_at) VALUES (:id, :code, 'p', '', '430611', 1, 'm', 'lake', :f, 'mineral', '{}',"
                    " 1, 0, 0, 1, 1, '2018-01-01', '2038-01-01', :demo, 'x', '2024-01-01 00:00:00')"
                ),
                {"id": pid, "code": f"P{pid}", "f": False, "demo": demo},
            )
        # the demo project's first report (the loader's engine run), a later one, and another project's report
        for rid, pid in ((1, 1), (2, 1), (3, 2)):
            conn.execute(
                text(
                    "INSERT INTO carbon_monitoring_reports (id, project_id, vintage_start, vintage_end,"
                    " methodology, net_creditable_tco2e, area_ha, input_hashes, summary, status,"
                    " submitted_by, submitted_at) VALUES (:id, :pid, 2018, 2023, 'm', 1, 1, '{}', '{}',"
                    " 'verified', 'x', '2024-01-01 00:00:00')"
                ),
                {"id": rid, "pid": pid},
            )
            conn.execute(
                text(
                    "INSERT INTO carbon_report_files (report_id, name, media_type, sha256, size, content,"
                    " created_at)"
                    " VALUES (:rid, 'report.html', 'text/html', '0', 1, :c, '2024-01-01 00:00:00')"
                ),
                {"rid": rid, "c": b"x"},
            )
    upgrade(url, "carbon@carbon_0002")
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT report_id, generated FROM carbon_report_files")).all())
    engine.dispose()
    assert {k: bool(v) for k, v in rows.items()} == {1: True, 2: False, 3: False}
