"""Protection alerts: wetland lost to cropland or built-up land inside a project raises tasks for two
departments."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from sqlalchemy import select

from govgrid.carbon import landcover
from govgrid.carbon.models import AlertTask, ProtectionAlert
from govgrid.carbon.services import alerts, projects
from govgrid.core.audit.service import SystemActor

from .conftest import JUNSHAN, landcover_tif

P = "/api/v1/carbon"


def test_detect_loss_counts_only_wetland_to_cropland_or_built_up():
    before = np.array([[3, 3, 4, 1], [2, 5, 6, 3], [3, 3, 3, 7]])
    after = np.array(
        [
            [6, 3, 7, 1],  # marsh->cropland, meadow->built-up
            [6, 6, 6, 5],  # mudflat->cropland; forest->cropland is not wetland loss; marsh->forest neither
            [3, 7, 3, 7],
        ]
    )  # marsh->built-up; built-up stays
    loss = landcover.detect_loss(before, after, pixel_area_ha=0.01)
    assert loss.pixels == 4
    assert loss.lost_ha == pytest.approx(0.04)
    assert loss.transitions == {"2->6": 0.01, "3->6": 0.01, "3->7": 0.01, "4->7": 0.01}
    inside = np.zeros_like(before, dtype=bool)
    inside[0, :] = True
    assert landcover.detect_loss(before, after, 0.01, inside).transitions == {"3->6": 0.01, "4->7": 0.01}


def test_detect_loss_refuses_mismatched_grids():
    with pytest.raises(ValueError):
        landcover.detect_loss(np.zeros((2, 2)), np.zeros((3, 2)), 0.01)


def _project(db):
    return projects.create_project(
        db,
        actor=SystemActor("test"),
        name="预警测试",
        department_code="430611-forestry",
        methodology="ipcc_inland_wetland",
        wetland_type="lake",
        tidal=False,
        soil="mineral",
        boundary=JUNSHAN,
        crediting_start=date(2018, 1, 1),
        crediting_end=date(2038, 1, 1),
    )


def test_alert_over_threshold_creates_tasks_for_forestry_and_ecology(db, client, login, carbon_users):
    project = _project(db)
    loss = landcover.detect_loss(np.full((10, 10), 3), np.full((10, 10), 6), pixel_area_ha=0.5)
    assert (
        alerts.raise_alert(
            db,
            actor=SystemActor("t"),
            project=project,
            epoch_from=2018,
            epoch_to=2023,
            loss=landcover.LandCoverLoss(lost_ha=0.5),
            threshold_ha=1.0,
        )
        is None
    )
    alert = alerts.raise_alert(
        db,
        actor=SystemActor("t"),
        project=project,
        epoch_from=2018,
        epoch_to=2023,
        loss=loss,
        threshold_ha=1.0,
    )
    assert alert is not None and alert.lost_ha == 50.0
    codes = sorted(
        t.department.code for t in db.scalars(select(AlertTask).where(AlertTask.alert_id == alert.id))
    )
    assert codes == ["430611-ecology_environment", "430611-forestry"]
    events = [e for e in db.info.get("pending_events", []) if e.name == "carbon.protection_alert"]
    assert events and events[-1].payload["lost_ha"] == 50.0
    db.flush()
    inbox = client.get(P + "/alerts", headers=login("jsh_forestry")).json()
    assert [t["alert_id"] for t in inbox] == [alert.id] and inbox[0]["transitions"] == {"3->6": 50.0}
    assert [t["alert_id"] for t in client.get(P + "/alerts", headers=login("jsh_ecology")).json()] == [
        alert.id
    ]
    assert client.get(P + "/alerts", headers=login("nh_forestry")).json() == []
    task_id = inbox[0]["id"]
    assert (
        client.patch(
            f"{P}/alerts/tasks/{task_id}", json={"status": "done"}, headers=login("nh_forestry")
        ).status_code
        == 403
    )
    r = client.patch(
        f"{P}/alerts/tasks/{task_id}",
        json={"status": "done", "note": "已现场核查，责令恢复"},
        headers=login("jsh_forestry"),
    )
    assert r.status_code == 200 and r.json()["status"] == "done"
    assert db.get(ProtectionAlert, alert.id).status == "open"  # the ecology task is still open
    page = client.get("/carbon/alerts", headers=login("jsh_ecology"))
    assert page.status_code == 200 and project.code in page.text


def test_landcover_check_from_report_rasters(client, login, flow):
    p = flow.project()
    rep = flow.report(p["id"])
    before = np.full((20, 20), 3, np.uint8)
    after = before.copy()
    after[:10, :] = 6  # 200 pixels x 0.01 ha = 2 ha of marsh turned to cropland
    files = [
        ("files", ("landcover_2018.tif", landcover_tif(before), "image/tiff")),
        ("files", ("landcover_2023.tif", landcover_tif(after), "image/tiff")),
    ]
    h = login("jsh_forestry")
    assert client.post(f"{P}/reports/{rep['id']}/uploads", files=files, headers=h).status_code == 201
    r = client.post(f"{P}/reports/{rep['id']}/landcover-check", json={"threshold_ha": 5}, headers=h)
    assert r.status_code == 200 and r.json()["raised"] is False and r.json()["lost_ha"] == pytest.approx(2.0)
    r = client.post(f"{P}/reports/{rep['id']}/landcover-check", json={"threshold_ha": 1}, headers=h)
    body = r.json()
    assert body["raised"] is True and body["transitions"] == {"3->6": pytest.approx(2.0)}
    assert (
        client.post(
            f"{P}/reports/{rep['id']}/landcover-check", json={"threshold_ha": -1}, headers=h
        ).status_code
        == 422
    )


def test_landcover_check_without_rasters_is_409(client, login, flow):
    p = flow.project()
    rep = flow.report(p["id"])
    r = client.post(f"{P}/reports/{rep['id']}/landcover-check", json={}, headers=login("jsh_forestry"))
    assert r.status_code == 409 and "land-cover" in r.json()["error"]["message"]
