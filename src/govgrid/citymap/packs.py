"""The city-map section of a solution pack (一地创新、多地复用): a county's own settings of the GB/T 30428
city-management classes (城市管理部件、事件类别), i.e. the deadline in working hours and the line (条) that
handles each class where the county departs from the standard catalogue.

Content: ``{"classes": {"event-0101": {"deadline_hours": 1.0, "line": "urban_management"}}}`` (the origin's
active settings; a missing key keeps the standard's value). The adopter's parameter mapping renames lines to
its own (``{"lines": {"housing": "urban_management"}}``), scales the pack's deadlines
(``{"class_deadline_scale": 1.5}``) or sets its own hours per class (``{"class_hours": {"event-0101": 3}}``,
which wins over the scale). Installing writes the adopter's settings; the undo record keeps each touched row
as it was (or its absence), so uninstall restores them exactly. Registered with
``core.ports.register_pack_section`` when the module loads."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from govgrid.citymap import catalog
from govgrid.citymap.services import classes
from govgrid.core import ports
from govgrid.core.errors import ValidationFailedError

LABELS = {"deadline_hours": "处置时限（工作小时）", "line": "处置部门（条线）", "active": "本县设置"}


def export(session: Session, *, division_code: str) -> dict[str, Any]:
    """The county's active class settings (what it runs differently from the standard), as JSON."""
    out: dict[str, dict[str, Any]] = {}
    for key, row in sorted(classes.rows(session, county_code=division_code).items()):
        if row.active:
            entry = {"deadline_hours": row.deadline_hours, "line": row.line}
            out[key] = {k: v for k, v in entry.items() if v is not None}
    return {"classes": out}


def _shown(field: str, value: Any, standard: catalog.CaseClass) -> str:
    """A value as a person reads it in the diff (the standard's value where the county set none)."""
    if field == "active":
        return "启用" if value else "停用"
    if field == "line":
        line = value or standard.line
        return classes.LINE_NAMES.get(line, line) + ("" if value else "（标准）")
    hours = standard.deadline_hours if value is None else value
    return f"{hours:g}" + ("" if value is not None else "（标准）")


def _wanted(
    session: Session, division_code: str, content: dict[str, Any], mapping: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """The settings the pack asks for in this county, after the mapping (every problem reported at once)."""
    wanted = content.get("classes")
    if not isinstance(wanted, dict):
        raise ValidationFailedError("方案包的城市管理类别配置无法读取 (the citymap section has no classes)")
    classes.county(session, division_code)
    lines = mapping.get("lines") or {}
    hours = mapping.get("class_hours") or {}
    scale = mapping.get("class_deadline_scale")
    problems: list[dict[str, Any]] = []
    for key in hours:
        if key not in wanted:
            problems.append(
                {
                    "loc": ["mapping", "class_hours", key],
                    "msg": f"方案包没有类别 {key} 的设置，不能为它指定时限",
                }
            )
    out: dict[str, dict[str, Any]] = {}
    for key, settings in sorted(wanted.items()):
        loc = ["citymap", "classes", key]
        if not isinstance(settings, dict) or set(settings) - {"deadline_hours", "line"}:
            problems.append({"loc": loc, "msg": "类别设置格式不对"})
            continue
        deadline = settings.get("deadline_hours")
        if key in hours:
            deadline = hours[key]
        elif scale is not None and isinstance(deadline, int | float) and not isinstance(deadline, bool):
            deadline = round(float(deadline) * float(scale), 2)
        line = settings.get("line")
        line = lines.get(line, line) if line else None
        found = classes.problems(
            session, county_code=division_code, key=key, deadline_hours=deadline, line=line, loc=loc
        )
        for p in found:
            if p["loc"][-1] == "line" and settings.get("line") is not None:
                p["loc"] = ["mapping", "lines", str(settings["line"])]
                p["msg"] += "（请在参数映射 lines 中改为本地已有的部门）"
            elif p["loc"][-1] == "deadline_hours" and key in hours:
                p["loc"] = ["mapping", "class_hours", key]
            elif p["loc"][-1] == "deadline_hours" and scale is not None and isinstance(deadline, float):
                p["loc"] = ["mapping", "class_deadline_scale"]
                p["msg"] += f"（{key} 按比例 {scale:g} 折算后为 {deadline:g}）"
        problems += found
        if not found:
            out[key] = {"deadline_hours": None if deadline is None else float(deadline), "line": line}
    if problems:
        raise ValidationFailedError(
            "方案包的城市管理类别配置不能用于本地，请按提示修改参数映射 "
            "(the citymap section cannot be applied here)",
            details=problems,
        )
    return out


def plan(
    session: Session, *, division_code: str, content: dict[str, Any], mapping: dict[str, Any]
) -> list[ports.PackChange]:
    """The changes installing the section would make in the county (nothing written)."""
    wanted = _wanted(session, division_code, content, mapping)
    own = classes.rows(session, county_code=division_code)
    changes: list[ports.PackChange] = []
    for key, entry in wanted.items():
        kind, code = catalog.parse_key(key) or ("event", "0699")
        standard = catalog.class_or_other(kind, code)
        row = own.get(key)
        had = classes.row_state(row) or {}
        name = f"{standard.name_zh}（{catalog.KIND_ZH[kind]} {code}）"
        for field, after in [*entry.items(), ("active", True)]:
            before = had.get(field)
            if row is not None and before == after:
                continue
            if row is None and after is None:
                continue  # a new row keeps the standard's value there
            changes.append(
                ports.PackChange(
                    op="replace" if row is not None else "add",
                    path=f"/classes/{key}/{field}",
                    before=before,
                    after=after,
                    label=f"{name}：{LABELS[field]} {_shown(field, before, standard)} → "
                    f"{_shown(field, after, standard)}",
                )
            )
    return changes


def apply(
    session: Session, *, actor: Any, division_code: str, plan: list[ports.PackChange]
) -> dict[str, Any]:
    """Write the planned settings for the county; the undo record keeps each touched row as it was."""
    own = classes.rows(session, county_code=division_code)
    previous: dict[str, dict[str, Any] | None] = {}
    states: dict[str, dict[str, Any]] = {}
    for change in plan:
        _empty, _root, key, field = change.path.split("/")
        if key not in previous:
            previous[key] = classes.row_state(own.get(key))
            had = previous[key] or {"deadline_hours": None, "line": None}
            states[key] = {"deadline_hours": had["deadline_hours"], "line": had["line"], "active": True}
        states[key][field] = change.after
    for key, state in states.items():
        classes.write(session, actor=actor, county_code=division_code, key=key, state=state)
    return {"previous": previous}


def revert(session: Session, *, actor: Any, division_code: str, undo: dict[str, Any]) -> None:
    """Put every row the install touched back as it was (removed where there was none)."""
    for key, state in (undo.get("previous") or {}).items():
        classes.write(session, actor=actor, county_code=division_code, key=key, state=state)


SECTION = ports.PackSection(
    module="citymap",
    name="classes",
    title_zh="城市管理部件事件类别、处置时限与处置部门",
    export=export,
    plan=plan,
    apply=apply,
    revert=revert,
)


def register() -> None:
    """Offer the section to solution packs (core.ports)."""
    ports.register_pack_section(SECTION)
