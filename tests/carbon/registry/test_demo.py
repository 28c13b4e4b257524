"""The Junshan demo end to end: engine run -> project -> verified report -> issuance -> transfer ->
retirement, a refused second issuance that leaves nothing behind, and idempotence."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import func, select

from govgrid.carbon import demo
from govgrid.carbon.models import (
    CarbonAccount,
    CarbonProject,
    CreditBlock,
    Issuance,
    MonitoringReport,
    ReportFile,
)
from govgrid.carbon.services import accounts, credits, public
from govgrid.core.audit import service as audit
from govgrid.core.modules import DemoContext
from tests.live import DEMO_PASSWORD


def _counts(db):
    return tuple(
        db.scalar(select(func.count()).select_from(m))
        for m in (CarbonProject, MonitoringReport, Issuance, CreditBlock, CarbonAccount)
    )


def test_junshan_demo_runs_end_to_end_and_is_idempotent(db, client):
    ctx = DemoContext(password=DEMO_PASSWORD)
    demo.load_demo(db, ctx)
    db.flush()
    project = db.scalar(select(CarbonProject).where(CarbonProject.name == demo.PROJECT_NAME))
    assert project is not None and project.division_code == "430611" and project.is_demo
    report = db.scalar(select(MonitoringReport).where(MonitoringReport.project_id == project.id))
    assert (
        abs(project.area_ha - report.area_ha) < 5
    )  # the project is the 3 km x 3 km scene the engine accounts
    assert report.status == "verified" and report.verifier_name
    assert {"config", "image_bas", "image_alt", "lidar", "soil_samples"} <= set(report.input_hashes)
    names = set(db.scalars(select(ReportFile.name).where(ReportFile.report_id == report.id)))
    assert {"report.html", "fig_maps.png", "landcover_2018.tif", "landcover_2023.tif"} <= names
    iss = db.scalar(select(Issuance).where(Issuance.project_id == project.id))
    # issued before the buffer (the methodology's deduction added back), the pool holding its share once
    assert iss is not None and iss.quantity == credits.issuable_quantity(report) > 0
    assert iss.quantity == math.floor(report.net_creditable_tco2e + report.summary["credit"]["buffer_tco2e"])
    enterprise = db.scalar(select(CarbonAccount).where(CarbonAccount.holder_name == demo.ENTERPRISE))
    active, retired = accounts.balances(db, account_id=enterprise.id)
    assert active > 0 and retired > 0
    pub = public.public_registry(db)
    assert {r["beneficiary"] for r in pub["retirements"]} >= {demo.ENTERPRISE, "君山区人民政府"}
    assert any("second issuance refused" in line for line in ctx.printed), ctx.printed
    assert (
        db.scalar(select(func.count()).select_from(CarbonProject).where(CarbonProject.name.like("重复申报%")))
        == 0
    )
    assert audit.verify(db).ok
    before = _counts(db)
    demo.load_demo(db, DemoContext(password=DEMO_PASSWORD))
    db.flush()
    assert _counts(db) == before
    r = client.get("/carbon/registry")
    assert r.status_code == 200 and demo.ENTERPRISE in r.text


def test_the_demo_run_is_cached_per_engine_version(tmp_path, monkeypatch):
    """The engine's demo run is kept in the cache folder: a second load reads it back (paths moved to the
    cache) instead of running the engine again."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    runs = []

    def run(work):
        out = work / "output"
        (out / "maps").mkdir(parents=True)
        (out / "maps" / "landcover_2023.tif").write_bytes(b"tif")
        (out / "report.html").write_text("<p>报告</p>")
        data = {
            "project": "Junshan",
            "methodology": "ipcc_inland_wetland",
            "vintage_start": 2018,
            "vintage_end": 2023,
            "area_ha": 899.96,
            "net_creditable_tco2e": 100.5,
            "annual_sink_tc": 1.0,
            "annual_sink_tco2e": 3.67,
            "interval_90_tco2e": [1.0, 2.0],
            "report_html": str(out / "report.html"),
            "report_pdf": str(out / "report.pdf"),
            "result_json": str(out / "result.json"),
            "input_hashes": {"config": "ab"},
            "parameters": {},
            "rasters": {"landcover_2023": str(out / "maps" / "landcover_2023.tif")},
        }
        (out / "result.json").write_text(json.dumps(data))
        runs.append(work)
        return SimpleNamespace(**data)

    first = demo.demo_assessment(tmp_path / "a", run=run)
    second = demo.demo_assessment(tmp_path / "b", run=run)
    assert len(runs) == 1  # the second load did not run the engine
    for result in (first, second):
        assert result.net_creditable_tco2e == 100.5 and result.interval_90_tco2e == (1.0, 2.0)
        assert Path(result.rasters["landcover_2023"]).read_bytes() == b"tif"
        assert str(tmp_path / "cache") in result.report_html
