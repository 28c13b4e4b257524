"""Writing audit records in the caller's transaction, and verifying the chain."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from govgrid.core.audit.models import AuditHead, AuditRecord
from govgrid.core.db import utcnow

GENESIS = "0" * 64
_RECORDS: Table = AuditRecord.__table__  # type: ignore[assignment]
_HEAD: Table = AuditHead.__table__  # type: ignore[assignment]
_HEAD_FOR_UPDATE = select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()
# Built once: an append is three statements with parameters bound per call.
_INSERT_RECORD = insert(_RECORDS)
_INSERT_HEAD = insert(_HEAD).values(id=1, seq=0, hash=GENESIS)
_MOVE_HEAD = (
    update(_HEAD).where(_HEAD.c.id == 1).values(seq=bindparam("head_seq"), hash=bindparam("head_hash"))
)
request_id_var: ContextVar[str | None] = ContextVar("govgrid_request_id", default=None)

_FIELDS = ("seq", "at", "actor_type", "actor_id", "actor_name", "action", "entity_type", "entity_id",
           "division_code", "department_id", "purpose", "detail", "request_id", "prev_hash")


class Actor(Protocol):
    """Anything that can be named in the audit log."""

    @property
    def audit_identity(self) -> tuple[str, str | None, str | None]: ...


@dataclass(frozen=True)
class SystemActor:
    """The platform itself (migrations, scheduled jobs, demo loader)."""

    name: str = "system"

    @property
    def audit_identity(self) -> tuple[str, str | None, str | None]:
        return ("system", None, self.name)


@dataclass(frozen=True)
class PublicActor:
    """An anonymous member of the public (a resident's report, a public channel)."""

    channel: str = "public"

    @property
    def audit_identity(self) -> tuple[str, str | None, str | None]:
        return ("public", None, self.channel)


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(values: dict[str, Any]) -> bytes:
    """Canonical serialisation: sorted keys, no whitespace, UTC timestamps with microseconds."""
    out = {}
    for k in _FIELDS:
        v = values.get(k)
        out[k] = _ts(v) if isinstance(v, datetime) else v
    return json.dumps(out, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def compute_hash(values: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and the canonical record."""
    return hashlib.sha256(canonical(values)).hexdigest()


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity_type: str | None = None,
    entity_id: str | int | None = None,
    division_code: str | None = None,
    department_id: int | None = None,
    purpose: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditRecord:
    """Append one record to the chain inside the caller's transaction.

    Core statements rather than ORM units of work: this runs on every audited call (the exchange gateway's hot
    path), and the chain head is read under a row lock so appends are serialised on PostgreSQL too. The
    prebuilt statements run on the session's connection (after flushing pending objects, as `session.execute`
    would), skipping the ORM execution layer."""
    session.flush()
    conn = session.connection()
    head = conn.execute(_HEAD_FOR_UPDATE).first()
    if head is None:
        conn.execute(_INSERT_HEAD)
        prev_seq, prev_hash = 0, GENESIS
    else:
        prev_seq, prev_hash = head
    actor_type, actor_id, actor_name = actor.audit_identity
    # Round-trip the detail through JSON now so the hashed form equals what the database returns.
    detail_json = json.loads(json.dumps(detail or {}, ensure_ascii=False, default=str))
    values: dict[str, Any] = {
        "seq": prev_seq + 1,
        "at": utcnow(),
        "actor_type": actor_type,
        "actor_id": actor_id,
        "actor_name": actor_name,
        "action": action,
        "entity_type": entity_type,
        "entity_id": None if entity_id is None else str(entity_id),
        "division_code": division_code,
        "department_id": department_id,
        "purpose": purpose,
        "detail": detail_json,
        "request_id": request_id_var.get(),
        "prev_hash": prev_hash,
    }
    digest = compute_hash(values)
    conn.execute(_INSERT_RECORD, {**values, "hash": digest})
    conn.execute(_MOVE_HEAD, {"head_seq": values["seq"], "head_hash": digest})
    return AuditRecord(hash=digest, **values)  # a detached copy for the caller; the row is already written


@dataclass
class VerifyResult:
    """Outcome of a chain check."""

    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str | None = None


def _iter(session: Session, batch: int = 5000) -> Iterator[AuditRecord]:
    last = 0
    while True:
        stmt = select(AuditRecord).where(AuditRecord.seq > last).order_by(AuditRecord.seq).limit(batch)
        rows = list(session.scalars(stmt))
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


def verify(session: Session) -> VerifyResult:
    """Walk the chain; report the first record whose link or content does not hold."""
    prev = GENESIS
    expected_seq = 1
    checked = 0
    for rec in _iter(session):
        if rec.seq != expected_seq:
            return VerifyResult(
                False, checked, expected_seq, f"record {expected_seq} is missing (next found: {rec.seq})"
            )
        values = {k: getattr(rec, k) for k in _FIELDS}
        if rec.prev_hash != prev:
            return VerifyResult(
                False, checked, rec.seq, "prev_hash does not match the previous record's hash"
            )
        if compute_hash(values) != rec.hash:
            return VerifyResult(False, checked, rec.seq, "content does not match its hash (edited)")
        prev = rec.hash
        expected_seq += 1
        checked += 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != checked or head.hash != prev):
        return VerifyResult(
            False,
            checked,
            checked + 1 if head.seq > checked else head.seq,
            f"chain head says {head.seq} records, found {checked} (records removed at the end?)",
        )
    return VerifyResult(True, checked)


def list_in_scope(
    session: Session,
    principal: Any,
    *,
    action: str | None,
    entity_type: str | None,
    limit: int,
    offset: int,
) -> tuple[list[AuditRecord], int]:
    """Audit records of the departments and divisions the principal's admin or supervisor roles cover."""
    from sqlalchemy import func

    from govgrid.core.authz import policy
    from govgrid.core.divisions.models import Division

    roles = ("admin", "supervisor")
    stmt = select(AuditRecord).where(
        policy.scope(AuditRecord.department_id, principal, roles=roles)
        | AuditRecord.division_code.in_(
            select(Division.code).where(policy.division_clause(principal, Division.path, roles))
        )
    )
    if action:
        stmt = stmt.where(AuditRecord.action == action)
    if entity_type:
        stmt = stmt.where(AuditRecord.entity_type == entity_type)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return list(session.scalars(stmt.order_by(AuditRecord.seq.desc()).limit(limit).offset(offset))), total
