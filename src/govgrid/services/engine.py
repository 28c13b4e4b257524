"""BPMN 2.0 through SpiffWorkflow: validate an uploaded file, start a process, list and complete user tasks,
fire timers, and (de)serialise the whole state as JSON (never pickle) so a restart resumes exactly.

Lanes bind user tasks to department roles by their name: `<line code>:<role> <label>`, e.g.
`public_security:approver 户口登记` (the task goes to the approvers of the 公安 department of the deciding
division). Every expression and script runs in `safety.RestrictedEnvironment`.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from govgrid.core.departments.catalogue import LINES
from govgrid.core.identity.enums import Role
from govgrid.services.safety import RestrictedEnvironment, check_expression, check_script

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
MAX_BPMN_BYTES = 1_000_000
LINE_CODES = frozenset(code for code, _zh, _en in LINES)
ENGINE = PythonScriptEngine(environment=RestrictedEnvironment())
SERIALIZER = BpmnWorkflowSerializer()


class BpmnRunError(Exception):
    """A process could not run a step (a condition failed, a task is not ready); the state is unchanged."""


@dataclass
class Problem:
    """One problem of an uploaded BPMN file, with the element it is about."""

    element_id: str
    message: str


@dataclass
class LaneBinding:
    """A lane's department role: the line (条) and the role in the deciding division's department."""

    line: str
    role: str
    label: str


@dataclass
class Checked:
    """The outcome of validating a BPMN file: its processes and lanes, or its problems."""

    process_ids: list[str] = field(default_factory=list)
    process_names: dict[str, str] = field(default_factory=dict)
    lanes: dict[str, LaneBinding] = field(default_factory=dict)  # lane name -> binding
    problems: list[Problem] = field(default_factory=list)
    sha256: str = ""


def parse_lane_name(name: str) -> tuple[str, str, str] | None:
    """(line, role, label) of a lane name `<line>:<role> <label>`, or None when it names no binding."""
    head, _, label = (name or "").strip().partition(" ")
    line, sep, role = head.partition(":")
    if not sep or not line or not role:
        return None
    return line, role, label.strip()


def _q(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def _xml_root(data: bytes) -> Any:
    """The parsed XML with entities, DTDs and network access off (no XXE, no entity bombs)."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
    )
    return etree.fromstring(data, parser=parser)


def _lane_problems(root: Any, checked: Checked) -> None:
    for process in root.iter(_q("process")):
        in_lane: set[str] = set()
        lanes = list(process.iter(_q("lane")))
        for lane in lanes:
            lane_id, name = lane.get("id", ""), lane.get("name", "")
            refs = [r.text.strip() for r in lane.iter(_q("flowNodeRef")) if r.text]
            in_lane.update(refs)
            parsed = parse_lane_name(name)
            if parsed is None:
                checked.problems.append(
                    Problem(
                        lane_id,
                        f"泳道“{name}”未绑定部门角色，名称应为“条线代码:角色 说明” "
                        "(unbound lane: name it '<line>:<role> <label>')",
                    )
                )
                continue
            line, role, label = parsed
            if line not in LINE_CODES:
                checked.problems.append(Problem(lane_id, f"未知的条线 {line} (unknown line)"))
            if role not in Role.__members__:
                checked.problems.append(Problem(lane_id, f"未知的角色 {role} (unknown role)"))
            checked.lanes[name] = LaneBinding(line, role, label)
        for task in process.iter(_q("userTask"), _q("manualTask")):
            if task.get("id") not in in_lane:
                checked.problems.append(
                    Problem(
                        task.get("id", ""),
                        "用户任务不在任何泳道中，无法分派到部门角色 (user task in no lane)",
                    )
                )


