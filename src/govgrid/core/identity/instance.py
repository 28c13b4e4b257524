"""Secrets that belong to one database: a demo database makes its own token secret, so no constant works."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govgrid.config import DEMO_SECRET_PREFIX
from govgrid.core.identity.models import InstanceSecret

DEMO_SECRET_NAME = "demo_token_secret"  # noqa: S105  (the row's name; the secret is made at random)


def demo_secret(session: Session) -> str:
    """This demo database's token secret, generated at random the first time it is asked for."""
    query = select(InstanceSecret.value).where(InstanceSecret.name == DEMO_SECRET_NAME)
    value = session.scalar(query)
    if value is not None:
        return value
    value = DEMO_SECRET_PREFIX + secrets.token_urlsafe(48)
    try:
        with session.begin_nested():
            session.add(InstanceSecret(name=DEMO_SECRET_NAME, value=value))
    except IntegrityError:  # another process (a web worker starting beside this one) made it first: use it
        value = session.scalar(query)
        if value is None:
            raise
    return value
