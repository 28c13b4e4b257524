"""The services section of a solution pack (一网通办, 一地创新、多地复用): a county's service items (事项) and
"one thing" bundles (一件事) with their time limits, materials, pre-fill and the BPMN processes they run.

Content: ``{"items": {"SX-001": {"name", "kind", "line", "statutory_days", "promised_days", "materials",
"prefill", "form_fields", "members": ["SX-001", ...], "process_id", ...}}, "processes": {process_id: {"name",
"sha256", "bpmn"}}}``. Codes carry no division (``SX-410527-001`` is ``SX-001``; resource codes inside
pre-fill and materials read ``{division}``), so the pack holds codes and settings, never ids or personal data.
The adopter's mapping renames lines to its own departments (``lines``) and sets its own limits in working
days (``service_days: {"SX-001": {"promised_days": 3}}``). An item the adopter has is changed field by field,
a missing one is added; a BPMN process the deployment lacks (or holds in another version) is stored as a new
version. Uninstall restores every changed field, removes what was added (refused once an application uses
it). Registered with ``core.ports.register_pack_section`` when the module loads."""

from __future__ import annotations

import copy
import logging
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from govgrid.core import ports
from govgrid.core.audit import service as audit
from govgrid.core.departments import service as departments
from govgrid.core.departments.catalogue import LINES
from govgrid.core.errors import ConflictError, NotFoundError, ValidationFailedError
from govgrid.services import engine
from govgrid.services.models import Application, ProcessDefinition, ServiceItem
from govgrid.services.services import processes

log = logging.getLogger(__name__)
PLACEHOLDER = "{division}"
LINE_NAMES = {code: zh for code, zh, _en in LINES}
FIELDS = {
    "name": "名称",
    "kind": "类型",
    "line": "承办部门",
    "legal_basis": "设定依据",
    "statutory_days": "法定时限（工作日）",
    "promised_days": "承诺时限（工作日）",
    "on_the_spot": "即办件",
    "fee": "收费",
    "visits": "跑动次数",
    "online": "网上可办",
    "mobile": "掌上可办",
    "materials": "申请材料",
    "prefill": "数据预填",
    "form_fields": "表单字段",
    "members": "一件事包含的事项",
    "process_id": "办理流程（BPMN）",
    "certificate_type": "电子证照",
}
KIND_ZH = {"item": "事项", "bundle": "一件事"}


def item_key(code: str, division_code: str) -> str | None:
    """The pack's key of an item (its code without the division), None when the code names no division."""
    head, sep, rest = code.partition(f"-{division_code}-")
    return f"{head}-{rest}" if sep and head and rest else None


def item_code(key: str, division_code: str) -> str:
    """The code an item key gets in a division (``SX-001`` -> ``SX-140321-001``)."""
    head, _sep, rest = key.partition("-")
    return f"{head}-{division_code}-{rest}"


def _swap(value: Any, old: str, new: str) -> Any:
    """A JSON value with every string's ``old`` replaced by ``new``."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, list):
        return [_swap(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _swap(v, old, new) for k, v in value.items()}
    return value


def _own_items(session: Session, division_code: str) -> dict[str, ServiceItem]:
    """The division's own items and bundles by pack key."""
    rows = session.scalars(select(ServiceItem).where(ServiceItem.division_code == division_code))
    return {k: r for r in rows if (k := item_key(r.code, division_code)) is not None}


def _settings(item: ServiceItem, division_code: str) -> dict[str, Any]:
    """An item's settings as a pack carries them (division code replaced by the placeholder)."""
    out: dict[str, Any] = {f: copy.deepcopy(getattr(item, f)) for f in FIELDS if f != "line"}
    out["line"] = item.department.line_code
    out["members"] = [item_key(m, division_code) or m for m in item.members or []]
    for f in ("materials", "prefill"):
        out[f] = _swap(out[f], division_code, PLACEHOLDER)
    return out


def export(session: Session, *, division_code: str) -> dict[str, Any]:
    """The county's items and bundles with the BPMN processes they run, as JSON."""
    items = {k: _settings(r, division_code) for k, r in sorted(_own_items(session, division_code).items())}
    procs: dict[str, Any] = {}
    for pid in sorted({i["process_id"] for i in items.values() if i["process_id"]}):
        try:
            row = processes.latest(session, process_id=pid)
        except NotFoundError:
            continue
        procs[pid] = {"name": row.name, "sha256": row.sha256, "bpmn": row.xml.decode("utf-8")}
    return {"items": items, "processes": procs}


def _shown(field: str, value: Any) -> str:
    """A value as a person reads it in the diff."""
    if field == "line":
        return LINE_NAMES.get(str(value), str(value))
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return f"{len(value)} 项"
    if value in (None, ""):
        return "无"
    return str(value)


