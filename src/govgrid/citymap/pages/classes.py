"""The county's class settings in pages (本县类别设置): every GB/T 30428 class as the county runs it, and for
the county's class administrators a form to set a class's deadline (working hours) and handling line (条) or
restore the standard. Each form post calls one service function of `services/classes.py`."""

from __future__ import annotations

import math
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from govgrid.citymap import catalog
from govgrid.citymap.pages import common
from govgrid.citymap.services import classes
from govgrid.core.authz.principal import Principal
from govgrid.core.departments.catalogue import LINES
from govgrid.core.deps import SessionDep, get_locale
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ValidationFailedError
from govgrid.core.pages import PagePrincipal, render, translate

router = APIRouter(include_in_schema=False)
KINDS = ("part", "event")
DONE = ("set", "cleared")
_LINE_EN = {code: en for code, _zh, en in LINES}


def default_county(principal: Principal, counties: list[Division]) -> str:
    """The caller's own county where it can be derived and seen, else the first county it may see."""
    own = common.county_for(principal, None)
    codes = [c.code for c in counties]
    if own in codes or not codes:
        return own
    return codes[0]


def line_name(code: str | None, locale: str) -> str:
    """A line (条) by its name in the reader's language (the code if the catalogue lacks it)."""
    if not code:
        return ""
    names = classes.LINE_NAMES if locale == "zh-CN" else _LINE_EN
    return names.get(code, code)


def line_choices(session: Session, county_code: str, locale: str) -> list[dict[str, str]]:
    """The lines a class of the county may be handled by: those with a department in the county."""
    found = classes.county_lines(session, county_code)
    return [
        {"code": code, "name": line_name(code, locale)}
        for code, _zh, _en in LINES
        if code in found and code in classes.LINE_NAMES
    ]


def _hours(value: float | None) -> str:
    """Working hours as a person writes them (2, 0.5, 16)."""
    return "" if value is None else f"{value:g}"


def _row(c: classes.CountyClass, locale: str) -> dict[str, Any]:
    """One class of the table: what the county runs, the standard beside it, and whether it departs."""
    row = c.override
    if row is None:
        status = "standard"
    elif row.active:
        status = "county"
    else:
        status = "paused"
    return {
        "key": catalog.class_key(c.standard.kind, c.standard.code),
        "kind": c.standard.kind,
        "code": c.standard.code,
        "name": c.standard.name_zh if locale == "zh-CN" else c.standard.name_en,
        "standard_hours": _hours(c.standard.deadline_hours),
        "hours": _hours(c.klass.deadline_hours),
        "line": c.klass.line,
        "line_name": line_name(c.klass.line, locale),
        "standard_line": c.standard.line,
        "standard_line_name": line_name(c.standard.line, locale),
        "status": status,
        "has_setting": row is not None,
        "set_hours": _hours(row.deadline_hours) if row is not None else "",
        "set_line": (row.line or "") if row is not None else "",
    }


def _matches(row: dict[str, Any], kind: str, q: str) -> bool:
    if kind in KINDS and row["kind"] != kind:
        return False
    return not q or q in row["code"] or q.lower() in row["name"].lower()


def _done(locale: str, done: str | None, key: str | None) -> str | None:
    """The confirmation of a change just made, naming the class, or None."""
    parsed = catalog.parse_key(key or "")
    klass = catalog.get_class(*parsed) if parsed is not None else None
    if done not in DONE or klass is None:
        return None
    name = klass.name_zh if locale == "zh-CN" else klass.name_en
    return translate(locale, f"citymap.classes.done_{done}", code=klass.code, name=name)


def _render(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    county: str | None,
    kind: str = "",
    q: str = "",
    edit: str | None = None,
    done: str | None = None,
    done_key: str | None = None,
    error: str | None = None,
    field_errors: dict[str, str] | None = None,
    entered: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    locale = get_locale(request)
    counties = classes.visible_counties(session, principal)
    code = county if county else default_county(principal, counties)
    found = classes.county_catalogue(session, principal=principal, county_code=code)  # 403 outside
    div = classes.county(session, code)
    if div.code not in {c.code for c in counties}:
        counties = [div, *counties]
    changeable = classes.may_change(session, principal, div)
    rows = [_row(c, locale) for c in found]
    kind = kind if kind in KINDS else ""
    q = q.strip()[:40]
    shown = [r for r in rows if _matches(r, kind, q)]
    editing = next((r for r in rows if r["key"] == edit), None) if changeable else None
    return render(
        request,
        "citymap_classes.html",
        {
            **common.page_context(request, session, principal),
            "county": div,
            "counties": counties,
            "rows": shown,
            "total": len(rows),
            "departing": sum(1 for r in rows if r["status"] == "county"),
            "kind": kind,
            "q": q,
            # the filters kept on the edit links ("&kind=event&q=...", escaped by the template)
            "filter_query": "".join(
                f"&{urlencode({name: value})}" for name, value in (("kind", kind), ("q", q)) if value
            ),
            "may_change": changeable,
            "editing": editing,
            "lines": line_choices(session, div.code, locale) if changeable else [],
            "deadline_range": [f"{h:g}" for h in catalog.DEADLINE_HOURS],
            "done": _done(locale, done, done_key),
            "error": error,
            "field_errors": field_errors or {},
            "entered": entered,
        },
        status_code=status_code,
    )


@router.get("/citymap/classes")
def classes_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    county: str | None = None,
    kind: str = "",
    q: str = "",
    edit: str | None = None,
    done: str | None = None,
    key: str | None = None,
) -> HTMLResponse:
    """Every class as the county runs it (本县类别设置); the county's class administrators change them."""
    return _render(
        request,
        session,
        principal,
        county=(county or "").strip()[:12] or None,
        kind=kind,
        q=q,
        edit=edit,
        done=done,
        done_key=key,
    )


