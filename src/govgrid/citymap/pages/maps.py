"""The one map (一张图), the grid inspector's mobile report page, and finding a case by its code."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from govgrid.citymap.enums import CaseState
from govgrid.citymap.pages import common
from govgrid.citymap.pages.messages import MESSAGES
from govgrid.citymap.services import worklists
from govgrid.core.deps import SessionDep, get_locale
from govgrid.core.pages import PagePrincipal, render, translate

router = APIRouter(include_in_schema=False)


@router.get("/citymap")
def map_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    county: str | None = None,
    town: str | None = None,
) -> HTMLResponse:
    """The one map: grid, cases, parts, units, cameras, boundaries, heat, indicators, live feed."""
    code = common.county_for(principal, county)
    locale = get_locale(request)
    js_keys = [k[3:] for k in MESSAGES["zh-CN"] if k.startswith("js.")]
    return render(
        request,
        "citymap_map.html",
        {
            **common.page_context(request, session, principal),
            "county": code,
            "town": town or "",
            "classes": common.class_options(locale),
            "js_messages": {k: translate(locale, "js." + k) for k in js_keys},
            "states": [(s.value, translate(locale, f"citymap.state.{s.value}")) for s in CaseState],
        },
    )


@router.get("/citymap/report")
def report_page(request: Request, session: SessionDep, principal: PagePrincipal) -> HTMLResponse:
    """The grid inspector's mobile page: class, point, description, photo."""
    locale = get_locale(request)
    return render(
        request,
        "citymap_report.html",
        {
            **common.page_context(request, session, principal),
            "county": common.county_for(principal, None),
            "classes": sorted(common.class_options(locale), key=lambda c: (c["kind"] != "event", c["code"])),
            "js_messages": {
                k: translate(locale, f"citymap.{k}")
                for k in ("report_sent", "report_merged", "pick_first", "request_failed", "cell")
            }
            | {"track": translate(locale, "citymap.track", code="{code}")},
        },
    )


@router.get("/citymap/track")
def track(request: Request, session: SessionDep, principal: PagePrincipal, code: str = "") -> Response:
    """Find a case by its code (the report page's tracking button): its page, or the form again."""
    code = code.strip()
    if code:
        case = worklists.find_by_code(session, principal=principal, code=code[:40])
        if case is not None:
            return RedirectResponse(f"/citymap/cases/{case.id}", status_code=303)
    locale = get_locale(request)
    return render(
        request,
        "citymap_track.html",
        {
            **common.page_context(request, session, principal),
            "code": code,
            "missing": translate(locale, "citymap.track_missing", code=code) if code else None,
        },
        status_code=404 if code else 200,
    )
