"""Reading uploads: CSV (UTF-8 or GBK) and .xlsx, spellings of months, and a reason for every bad row."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import Workbook

from govgrid.economy import tables

UNITS = {"IND_VA": "亿元", "ELEC_IND": "万千瓦时"}


def rows_of(text: str, encoding: str = "utf-8") -> tables.Parsed:
    return tables.parse_rows(tables.read_table(text.encode(encoding), "x.csv"), units=UNITS)


def test_csv_with_chinese_or_english_header():
    p = rows_of('指标代码,区划代码,期别,数值,单位\nIND_VA,410527,2024年3月,"1,234.5",亿元\n')
    assert not p.problems
    assert (p.rows[0].period, p.rows[0].value) == ("2024-03", 1234.5)
    p = rows_of("indicator,division,period,value,unit\nELEC_IND,410527,202403,5400,万千瓦时\n")
    assert p.rows[0].period == "2024-03" and not p.problems


def test_gbk_csv_from_excel():
    p = rows_of("指标代码,区划代码,期别,数值,单位\nIND_VA,410527,2024-03,12.5,亿元\n", encoding="gb18030")
    assert p.rows and not p.problems


def test_every_bad_row_has_a_reason():
    p = rows_of(
        "指标代码,区划代码,期别,数值,单位\n"
        "IND_VA,410527,2024-03,12.5,亿元\n"
        "IND_VA,410527,2024-03,12.6,亿元\n"
        "ELEC_IND,410527,2024-03,54,亿千瓦时\n"
        "IND_VA,410527,2024-04,n/a,亿元\n"
        "NOPE,4105,2024-00,1,亿元\n"
    )
    got = {(q.line, q.column) for q in p.problems}
    assert got == {(3, "period"), (4, "unit"), (5, "value"), (6, "indicator"), (6, "division"), (6, "period")}
    assert [r.line for r in p.rows] == [2]


def test_xlsx_with_dates_and_numbers():
    wb = Workbook()
    ws = wb.active
    ws.append(["指标代码", "区划代码", "期别", "数值", "单位"])
    ws.append(["IND_VA", "410527", datetime(2024, 5, 1), 12.25, "亿元"])
    ws.append(["IND_VA", 410527, 202406, 12.5, "亿元"])
    buf = io.BytesIO()
    wb.save(buf)
    p = tables.parse_rows(tables.read_table(buf.getvalue(), "data.xlsx"), units=UNITS)
    assert not p.problems
    assert [(r.division, r.period, r.value) for r in p.rows] == [
        ("410527", "2024-05", 12.25),
        ("410527", "2024-06", 12.5),
    ]


@pytest.mark.parametrize(
    ("data", "name", "words"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old.xls", ".xlsx"),
        (b"PK\x03\x04garbage", "x.xlsx", "Excel"),
        (b"hello", "x.xlsx", "Excel"),
        (b"\x89PNG\r\n\x1a\n\0\0", "x.csv", "CSV"),
        (b"a,b\n1,2\n", "x.csv", "缺少列"),
        (b"", "x.csv", "为空"),
        (b'"' + b"x" * 200_000, "x.csv", "CSV"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(data, name, words):
    with pytest.raises(tables.TableError) as exc:
        tables.parse_rows(tables.read_table(data, name), units=UNITS)
    assert words in str(exc.value)


def test_too_large():
    with pytest.raises(tables.TableError):
        tables.read_table(b"x" * (tables.MAX_BYTES + 1), "x.csv")
