"""Economic monitoring pages: division dashboard, indicator detail, peer comparison, upload, registry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from govgrid.core.departments.catalogue import LINES
from govgrid.core.deps import SessionDep, get_locale
from govgrid.core.errors import ValidationFailedError
from govgrid.core.pages import PagePrincipal, register_messages, render
from govgrid.core.workdays import SHANGHAI
from govgrid.economy import tables
from govgrid.economy.enums import AlertStatus
from govgrid.economy.messages import MESSAGES
from govgrid.economy.services import alerts, registry, series, views

router = APIRouter(include_in_schema=False)
register_messages(MESSAGES)
DIVISION = Annotated[str, Path(pattern=r"^\d{6}(\d{3}(\d{3})?)?$")]
CODE = Annotated[str, Path(pattern=r"^[A-Z][A-Z0-9_]{1,31}$")]
LEVELS_ZH = {"province": "省级", "city": "市级", "county": "县级", "township": "乡镇级"}


@router.get("/economy")
def economy_home(request: Request, session: SessionDep, principal: PagePrincipal) -> HTMLResponse:
    """The divisions whose figures the caller may see (one division: straight to its dashboard)."""
    divs = views.home_divisions(session, principal=principal)
    top = [d for d in divs if not any(o.code != d.code and d.path.startswith(o.path) for o in divs)]
    if len(top) == 1:
        return RedirectResponse(f"/economy/divisions/{top[0].code}", status_code=303)  # type: ignore[return-value]
    return render(request, "economy/home.html", {"divisions": top})


@router.get("/economy/divisions/{code}")
def dashboard_page(
    code: DIVISION, request: Request, session: SessionDep, principal: PagePrincipal
) -> HTMLResponse:
    """A division's dashboard: latest figures, growth charts, open alerts."""
    d = views.dashboard(session, principal=principal, division_code=code)
    cards = [
        {
            "code": c.indicator.code,
            "periods": c.periods,
            "values": c.values,
            "yoy": c.yoy,
            "unit": c.indicator.unit,
            "name": c.indicator.name_zh if _zh(request) else c.indicator.name_en,
        }
        for c in d.cards
    ]
    return render(request, "economy/dashboard.html", {"d": d, "cards": cards, "shanghai": SHANGHAI})


@router.get("/economy/divisions/{code}/indicators/{indicator}")
def indicator_page(
    code: DIVISION, indicator: CODE, request: Request, session: SessionDep, principal: PagePrincipal
) -> HTMLResponse:
    """One indicator: figures with seasonal adjustment, expected band, nowcast, vintages, alerts."""
    d = views.detail(session, principal=principal, division_code=code, indicator_code=indicator)
    return render(request, "economy/indicator.html", {"d": d, "chart": d.chart, "shanghai": SHANGHAI})


@router.get("/economy/divisions/{code}/peers")
def peers_page(
    code: DIVISION,
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    indicator: Annotated[str, Query(pattern=r"^[A-Z][A-Z0-9_]{1,31}$")] = "IND_VA",
) -> HTMLResponse:
    """A county against the other counties of its city and province (growth rates of the same month)."""
    p = views.peers(session, principal=principal, division_code=code, indicator_code=indicator)
    chart = {
        "city": [{"name": r.name, "ytd": r.ytd, "yoy": r.yoy, "self": r.is_self} for r in p.in_city],
        "province": [{"name": r.name, "ytd": r.ytd, "yoy": r.yoy, "self": r.is_self} for r in p.in_province],
    }
    return render(
        request,
        "economy/peers.html",
        {"p": p, "chart": chart, "indicators": registry.list_indicators(session)},
    )


@router.post("/economy/alerts/{alert_id}")
def alert_answer(
    alert_id: Annotated[int, Path(ge=1)],
    session: SessionDep,
    principal: PagePrincipal,
    status: Annotated[AlertStatus, Form()],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> RedirectResponse:
    """The responsible department's answer from the indicator page; back to the page."""
    a = alerts.update_alert(session, actor=principal, alert_id=alert_id, status=status, note=note)
    return RedirectResponse(
        f"/economy/divisions/{a.division_code}/indicators/{a.indicator.code}#alert-{a.id}", status_code=303
    )


@router.get("/economy/upload")
def upload_form(request: Request, principal: PagePrincipal) -> HTMLResponse:
    """The upload form."""
    return render(request, "economy/upload.html", {"result": None, "problems": None})


@router.post("/economy/upload")
def upload_submit(
    request: Request, session: SessionDep, principal: PagePrincipal, file: Annotated[UploadFile, File()]
) -> HTMLResponse:
    """Import the file, or show every bad row's reason (nothing imported)."""
    data = file.file.read(tables.MAX_BYTES + 1)
    try:
        if not data:
            raise ValidationFailedError("文件为空 (the file is empty)")
        done = series.upload(session, actor=principal, data=data, filename=file.filename or "")
    except ValidationFailedError as exc:
        return render(
            request,
            "economy/upload.html",
            {"result": None, "message": exc.message, "problems": exc.details},
            status_code=422,
        )
    return render(request, "economy/upload.html", {"result": done, "problems": None})


@router.get("/economy/indicators")
def registry_page(request: Request, session: SessionDep, principal: PagePrincipal) -> HTMLResponse:
    """The indicator registry."""
    zh = _zh(request)
    lines = {code: (name_zh if zh else name_en) for code, name_zh, name_en in LINES}
    levels = LEVELS_ZH if zh else {k: k for k in LEVELS_ZH}
    return render(
        request,
        "economy/registry.html",
        {"indicators": registry.list_indicators(session), "lines": lines, "levels": levels},
    )


def _zh(request: Request) -> bool:
    return get_locale(request) == "zh-CN"