def _wanted(
    session: Session, division_code: str, content: dict[str, Any], mapping: dict[str, Any]
) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """The settings the pack asks for in the division after the mapping, and every problem found."""
    items = content.get("items")
    if not isinstance(items, dict) or not isinstance(content.get("processes", {}), dict):
        raise ValidationFailedError("方案包的事项配置无法读取 (the services section has no items)")
    lines = mapping.get("lines") or {}
    days = mapping.get("service_days") or {}
    own = _own_items(session, division_code)
    problems: list[dict[str, Any]] = []
    out: dict[str, dict[str, Any]] = {}
    for key, settings in sorted(items.items()):
        loc = ["services", "items", key]
        if not isinstance(settings, dict) or "-" not in key or set(settings) - set(FIELDS):
            problems.append({"loc": loc, "msg": "事项配置格式不对"})
            continue
        entry = _swap(copy.deepcopy(settings), PLACEHOLDER, division_code)
        entry["line"] = lines.get(entry.get("line"), entry.get("line"))
        for p in entry.get("prefill") or []:
            if isinstance(p, dict) and p.get("via_line"):
                p["via_line"] = lines.get(p["via_line"], p["via_line"])
        entry.update(days.get(key, {}))
        try:
            departments.get_by_code(session, f"{division_code}-{entry['line']}")
        except NotFoundError:
            problems.append({"loc": ["mapping", "lines", str(settings.get("line"))],
                             "msg": f"本地没有“{LINE_NAMES.get(entry['line'], entry['line'])}”部门"
                             f"（{division_code}-{entry['line']}），请在参数映射 lines 中改为本地已有的部门"})
        limits = [entry.get("statutory_days"), entry.get("promised_days")]
        if not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 365 for d in limits):
            problems.append({"loc": [*loc, "promised_days"], "msg": "时限应为 0-365 个工作日"})
        elif limits[0] and limits[1] > limits[0]:
            problems.append({"loc": ["mapping", "service_days", key],
                             "msg": f"承诺时限 {limits[1]} 天超过法定时限 {limits[0]} 天"})
        missing = [m for m in entry.get("members") or [] if m not in items and m not in own]
        if missing:
            problems.append({"loc": [*loc, "members"],
                             "msg": f"一件事包含的事项本地没有：{'、'.join(missing)}"})
        entry["members"] = [item_code(m, division_code) for m in entry.get("members") or []]
        pid = entry.get("process_id")
        if pid and pid not in content.get("processes", {}):
            try:
                processes.latest(session, process_id=pid)
            except NotFoundError:
                problems.append({"loc": [*loc, "process_id"], "msg": f"方案包和本平台都没有流程 {pid}"})
        out[key] = entry
    return out, problems


def _process_changes(session: Session, procs: dict[str, Any]) -> tuple[list[ports.PackChange], list[Any]]:
    """New BPMN process versions the pack brings (a file any stored version already has: none), and BPMN
    problems."""
    changes, problems = [], []
    for pid, spec in sorted(procs.items()):
        current = session.scalar(select(ProcessDefinition).where(ProcessDefinition.process_id == pid)
                                 .order_by(ProcessDefinition.version.desc()).limit(1))
        data = str(spec.get("bpmn", "")).encode("utf-8") if isinstance(spec, dict) else b""
        checked = engine.check_bpmn(data)
        if checked.problems or pid not in checked.process_ids:
            problems += [{"loc": ["services", "processes", pid, p.element_id], "msg": p.message}
                         for p in checked.problems] or [{"loc": ["services", "processes", pid],
                                                         "msg": "BPMN 文件中没有该流程"}]
            continue
        held = session.scalar(select(ProcessDefinition.id).where(
            ProcessDefinition.process_id == pid, ProcessDefinition.sha256 == checked.sha256).limit(1))
        if held is not None:
            # a version the platform holds already (any, not only the newest): a pack never turns the process
            # every county runs back to an older one
            continue
        name = checked.process_names.get(pid, pid)
        changes.append(ports.PackChange(
            op="add", path=f"/processes/{pid}", before=current.version if current else None,
            after={"name": name, "bpmn": data.decode("utf-8")},
            label=f"新增办理流程 {name}（BPMN {pid}，全平台共用，"
            f"{'新版本' if current is not None else '首个版本'}）",
        ))
    return changes, problems


