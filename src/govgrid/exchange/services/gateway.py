"""The gateway: every read of a resource's records goes through here (records pages, verify-only answers,
CKAN's datastore_search): field scope, row filter, masking, one audit record and one call-log row per call.

    from govgrid.exchange.services import gateway
    page = gateway.read_records(session, actor=principal, code="A01-410527-0001", filters={"gender": "女"})
    ok = gateway.verify(session, actor=principal, code=..., values={"id_number": ..., "name": ...})
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from itertools import repeat
from operator import eq, itemgetter
from typing import Any, cast

from sqlalchemy import JSON, Table, bindparam, case, false, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from govgrid.core.audit import service as audit
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.errors import ValidationFailedError
from govgrid.core.privacy import mask_records
from govgrid.exchange import ingest
from govgrid.exchange.enums import AccessMode, CallKind, ItemType
from govgrid.exchange.models import GatewayCall, Record
from govgrid.exchange.services.access import KIND
from govgrid.exchange.services.gateway_access import Access, Counting, count_call, resolve

_CALLS = cast("Table", GatewayCall.__table__)


def _records_stmt(
    upload_id: int, row_filter: str | None, conditions: list[Any], after: int | None, *columns: Any
) -> Any:
    stmt = select(Record.id, *(columns or (Record.data,))).where(Record.upload_id == upload_id, *conditions)
    if row_filter:
        stmt = stmt.where(Record.division_code.like(row_filter + "%"))
    if after is not None:
        stmt = stmt.where(Record.id > after)
    return stmt


def _twin_key(acc: Access, fields: list[str], masks: dict[str, str]) -> str | None:
    """The mask key of the twins to serve (静态脱敏), or None when the data is read and masked in Python.

    A twin is served only when, for every served field, the caller's mask is exactly the rule the twin was
    masked with; any other case (a grant's clear_fields, the provider's own clear scope) reads the data and
    masks in Python. Rows without a current twin (stored before twins existed, or masked by rules changed
    since) come back as data with the flag false and are masked in Python."""
    if not masks:
        return None
    rules = ingest.twin_rules(
        (name, rule, flagged) for name, (_t, rule, flagged) in acc.resource.items.items()
    )
    if any(masks.get(f) != rules.get(f) for f in fields):
        return None
    return _mask_key(tuple(rules.items()))


@functools.lru_cache(maxsize=256)
def _mask_key(rules: tuple[tuple[str, str], ...]) -> str:
    return ingest.mask_key(dict(rules))


def _columns(twin: bool) -> list[Any]:
    """The record columns read: the data, or the current twin in its place and whether it was the one read."""
    if not twin:
        return [Record.data]
    current = Record.mask_key == bindparam("mask_key")
    return [type_coerce(case((current, Record.masked), else_=Record.data), JSON), current]


_PLAIN: dict[tuple[bool, bool, bool], Any] = {}


def _plain_page(twin: bool, row_filter: bool, after: bool) -> Any:
    """The statement of a page without filters, search or sort (the common call), built once per process;
    parameters `upload_id`, `row_filter` (a LIKE prefix), `after`, `mask_key`, `limit` are bound per call."""
    key = (twin, row_filter, after)
    stmt = _PLAIN.get(key)
    if stmt is None:
        stmt = select(Record.id, *_columns(twin)).where(Record.upload_id == bindparam("upload_id"))
        if row_filter:
            stmt = stmt.where(Record.division_code.like(bindparam("row_filter")))
        if after:
            stmt = stmt.where(Record.id > bindparam("after"))
        stmt = _PLAIN[key] = stmt.order_by(Record.id).limit(bindparam("limit"))
    return stmt


def _item_value(item_type: str, name: str) -> Any:
    """A record's value of one item as SQL, typed like the item (numbers compare and sort as numbers)."""
    col = Record.data[name]
    if item_type == ItemType.integer:
        return col.as_integer()
    if item_type == ItemType.number:
        return col.as_float()
    if item_type == ItemType.boolean:
        return col.as_boolean()
    return col.as_string()


def _equals(name: str, item_type: str, raw: Any, loc: str) -> Any:
    """SQL: the item equals a value given as text, converted as an upload would be (422 if it cannot be)."""
    value, problem = ingest.convert(ingest.ItemSpec(name, name, item_type, False), raw)
    if problem:
        raise ValidationFailedError(
            f"{name} 的值无效 (invalid value for {name}): {problem}",
            details=[{"loc": [loc, name], "msg": problem}],
        )
    col = _item_value(item_type, name)
    return col.is_(None) if value is None else col == value


