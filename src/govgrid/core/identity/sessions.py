"""Server-side sessions: every token names one, so logout,
a password change or a disabled account ends it at once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from govgrid.config import get_settings
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.db import rowcount, utcnow
from govgrid.core.identity import security
from govgrid.core.identity.models import User, UserSession

# how stale a session's "last seen" may get before a request writes it again (one write per period)
SEEN_EVERY = timedelta(minutes=5)


def start(
    session: Session, *, user: User, kind: str = "cookie", minutes: int | None = None,
    address: str | None = None, user_agent: str | None = None,
) -> str:
    """Open a session for a user who has just proved who they are; returns its signed token.

    `address` and `user_agent`: where the login came from (shown to administrators, /admin/sessions)."""
    minutes = minutes or get_settings().token_minutes
    sid = security.new_session_id()
    now = utcnow()
    session.add(UserSession(token_hash=security.hash_session_id(sid), user_id=user.id, kind=kind,
                            expires_at=now + timedelta(minutes=minutes), last_seen_at=now,
                            address=(address or None) and address[:64],
                            user_agent=(user_agent or None) and user_agent[:256]))
    session.flush()
    return security.create_token(user.id, sid, minutes=minutes)


# looked up on every request with a login: the statement is built once
_SESSION_ROW = select(
    UserSession.id, UserSession.user_id, UserSession.expires_at, UserSession.ended_at,
    UserSession.last_seen_at,
).where(UserSession.token_hash == bindparam("token_hash"))


def resolve(session: Session, token: str) -> int | None:
    """The user id behind a token whose session is still open, else None."""
    claims = security.decode_token(token)
    if claims is None:
        return None
    row = session.execute(_SESSION_ROW, {"token_hash": security.hash_session_id(claims.sid)}).first()
    now = utcnow()
    if row is None or row.ended_at is not None or row.expires_at <= now or row.user_id != claims.user_id:
        return None
    if row.last_seen_at is None or now - row.last_seen_at >= SEEN_EVERY:
        session.execute(update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now))
    return claims.user_id


def end(session: Session, *, token: str, actor: Actor, reason: str = "logout") -> bool:
    """End the session a token names (idempotent); True if one was open."""
    claims = security.decode_token(token)
    if claims is None:
        return False
    ended = rowcount(session.execute(update(UserSession).where(
        UserSession.token_hash == security.hash_session_id(claims.sid), UserSession.ended_at.is_(None)
    ).values(ended_at=utcnow(), ended_reason=reason)))
    if ended:
        audit.record(session, actor=actor, action="auth.logout", entity_type="user", entity_id=claims.user_id,
                     detail={"reason": reason})
    return bool(ended)


def end_all(
    session: Session, *, user_id: int, actor: Actor, reason: str, keep_token: str | None = None
) -> int:
    """End every open session of a user (password change, disabled account).

    `keep_token`: the caller's own session stays open."""
    stmt = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    keep = security.decode_token(keep_token) if keep_token else None
    if keep is not None:
        stmt = stmt.where(UserSession.token_hash != security.hash_session_id(keep.sid))
    n = rowcount(session.execute(stmt.values(ended_at=utcnow(), ended_reason=reason)))
    audit.record(session, actor=actor, action="auth.sessions_ended", entity_type="user", entity_id=user_id,
                 detail={"reason": reason, "sessions": n})
    return n


def purge_expired(session: Session, *, older_than: timedelta = timedelta(days=30)) -> int:
    """Forget sessions that ended or expired long ago."""
    from sqlalchemy import delete, or_

    cutoff = utcnow() - older_than
    return rowcount(session.execute(delete(UserSession).where(
        or_(UserSession.expires_at < cutoff, UserSession.ended_at < cutoff))))