def _parse_hours(text: str) -> float | str | None:
    """The deadline a form sent: None when left empty, a number, or the text itself (the service says why
    it is not a deadline)."""
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def _back(county_code: str, done: str, key: str, kind: str, q: str) -> RedirectResponse:
    """Back to the table as the caller filtered it, the changed row in view."""
    kept = {name: value for name, value in (("kind", kind), ("q", q)) if value}
    query = urlencode({"county": county_code, "done": done, "key": key, **kept})
    return RedirectResponse(f"/citymap/classes?{query}#row-{key}", status_code=303)


def _field_errors(exc: ValidationFailedError, locale: str) -> dict[str, str]:
    """The service's reasons by form field, in the reader's language."""
    out: dict[str, str] = {}
    lo, hi = (f"{h:g}" for h in catalog.DEADLINE_HOURS)
    for d in exc.details or []:
        loc = [str(p) for p in d.get("loc", [])]
        field = loc[-1] if loc else ""
        if field == "deadline_hours":
            out[field] = translate(locale, "citymap.classes.bad_hours", lo=lo, hi=hi)
        elif field == "line":
            out[field] = translate(locale, "citymap.classes.bad_line")
        else:
            out["key"] = translate(locale, "citymap.classes.bad_class")
    return out


@router.post("/citymap/classes/{county_code}")
def set_class(
    county_code: str,
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    key: Annotated[str, Form(max_length=40)] = "",
    deadline_hours: Annotated[str, Form(max_length=40)] = "",
    line: Annotated[str, Form(max_length=64)] = "",
    kind: Annotated[str, Form(max_length=10)] = "",
    q: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Set the county's own deadline and line for a class; back to the table (303), or the form again with
    the reason (422, nothing written). A caller who may not change the county gets 403."""
    div = classes.require_class_admin(session, principal, county_code)  # 403 before anything else
    locale = get_locale(request)
    parsed = catalog.parse_key(key)
    hours = _parse_hours(deadline_hours)
    chosen = line.strip() or None
    entered = {"deadline_hours": deadline_hours, "line": line}
    try:
        if parsed is None:
            raise ValidationFailedError(
                "本平台没有这个城市管理类别 (no such class)", details=[{"loc": ["key"], "msg": key}]
            )
        if isinstance(hours, str):
            raise ValidationFailedError(
                "处置时限应为数字 (the deadline must be a number)",
                details=[{"loc": ["body", "deadline_hours"], "msg": hours[:40]}],
            )
        with session.begin_nested():  # nothing of a refused setting is written
            classes.set_override(
                session,
                actor=principal,
                county_code=div.code,
                kind=parsed[0],
                code=parsed[1],
                deadline_hours=hours,
                line=chosen,
            )
    except ValidationFailedError as exc:
        fields = _field_errors(exc, locale)
        nothing = hours is None and chosen is None and parsed is not None
        message = translate(locale, f"citymap.classes.{'nothing_to_set' if nothing else 'invalid'}")
        if nothing:
            fields = {}
        return _render(
            request,
            session,
            principal,
            county=div.code,
            kind=kind,
            q=q,
            edit=key if parsed is not None else None,
            error=message,
            field_errors=fields,
            entered=entered,
            status_code=exc.status,
        )
    return _back(div.code, "set", key, kind, q)


@router.post("/citymap/classes/{county_code}/clear")
def clear_class(
    county_code: str,
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    key: Annotated[str, Form(max_length=40)] = "",
    kind: Annotated[str, Form(max_length=10)] = "",
    q: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Restore the standard for a class (the county's setting removed); back to the table (303)."""
    div = classes.require_class_admin(session, principal, county_code)  # 403 before anything else
    parsed = catalog.parse_key(key)
    if parsed is None:
        raise ValidationFailedError(
            "本平台没有这个城市管理类别 (no such class)", details=[{"loc": ["key"], "msg": key[:40]}]
        )
    classes.clear_override(session, actor=principal, county_code=div.code, kind=parsed[0], code=parsed[1])
    return _back(div.code, "cleared", key, kind, q)
