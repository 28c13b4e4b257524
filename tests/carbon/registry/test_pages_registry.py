"""The registry's forms: each action by the role that does it, bad input refused with nothing written,
anonymous callers sent to the login, another division's data out of reach."""

from __future__ import annotations

import io
import json
import zipfile
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import box
from sqlalchemy import func, select

from govgrid.carbon.models import AssessmentRun, CarbonProject, CreditBlock, MonitoringReport
from govgrid.carbon.services import assessments
from tests.carbon.registry.conftest import JUNSHAN
from tests.conftest import cookie_login, csrf_token

FORM = {
    "name": "君山表单项目",
    "department_code": "430611-forestry",
    "wetland_type": "lake",
    "risk_rating": "medium",
    "crediting_start": "2018-01-01",
    "crediting_end": "2037-12-31",
}


def _geojson(geom=JUNSHAN) -> bytes:
    doc = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": geom, "properties": {}}]}
    return json.dumps(doc).encode()


def _shapefile_zip(tmp: Path) -> bytes:
    """Two parcels as an ESRI Shapefile in UTM 49N (the form reprojects it to WGS 84)."""
    import pyogrio.raw

    to_utm = Transformer.from_crs(4326, 32649, always_xy=True)
    x, y = to_utm.transform(112.72, 29.47)
    parcels = [box(x, y, x + 500, y + 800), box(x + 700, y, x + 1200, y + 800)]
    path = tmp / "parcels.shp"
    pyogrio.raw.write(
        str(path),
        np.array([shapely.to_wkb(p) for p in parcels], dtype=object),
        [np.array(["A", "B"], dtype=object)],
        ["name"],
        driver="ESRI Shapefile",
        geometry_type="Polygon",
        crs="EPSG:32649",
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for part in tmp.glob("parcels.*"):
            z.write(part, part.name)
    return buf.getvalue()


def _count(db, model):
    return db.scalar(select(func.count()).select_from(model))


def test_anonymous_callers_are_sent_to_the_login(client):
    for url in ("/carbon/projects/new", "/carbon/accounts", "/carbon/runs/1", "/carbon/reports/1/mrv"):
        r = client.get(url, follow_redirects=False)
        assert r.status_code in (303, 307) and "/login" in r.headers["location"], url
    r = client.post("/carbon/projects/new", data=FORM, follow_redirects=False)
    assert r.status_code in (303, 307, 403)


def test_register_with_a_geojson_boundary_check_then_register(client, db, carbon_users):
    cookie_login(client, db, "jsh_forestry")
    token = csrf_token(client, "/carbon/projects/new")
    page = client.get("/carbon/projects/new").text
    assert "登记新项目" in page and "君山区林业局" in page
    files = {"boundary_file": ("junshan.geojson", _geojson(), "application/geo+json")}
    r = client.post(
        "/carbon/projects/new", data=FORM | {"csrf_token": token, "action": "preview"}, files=files
    )
    assert r.status_code == 200 and "边界核对" in r.text and "241.86" in r.text and "EPSG:32649" in r.text
    assert _count(db, CarbonProject) == 0
    # the checked boundary travels in the form: registering needs no second upload
    hidden = r.text.split('name="boundary_geojson" value="')[1].split('"')[0]
    import html

    data = FORM | {"csrf_token": token, "action": "register", "boundary_geojson": html.unescape(hidden)}
    r = client.post("/carbon/projects/new", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    project = db.scalar(select(CarbonProject))
    assert (
        project.area_ha == 241.8597 and project.area_crs == "EPSG:32649" and project.risk_rating == "medium"
    )
    page = client.get(r.headers["location"]).text
    assert "241.86" in page and "已登记" in page


def test_register_with_a_zipped_shapefile_of_parcels(client, login, db, carbon_users, tmp_path):
    files = {"boundary_file": ("parcels.zip", _shapefile_zip(tmp_path), "application/zip")}
    r = client.post(
        "/carbon/projects/new", data=FORM, files=files, headers=login("jsh_forestry"), follow_redirects=False
    )
    assert r.status_code == 303, r.text
    project = db.scalar(select(CarbonProject))
    assert project.parcels is not None and json.loads(project.parcels)["type"] == "MultiPolygon"
    assert abs(project.area_ha - 80.0) < 0.01  # two parcels of 40 ha on the projected CRS


def test_bad_registrations_are_refused_and_nothing_is_written(client, login, db, carbon_users):
    h = login("jsh_forestry")
    point = {"type": "Point", "coordinates": [112.72, 29.47]}
    cases = [
        (FORM, None, "请上传项目边界文件"),
        (FORM, ("b.geojson", _geojson(point), "application/geo+json"), "不是面"),
        (FORM, ("b.geojson", b"{not json", "application/geo+json"), "GeoJSON"),
        (FORM, ("b.zip", b"PK\x03\x04junk", "application/zip"), ""),
        (FORM | {"crediting_end": "2010-01-01"}, ("b.geojson", _geojson(), "application/geo+json"), "计入期"),
        (FORM | {"crediting_start": "soon"}, ("b.geojson", _geojson(), "application/geo+json"), "YYYY-MM-DD"),
        (FORM | {"risk_rating": "extreme"}, ("b.geojson", _geojson(), "application/geo+json"), "风险等级"),
    ]
    for data, file, words in cases:
        files = {"boundary_file": file} if file else None
        r = client.post("/carbon/projects/new", data=data, files=files, headers=h)
        assert 400 <= r.status_code < 500, (data, r.status_code)
        assert words in r.text and 'id="form-errors"' in r.text, (words, r.text[-2000:])
    # another division's department is refused
    r = client.post(
        "/carbon/projects/new",
        data=FORM,
        files={"boundary_file": ("b.geojson", _geojson(), "application/geo+json")},
        headers=login("nh_forestry"),
    )
    assert r.status_code == 403
    assert _count(db, CarbonProject) == 0


def test_assessment_run_shows_progress_and_submits_the_report(client, login, flow, db, monkeypatch, tmp_path):
    p = flow.project()
    launched = []
    monkeypatch.setattr(assessments, "launch", launched.append)
    r = client.post(f"/carbon/projects/{p['id']}/runs", headers=login("jsh_forestry"), follow_redirects=False)
    assert r.status_code == 303 and launched
    run_id = launched[0]
    assert r.headers["location"] == f"/carbon/runs/{run_id}"
    # a second run of the same project waits for the first
    r = client.post(f"/carbon/projects/{p['id']}/runs", headers=login("jsh_forestry"), follow_redirects=False)
    assert "error=" in r.headers["location"]
    # the verifier may look but not start a run
    r = client.post(f"/carbon/projects/{p['id']}/runs", headers=login("yy_verifier"), follow_redirects=False)
    assert "error=" in r.headers["location"]
    out = tmp_path / "out"
    out.mkdir()
    (out / "result.json").write_text("{}")
    fake = SimpleNamespace(
        vintage_start=2018,
        vintage_end=2023,
        methodology="ipcc_inland_wetland",
        net_creditable_tco2e=500.5,
        area_ha=241.5,
        input_hashes={"config": "a" * 64},
        annual_sink_tco2e=100.0,
        interval_90_tco2e=(400, 600),
        stocks={
            "total_tc": {2018: 1.0, 2023: 2.0},
            "areas_ha": {2018: {1: 241.5}, 2023: {1: 241.5}},
            "pools": {2018: {1: {"c_soil": 40.0}}, 2023: {1: {"c_soil": 41.0}}},
        },
        credit={"net_creditable_tco2e": 500.5},
        classification={"overall_accuracy": 0.9},
        monte_carlo={"n": 100, "half_width_rel": 0.1},
        report_html=str(out / "report.html"),
    )
    import govgrid.carbon.engine.assessment as engine_assessment
    import govgrid.carbon.engine.demo as engine_demo

    monkeypatch.setattr(engine_demo, "generate_demo_inputs", lambda folder: folder)
    monkeypatch.setattr(engine_assessment, "run_assessment", lambda config, out_dir: fake)

    @contextmanager
    def scope():
        yield db
        db.flush()

    assessments.execute_run(run_id, scope=scope)
    run = db.get(AssessmentRun, run_id)
    assert (run.status, run.progress, run.report_id is not None) == ("done", 100, True)
    status = client.get(f"/carbon/runs/{run_id}/status", headers=login("jsh_forestry")).json()
    assert status["label"] == "已完成" and status["report_id"] == run.report_id
    assert "核算进度" in client.get(f"/carbon/runs/{run_id}", headers=login("jsh_forestry")).text
    # another division sees no run
    assert client.get(f"/carbon/runs/{run_id}/status", headers=login("nh_forestry")).status_code == 403
    report = db.get(MonitoringReport, run.report_id)
    assert report.summary["pixel_area_ha"] == 241.5 and "result.json" in ["result.json"]


def test_a_failed_run_keeps_a_readable_message(flow, db, monkeypatch):
    p = flow.project()
    from govgrid.core.audit.service import SystemActor

    run = assessments.start_run(db, actor=SystemActor("t"), project_id=p["id"])
    import govgrid.carbon.engine.demo as engine_demo

    def boom(folder):
        raise OSError("/srv/secret/path unreadable")

    monkeypatch.setattr(engine_demo, "generate_demo_inputs", boom)

    @contextmanager
    def scope():
        yield db
        db.flush()

    assessments.execute_run(run.id, scope=scope)
    assert run.status == "failed" and "/srv" not in run.message and "失败" in run.message


def test_verify_issue_correct_reverse_transfer_retire_in_forms(client, login, flow, db):
    p = flow.project()
    rep = flow.report(p["id"])
    page = client.get(f"/carbon/reports/{rep['id']}", headers=login("yy_verifier")).text
    assert 'id="verify-form"' in page and 'id="issue-form"' not in page
    # the proponent sees no verification form; another division sees nothing
    assert (
        'id="verify-form"'
        not in client.get(f"/carbon/reports/{rep['id']}", headers=login("jsh_forestry")).text
    )
    assert client.get(f"/carbon/reports/{rep['id']}", headers=login("nh_forestry")).status_code == 403
    # a qualified opinion without findings is refused with the reason
    r = client.post(
        f"/carbon/reports/{rep['id']}/verify",
        data={"opinion": "qualified", "statement": "x"},
        headers=login("yy_verifier"),
        follow_redirects=False,
    )
    assert "error=" in r.headers["location"]
    r = client.post(
        f"/carbon/reports/{rep['id']}/verify",
        data={
            "opinion": "qualified",
            "statement": "数据可复现",
            "findings": "样点偏少 | 下期加密\n\n边界有细碎多边形",
        },
        headers=login("yy_verifier"),
        follow_redirects=False,
    )
    assert "ok=" in r.headers["location"]
    report = db.get(MonitoringReport, rep["id"])
    assert report.verification_opinion == "qualified" and len(report.verification_findings) == 2
    admin = login("hn_registry")
    assert 'id="issue-form"' in client.get(f"/carbon/reports/{rep['id']}", headers=admin).text
    r = client.post(
        f"/carbon/reports/{rep['id']}/issue", data={"quantity": "lots"}, headers=admin, follow_redirects=False
    )
    assert "error=" in r.headers["location"] and _count(db, CreditBlock) == 0
    r = client.post(
        f"/carbon/reports/{rep['id']}/issue", data={"quantity": ""}, headers=admin, follow_redirects=False
    )
    assert "ok=" in r.headers["location"]
    page = client.get(r.headers["location"], headers=admin).text
    assert "已签发 1234 吨，其中 185 吨存入缓冲池" in page
    r = client.post(
        f"/carbon/reports/{rep['id']}/correct",
        data={"corrected_tco2e": "1200", "reason": "复核"},
        headers=admin,
        follow_redirects=False,
    )
    assert "ok=" in r.headers["location"]
    r = client.post(
        f"/carbon/projects/{p['id']}/reversal",
        data={"quantity": "50", "reason": "火灾"},
        headers=admin,
        follow_redirects=False,
    )
    assert "ok=" in r.headers["location"]
    page = client.get(f"/carbon/projects/{p['id']}", headers=admin).text
    assert "已作废" in page and "补偿分录" in page
    # the proponent transfers and retires in its account's forms
    acc = db.scalar(
        select(CreditBlock.account_id)
        .where(CreditBlock.project_id == p["id"])
        .order_by(CreditBlock.serial_start)
    )
    ext = client.post(
        "/api/v1/carbon/accounts", json={"holder_name": "某纸业", "division_code": "430600"}, headers=admin
    ).json()
    h = login("jsh_forestry")
    assert "转让" in client.get(f"/carbon/accounts/{acc}", headers=h).text
    r = client.post(
        f"/carbon/accounts/{acc}/transfer",
        data={"to_account": "CA-999999", "quantity": "5"},
        headers=h,
        follow_redirects=False,
    )
    assert "error=" in r.headers["location"]
    r = client.post(
        f"/carbon/accounts/{acc}/transfer",
        data={"to_account": ext["number"].lower(), "quantity": "5"},
        headers=h,
        follow_redirects=False,
    )
    assert "ok=" in r.headers["location"], r.headers["location"]
    r = client.post(
        f"/carbon/accounts/{acc}/retire",
        data={"quantity": "3", "beneficiary": "君山区人民政府", "reason": "会议碳中和"},
        headers=h,
        follow_redirects=False,
    )
    assert r.headers["location"].startswith("/carbon/registry/certificates/")
    # the certificate is public
    client.cookies.clear()
    cert = client.get(r.headers["location"].split("?")[0])
    assert cert.status_code == 200 and "碳汇注销证明" in cert.text and "君山区人民政府" in cert.text
    assert client.get("/carbon/registry/certificates/999999").status_code == 404
    assert client.get(f"/carbon/accounts/{acc}", headers=login("nh_forestry")).status_code == 403


def test_public_exports_csv_and_json(client, login, flow):
    p, _, iss = flow.issued()
    client.post(
        "/api/v1/carbon/retirements",
        json={
            "account_id": iss["account_id"],
            "quantity": 10,
            "beneficiary": "=HYPERLINK(1)",
            "reason": "会议 13812345678",
        },
        headers=login("jsh_forestry"),
    )
    r = client.get("/api/v1/carbon/public/registry.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    text = r.content.decode("utf-8-sig")
    header = text.splitlines()[0].split(",")
    for field in (
        "serial_range",
        "vintage_start",
        "project_id",
        "methodology",
        "status",
        "retirement_beneficiary",
        "retirement_reason",
    ):
        assert field in header
    assert "'=HYPERLINK(1)" in text and "13812345678" not in text
    doc = client.get("/api/v1/carbon/public/registry.json").json()
    statuses = {rec["status"] for rec in doc["records"]}
    assert {"active", "retired"} <= statuses and any(rec["buffer_pool"] for rec in doc["records"])
    assert sum(rec["quantity"] for rec in doc["records"] if rec["project_id"] == p["code"]) == iss["quantity"]
    assert "CA-" not in json.dumps(doc)
    page = client.get("/carbon/registry")
    assert "registry.csv" in page.text and "注销证明" in page.text and "缓冲池" in page.text
