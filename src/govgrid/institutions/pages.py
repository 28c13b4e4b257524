"""Institutions pages (数据制度, zh-CN first): the contribution ledger with scores and the scoring rule per
division and per line (条), and security governance (the grading register with reviews due, incidents with
their handling). Forms post with the CSRF token and redirect back (303) or show what went wrong."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from govgrid.core.authz.principal import Principal
from govgrid.core.departments.catalogue import LINES
from govgrid.core.deps import SessionDep
from govgrid.core.errors import AppError, ValidationFailedError
from govgrid.core.pages import PagePrincipal, register_messages, render
from govgrid.core.workdays import SHANGHAI
from govgrid.institutions.enums import INCIDENT, Grade, IncidentState, Outcome
from govgrid.institutions.messages import MESSAGES
from govgrid.institutions.services import incidents, ledger, register

router = APIRouter(prefix="/institutions", include_in_schema=False)
ID = Annotated[int, Path(ge=1, le=2_147_483_647)]
LINE_CODES = {code for code, _zh, _en in LINES}
FLASH = re.compile(r"sync:\d{1,6}:\d{1,6}:\d{1,6}|review|moved")  # the flashes this page shows
register_messages(MESSAGES)


def fail(request: Request, exc: AppError, back: str) -> HTMLResponse:
    """A page saying what went wrong and how to go back (the error's status)."""
    return render(
        request,
        "institutions/error.html",
        {"message": exc.message, "details": exc.details, "back": back},
        status_code=exc.status,
    )


def home_division(principal: Principal, wanted: str) -> str:
    """The division a page shows: the one asked for, else the caller's widest level."""
    if wanted.isdigit() and 6 <= len(wanted) <= 32:
        return wanted
    mine = sorted(principal.assignments, key=lambda a: (a.reach != "division", len(a.division_path)))
    return mine[0].division_code if mine else "410000"


def local(moment: datetime) -> datetime:
    """A stored UTC time in Beijing time for display."""
    return moment.astimezone(SHANGHAI)


def line_of(value: str) -> str:
    """A known line code, or '' for all lines."""
    return value if value in LINE_CODES else ""


def back_to(page: str, division: str, line: str = "", **extra: str) -> str:
    """The URL of a page of this module for a division (and line), with a flash."""
    query = {"division": division, **({"line": line} if line else {}), **extra}
    return f"/institutions/{page}?{urlencode(query)}"


def number(value: str, name: str) -> float:
    """A non-negative number from a form field, or a 422 naming the field."""
    try:
        x = float(value)
    except ValueError:
        raise ValidationFailedError(
            f"{name} 应为数字 ({name}: a number)", details=[{"loc": ["form", name], "msg": value[:20]}]
        ) from None
    return x


@router.get("")
def institutions_home() -> RedirectResponse:
    """The module's entry: the ledger."""
    return RedirectResponse("/institutions/ledger", status_code=303)


@router.get("/ledger")
def ledger_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    division: str = "",
    line: str = "",
    days: int = 90,
    done: str = "",
) -> HTMLResponse:
    """A division's (or one line's) ledger, provider scores, the rule in force and its versions."""
    code = home_division(principal, division)
    end = datetime.now(UTC)
    start = end - timedelta(days=max(1, min(days, 3660)))
    try:
        book = ledger.ledger(
            session, actor=principal, division_code=code, start=start, end=end, line=line_of(line)
        )
        history = ledger.rule_history(session, actor=principal, division_code=code)
    except AppError as exc:
        return fail(request, exc, "/institutions/ledger")
    return render(
        request,
        "institutions/ledger.html",
        {
            "book": book,
            "history": history,
            "lines": LINES,
            "outcomes": [o.value for o in Outcome],
            "done": done[:10] if done[:10].isdigit() else "",
            "local": local,
        },
    )


@router.post("/rules")
def rule_form(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    division_code: Annotated[str, Form(max_length=32)] = "",
    prefill: Annotated[str, Form(max_length=20)] = "0",
    verify: Annotated[str, Form(max_length=20)] = "0",
    case: Annotated[str, Form(max_length=20)] = "0",
    sync: Annotated[str, Form(max_length=20)] = "0",
    other: Annotated[str, Form(max_length=20)] = "0",
    row_weight: Annotated[str, Form(max_length=20)] = "0",
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Store a new version of the division's scoring rule from the ledger page."""
    back = back_to("ledger", division_code)
    try:
        form = {"prefill": prefill, "verify": verify, "case": case, "sync": sync, "other": other}
        weights = {k: number(v, k) for k, v in form.items()}
        rule = ledger.set_rule(
            session,
            actor=principal,
            division_code=division_code,
            weights=weights,
            row_weight=number(row_weight, "row_weight"),
            note=note,
        )
    except AppError as exc:
        return fail(request, exc, back)
    return RedirectResponse(back_to("ledger", division_code, done=str(rule.version)), status_code=303)


@router.get("/security")
def security_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    division: str = "",
    line: str = "",
    done: str = "",
) -> HTMLResponse:
    """The grading register (reviews due first by grade) and the incidents with their handling."""
    code = home_division(principal, division)
    try:
        entries = register.entries(session, actor=principal, division_code=code, line=line_of(line))
        found = incidents.incidents(session, actor=principal, division_code=code)
    except AppError as exc:
        return fail(request, exc, "/institutions/security")
    return render(
        request,
        "institutions/security.html",
        {
            "code": code,
            "line": line_of(line),
            "lines": LINES,
            "entries": entries,
            "incidents": [(i, [s for s in IncidentState if INCIDENT.can_move(i.state, s)]) for i in found],
            "grades": [g.value for g in Grade],
            "now": datetime.now(UTC),
            "done": done if FLASH.fullmatch(done[:40]) else "",
            "local": local,
        },
    )


@router.post("/register/sync")
def sync_form(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    division_code: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Sync the register from the catalog and file incidents from the last 90 days' gateway refusals."""
    back = back_to("security", division_code)
    try:
        added, raised = register.sync(session, actor=principal, division_code=division_code)
        end = datetime.now(UTC)
        filed = incidents.scan(
            session, actor=principal, division_code=division_code, start=end - timedelta(days=90), end=end
        )
    except AppError as exc:
        return fail(request, exc, back)
    return RedirectResponse(back_to("security", division_code, done=f"sync:{added}:{raised}:{filed}"), 303)


@router.post("/register/review")
def review_form(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    division_code: Annotated[str, Form(max_length=32)] = "",
    resource_code: Annotated[str, Form(max_length=64)] = "",
    grade: Annotated[str, Form(max_length=16)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Record a periodic review of a register entry."""
    back = back_to("security", division_code)
    try:
        register.review(session, actor=principal, resource_code=resource_code, grade=grade, note=note)
    except AppError as exc:
        return fail(request, exc, back)
    return RedirectResponse(back_to("security", division_code, done="review"), status_code=303)


@router.post("/incidents/{incident_id}/move")
def move_form(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    incident_id: ID,
    division_code: Annotated[str, Form(max_length=32)] = "",
    state: Annotated[str, Form(max_length=16)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Move an incident along its handling with a note."""
    back = back_to("security", division_code)
    try:
        incidents.move(session, actor=principal, incident_id=incident_id, state=state, note=note)
    except AppError as exc:
        return fail(request, exc, back)
    return RedirectResponse(back_to("security", division_code, done="moved"), status_code=303)
