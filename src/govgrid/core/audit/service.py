"""Writing audit records in the caller's transaction, and verifying the chain."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import LargeBinary, Table, Text, bindparam, cast, exists, func, insert, select, true, update
from sqlalchemy.orm import Session

from govgrid.core.audit.models import AuditHead, AuditRecord
from govgrid.core.db import utcnow

GENESIS = "0" * 64
_RECORDS: Table = AuditRecord.__table__  # type: ignore[assignment]
_HEAD: Table = AuditHead.__table__  # type: ignore[assignment]
_HEAD_FOR_UPDATE = select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()
# Built once: elsewhere than PostgreSQL an append is three statements with parameters bound per call.
_INSERT_RECORD = insert(_RECORDS)
_INSERT_HEAD = insert(_HEAD).values(id=1, seq=0, hash=GENESIS)
_MOVE_HEAD = (
    update(_HEAD).where(_HEAD.c.id == 1).values(seq=bindparam("head_seq"), hash=bindparam("head_hash"))
)
request_id_var: ContextVar[str | None] = ContextVar("govgrid_request_id", default=None)
# PostgreSQL: the head read under its lock, the record, the head move, a row naming the record and a guard's
# count go in one statement (writable CTEs), one round trip; built once per (row shape, guard shape).
_APPEND_PG: dict[tuple[tuple[str, ...] | None, str | None], Any] = {}

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


def canonical_parts(values: dict[str, Any]) -> tuple[bytes, bytes, bytes]:
    """The canonical bytes of a record around its previous hash and seq: `canonical(values)` equals
    before + prev_hash + between + str(seq) + after. The keys are sorted, every field is always present,
    prev_hash falls between entity_type and purpose and seq is last, so the parts are the JSON of the fields
    before and after prev_hash. Lets the database hash a record whose head it reads in the same statement."""
    out = {k: _ts(v) if isinstance(v, datetime) else v for k, v in ((k, values.get(k)) for k in _FIELDS)}
    before = {k: v for k, v in out.items() if k < "prev_hash"}
    between = {k: v for k, v in out.items() if "prev_hash" < k < "seq"}

    def body(part: dict[str, Any]) -> str:
        return json.dumps(part, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)[1:-1]

    return (
        ("{" + body(before) + ',"prev_hash":"').encode(),
        ('",' + body(between) + ',"seq":').encode(),
        b"}",
    )


def compute_hash(values: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and the canonical record."""
    return hashlib.sha256(canonical(values)).hexdigest()


class Guard(Protocol):
    """A count made in the append's own statement (see `record`): `statement(source)` is an INSERT reading
    `source` (the locked chain head: the count is taken after the head's lock) and returning (count,
    expires_at); the record is appended only while the count is within `limit`. `shape` names the statement's
    shape for the statement cache."""

    @property
    def shape(self) -> str: ...

    @property
    def params(self) -> dict[str, Any]: ...

    @property
    def limit(self) -> int: ...

    def statement(self, source: Any) -> Any: ...


