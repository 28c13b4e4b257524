"""Idempotency keys: a client that retries a create with the same `Idempotency-Key` gets the first
result back.

The key is claimed inside the create's own transaction before anything is created, so a failed request leaves
no claim behind, and two concurrent requests with one key make one record: the second waits on the unique
index (PostgreSQL) or the write queue (SQLite) and then answers with what the first made."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govgrid.core.db import rowcount, utcnow
from govgrid.core.errors import ConflictError, ValidationFailedError
from govgrid.core.guards.models import IdempotencyRecord

HEADER = "Idempotency-Key"
KEEP = timedelta(hours=24)
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,128}$")


@dataclass(frozen=True)
class Prior:
    """The result of the first request that used the key."""

    entity_type: str
    entity_id: str
    response: dict[str, Any]


def fingerprint(content: Any) -> str:
    """SHA-256 of a request's content in canonical JSON
    (what must be equal for a retry to be the same request)."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_key(key: str) -> None:
    if not _KEY_RE.match(key):
        raise ValidationFailedError(
            f"{HEADER} 须为 1-128 个可见 ASCII 字符 ({HEADER} must be 1 to 128 printable ASCII characters)",
            details=[{"loc": ["header", HEADER], "msg": "1-128 printable ASCII characters"}])


def _prior(session: Session, scope: str, key: str, fp: str) -> Prior | None:
    rec = session.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.scope == scope,
        IdempotencyRecord.key == key,
        IdempotencyRecord.created_at >= utcnow() - KEEP,
    ))
    if rec is None or not rec.entity_id:
        return None
    if rec.fingerprint != fp:
        raise ValidationFailedError(
            f"此 {HEADER} 已用于内容不同的请求；新请求请换一个新的键 "
            f"(this {HEADER} was used for a different request; use a new key for a new request)",
            details=[{"loc": ["header", HEADER], "msg": "reused with different content"}])
    return Prior(rec.entity_type, rec.entity_id, dict(rec.response or {}))


def claim(session: Session, *, scope: str, key: str, content: Any) -> IdempotencyRecord | Prior:
    """Claim `key` for this request, or return what an earlier request with the same key and content made."""
    _check_key(key)
    fp = fingerprint(content)
    prior = _prior(session, scope, key, fp)
    if prior is not None:
        return prior
    session.execute(delete(IdempotencyRecord).where(
        IdempotencyRecord.scope == scope,
        IdempotencyRecord.key == key,
        IdempotencyRecord.created_at < utcnow() - KEEP,
    ))
    rec = IdempotencyRecord(scope=scope, key=key, fingerprint=fp, entity_type="", entity_id="", response={})
    try:
        with session.begin_nested():
            session.add(rec)
            session.flush()
    except IntegrityError:
        prior = _prior(session, scope, key, fp)
        if prior is not None:
            return prior
        raise ConflictError(
            f"使用同一 {HEADER} 的请求正在处理，请稍后重试 (a request with this {HEADER} is in progress)",
            headers={"Retry-After": "1"},
        ) from None
    return rec


def complete(session: Session, record: IdempotencyRecord, *, entity_type: str, entity_id: str | int,
             response: dict[str, Any]) -> None:
    """Record what the claimed request made (in the same transaction as the thing itself)."""
    record.entity_type = entity_type
    record.entity_id = str(entity_id)
    record.response = response
    session.flush()


def purge(session: Session) -> int:
    """Drop keys older than the retention window; returns how many went."""
    stale = delete(IdempotencyRecord).where(IdempotencyRecord.created_at < utcnow() - KEEP)
    return rowcount(session.execute(stale))
