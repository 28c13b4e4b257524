"""Shell pages: home (the 条×块 matrix), login, logout, language, department."""

from __future__ import annotations

from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse

from govgrid.config import get_settings
from govgrid.core.authz import policy
from govgrid.core.departments import service as departments
from govgrid.core.deps import (
    TOKEN_COOKIE,
    OptionalPrincipal,
    SessionDep,
    client_address,
    get_locale,
    record_refusal,
    session_token,
)
from govgrid.core.divisions import service as divisions
from govgrid.core.errors import AppError, RateLimitedError, UnauthorizedError
from govgrid.core.identity import service as identity
from govgrid.core.identity import sessions
from govgrid.core.modules import open_work
from govgrid.core.pages import PagePrincipal, public_links, render, translate
from govgrid.core.workdays import SHANGHAI

router = APIRouter(include_in_schema=False)

def _safe_next(url: str | None) -> str:
    """Only same-site relative redirects after login."""
    if not url or not url.startswith("/") or url.startswith("//") or urlparse(url).netloc:
        return "/"
    return url


def _tree(session, principal) -> list[dict]:
    seen: dict[str, dict] = {}
    for a in principal.assignments:
        div = divisions.get(session, a.division_code)
        for node in [*divisions.ancestors(session, div), div]:
            seen.setdefault(node.code, {"code": node.code, "name": node.name, "level": node.level,
                                        "indent": node.depth, "path": node.path})
        for child in divisions.children(session, div.code)[:30]:
            seen.setdefault(child.code, {"code": child.code, "name": child.name, "level": child.level,
                                         "indent": child.depth, "path": child.path})
    return sorted(seen.values(), key=lambda n: n["path"])


@router.get("/")
def home(request: Request, session: SessionDep, principal: OptionalPrincipal):
    """The home page: the caller's division tree and 条×块 matrix."""
    links = public_links(get_locale(request))
    if principal is None:
        return render(request, "home.html", {"public_links": links})
    lines, divs, cells = departments.matrix(session, principal=principal)
    work = open_work(session, [d.id for row in cells.values() for d in row.values()])
    return render(request, "home.html", {"lines": lines, "divisions": divs, "cells": cells, "work": work,
                                         "tree": _tree(session, principal), "public_links": links})


@router.get("/login")
def login_form(request: Request, next: str | None = None):
    """The login form."""
    return render(request, "login.html", {"next_url": _safe_next(next), "error": None})


@router.post("/login")
def login_submit(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=500)] = "/",
):
    """Check the login, open a server-side session and set its cookie."""
    address = client_address(request)
    try:
        user = identity.authenticate(session, username=username, password=password, address=address)
    except (UnauthorizedError, RateLimitedError) as exc:
        session.rollback()
        record_refusal(session, exc)
        return render(request, "login.html", {"next_url": _safe_next(next), "error": exc.message},
                      status_code=exc.status, headers=exc.headers)
    token = sessions.start(session, user=user, kind="cookie", address=address,
                           user_agent=request.headers.get("user-agent"))
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="lax",
                        secure=not get_settings().demo_mode and request.url.scheme == "https",
                        max_age=get_settings().token_minutes * 60)
    return response


@router.get("/logout")
def logout_form(request: Request):
    """Logging out is a POST: this page asks for it (old links land here)."""
    return render(request, "logout.html", {})


@router.post("/logout")
def logout(request: Request, session: SessionDep, principal: OptionalPrincipal):
    """End the session on the server and drop its cookie."""
    token = session_token(request)
    if token and principal is not None:
        sessions.end(session, token=token, actor=principal)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(TOKEN_COOKIE)
    return response


@router.get("/account/password")
def password_form(request: Request, principal: PagePrincipal):
    """The change-password form."""
    return render(request, "account_password.html", {"error": None, "done": False})


@router.post("/account/password")
def password_submit(request: Request, session: SessionDep, principal: PagePrincipal,
                    current_password: Annotated[str, Form(max_length=200)],
                    new_password: Annotated[str, Form(max_length=200)],
                    repeat_password: Annotated[str, Form(max_length=200)]):
    """Change my password; my other sessions end."""
    if new_password != repeat_password:
        error = translate(get_locale(request), "account.mismatch")
        return render(request, "account_password.html", {"error": error, "done": False}, status_code=422)
    try:
        identity.change_password(session, user_id=principal.id, current=current_password, new=new_password,
                                 keep_token=session_token(request))
    except AppError as exc:
        session.rollback()
        return render(request, "account_password.html", {"error": exc.message, "done": False},
                      status_code=exc.status)
    return render(request, "account_password.html", {"error": None, "done": True})


@router.get("/admin/sessions")
def sessions_page(request: Request, session: SessionDep, principal: PagePrincipal, revoked: int = 0):
    """Active logins of the users I administer, each with a revoke button (administrators only)."""
    rows = []
    for row, user in identity.sessions_in_scope(session, principal):
        places = sorted({f"{divisions.get(session, r.department.division_code).name} · {r.department.name}"
                         for r in user.roles})
        rows.append({"id": row.id, "username": user.username, "display_name": user.display_name,
                     "places": places, "kind": row.kind, "address": row.address or "—",
                     "user_agent": row.user_agent or "—",
                     "created_at": _shanghai(row.created_at), "last_seen_at": _shanghai(row.last_seen_at),
                     "expires_at": _shanghai(row.expires_at)})
    return render(request, "admin_sessions.html", {"rows": rows, "revoked": bool(revoked)})


def _shanghai(at: datetime | None) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if at is not None else "—"


@router.post("/admin/sessions/{session_id}/revoke")
def sessions_revoke(session: SessionDep, principal: PagePrincipal, session_id: int):
    """End one login of a user I administer, at once; back to the list."""
    identity.end_session_by_id(session, actor=principal, session_id=session_id)
    return RedirectResponse("/admin/sessions?revoked=1", status_code=303)


_STATIC = Path(str(resources.files("govgrid.web"))) / "static"


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """The site icon for browsers that ask for /favicon.ico (pages link the SVG)."""
    return FileResponse(_STATIC / "favicon.ico", media_type="image/x-icon",
                        headers={"Cache-Control": "public, max-age=86400"})


@router.get("/lang/{code}")
def switch_language(code: str, next: str | None = None):
    """Switch the interface language (zh-CN or en)."""
    response = RedirectResponse(_safe_next(next), status_code=303)
    locale = "en" if code.lower().startswith("en") else "zh-CN"
    response.set_cookie("govgrid_lang", locale, max_age=365 * 86400, samesite="lax")
    return response


@router.get("/departments/{department_id}")
def department_page(request: Request, session: SessionDep, principal: PagePrincipal, department_id: int):
    """A department page (in scope only)."""
    dept = departments.get(session, department_id)
    policy.require(session, principal, dept.id)
    parent = departments.get(session, dept.parent_id) if dept.parent_id else None
    return render(request, "department.html", {"dept": dept, "parent": parent})

