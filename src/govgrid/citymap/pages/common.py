"""What every city map page shares: the county to show, the class list, the basemap settings, the work-list
tabs with their counts, and messages in the reader's language."""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from govgrid.citymap import catalog
from govgrid.citymap.enums import CaseState
from govgrid.citymap.services import classes, worklists
from govgrid.core.authz.principal import Principal
from govgrid.core.deps import get_locale
from govgrid.core.pages import basemap_settings, translate

DEFAULT_COUNTY = "140321"  # the demo county, when the caller's assignments name none
_BILINGUAL = re.compile(r"^(?P<zh>.*?)\s*\((?P<en>[\x20-\x7e]+)\)\s*$", re.S)


def county_for(principal: Principal, requested: str | None) -> str:
    """The county a page shows: the requested one, else the first county of the caller's assignments."""
    if requested and requested.isdigit() and len(requested) == 6:
        return requested
    for a in principal.assignments:
        if (
            len(a.division_code) >= 6
            and a.division_code[:6] != "000000"
            and not a.division_code.endswith("0000")
        ):
            return a.division_code[:6]
    return DEFAULT_COUNTY


def class_options(locale: str) -> list[dict[str, str]]:
    """Every class for a dropdown, named in the reader's language."""
    return [
        {"kind": c.kind, "code": c.code, "name": c.name_zh if locale == "zh-CN" else c.name_en}
        for c in catalog.catalogue()
    ]


def basemap() -> dict[str, str]:
    """The basemap tile settings for `basemap.js` (empty URL: offline, boundaries and names only)."""
    return basemap_settings()


def in_language(message: str, locale: str) -> str:
    """A service message ("中文 (English)") in the reader's language: the Chinese part for zh-CN."""
    m = _BILINGUAL.match(message or "")
    if not m or not m.group("zh"):
        return message
    return m.group("zh") if locale == "zh-CN" else m.group("en")


def tabs(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """The work-list tabs the principal sees, each with its count."""
    counts = worklists.box_counts(session, principal=principal)
    return [{"box": b.value, "count": n} for b, n in counts.items()]


def page_context(request: Request, session: Session, principal: Principal) -> dict[str, Any]:
    """The context every city map page gets: tabs, basemap, and the state names in the reader's language."""
    locale = get_locale(request)
    return {
        "tabs": tabs(session, principal),
        "classes_tab": classes.may_change_some(principal),
        "basemap": basemap(),
        "state_names": {s.value: translate(locale, f"citymap.state.{s.value}") for s in CaseState},
    }
