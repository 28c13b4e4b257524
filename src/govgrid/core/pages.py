"""Server-rendered pages: one Jinja2 environment shared by core and modules, zh-CN first."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader
from markupsafe import Markup

from govgrid.config import get_settings
from govgrid.core.authz.principal import Principal
from govgrid.core.deps import OptionalPrincipal, get_locale
from govgrid.core.modules import NavItem
from govgrid.core.websec import CSRF_COOKIE, CSRF_FIELD, csrf_token, state_nonce

_template_dirs: list[Path] = []
_messages: dict[str, dict[str, str]] = {"zh-CN": {}, "en": {}}
_nav: list[NavItem] = []
_templates: Jinja2Templates | None = None


def register_templates(path: Path) -> None:
    """Add a folder of templates (a module's pages extend 'base.html')."""
    global _templates
    if path not in _template_dirs:
        _template_dirs.append(path)
        _templates = None


def register_messages(messages: dict[str, dict[str, str]]) -> None:
    """Add UI strings: {'zh-CN': {key: text}, 'en': {key: text}}."""
    for locale, table in messages.items():
        _messages.setdefault(locale, {}).update(table)


def catalogue() -> dict[str, dict[str, str]]:
    """A copy of every registered UI string by locale (the one message catalogue)."""
    return {locale: dict(table) for locale, table in _messages.items()}


def register_nav(items: list[NavItem]) -> None:
    """Add links to the top navigation."""
    for item in items:
        if all(n.path != item.path for n in _nav):
            _nav.append(item)


def public_links(locale: str) -> list[tuple[str, str]]:
    """Navigation items open to anonymous visitors."""
    return [(n.path, n.zh if locale == "zh-CN" else n.en) for n in _nav if n.public]


def translate(locale: str, key: str, **kwargs: Any) -> str:
    """The UI string for a key in a locale (falls back to zh-CN, then the key itself)."""
    text = _messages.get(locale, {}).get(key) or _messages["zh-CN"].get(key) or key
    return text.format(**kwargs) if kwargs else text


def templates() -> Jinja2Templates:
    """The shared template environment."""
    global _templates
    if _templates is None:
        t = Jinja2Templates(directory=str(_template_dirs[0]) if _template_dirs else ".")
        t.env.loader = ChoiceLoader([FileSystemLoader(str(d)) for d in _template_dirs])
        _templates = t
    return _templates


def basemap_settings() -> dict[str, str]:
    """The tile source of every map (empty URL: offline, boundaries and place names only)."""
    s = get_settings()
    return {"url": s.map_tiles, "labels": s.map_tiles_labels, "attribution": s.map_tiles_attribution}


def render(request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200,
           headers: dict[str, str] | None = None) -> HTMLResponse:
    """Render a page with the locale, the caller and the navigation in its context."""
    locale = get_locale(request)
    if not hasattr(request.state, "principal"):
        request.state.principal = _cookie_principal(request)
    token = csrf_token(request)
    ctx = {
        "request": request,
        "csp_nonce": state_nonce(request),
        "csrf_token": token,
        # Markup.format escapes its arguments (the token is URL-safe base64, so the page is unchanged)
        "csrf_input": lambda: Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token),
        "locale": locale,
        "t": lambda key, **kw: translate(locale, key, **kw),
        # anonymous visitors see the public pages only (reporting, tracking, public statistics)
        "nav": [(n.path, n.zh if locale == "zh-CN" else n.en) for n in _nav
                if n.public or request.state.principal is not None],
        "principal": getattr(request.state, "principal", None),
        "path": request.url.path,
        # `govgrid demo` serves at once and loads its data in the background: a banner until it is done
        "demo_progress": getattr(getattr(request.scope.get("app"), "state", None), "demo_progress", None),
        # every map's basemap (web/static/basemap.js): tiles when configured, else boundaries and place names
        "basemap": basemap_settings(),
    }
    ctx.update(context or {})
    response = templates().TemplateResponse(request, template, ctx, status_code=status_code, headers=headers)
    new_anchor = getattr(request.state, "csrf_new_cookie", None)
    if new_anchor:
        response.set_cookie(
            CSRF_COOKIE,
            new_anchor,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )
    return response


def _cookie_principal(request: Request) -> Principal | None:
    """The logged-in visitor on a public page that did not ask for the caller.

    It lets the page header show who is logged in.
    """
    from govgrid.core.db import session_scope
    from govgrid.core.deps import TOKEN_COOKIE
    from govgrid.core.identity import service as identity
    from govgrid.core.identity import sessions

    token = request.cookies.get(TOKEN_COOKIE)
    if not token:
        return None
    own = getattr(request.state, "db", None)
    # reuse the request's open unit of work (never reopen a closed one)
    if own is not None and own.in_transaction():
        user_id = sessions.resolve(own, token)
        return identity.load_user_principal(own, user_id) if user_id is not None else None
    with session_scope(readonly=True) as session:
        user_id = sessions.resolve(session, token)
        return identity.load_user_principal(session, user_id) if user_id is not None else None


class LoginRedirectError(Exception):
    """Raised by page dependencies when the visitor must log in first."""

    def __init__(self, next_url: str):
        self.next_url = next_url




def _page_principal(request: Request, principal: OptionalPrincipal) -> Principal:
    if principal is None:
        query = f"?{request.url.query}" if request.url.query else ""
        raise LoginRedirectError(str(request.url.path) + query)
    return principal


PagePrincipal = Annotated[Principal, Depends(_page_principal)]
