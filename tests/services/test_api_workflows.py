"""POST /api/v1/services/workflows: administrators upload BPMN 2.0; 201 with ids, 422 with every problem."""

from __future__ import annotations

from sqlalchemy import func, select

from govgrid.services.models import ProcessDefinition
from tests.services.conftest import DATA


def _post(client, headers, name: str, content: bytes):
    return client.post("/api/v1/services/workflows", headers=headers, files={"file": (name, content)})


def test_admin_uploads_a_hand_written_file_with_a_parallel_gateway_and_a_timer(client, login, world):
    r = _post(client, login("nh_gov"), "p.bpmn", (DATA / "parallel_timer.bpmn").read_bytes())
    assert r.status_code == 201, r.text
    assert r.json()["process_ids"] == ["parallel_timer"]
    assert r.json()["processes"][0]["lanes"]["tax:approver 税务"]["role"] == "approver"


def test_a_script_importing_os_is_refused_with_element_ids_and_nothing_stored(client, login, world, db):
    before = db.scalar(select(func.count()).select_from(ProcessDefinition))
    r = _post(client, login("nh_gov"), "evil.bpmn", (DATA / "imports_os.bpmn").read_bytes())
    assert r.status_code == 422
    body = r.json()["error"]
    where = {d["loc"][1] for d in body["details"]}
    assert {"run_os", "lane_x", "lane_free", "task_y", "f4"} <= where
    assert any("os" in d["msg"] for d in body["details"] if d["loc"][1] == "run_os")
    assert db.scalar(select(func.count()).select_from(ProcessDefinition)) == before


def test_not_xml_is_a_422_and_others_are_refused(client, login, world):
    assert _post(client, login("nh_gov"), "x.bpmn", b"not xml at all").status_code == 422
    assert _post(client, login("nh_gov"), "x.bpmn", b"").status_code == 422
    assert _post(client, {}, "p.bpmn", b"<x/>").status_code == 401
    assert (
        _post(client, login("sv_health"), "p.bpmn", (DATA / "parallel_timer.bpmn").read_bytes()).status_code
        == 403
    )
    assert client.get("/api/v1/services/workflows", headers=login("sv_citizen")).status_code == 403
