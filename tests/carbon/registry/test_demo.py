"""The Junshan demo end to end: engine run -> project -> verified report -> issuance -> transfer ->
retirement, a refused second issuance that leaves nothing behind, and idempotence."""

from __future__ import annotations

import math

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
from govgrid.carbon.services import accounts, public
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
    assert iss is not None and iss.quantity == math.floor(report.net_creditable_tco2e) > 0
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