def plan(
    session: Session, *, division_code: str, content: dict[str, Any], mapping: dict[str, Any]
) -> list[ports.PackChange]:
    """The changes installing the section would make in the county (nothing written)."""
    wanted, problems = _wanted(session, division_code, content, mapping)
    proc_changes, bpmn_problems = _process_changes(session, content.get("processes") or {})
    if problems or bpmn_problems:
        raise ValidationFailedError(
            "方案包的事项配置不能用于本地，请按提示修改参数映射 "
            "(the services section cannot be applied here)",
            details=(problems + bpmn_problems)[:50],
        )
    own = _own_items(session, division_code)
    changes = list(proc_changes)
    for key, entry in wanted.items():
        code = item_code(key, division_code)
        kind = KIND_ZH.get(str(entry.get("kind")), "事项")
        if key not in own:
            changes.append(ports.PackChange(
                op="add", path=f"/items/{key}", before=None, after=entry,
                label=f"新增{kind} {entry.get('name')}（{code}）：{_shown('line', entry['line'])}承办，"
                f"承诺 {entry.get('promised_days')} 个工作日，法定 {entry.get('statutory_days')} 个工作日",
            ))
            continue
        had = _settings(own[key], division_code)
        had["members"] = [item_code(m, division_code) for m in had["members"]]
        had = _swap(had, PLACEHOLDER, division_code)
        for field, after in entry.items():
            before = had.get(field)
            if before == after:
                continue
            changes.append(ports.PackChange(
                op="replace", path=f"/items/{key}/{field}", before=before, after=after,
                label=f"{own[key].name}（{code}）：{FIELDS[field]} {_shown(field, before)} → "
                f"{_shown(field, after)}",
            ))
    return changes


def apply(
    session: Session, *, actor: Any, division_code: str, plan: list[ports.PackChange]
) -> dict[str, Any]:
    """Write the planned processes and items; the undo record holds what was added and the fields before."""
    stored: list[int] = []
    seen: set[bytes] = set()
    created: list[str] = []
    previous: dict[str, dict[str, Any]] = {}
    own = _own_items(session, division_code)
    for change in plan:
        _empty, root, key, *rest = change.path.split("/")
        if root == "processes":
            data = str(change.after["bpmn"]).encode("utf-8")
            if data not in seen:
                seen.add(data)
                stored += [r.id for r in processes.store(session, actor=actor, data=data)]
        elif not rest:
            entry = dict(change.after)
            dept = departments.get_by_code(session, f"{division_code}-{entry.pop('line')}")
            item = ServiceItem(code=item_code(key, division_code), department_id=dept.id,
                               division_code=division_code, **entry)
            session.add(item)
            created.append(item.code)
        else:
            item, field = own[key], rest[0]
            was = previous.setdefault(item.code, {})
            if field == "line":
                was.setdefault("department_id", item.department_id)
                item.department_id = departments.get_by_code(session, f"{division_code}-{change.after}").id
            else:
                was.setdefault(field, copy.deepcopy(getattr(item, field)))
                setattr(item, field, copy.deepcopy(change.after))
    session.flush()
    for code in [*created, *previous]:
        audit.record(session, actor=actor, action="services.item.pack_applied", entity_type="services.item",
                     entity_id=code, division_code=division_code)
        log.info("service item changed by a pack", extra={"item": code})
    return {"created": created, "previous": previous, "processes": stored}


def revert(session: Session, *, actor: Any, division_code: str, undo: dict[str, Any]) -> None:
    """Restore the fields before the install and remove the items and process versions it added."""
    created = list(undo.get("created") or [])
    used = session.scalar(select(Application.id).join(ServiceItem, ServiceItem.id == Application.item_id)
                          .where(ServiceItem.code.in_(created)).limit(1)) if created else None
    stored = list(undo.get("processes") or [])
    if used is None and stored:
        used = session.scalar(select(Application.id)
                              .where(Application.process_definition_id.in_(stored)).limit(1))
    if used is not None:
        raise ConflictError(
            "方案包新增的事项或流程已有办件，不能卸载；请在办件办结后由管理员处理 "
            "(applications already use the items or processes the pack added)"
        )
    for code, fields in (undo.get("previous") or {}).items():
        item = session.scalar(select(ServiceItem).where(ServiceItem.code == code))
        if item is not None:
            for field, value in fields.items():
                setattr(item, field, copy.deepcopy(value))
    if created:
        session.execute(delete(ServiceItem).where(ServiceItem.code.in_(created)))
    if stored:
        session.execute(delete(ProcessDefinition).where(ProcessDefinition.id.in_(stored)))
    session.flush()
    for code in [*created, *(undo.get("previous") or {})]:
        audit.record(session, actor=actor, action="services.item.pack_reverted", entity_type="services.item",
                     entity_id=code, division_code=division_code)
        log.info("service item restored after a pack", extra={"item": code})


SECTION = ports.PackSection(
    module="services",
    name="items",
    title_zh="政务服务事项、一件事与办理流程",
    export=export,
    plan=plan,
    apply=apply,
    revert=revert,
)


def register() -> None:
    """Offer the section to solution packs (core.ports)."""
    ports.register_pack_section(SECTION)
