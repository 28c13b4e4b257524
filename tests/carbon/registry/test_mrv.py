"""The MRV report for people: Chinese, one area figure, no JSON or paths; the PDF has tables and renders."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from govgrid.carbon.models import MonitoringReport
from govgrid.carbon.services import mrv, reports
from govgrid.core.audit.service import SystemActor
from tests.carbon.registry.conftest import landcover_tif

P = "/api/v1/carbon"
SUMMARY = {
    "annual_sink_tco2e": 3619.2,
    "interval_90_tco2e": [1012.5, 1460.1],
    "stocks_tc": {"2018": 50123.4, "2023": 50460.0},
    "credit": {
        "project_removals_tco2e": 1500.0,
        "baseline_removals_tco2e": 0.0,
        "leakage_tco2e": 75.0,
        "uncertainty_rel": 0.18,
        "allowed_uncertainty": 0.1,
        "uncertainty_deduction_tco2e": 114.0,
        "buffer_tco2e": 131.1,
        "net_creditable_tco2e": 1234.7,
    },
    "areas_ha": {
        "2018": {"1": 100.0, "3": 60.0, "6": 81.5},
        "2023": {"1": 100.0, "3": 90.0, "6": 51.5},
    },
    "pools": {
        y: {
            k: {"c_above": 5.0 * int(k), "c_below": 1.0, "c_soil": 40.0, "c_dead": 0.5, "agb_t_ha": 10.0}
            for k in ("1", "3", "6")
        }
        for y in ("2018", "2023")
    },
    "monte_carlo": {"n": 5000, "half_width_rel": 0.18, "p05": 1012.5, "p95": 1460.1},
    "pixel_area_ha": 241.5,
}


@pytest.fixture()
def mrv_report(flow, db):
    """An issued report with the engine's figures and its two land-cover rasters attached."""
    p = flow.project()
    rep = flow.report(p["id"], summary=SUMMARY)
    a = np.ones((20, 20), np.uint8)
    a[5:10, :] = 3
    a[15:, :] = 6
    b = a.copy()
    b[15:, :10] = 3
    for year, arr in ((2018, a), (2023, b)):
        reports.add_report_file(
            db,
            actor=SystemActor("test"),
            report_id=rep["id"],
            name=f"landcover_{year}.tif",
            content=landcover_tif(arr),
            generated=True,
        )
    flow.verify(rep["id"])
    assert flow.issue(rep["id"]).status_code == 201
    return p, rep


def test_page_is_chinese_with_one_area_figure(client, login, mrv_report, db):
    _p, rep = mrv_report
    r = client.get(f"/carbon/reports/{rep['id']}/mrv", headers=login("jsh_forestry"))
    assert r.status_code == 200, r.text
    text = re.sub(r"<script.*?</script>|<[^>]+>", " ", r.text, flags=re.S)
    area = f"{db.get(MonitoringReport, rep['id']).project.area_ha:,.2f}"
    assert area in text and "EPSG:32649" in text
    # the pixel area appears once, in the reconciliation, never as a second project area
    assert text.count("241.50") == 1 and "面积核对" in text
    words_seen = ("土地覆被变化", "碳库", "蒙特卡洛", "式 6", "IPCC", "附录", "SHA-256", "缓冲池", "芦苇沼泽")
    for words in words_seen:
        assert words in text, words
    # no JSON, no server paths, no developer English
    assert "{" not in text and "/tmp" not in text and "net_creditable" not in text and "c_above" not in text


def test_figures_and_scope(client, login, mrv_report):
    _, rep = mrv_report
    for name in ("map", "landcover"):
        r = client.get(f"/carbon/reports/{rep['id']}/mrv/{name}.png", headers=login("jsh_forestry"))
        assert r.status_code == 200 and r.content.startswith(b"\x89PNG")
    missing = client.get(f"/carbon/reports/{rep['id']}/mrv/x.png", headers=login("jsh_forestry"))
    assert missing.status_code == 404
    # another division's operator sees nothing; anonymous callers are sent to the login
    assert client.get(f"{P}/reports/{rep['id']}/mrv.pdf", headers=login("nh_forestry")).status_code == 403
    assert client.get(f"{P}/reports/{rep['id']}/mrv.pdf").status_code == 401


def test_pdf_has_tables_and_renders(client, login, mrv_report, tmp_path: Path):
    _, rep = mrv_report
    r = client.get(f"{P}/reports/{rep['id']}/mrv.pdf", headers=login("jsh_forestry"))
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert r.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "mrv.pdf"
    pdf.write_bytes(r.content)
    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils (pdftoppm) is not installed")
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 2
    # each page has ink (text and table rules), not a blank render
    from PIL import Image

    for page in pages:
        img = np.asarray(Image.open(page).convert("L"))
        assert (img < 128).mean() > 0.005, page.name
    if shutil.which("pdftotext"):
        out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True).stdout.decode()
        assert "项目面积" in out and "碳库" in out and "SHA-256" in out


def test_document_has_no_raw_data(db, mrv_report, carbon_users):
    _, rep = mrv_report
    from govgrid.core.identity import service as identity

    principal = identity.load_user_principal(db, carbon_users["jsh_forestry"].id)
    doc = mrv.report_document(db, principal=principal, report_id=rep["id"])
    flat = mrv.document_json(doc)
    assert "c_above" not in flat and "input_hashes" not in flat
    headings = [s["heading"] for s in doc["sections"]]
    assert headings[0].startswith("一、") and headings[-1].startswith("附录")