def _code_problems(root: Any, checked: Checked) -> None:
    for el in root.iter(_q("serviceTask"), _q("sendTask"), _q("businessRuleTask"), _q("callActivity")):
        checked.problems.append(
            Problem(
                el.get("id", ""), f"不支持 {etree.QName(el).localname} (this element type is not supported)"
            )
        )
    for task in root.iter(_q("scriptTask")):
        script = task.find(_q("script"))
        for msg in check_script(script.text or "" if script is not None else ""):
            checked.problems.append(Problem(task.get("id", ""), msg))
    for flow in root.iter(_q("sequenceFlow")):
        cond = flow.find(_q("conditionExpression"))
        if cond is not None and (cond.text or "").strip():
            for msg in check_expression(cond.text or ""):
                checked.problems.append(Problem(flow.get("id", ""), msg))
    for timer in root.iter(_q("timerEventDefinition")):
        event = timer.getparent()
        for kind in ("timeDate", "timeDuration", "timeCycle"):
            el = timer.find(_q(kind))
            if el is not None:
                for msg in check_expression(el.text or ""):
                    checked.problems.append(Problem(event.get("id", ""), f"{kind}: {msg}"))


def check_bpmn(data: bytes) -> Checked:
    """Validate a BPMN 2.0 file: XML, the engine's parse, lanes bound to known roles, restricted code."""
    checked = Checked(sha256=hashlib.sha256(data).hexdigest())
    if len(data) > MAX_BPMN_BYTES:
        checked.problems.append(Problem("", f"文件超过 {MAX_BPMN_BYTES // 1000} KB (file too large)"))
        return checked
    try:
        root = _xml_root(data)
    except etree.XMLSyntaxError as exc:
        checked.problems.append(Problem("", f"XML 解析错误：{exc} (XML parse error)"))
        return checked
    if etree.QName(root).namespace != BPMN_NS or etree.QName(root).localname != "definitions":
        checked.problems.append(Problem(root.get("id", ""), "不是 BPMN 2.0 definitions 文档 (not BPMN 2.0)"))
        return checked
    processes = [p for p in root.iter(_q("process")) if p.get("isExecutable", "true") != "false"]
    if not processes:
        checked.problems.append(Problem(root.get("id", ""), "文件中没有可执行流程 (no executable process)"))
    _lane_problems(root, checked)
    _code_problems(root, checked)
    if checked.problems:
        return checked
    try:
        parser = BpmnParser()
        parser.add_bpmn_xml(etree.ElementTree(root), filename="upload.bpmn")
        for pid in parser.get_process_ids():
            parser.get_spec(pid)
            checked.process_ids.append(pid)
    except ValidationException as exc:
        checked.problems.append(Problem(getattr(exc, "id", "") or "", f"BPMN 校验错误：{exc.args[0]}"))
    except (SpiffWorkflowException, ValueError, KeyError) as exc:
        checked.problems.append(Problem("", f"BPMN 解析错误：{exc}"))
    for p in processes:
        checked.process_names[p.get("id", "")] = p.get("name") or p.get("id", "")
    return checked


@lru_cache(maxsize=64)
def _parser_for(xml: bytes) -> BpmnParser:
    parser = BpmnParser()
    parser.add_bpmn_xml(etree.ElementTree(_xml_root(xml)), filename="stored.bpmn")
    return parser


@dataclass
class ReadyTask:
    """A user task waiting for a department role."""

    id: str
    spec: str
    name: str
    lane: str
    line: str
    role: str


def start(xml: bytes, process_id: str, data: dict[str, Any]) -> BpmnWorkflow:
    """A new workflow of the process with `data` as its initial task data, run to its first wait."""
    spec = _parser_for(xml).get_spec(process_id)
    wf = BpmnWorkflow(spec, script_engine=ENGINE)
    for task in wf.get_tasks(state=TaskState.READY):
        task.data.update(data)
    _run_engine(wf)
    return wf


def _run_engine(wf: BpmnWorkflow) -> None:
    try:
        wf.do_engine_steps()
    except SpiffWorkflowException as exc:
        raise BpmnRunError(str(exc)) from exc


