"""Replay protection for signed callbacks: a timestamp window and nonces remembered in the database."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govgrid.core.db import utcnow
from govgrid.core.guards.models import SeenNonce

WINDOW = timedelta(minutes=5)


def fresh_timestamp(
    timestamp: str | int | None, *, window: timedelta = WINDOW, now: float | None = None
) -> bool:
    """True if a Unix timestamp (seconds) lies within `window` of now, either side."""
    try:
        ts = int(str(timestamp))
    except (TypeError, ValueError):
        return False
    return abs((time.time() if now is None else now) - ts) <= window.total_seconds()


def first_use(session: Session, *, scope: str, nonce: str, window: timedelta = WINDOW) -> bool:
    """Remember a nonce; False if it was already used within twice the window (a replay)."""
    if not nonce or len(nonce) > 128:
        return False
    session.execute(delete(SeenNonce).where(SeenNonce.seen_at < utcnow() - 2 * window))
    try:
        with session.begin_nested():
            session.add(SeenNonce(scope=scope, nonce=nonce))
            session.flush()
    except IntegrityError:
        return False
    return True