class GuardRefused(Exception):  # noqa: N818  (a refusal, not an error of the chain)
    """The guard's count went over its limit: nothing was appended; `expires_at` ends the counted window."""

    def __init__(self, count: int, expires_at: float) -> None:
        super().__init__(f"count {count} over the guard's limit")
        self.count = count
        self.expires_at = expires_at


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
    with_row: tuple[Table, str, dict[str, Any]] | None = None,
    guard: Guard | None = None,
) -> AuditRecord:
    """Append one record to the chain inside the caller's transaction.

    Core statements rather than ORM units of work: this runs on every audited call (the exchange gateway's hot
    path), and appends are serialised on the chain head's row lock, PostgreSQL included. The statements run on
    the session's connection (after flushing pending objects, as `session.execute` would), skipping the ORM
    execution layer. `with_row` = (table, seq column, values): a row written with the record that names its
    seq (e.g. a call log). `guard`: a counter counted with the append (a rate limit); over its limit nothing
    is appended and `GuardRefused` is raised.

    On PostgreSQL all of it is one statement, one round trip: the head read under its lock, the guard's count,
    the record (its hash computed by the server over the same canonical bytes `compute_hash` hashes, the
    previous hash and seq spliced in), the head move and the row. Elsewhere: a statement each."""
    conn = _locked_connection(session)
    values = _values(0, GENESIS, actor=actor, action=action, entity_type=entity_type, entity_id=entity_id,
                     division_code=division_code, department_id=department_id, purpose=purpose, detail=detail)
    if conn.dialect.name == "postgresql":
        return _record_pg(conn, values, with_row, guard)
    if guard is not None:
        raise ValueError("a guard counts inside the PostgreSQL append statement only")
    prev_seq, prev_hash = _head(conn)
    values.update(seq=prev_seq + 1, prev_hash=prev_hash)
    digest = compute_hash(values)
    conn.execute(_INSERT_RECORD, {**values, "hash": digest})
    conn.execute(_MOVE_HEAD, {"head_seq": values["seq"], "head_hash": digest})
    if with_row is not None:
        table, seq_column, row = with_row
        # a list of one row: an executemany-style insert, no fetch of the new key
        conn.execute(insert(table), [{**row, seq_column: values["seq"]}])
    return AuditRecord(hash=digest, **values)  # a detached copy for the caller; the row is already written


def _record_pg(
    conn: Any, values: dict[str, Any], with_row: tuple[Table, str, dict[str, Any]] | None, guard: Guard | None
) -> AuditRecord:
    before, between, after = canonical_parts(values)
    params: dict[str, Any] = {f"r_{k}": v for k, v in values.items() if k not in ("seq", "prev_hash")}
    params.update(c_before=before, c_between=between, c_after=after)
    if with_row is not None:
        params.update({f"w_{k}": v for k, v in with_row[2].items()})
    if guard is not None:
        params.update(guard.params, g_limit=guard.limit)
    stmt = _append_pg(with_row, guard)
    row = conn.execute(stmt, params).first()
    if row is None:
        # no head yet (the chain's first record): nothing was locked, counted or written; create the head at
        # genesis and append again
        conn.execute(_INSERT_HEAD)
        row = conn.execute(stmt, params).one()
    if guard is not None and row.count > guard.limit:
        raise GuardRefused(int(row.count), float(row.expires_at))
    values.update(seq=int(row.seq), prev_hash=row.prev_hash)
    return AuditRecord(hash=row.hash, **values)  # a detached copy for the caller; the row is already written


def record_many(session: Session, entries: list[dict[str, Any]]) -> list[AuditRecord]:
    """Append one record per entry (each `record`'s keyword arguments but `with_row`), in order, in the
    caller's transaction: one head read under its lock, the records chained exactly as `record` chains them,
    written with one executemany, and the head moved once (a clearing run's hundreds of changes)."""
    if not entries:
        return []
    conn = _locked_connection(session)
    seq, prev = _head(conn)
    rows: list[dict[str, Any]] = []
    for entry in entries:
        seq += 1
        values = _values(seq, prev, **entry)
        prev = compute_hash(values)
        rows.append({**values, "hash": prev})
    conn.execute(_INSERT_RECORD, rows)
    conn.execute(_MOVE_HEAD, {"head_seq": seq, "head_hash": prev})
    return [AuditRecord(**row) for row in rows]


def _locked_connection(session: Session) -> Any:
    session.flush()  # pending objects first, as `session.execute` would
    return session.connection()


def _head(conn: Any) -> tuple[int, str]:
    """The chain head (seq, hash) under its row lock; created at genesis on first use."""
    head = conn.execute(_HEAD_FOR_UPDATE).first()
    if head is None:
        conn.execute(_INSERT_HEAD)
        return 0, GENESIS
    return int(head[0]), str(head[1])