def dumps(wf: BpmnWorkflow) -> str:
    """The workflow's whole state as JSON (SpiffWorkflow's serializer)."""
    return str(SERIALIZER.serialize_json(wf))


# Restored process specs by the SHA-256 of their canonical JSON: a spec is never changed by running a
# workflow, so restoring it once per process (not once per step) halves the cost of a load.
SPEC_CACHE: dict[str, Any] = {}
SPEC_CACHE_SIZE = 256
CACHED_SPEC = "GovgridCachedSpec"
SERIALIZER.registry.convert_from_dict[CACHED_SPEC] = lambda dct, **_kw: SPEC_CACHE[dct["key"]]


def loads(state: str) -> BpmnWorkflow:
    """A workflow restored from its JSON state, with the restricted script engine."""
    dct = json.loads(state, cls=SERIALIZER.json_decoder_cls)
    SERIALIZER.migrate(dct)
    spec = dct["spec"]
    key = hashlib.sha256(json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    if key not in SPEC_CACHE:
        if len(SPEC_CACHE) >= SPEC_CACHE_SIZE:
            SPEC_CACHE.clear()
        SPEC_CACHE[key] = SERIALIZER.registry.restore(copy.deepcopy(spec))
    dct["spec"] = {"typename": CACHED_SPEC, "key": key}
    wf = SERIALIZER.from_dict(dct)
    wf.script_engine = ENGINE
    return wf


def ready_tasks(wf: BpmnWorkflow) -> list[ReadyTask]:
    """The user tasks that are ready, with their lanes' bindings."""
    out = []
    for t in wf.get_tasks(state=TaskState.READY, manual=True):
        lane = t.task_spec.lane or ""
        parsed = parse_lane_name(lane) or ("", "", "")
        out.append(
            ReadyTask(
                str(t.id),
                t.task_spec.name,
                t.task_spec.bpmn_name or t.task_spec.name,
                lane,
                parsed[0],
                parsed[1],
            )
        )
    return out


def complete(wf: BpmnWorkflow, task_id: str, result: dict[str, Any]) -> None:
    """Complete a ready user task with its result (kept under the task's id) and run the engine on."""
    target = next((t for t in wf.get_tasks(state=TaskState.READY, manual=True) if str(t.id) == task_id), None)
    if target is None:
        raise BpmnRunError("任务不存在或已办理 (the task is not ready)")
    target.data[target.task_spec.name] = result
    try:
        target.run()
    except SpiffWorkflowException as exc:
        raise BpmnRunError(str(exc)) from exc
    _run_engine(wf)


def refresh_timers(wf: BpmnWorkflow) -> list[str]:
    """Fire the timers that are due and run on; the ids of the timer events that fired."""
    before = {str(t.id) for t in wf.get_tasks(state=TaskState.WAITING)}
    try:
        wf.refresh_timers()
    except SpiffWorkflowException as exc:
        raise BpmnRunError(str(exc)) from exc
    _run_engine(wf)
    after = {str(t.id) for t in wf.get_tasks(state=TaskState.WAITING)}
    fired = before - after
    return sorted(t.task_spec.name for t in wf.get_tasks(state=TaskState.COMPLETED) if str(t.id) in fired)


def has_waiting_timers(wf: BpmnWorkflow) -> bool:
    """True while a timer event is waiting."""
    return any(
        "Timer" in type(t.task_spec.event_definition).__name__
        for t in wf.get_tasks(state=TaskState.WAITING)
        if hasattr(t.task_spec, "event_definition")
    )


def is_completed(wf: BpmnWorkflow) -> bool:
    """True once the process reached its end."""
    return bool(wf.is_completed())


def cancel(wf: BpmnWorkflow) -> None:
    """Cancel the process (a refusal or a withdrawal)."""
    wf.cancel()


def data(wf: BpmnWorkflow) -> dict[str, Any]:
    """The workflow's data (the results of completed tasks)."""
    return dict(wf.data)