def _refuse_masked(acc: Access, used: dict[str, list[str]]) -> None:
    """Masked items may not be filtered, sorted or searched on: each answer would confirm a guess of the value
    (10,000 `?phone=186****0145`-style guesses recover a phone number)."""
    details = [
        {"loc": [where, f], "msg": "脱敏字段不能用于筛选、排序或检索 (masked item)"}
        for where, names in used.items()
        for f in names
        if f in acc.masks
    ]
    if details:
        names = ", ".join(sorted({d["loc"][1] for d in details}))
        raise ValidationFailedError(
            f"脱敏字段不能用于筛选、排序或检索：{names} "
            f"(masked fields cannot be filtered, sorted or searched: {names})",
            details=details,
        )


def _check_granted(acc: Access, where: str, names: Iterable[str]) -> None:
    bad = [k for k in names if k not in acc.fields]
    if bad:
        unknown = ", ".join(bad)
        raise ValidationFailedError(
            f"只能使用授权范围内的信息项：{unknown} (only granted data items can be used: {unknown})",
            details=[
                {
                    "loc": [where, k],
                    "msg": "not a granted data item"
                    if k in acc.resource.items
                    else f'field "{k}" not in table',
                }
                for k in bad
            ],
        )


def _search_terms(q: str) -> list[str]:
    terms = [t for t in q.split() if t][:10]
    if any(len(t) > 100 for t in terms):
        raise ValidationFailedError(
            "检索词过长 (search term too long)", details=[{"loc": ["q"], "msg": "max 100"}]
        )
    return terms


def _conditions(
    acc: Access, filters: dict[str, str], q_fields: dict[str, str], q: str | dict[str, str] | None
) -> list[Any]:
    """SQL conditions of the equality filters, the per-item texts and the free text over unmasked items."""
    items = acc.resource.items
    conditions = [_equals(k, items[k][0], v, "filters") for k, v in filters.items()]
    for k, text in q_fields.items():
        for term in _search_terms(str(text)):
            conditions.append(func.lower(_item_value("string", k)).contains(term.lower(), autoescape=True))
    if isinstance(q, str) and q.strip():
        searchable = [f for f in acc.fields if f not in acc.masks]
        for term in _search_terms(q):
            hits = [
                func.lower(_item_value("string", f)).contains(term.lower(), autoescape=True)
                for f in searchable
            ]
            conditions.append(or_(*hits) if hits else false())
    return conditions


def _served_fields(acc: Access, fields: list[str] | None) -> list[str]:
    if not fields:
        return acc.fields
    unknown = [f for f in fields if f not in acc.fields]
    if unknown:
        raise ValidationFailedError(
            "请求的字段不在授权范围内 (fields outside the grant)",
            details=[{"loc": ["fields", f], "msg": "not granted"} for f in unknown],
        )
    return [f for f in acc.fields if f in fields]


