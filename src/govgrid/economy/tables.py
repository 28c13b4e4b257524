"""Reading an uploaded table of figures (CSV or Excel .xlsx) into rows, with row-level reasons for every bad
row. Pure: the caller checks divisions and permissions and writes nothing unless every row is good.

Columns (a header row, Chinese or English names): 指标代码/indicator, 区划代码/division, 期别/period
(2024-03, 202403, 2024/03, 2024年3月 or an Excel date), 数值/value, 单位/unit (must be the registry's unit).
"""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_UNZIPPED = 50 * 1024 * 1024  # an .xlsx is a zip: refuse one that inflates beyond this (zip bombs)

HEADERS = {
    "indicator": ("indicator", "指标代码", "指标"),
    "division": ("division", "区划代码", "行政区划代码", "区划"),
    "period": ("period", "期别", "月份", "时期"),
    "value": ("value", "数值", "值"),
    "unit": ("unit", "单位", "计量单位"),
}
COLUMN_ZH = {
    "indicator": "指标代码",
    "division": "区划代码",
    "period": "期别",
    "value": "数值",
    "unit": "单位",
}
PERIOD_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})$"),
    re.compile(r"^(\d{4})(\d{2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月$"),
    re.compile(r"^(\d{4})-(\d{1,2})-01$"),
)


class TableError(Exception):
    """The file as a whole cannot be read (wrong type, too big, no header); the message is for the user."""


@dataclass
class Row:
    """One good row."""

    line: int  # the row number a spreadsheet shows (header = 1)
    indicator: str
    division: str
    period: str
    value: float
    unit: str


@dataclass
class Problem:
    """One reason a row is refused."""

    line: int
    column: str
    message: str


@dataclass
class Parsed:
    """The rows read and every problem found (nothing is imported unless ``problems`` is empty)."""

    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def read_table(data: bytes, filename: str) -> list[list[Any]]:
    """The cells of the first sheet (xlsx) or of the CSV text, row by row; TableError if unreadable."""
    if len(data) > MAX_BYTES:
        raise TableError(f"文件超过 {MAX_BYTES // 1024 // 1024} MB，请拆分后上传 (file too large)")
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise TableError("不支持旧版 .xls 文件，请另存为 .xlsx 或 CSV 后上传 (save as .xlsx or CSV)")
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise TableError("文件名为 .xlsx 但内容不是 Excel 工作簿 (not an Excel workbook)")
    if b"\x00" in data[:4096]:
        raise TableError("文件不是 CSV 文本或 .xlsx 工作簿 (not a CSV text or an .xlsx workbook)")
    text = _decode(data)
    try:
        return [list(r) for r in csv.reader(io.StringIO(text))]
    except csv.Error as exc:  # a NUL byte further down, an unterminated quote over a huge field
        raise TableError(f"CSV 文件格式有误：{str(exc)[:80]} (the CSV could not be read)") from None


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (what Excel on a Chinese Windows saves as CSV)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TableError("CSV 文件编码无法识别，请保存为 UTF-8 (unknown text encoding; save as UTF-8)")


def _read_xlsx(data: bytes) -> list[list[Any]]:
    """The first worksheet's values (formulas are not evaluated: their cached values are read)."""
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            if sum(i.file_size for i in zf.infolist()) > MAX_UNZIPPED:
                raise TableError("Excel 文件解压后过大，请拆分后上传 (workbook too large when unpacked)")
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except TableError:
        raise
    except Exception:  # a damaged or disguised zip: openpyxl and zipfile raise many types
        raise TableError("Excel 文件无法读取，请检查文件是否损坏 (the workbook could not be read)") from None
    try:
        ws = wb.worksheets[0]
        rows = []
        for r in ws.iter_rows(values_only=True):
            rows.append(list(r))
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    finally:
        wb.close()


def _header_map(header: list[Any]) -> dict[str, int]:
    names = [str(h).strip().lower() if h is not None else "" for h in header]
    found: dict[str, int] = {}
    for key, aliases in HEADERS.items():
        for i, n in enumerate(names):
            if n in aliases:
                found[key] = i
                break
    return found


