"""BPMN validation with element ids, running a hand-written file (parallel gateway, timer, exclusive gateway,
script), JSON persistence that resumes exactly."""

from __future__ import annotations

import time

from govgrid.services import catalog, engine
from tests.services.conftest import DATA


def test_the_shipped_bundles_are_valid_bpmn():
    for pid in catalog.BUNDLE_FILES:
        checked = engine.check_bpmn(catalog.bundle_xml(pid))
        assert checked.problems == [] and checked.process_ids == [pid]


def test_problems_name_their_element_ids():
    checked = engine.check_bpmn((DATA / "imports_os.bpmn").read_bytes())
    by_id = {p.element_id for p in checked.problems}
    assert {"lane_x", "lane_free", "task_y", "run_os", "f4"} <= by_id
    assert any("wizard" in p.message for p in checked.problems if p.element_id == "lane_x")
    assert not checked.process_ids


def test_parse_errors_and_entities_are_refused():
    assert engine.check_bpmn(b"<bpmn:definitions").problems
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
        b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">&a;</definitions>'
    )
    checked = engine.check_bpmn(bomb)
    assert checked.problems and not checked.process_ids
    assert engine.check_bpmn(b"<html/>").problems[0].message.startswith("不是 BPMN")


def test_parallel_timer_file_runs_and_resumes_from_json():
    xml = (DATA / "parallel_timer.bpmn").read_bytes()
    wf = engine.start(xml, "parallel_timer", {"form": {"amount": 150}})
    assert [t.spec for t in engine.ready_tasks(wf)] == ["task_a"] and engine.has_waiting_timers(wf)
    state = engine.dumps(wf)
    assert state.lstrip().startswith("{")  # JSON, never pickle
    wf = engine.loads(state)
    time.sleep(1.05)
    assert engine.refresh_timers(wf) == ["wait"]
    for t in engine.ready_tasks(wf):
        engine.complete(wf, t.id, {"decision": "approve"})
        wf = engine.loads(engine.dumps(wf))
    assert engine.is_completed(wf)
    assert engine.data(wf)["fee"] == 300 and engine.data(wf)["big"] is True


def test_completing_a_task_that_is_not_ready_is_refused():
    wf = engine.start(catalog.bundle_xml("birth_bundle"), "birth_bundle", {"form": {}})
    try:
        engine.complete(wf, "not-a-task", {})
    except engine.BpmnRunError as exc:
        assert "任务" in str(exc)
    else:
        raise AssertionError("expected BpmnRunError")
