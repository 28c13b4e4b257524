"""Login throttling: wrong passwords earn a growing lockout per account and per client address.

Counters live in the database, so every worker of a deployment sees the same lockout. The first
`login_free_failures` wrong passwords for an account (and `login_address_free_failures` from one address,
across accounts) cost nothing; each one after that locks for 30 s x 2^(n-1), up to `login_max_lock_minutes`.
Each new lockout is written to the audit chain."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govgrid.config import get_settings
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import SystemActor
from govgrid.core.db import utcnow
from govgrid.core.identity.models import LoginThrottle

BASE_LOCK_SECONDS = 30
FORGET_AFTER = timedelta(hours=24)  # failures older than this no longer count

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lock:
    """An active lockout: what is locked and for how many more seconds."""

    scope: str
    seconds: int


def _keys(username: str, address: str | None) -> list[tuple[str, str]]:
    keys = [("user", username.strip().lower()[:128])]
    if address:
        keys.append(("addr", address[:128]))
    return keys


def active_lock(session: Session, *, username: str, address: str | None) -> Lock | None:
    """The longest lockout currently holding this account or address, if any."""
    now = utcnow()
    worst: Lock | None = None
    for scope, key in _keys(username, address):
        row = session.scalar(
            select(LoginThrottle).where(LoginThrottle.scope == scope, LoginThrottle.key == key)
        )
        if row is not None and row.locked_until is not None and row.locked_until > now:
            seconds = math.ceil((row.locked_until - now).total_seconds())
            if worst is None or seconds > worst.seconds:
                worst = Lock(scope, seconds)
    return worst


def _lock_seconds(over: int) -> int:
    cap = get_settings().login_max_lock_minutes * 60
    return int(min(cap, BASE_LOCK_SECONDS * 2 ** min(over - 1, 20)))


def record_failure(session: Session, *, username: str, address: str | None) -> None:
    """Count a wrong password; lock the account or address once it is over its free failures."""
    settings = get_settings()
    now = utcnow()
    free = {"user": settings.login_free_failures, "addr": settings.login_address_free_failures}
    for scope, key in _keys(username, address):
        row = session.scalar(
            select(LoginThrottle).where(LoginThrottle.scope == scope, LoginThrottle.key == key)
        )
        if row is None:
            row = LoginThrottle(scope=scope, key=key, failures=0)
            try:
                with session.begin_nested():
                    session.add(row)
                    session.flush()
            except IntegrityError:  # another worker counted the first failure at the same moment
                row = session.scalars(select(LoginThrottle).where(LoginThrottle.scope == scope,
                                                                  LoginThrottle.key == key)).one()
        if row.last_failure_at is not None and now - row.last_failure_at > FORGET_AFTER:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        over = row.failures - free[scope]
        if over > 0:
            seconds = _lock_seconds(over)
            row.locked_until = now + timedelta(seconds=seconds)
            log.warning("login lockout", extra={"scope": scope, "failures": row.failures, "seconds": seconds})
            audit.record(
                session,
                actor=SystemActor("login"),
                action="auth.lockout",
                entity_type="login_throttle",
                entity_id=row.id,
                detail={"scope": scope, "failures": row.failures, "seconds": seconds, "key": key},
            )
    session.flush()


def record_success(session: Session, *, username: str) -> None:
    """A correct login clears the account's count (the address count stays: it spans accounts)."""
    row = session.scalar(select(LoginThrottle).where(LoginThrottle.scope == "user",
                                                     LoginThrottle.key == username.strip().lower()[:128]))
    if row is not None and (row.failures or row.locked_until):
        row.failures = 0
        row.locked_until = None
        session.flush()