def _values(
    seq: int,
    prev_hash: str,
    *,
    actor: Actor,
    action: str,
    entity_type: str | None = None,
    entity_id: str | int | None = None,
    division_code: str | None = None,
    department_id: int | None = None,
    purpose: str | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    actor_type, actor_id, actor_name = actor.audit_identity
    return {
        "seq": seq,
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
        # round-tripped through JSON now so the hashed form equals what the database returns
        "detail": json.loads(json.dumps(detail or {}, ensure_ascii=False, default=str)),
        "request_id": request_id_var.get(),
        "prev_hash": prev_hash,
    }


def _append_pg(with_row: tuple[Table, str, dict[str, Any]] | None, guard: Guard | None) -> Any:
    """The one-statement append on PostgreSQL (writable CTEs), built once per shape: the head under its row
    lock -> [the guard's count ->] the record, hashed by the server [only while the count is within the
    limit] -> the head move and `with_row`'s row naming the record's seq. Returns (seq, prev_hash, hash) of
    the record [and the guard's count, expires_at]; no row when there is no head yet."""
    key = (
        (with_row[0].name, with_row[1], *sorted(with_row[2])) if with_row is not None else None,
        guard.shape if guard is not None else None,
    )
    stmt = _APPEND_PG.get(key)
    if stmt is not None:
        return stmt
    head = select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update().cte("audit_head_locked")
    # the guard counts after the head is locked (it reads the locked row): lock order head -> counter, always
    counted = guard.statement(head).cte("audit_guard") if guard is not None else None
    seq = head.c.seq + 1
    within = [] if counted is None else [select(counted.c.count).scalar_subquery() <= bindparam("g_limit")]
    # canonical bytes = before || prev_hash || between || seq || after (see canonical_parts)
    canonical_bytes = (
        bindparam("c_before", type_=LargeBinary)
        .op("||")(func.convert_to(head.c.hash, "UTF8"))
        .op("||")(bindparam("c_between", type_=LargeBinary))
        .op("||")(func.convert_to(cast(seq, Text), "UTF8"))
        .op("||")(bindparam("c_after", type_=LargeBinary))
    )
    bound = [c for c in _RECORDS.c if c.name not in ("seq", "prev_hash", "hash")]
    rec = (
        insert(_RECORDS)
        .from_select(
            [*(c.name for c in bound), "seq", "prev_hash", "hash"],
            select(
                *(bindparam(f"r_{c.name}", type_=c.type) for c in bound),  # typed binds: psycopg casts them
                seq,
                head.c.hash,
                func.encode(func.sha256(canonical_bytes), "hex"),
            ).where(*within),
        )
        .returning(_RECORDS.c.seq, _RECORDS.c.prev_hash, _RECORDS.c.hash)
        .cte("audit_append")
    )
    ctes = [
        update(_HEAD)
        .where(_HEAD.c.id == 1, exists(rec.select()))
        .values(seq=select(rec.c.seq).scalar_subquery(), hash=select(rec.c.hash).scalar_subquery())
        .cte("audit_move_head")
    ]
    if with_row is not None:
        table, seq_column = with_row[0], with_row[1]
        names = [c.name for c in table.c if c.name in with_row[2]]
        ctes.append(
            insert(table)
            .from_select(
                [*names, seq_column],
                select(*(bindparam(f"w_{n}", type_=table.c[n].type) for n in names), rec.c.seq),
            )
            .cte("audit_with_row")
        )
    out = [rec.c.seq, rec.c.prev_hash, rec.c.hash]
    if counted is None:
        stmt = select(*out)
    else:
        # the guard's count comes back even when it refused the append (no record: seq NULL)
        stmt = select(*out, counted.c.count, counted.c.expires_at).select_from(
            counted.outerjoin(rec, true())
        )
    stmt = stmt.add_cte(*ctes)
    _APPEND_PG[key] = stmt
    return stmt


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