def response_hash(records: list[dict[str, Any]]) -> str:
    """SHA-256 of the canonical JSON of the rows served (what the audit record names)."""
    return hashlib.sha256(
        json.dumps(records, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


def read_records(
    session: Session,
    *,
    actor: Principal | None,
    code: str,
    filters: dict[str, str] | None = None,
    limit: int = 100,
    offset: int = 0,
    after: int | None = None,
    count: bool = False,
    purpose: str = "",
    kind: str = CallKind.records,
    fields: list[str] | None = None,
    sort: list[tuple[str, bool]] | None = None,
    q: str | dict[str, str] | None = None,
) -> dict[str, Any]:
    """Serve a page of records through the grant: field scope, row filter, masking, one audit record.

    `filters` are equality on items, `sort` is [(item, descending)], `q` a text matched in any served unmasked
    item (every word somewhere) or {item: text}. Masked items can be neither filtered, sorted nor searched
    (422)."""
    caller, acc = resolve(session, actor=actor, code=code, mode=AccessMode.records)
    # The call is counted against the grant's rate limit in the audit append's own statement (PostgreSQL), or
    # beside the records query (Redis: a round trip of its own); over the limit it is refused with 429 before
    # anything is audited or served.
    counting = count_call(session, acc)
    filters = dict(filters or {})
    sort = list(sort or [])
    q_fields = dict(q) if isinstance(q, dict) else {}
    _check_granted(acc, "filters", filters)
    _check_granted(acc, "sort", [f for f, _ in sort])
    _check_granted(acc, "q", q_fields)
    _refuse_masked(acc, {"filters": list(filters), "sort": [f for f, _ in sort], "q": list(q_fields)})
    if sort and after is not None:
        raise ValidationFailedError(
            "after（按 id 续页）不能与 sort 同用，请用 offset (after pages by id; with sort use offset)",
            details=[{"loc": ["after"], "msg": "not with sort"}],
        )
    out_fields = _served_fields(acc, fields)
    items = acc.resource.items
    conditions = _conditions(acc, filters, q_fields, q)
    order: list[Any] = []
    for f, desc in sort:
        value = _item_value(items[f][0], f)
        order.append(value.desc().nulls_first() if desc else value.asc().nulls_last())
    upload_id, version = acc.resource.upload_id, acc.resource.upload_version
    records: list[dict[str, Any]] = []
    has_more = False
    next_after = None
    total = None
    if upload_id is not None:
        wanted = set(out_fields)
        masks = {f: rule for f, rule in acc.masks.items() if f in wanted}
        mask_key = _twin_key(acc, out_fields, masks)
        params: dict[str, Any] = {}
        if not conditions and not order and not count and not (after is None and offset):
            page = _plain_page(mask_key is not None, bool(acc.row_filter), after is not None)
            params = {
                "upload_id": upload_id,
                "row_filter": f"{acc.row_filter}%",
                "after": after,
                "mask_key": mask_key,
                "limit": limit + 1,
            }
        else:
            columns = _columns(mask_key is not None)
            stmt = _records_stmt(upload_id, acc.row_filter, conditions, after, *columns)
            if mask_key is not None:
                params["mask_key"] = mask_key
            if count:
                total = session.scalar(select(func.count()).select_from(stmt.subquery()), params) or 0
            page = stmt.order_by(*order, Record.id).limit(limit + 1)
            if after is None and offset:
                page = page.offset(offset)
        # Core on the session's connection: plain rows, no ORM loading on the hot path.
        rows = session.connection().execute(page, params).all()
        has_more = len(rows) > limit
        rows = rows[:limit]
        # Each row's dict is freshly decoded from JSON: when it holds exactly the served fields, it is used
        # (and masked) in place. The checks over the whole page run as C-level maps.
        records = list(map(itemgetter(1), rows))
        if not all(map(eq, map(dict.keys, records), repeat(wanted))):
            records = [d if d.keys() == wanted else {f: d.get(f) for f in out_fields} for d in records]
        if mask_key is None:
            mask_records(records, masks)
        elif not all(map(itemgetter(2), rows)):
            # rows read as data (no current twin) are masked here; twins are masked already
            mask_records([rec for rec, row in zip(records, rows, strict=True) if not row[2]], masks)
        next_after = rows[-1][0] if rows and has_more else None
    # The records are serialised once: the hash in the audit record is of these exact bytes of the response
    # body.
    records_json = json.dumps(records, ensure_ascii=False, separators=(",", ":"), default=str).encode()
    digest = hashlib.sha256(records_json).hexdigest()
    _log_call(
        session,
        actor=caller,
        acc=acc,
        counting=counting,
        kind=kind,
        rows=len(records),
        digest=digest,
        purpose=purpose,
        detail={
            "filters": sorted(filters),
            "offset": offset,
            "after": after,
            "version": version,
            **({"sort": [f"{f} {'desc' if d else 'asc'}" for f, d in sort]} if sort else {}),
            **({"q": sorted(q_fields) if q_fields else "*"} if q else {}),
        },
    )
    return {
        "resource_code": acc.resource.code,
        "version": version,
        "fields": out_fields,
        "masked_fields": [f for f in out_fields if f in acc.masks],
        "records": records,
        "limit": limit,
        "offset": offset,
        "has_more": has_more,
        "next_after": next_after,
        "total": total,
        "grant_id": acc.grant.id if acc.grant else None,
        "response_sha256": digest,
        "records_json": records_json,
    }


def page_body(page: dict[str, Any]) -> bytes:
    """The JSON response body of a records page, reusing the serialised records whose hash was audited."""
    head = {k: v for k, v in page.items() if k not in ("records", "records_json")}
    head_json = json.dumps(head, ensure_ascii=False, separators=(",", ":"), default=str)
    # The audited bytes are joined in as they are: the body is never encoded twice.
    return b"".join((head_json[:-1].encode(), b',"records":', page["records_json"], b"}"))


def _log_call(
    session: Session,
    *,
    actor: Principal,
    acc: Access,
    counting: Counting,
    kind: str,
    rows: int,
    digest: str,
    purpose: str,
    detail: dict[str, Any],
) -> None:
    """One audit record and one call-log row (the figures of the flow matrix) for a served call, counted
    against its grant's rate limit first (in the same statement on PostgreSQL): 429 over the limit, and then
    nothing is audited or served."""
    counting.wait()
    consumer = (
        acc.grant.consumer_department_id
        if acc.grant
        else (actor.primary.department_id if actor.primary else None)
    )
    call = {
        "at": utcnow(),
        "resource_id": acc.resource.id,
        "grant_id": acc.grant.id if acc.grant else None,
        "consumer_department_id": consumer,
        "kind": str(kind),
        "rows": rows,
        "response_sha256": digest,
    }
    # The call-log row is written with the audit record and names its seq (one statement on PostgreSQL).
    try:
        _append(session, actor, acc, kind, rows, digest, purpose, detail, consumer, call, counting.guard)
    except audit.GuardRefused as exc:
        counting.refused(exc)  # nothing was appended; the rollback takes the count back


def _append(
    session: Session,
    actor: Principal,
    acc: Access,
    kind: str,
    rows: int,
    digest: str,
    purpose: str,
    detail: dict[str, Any],
    consumer: int | None,
    call: dict[str, Any],
    guard: audit.Guard | None,
) -> None:
    audit.record(
        session,
        actor=actor,
        action=f"exchange.gateway.{kind}",
        entity_type=KIND,
        entity_id=acc.resource.code,
        department_id=acc.resource.provider_department_id,
        division_code=acc.resource.division_code,
        purpose=(acc.grant.purpose if acc.grant else "") + (f" / {purpose}" if purpose else ""),
        detail={
            "grant": acc.grant.id if acc.grant else None,
            "consumer_department": consumer,
            "rows": rows,
            "response_sha256": digest,
            "masked": sorted(acc.masks),
            **detail,
        },
        with_row=(_CALLS, "audit_seq", call),
        guard=guard,
    )


def verify(
    session: Session, *, actor: Principal | None, code: str, values: dict[str, str], purpose: str = ""
) -> dict[str, Any]:
    """Answer only consistent / not consistent for the values (e.g. ID number + name); no data out."""
    caller, acc = resolve(session, actor=actor, code=code, mode=AccessMode.verify)
    counting = count_call(session, acc)
    bad = [k for k in values if k not in acc.fields]
    if bad:
        raise ValidationFailedError(
            "核验字段须在授权范围内 (verify fields must be granted data items)",
            details=[{"loc": ["values", k], "msg": "not a granted data item"} for k in bad],
        )
    if acc.grant is not None and acc.grant.mode != AccessMode.verify:
        # Checking masked values is what a verify grant was approved for; a records grant shows them masked
        # and must not confirm guesses of them either.
        _refuse_masked(acc, {"values": list(values)})
    consistent = False
    if acc.resource.upload_id is not None:
        items = acc.resource.items
        conditions: list[Any] | None = None
        if values and all(str(v).strip() for v in values.values()):
            try:
                conditions = [_equals(k, items[k][0], v, "values") for k, v in values.items()]
            except ValidationFailedError:
                conditions = None  # a value that cannot be of its item's type matches nothing: "不一致"
        if conditions is not None:
            stmt = _records_stmt(acc.resource.upload_id, acc.row_filter, conditions, None).limit(1)
            consistent = session.execute(stmt).first() is not None
    answer = {"consistent": consistent}
    digest = response_hash([answer])
    # The checked values are personal data: the audit keeps only their hash.
    query_hash = hashlib.sha256(json.dumps(values, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    _log_call(
        session,
        actor=caller,
        acc=acc,
        counting=counting,
        kind=CallKind.verify,
        rows=0,
        digest=digest,
        purpose=purpose,
        detail={"fields": sorted(values), "query_sha256": query_hash, "consistent": consistent},
    )
    return {
        "resource_code": acc.resource.code,
        "consistent": consistent,
        "result": "一致" if consistent else "不一致",
        "grant_id": acc.grant.id if acc.grant else None,
    }
