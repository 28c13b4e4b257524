"""FastAPI dependencies shared by every router: session, caller, paging, locale."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from govgrid.config import get_settings
from govgrid.core.authz.principal import Principal
from govgrid.core.db import BEGIN_OPTION, session_factory
from govgrid.core.errors import AppError, UnauthorizedError
from govgrid.core.events import deliver_committed
from govgrid.core.identity import security, sessions
from govgrid.core.identity import service as identity

TOKEN_COOKIE = "govgrid_token"  # noqa: S105  (a cookie name, not a secret)


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: committed when the endpoint returns, rolled back on error.

    Reads (GET, HEAD) begin without the write lock on SQLite; a read that writes (an audited read) queues
    for the lock at its first write, and is run again from the start if another write got in first
    (core.websec)."""
    session = session_factory()()
    # Begin at once: reads without the write lock; writers take their turn before the endpoint runs any code.
    if request.method in READ_METHODS and not request.scope.get("govgrid.retry"):
        session.connection(execution_options={BEGIN_OPTION: "deferred"})
    else:
        session.connection()
    request.state.db = session
    try:
        yield session
        session.commit()
    except BaseException as exc:
        session.rollback()
        if isinstance(exc, AppError) and (exc.audit or exc.followups):
            record_refusal(session, exc)
        raise
    finally:
        session.close()
    deliver_committed(session)


def record_refusal(session: Session, exc: AppError) -> None:
    """Write what a refusal asked for (its audit record, failure counters).

    It runs in a fresh transaction, after the request's rollback."""
    from govgrid.core.audit import service as audit

    try:
        if exc.audit:
            audit.record(session, **exc.audit)
        for followup in exc.followups:
            followup(session)
        session.commit()
    except Exception:  # the refusal still reaches the caller even if its records cannot be written
        session.rollback()
        logging.getLogger(__name__).exception("could not record a refused request")


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _credentials(request: Request) -> tuple[str | None, str | None]:
    """(jwt, api_key) presented by the request, from header, cookie or X-API-Key."""
    auth = request.headers.get("authorization", "").strip()
    api_key = request.headers.get("x-api-key", "").strip() or None
    token = None
    if auth.lower().startswith("bearer "):
        value = auth[7:].strip()
        if security.split_api_key(value):
            api_key = value
        else:
            token = value
    elif auth and security.split_api_key(auth):
        api_key = auth  # CKAN clients send the bare key in Authorization
    if token is None and api_key is None:
        token = request.cookies.get(TOKEN_COOKIE)
    return token, api_key


def get_optional_principal(request: Request, session: SessionDep) -> Principal | None:
    """The caller if credentials were presented and are valid; None for anonymous."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token, api_key = _credentials(request)
    principal = None
    if api_key:
        principal = identity.load_api_key_principal(session, api_key)
        if principal is None:
            raise UnauthorizedError("API 密钥无效或已吊销 (invalid or revoked API key)")
    elif token:
        user_id = sessions.resolve(session, token)
        principal = identity.load_user_principal(session, user_id) if user_id is not None else None
        if principal is None and request.headers.get("authorization"):
            raise UnauthorizedError(
                "登录已失效，请重新登录 (token invalid, expired or logged out: log in again)"
            )
    request.state.principal = principal
    return principal


def client_address(request: Request) -> str | None:
    """The caller's address as the server sees it (behind a proxy:
    what uvicorn's --forwarded-allow-ips trusts)."""
    return request.client.host if request.client else None


def bearer_token(request: Request) -> str | None:
    """The JWT in `Authorization: Bearer ...`, if the request carries one (not an API key)."""
    token, _key = _credentials(request)
    return token if request.headers.get("authorization") else None


def session_token(request: Request) -> str | None:
    """The browser session's token (the login cookie), if any."""
    return request.cookies.get(TOKEN_COOKIE) or None


def get_principal(principal: Annotated[Principal | None, Depends(get_optional_principal)]) -> Principal:
    """The caller; anonymous requests get 401."""
    if principal is None:
        raise UnauthorizedError("需要登录 (authentication required)")
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(get_optional_principal)]
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


@dataclass
class PageParams:
    """limit/offset paging with a server-side maximum."""

    limit: int
    offset: int


def get_page(
    limit: Annotated[int, Query(ge=1, description="page size (max set by GOVGRID_MAX_PAGE_SIZE)")] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> PageParams:
    """Paging parameters, capped at the configured maximum."""
    return PageParams(limit=min(limit, get_settings().max_page_size), offset=offset)


PageDep = Annotated[PageParams, Depends(get_page)]


def get_locale(request: Request) -> str:
    """zh-CN unless the visitor chose English (?lang=en or the language switch's cookie)."""
    lang = (
        request.query_params.get("lang")
        or request.cookies.get("govgrid_lang")
        or get_settings().default_locale
    )
    return "en" if lang.lower().startswith("en") else "zh-CN"


LocaleDep = Annotated[str, Depends(get_locale)]
