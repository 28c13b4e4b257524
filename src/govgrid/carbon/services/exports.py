"""Standard exports of the public registry (公开数据导出): CSV and JSON, one record per serial block, with the
fields public registries publish (serial range, vintage, project id, methodology, status, retirement
beneficiary and reason). CSV cells that a spreadsheet would run as a formula are quoted with a leading '."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy.orm import Session

from govgrid.carbon.services import public
from govgrid.core.db import utcnow

FIELDS = (
    "serial_range",
    "serial_start",
    "serial_end",
    "quantity",
    "vintage_start",
    "vintage_end",
    "project_id",
    "project_name",
    "methodology",
    "division_code",
    "status",
    "buffer_pool",
    "issued_at",
    "retired_at",
    "retirement_beneficiary",
    "retirement_reason",
    "cancelled_at",
    "cancellation_reason",
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A CSV cell that no spreadsheet evaluates (text starting with = + - @ gets a leading ')."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def registry_csv(session: Session) -> bytes:
    """The registry's serial blocks as CSV (UTF-8 with a BOM so spreadsheets read the Chinese)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for row in public.block_rows(session):
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def registry_json(session: Session) -> dict[str, Any]:
    """The registry's serial blocks as JSON records, with the field list and the export time."""
    records = public.block_rows(session)
    return {"exported_at": utcnow().isoformat(), "fields": list(FIELDS), "records": records}