def parse_period(cell: Any) -> str | None:
    """'YYYY-MM' from the accepted spellings or an Excel date; None if not a month."""
    if isinstance(cell, datetime | date):
        return f"{cell.year:04d}-{cell.month:02d}"
    if isinstance(cell, int) and 190001 <= cell <= 299912:
        cell = str(cell)
    text = str(cell or "").strip()
    for pattern in PERIOD_PATTERNS:
        m = pattern.match(text)
        if m:
            year, month = int(m.group(1)), int(m.group(2))
            if 1949 < year < 2100 and 1 <= month <= 12:
                return f"{year:04d}-{month:02d}"
    return None


def parse_value(cell: Any) -> float | None:
    """A finite number (thousands separators allowed); None if not numeric."""
    if isinstance(cell, bool):
        return None
    if isinstance(cell, int | float):
        number = float(cell)
    else:
        text = str(cell or "").strip().replace(",", "").replace("，", "")
        if not re.fullmatch(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?", text):
            return None
        number = float(text)
    return number if math.isfinite(number) else None


def parse_rows(cells: list[list[Any]], *, units: dict[str, str]) -> Parsed:
    """Check every row against the registry's units; duplicates of (indicator, division, period) refused."""
    out = Parsed()
    body = [r for r in cells if any(c not in (None, "") for c in r)]
    if not body:
        raise TableError("文件为空 (the file is empty)")
    columns = _header_map(body[0])
    missing = [COLUMN_ZH[k] for k in HEADERS if k not in columns]
    if missing:
        raise TableError(
            f"缺少列：{'、'.join(missing)}；表头应为 指标代码,区划代码,期别,数值,单位 "
            "(missing columns; the header is indicator,division,period,value,unit)"
        )
    if len(body) - 1 > MAX_ROWS:
        raise TableError(f"超过 {MAX_ROWS} 行，请拆分后上传 (more than {MAX_ROWS} rows)")
    seen: dict[tuple[str, str, str], int] = {}
    for offset, raw in enumerate(cells[1:], start=2):
        if not any(c not in (None, "") for c in raw):
            continue
        cell = {k: (raw[i] if i < len(raw) else None) for k, i in columns.items()}
        problems = _check_row(offset, cell, units)
        code = str(cell["indicator"] or "").strip()
        division = str(cell["division"] or "").strip()
        period = parse_period(cell["period"])
        value = parse_value(cell["value"])
        if period is not None:
            key = (code, division, period)
            if key in seen:
                problems.append(
                    Problem(
                        offset,
                        "period",
                        f"与第 {seen[key]} 行重复：同一指标、区划和期别只能有一行 "
                        f"(duplicate period: same as row {seen[key]})",
                    )
                )
            else:
                seen[key] = offset
        if problems:
            out.problems.extend(problems)
            continue
        assert period is not None and value is not None  # noqa: S101 (checked in _check_row)
        out.rows.append(Row(offset, code, division, period, value, str(cell["unit"]).strip()))
    return out


def _check_row(line: int, cell: dict[str, Any], units: dict[str, str]) -> list[Problem]:
    problems = []
    code = str(cell["indicator"] or "").strip()
    if code not in units:
        problems.append(
            Problem(line, "indicator", f"指标代码“{code[:32]}”不在指标目录中 (unknown indicator)")
        )
    division = str(cell["division"] or "").strip()
    if not re.fullmatch(r"\d{6}(\d{3}(\d{3})?)?", division):
        problems.append(
            Problem(
                line,
                "division",
                f"区划代码“{division[:32]}”应为 6、9 或 12 位数字 (a division code has 6, 9 or 12 digits)",
            )
        )
    if parse_period(cell["period"]) is None:
        problems.append(
            Problem(
                line,
                "period",
                f"期别“{str(cell['period'])[:32]}”无法识别，应写作 2024-03 "
                "(period not recognised; write 2024-03)",
            )
        )
    if parse_value(cell["value"]) is None:
        problems.append(Problem(line, "value", f"数值“{str(cell['value'])[:32]}”不是数字 (not a number)"))
    unit = str(cell["unit"] or "").strip()
    if code in units and unit != units[code]:
        problems.append(
            Problem(
                line,
                "unit",
                f"单位“{unit[:32]}”与指标目录不符，{code} 的单位是“{units[code]}” "
                f"(wrong unit: {code} is in {units[code]})",
            )
        )
    return problems
