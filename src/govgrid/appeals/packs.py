"""The appeals section of a solution pack (一地创新、多地复用): a county's own category settings, i.e. which
line answers each category (routing rule) and its clocks (sign-for and first-contact hours, resolution days).

Content: ``{"categories": {code: {"line": line_code | None, "sign_hours": h, "contact_hours": h,
"resolve_days": d}}}``, every key optional per category. The adopter's parameter mapping renames lines to its
own (``{"lines": {"petition": "civil_affairs"}}``) and sets its own clocks (``{"deadlines": {code:
{"resolve_days": 3}}}``). Registered with ``core.ports.register_pack_section`` when the module loads."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy.orm import Session

from govgrid.appeals import categories
from govgrid.appeals.services import config
from govgrid.core import ports
from govgrid.core.departments import service as departments
from govgrid.core.departments.catalogue import LINES
from govgrid.core.errors import NotFoundError, ValidationFailedError

LINE_NAMES = {code: zh for code, zh, _en in LINES}
LIMITS = {"sign_hours": (0.5, 72.0), "contact_hours": (0.5, 120.0), "resolve_days": (1, 60)}
KEY_LABELS = {"line": "责任部门", "sign_hours": "签收时限（小时）", "contact_hours": "联系时限（小时）",
              "resolve_days": "办结时限（工作日）"}


def export(session: Session, *, division_code: str) -> dict[str, Any]:
    """The county's own category settings (routing lines and clocks), as JSON."""
    own = config.division_settings(session, division_code=division_code) or {}
    cats = own.get("categories", {})
    return {"categories": copy.deepcopy(cats) if isinstance(cats, dict) else {}}


def _shown(key: str, value: Any) -> str:
    """A value as a person reads it in the diff."""
    if value is None:
        return "属地（乡镇/村）" if key == "line" else "默认"
    if key == "line":
        return f"{LINE_NAMES.get(str(value), value)}"
    return str(value)


def _wanted(
    session: Session, division_code: str, content: dict[str, Any], mapping: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """The settings the pack asks for in this county, after the mapping (every problem reported at once)."""
    cats = content.get("categories")
    if not isinstance(cats, dict):
        raise ValidationFailedError("方案包的诉求类别配置无法读取 (the appeals section has no categories)")
    lines = mapping.get("lines") or {}
    clocks = mapping.get("deadlines") or {}
    problems: list[dict[str, Any]] = []
    out: dict[str, dict[str, Any]] = {}
    for code, settings in sorted(cats.items()):
        cat = categories.get(code)
        if cat is None or not isinstance(settings, dict):
            problems.append({"loc": ["appeals", "categories", code], "msg": f"本平台没有诉求类别 {code}"})
            continue
        entry: dict[str, Any] = {}
        if "line" in settings:
            line = settings["line"]
            line = lines.get(line, line) if line else None
            if line is not None:
                try:
                    departments.get_by_code(session, f"{division_code}-{line}")
                except NotFoundError:
                    problems.append({
                        "loc": ["mapping", "lines", str(settings["line"])],
                        "msg": f"本地没有“{LINE_NAMES.get(line, line)}”部门（{division_code}-{line}），"
                        "请在参数映射 lines 中改为本地已有的部门",
                    })
            entry["line"] = line
        for key in LIMITS:
            value = clocks.get(code, {}).get(key, settings.get(key))
            if value is None:
                continue
            lo, hi = LIMITS[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
                problems.append({"loc": ["appeals", "categories", code, key], "msg": f"应在 {lo}-{hi} 之间"})
                continue
            entry[key] = int(value) if key == "resolve_days" else float(value)
        out[code] = entry
    if problems:
        raise ValidationFailedError(
            "方案包的诉求配置不能用于本地，请按提示修改参数映射 (the appeals section cannot be applied here)",
            details=problems,
        )
    return out


def plan(
    session: Session, *, division_code: str, content: dict[str, Any], mapping: dict[str, Any]
) -> list[ports.PackChange]:
    """The changes installing the section would make in the county (nothing written)."""
    current = export(session, division_code=division_code)["categories"]
    changes: list[ports.PackChange] = []
    for code, entry in _wanted(session, division_code, content, mapping).items():
        name = categories.get_or_default(code).name_zh
        had = current.get(code, {})
        for key, after in entry.items():
            if key in had and had[key] == after:
                continue
            before = had.get(key)
            changes.append(ports.PackChange(
                op="replace" if key in had else "add",
                path=f"/categories/{code}/{key}",
                before=before,
                after=after,
                label=f"{name}：{KEY_LABELS[key]} {_shown(key, before)} → {_shown(key, after)}",
            ))
    return changes


def apply(
    session: Session, *, actor: Any, division_code: str, plan: list[ports.PackChange]
) -> dict[str, Any]:
    """Write the planned settings for the county; the undo record holds the settings before."""
    previous = config.division_settings(session, division_code=division_code)
    value = copy.deepcopy(previous) if previous is not None else {}
    cats = value.setdefault("categories", {})
    for change in plan:
        _empty, _root, code, key = change.path.split("/")
        cats.setdefault(code, {})[key] = change.after
    config.set_division_settings(session, actor=actor, division_code=division_code, value=value)
    return {"previous": previous}


def revert(session: Session, *, actor: Any, division_code: str, undo: dict[str, Any]) -> None:
    """Restore the county's settings recorded before the install."""
    previous = undo.get("previous")
    config.set_division_settings(session, actor=actor, division_code=division_code, value=previous)


SECTION = ports.PackSection(
    module="appeals",
    name="categories",
    title_zh="诉求类别、分拨规则与办理时限",
    export=export,
    plan=plan,
    apply=apply,
    revert=revert,
)


def register() -> None:
    """Offer the section to solution packs (core.ports)."""
    ports.register_pack_section(SECTION)
