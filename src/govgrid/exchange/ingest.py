"""Parsing uploaded CSV/JSON and validating every row against a resource's data items, before anything is
stored."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from govgrid.core.errors import PayloadTooLargeError
from govgrid.core.privacy import mask_value, valid_id_number, valid_phone

ITEM_TYPES = ("string", "integer", "number", "date", "boolean", "division", "id_number", "phone")
DIVISION_RE = re.compile(r"^\d{6}(\d{3}){0,2}$")
MAX_REPORTED = 200  # row errors listed in one answer; the total is always given
# Rows one upload may hold (the body itself is capped by GOVGRID_UPLOAD_MAX_BYTES): a bigger file is refused
# with 413 as soon as the count is known, before any row is validated or stored.
MAX_ROWS = 200_000


def _too_many_rows() -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"文件超过 {MAX_ROWS} 行上限，请分批上传 (more than {MAX_ROWS} rows in one upload; split the file)",
        details=[{"loc": ["file"], "msg": f"more than {MAX_ROWS} rows"}],
    )


def twin_rules(items: Iterable[tuple[str, str, bool]]) -> dict[str, str]:
    """The items a static masking twin (静态脱敏) masks, {name: rule}: the personal or sensitive items with a
    rule (what the gateway masks by default), from (name, mask rule, personal or sensitive) of each item."""
    return {name: rule for name, rule, personal in items if personal and rule and rule != "none"}


def mask_key(rules: dict[str, str]) -> str:
    """A short fingerprint of the rules a twin was masked with: the gateway serves a twin only when the rules
    it would apply today are the same."""
    text = ";".join(f"{name}={rules[name]}" for name in sorted(rules))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def masked_twin(rules: dict[str, str], row: dict[str, Any]) -> dict[str, Any]:
    """A record's static masking twin: the whole record with each item of `rules` masked by its rule
    (`core.privacy.mask_value`, the gateway's own function; empty values stay as they are)."""
    twin = dict(row)
    for name, rule in rules.items():
        if name in twin:
            twin[name] = mask_value(rule, twin[name])
    return twin


@dataclass
class ItemSpec:
    """What validation needs of a data item."""

    name: str
    label: str
    type: str
    required: bool


@dataclass
class ParseResult:
    """Clean rows (item name -> typed value) with their source row numbers, or the problems found."""

    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0

    def add(self, row: int | None, item: str | None, msg: str) -> None:
        """Record one problem (row None: the file as a whole)."""
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED:
            loc: list[Any] = ["file"] if row is None else ["rows", row]
            if item:
                loc.append(item)
            self.errors.append({"loc": loc, "msg": msg})


def convert(spec: ItemSpec, raw: Any) -> tuple[Any, str | None]:
    """A raw cell converted to the item's type, or an error message (Chinese, then English)."""
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        if spec.required:
            return None, "必填项为空 (required value missing)"
        return None, None
    t = spec.type
    text = raw.strip() if isinstance(raw, str) else raw
    try:
        if t == "integer":
            if isinstance(text, bool) or (isinstance(text, float) and not text.is_integer()):
                raise ValueError
            return int(text), None
        if t == "number":
            if isinstance(text, bool):
                raise ValueError
            return float(text), None
        if t == "boolean":
            if isinstance(text, bool):
                return text, None
            low = str(text).lower()
            if low in ("true", "1", "是", "yes"):
                return True, None
            if low in ("false", "0", "否", "no"):
                return False, None
            return None, f"不是布尔值 (not a boolean): {str(text)[:40]}"
        if t == "date":
            return date.fromisoformat(str(text)).isoformat(), None
    except (ValueError, TypeError):
        kind = {
            "integer": "整数 (an integer)",
            "number": "数值 (a number)",
            "date": "日期 YYYY-MM-DD (a date)",
        }[t]
        return None, f"应为{kind}: {str(text)[:40]}"
    value = str(text)
    if t == "division" and not DIVISION_RE.match(value):
        return (
            None,
            f"行政区划代码应为 6、9 或 12 位数字 (division code must be 6, 9 or 12 digits): {value[:40]}",
        )
    if t == "id_number" and not valid_id_number(value.upper()):
        return None, "身份证号格式或校验位错误 (ID number malformed or wrong check digit)"
    if t == "phone" and not valid_phone(value):
        return None, "手机号应为 11 位数字 (phone must be 11 digits starting with 1)"
    if len(value) > 1000:
        return None, "值过长，最多 1000 字 (value longer than 1000 characters)"
    return (value.upper() if t == "id_number" else value), None


def _validate_rows(
    items: list[ItemSpec], records: list[tuple[int, dict[str, Any]]], result: ParseResult
) -> None:
    by_name = {i.name: i for i in items}
    by_label = {i.label: i for i in items}
    for row_no, raw in records:
        clean: dict[str, Any] = {}
        ok = True
        for key in raw:
            if key not in by_name and key not in by_label:
                result.add(row_no, str(key), f"未知的信息项 (unknown data item): {str(key)[:40]}")
                ok = False
        for spec in items:
            cell = raw.get(spec.name, raw.get(spec.label))
            value, problem = convert(spec, cell)
            if problem:
                result.add(row_no, spec.name, problem)
                ok = False
            clean[spec.name] = value
        if ok:
            result.rows.append((row_no, clean))


def parse_csv(content: bytes, items: list[ItemSpec]) -> ParseResult:
    """CSV with a header of item names or labels (UTF-8, BOM allowed); row numbers are file line numbers."""
    result = ParseResult()
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        result.add(None, None, "文件不是 UTF-8 编码 (file is not UTF-8 encoded)")
        return result
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        result.add(None, None, "文件为空 (empty file)")
        return result
    header = [h.strip() for h in header]
    known = {i.name for i in items} | {i.label for i in items}
    for h in header:
        if h not in known:
            result.add(None, h, f"表头含未知的信息项 (unknown column in header): {h[:40]}")
    for spec in items:
        if spec.required and spec.name not in header and spec.label not in header:
            result.add(None, spec.name, f"缺少必填列 (required column missing): {spec.name}")
    if result.error_count:
        return result
    records = []
    seen = 0
    try:
        for line_no, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            seen += 1
            if seen > MAX_ROWS:
                raise _too_many_rows()
            if len(row) != len(header):
                result.add(
                    line_no, None, f"列数为 {len(row)}，表头为 {len(header)} (wrong number of columns)"
                )
                continue
            records.append((line_no, dict(zip(header, row, strict=True))))
    except csv.Error as exc:
        result.add(None, None, f"CSV 格式错误 (malformed CSV): {exc}")
        return result
    _validate_rows(items, records, result)
    return result


def parse_json(content: bytes, items: list[ItemSpec]) -> ParseResult:
    """A JSON array of objects (or {"records": [...]}); row numbers count from 1."""
    result = ParseResult()
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        result.add(None, None, f"不是有效的 JSON (not valid JSON): {str(exc)[:100]}")
        return result
    if isinstance(data, dict) and isinstance(data.get("records"), list):
        data = data["records"]
    if not isinstance(data, list):
        result.add(None, None, "JSON 应为对象数组 (JSON must be an array of objects)")
        return result
    if len(data) > MAX_ROWS:
        raise _too_many_rows()
    records = []
    for i, obj in enumerate(data, start=1):
        if not isinstance(obj, dict):
            result.add(i, None, "该行不是对象 (row is not an object)")
            continue
        records.append((i, obj))
    _validate_rows(items, records, result)
    return result
