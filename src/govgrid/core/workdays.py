"""Working-day clocks: deadlines that skip weekends and listed holidays, with make-up working days (调休).

The calendar is data (`core/data/holidays_cn.csv`, or the file named by GOVGRID_WORKING_DAY_CALENDAR): one row
per date with kind `holiday` (a weekday off) or `workday` (a weekend day worked). Check it against the State
Council's yearly notice and extend it each December.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from govgrid.config import get_settings

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass
class Calendar:
    """Which dates are working days, and office hours for hour-based clocks."""

    holidays: set[date] = field(default_factory=set)
    workdays: set[date] = field(default_factory=set)
    day_start: time = time(9, 0)
    day_end: time = time(17, 0)

    def is_working_day(self, d: date) -> bool:
        """Mon-Fri unless a listed holiday; Sat/Sun only when a listed make-up day."""
        if d in self.holidays:
            return False
        if d in self.workdays:
            return True
        return d.weekday() < 5

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The moment `days` working days after `start` (same local clock time,
        end of day if start was off)."""
        local = start.astimezone(SHANGHAI)
        d = local.date()
        clock = local.timetz() if self.is_working_day(d) else time(23, 59, 59, tzinfo=SHANGHAI)
        added = 0
        while added < days:
            d += timedelta(days=1)
            if self.is_working_day(d):
                added += 1
        return datetime.combine(d, clock.replace(tzinfo=None), tzinfo=SHANGHAI)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment after `hours` of office time (day_start..day_end on working days)."""
        remaining = timedelta(hours=hours)
        cur = start.astimezone(SHANGHAI)
        while True:
            d = cur.date()
            if self.is_working_day(d):
                open_at = datetime.combine(d, self.day_start, tzinfo=SHANGHAI)
                close_at = datetime.combine(d, self.day_end, tzinfo=SHANGHAI)
                if cur < open_at:
                    cur = open_at
                if cur < close_at:
                    available = close_at - cur
                    if remaining <= available:
                        return cur + remaining
                    remaining -= available
            cur = datetime.combine(d + timedelta(days=1), time(0, 0), tzinfo=SHANGHAI)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Whole working days from start's date (exclusive) to end's date (inclusive)."""
        a, b = start.astimezone(SHANGHAI).date(), end.astimezone(SHANGHAI).date()
        n = 0
        while a < b:
            a += timedelta(days=1)
            n += self.is_working_day(a)
        return n


def load_calendar(path: Path | None = None) -> Calendar:
    """Read a holiday calendar CSV (date,kind,name)."""
    source = path or resources.files("govgrid.core") / "data" / "holidays_cn.csv"
    text = source.read_text(encoding="utf-8")
    cal = Calendar()
    for row in csv.DictReader(text.splitlines()):
        d = date.fromisoformat(row["date"])
        (cal.holidays if row["kind"] == "holiday" else cal.workdays).add(d)
    return cal


@lru_cache
def default_calendar() -> Calendar:
    """The deployment's calendar (GOVGRID_WORKING_DAY_CALENDAR or the built-in one)."""
    configured = get_settings().working_day_calendar
    return load_calendar(Path(configured) if configured else None)
