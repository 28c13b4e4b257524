"""How a caller reaches a resource's records through the gateway: its own provider scope or an active grant,
the fields it gets, which of them are masked, the row filter, the rate limit; refusals are audited.

Everything here runs on every gateway call, so it reads plain rows with statements built once per process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NoReturn, cast

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from govgrid.core import ratelimits
from govgrid.core.audit.service import GuardRefused
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.errors import ConflictError, ForbiddenError, NotFoundError, UnauthorizedError
from govgrid.exchange.enums import AccessMode, MaskRule, ResourceKind, UploadStatus
from govgrid.exchange.models import DataItem, Grant, Resource, Upload
from govgrid.exchange.services.access import KIND, in_provider_scope, is_visible
from govgrid.exchange.services.ratelimit import RATE_LIMITER

log = logging.getLogger(__name__)


@dataclass
class Target:
    """What the gateway needs of a resource, read in one Core query (no ORM objects on the hot path)."""

    id: int
    code: str
    kind: str
    api_url: str | None
    provider_department_id: int
    division_code: str
    items: dict[str, tuple[str, str, bool]]  # name -> (type, mask rule, personal or sensitive), in item order
    upload_id: int | None
    upload_version: int | None


@dataclass
class GrantView:
    """The columns of an active grant the gateway uses."""

    id: int
    consumer_department_id: int
    fields: list[str] | None
    clear_fields: list[str]
    row_filter_division: str | None
    rate_limit_per_minute: int
    purpose: str
    mode: str


@dataclass
class Access:
    """How a caller reaches a resource's records: through its own scope or through a grant."""

    resource: Target
    grant: GrantView | None
    fields: list[str]
    masks: dict[str, str]  # item name -> rule, for the fields that are masked for this caller
    row_filter: str | None


_STATEMENTS: dict[str, Any] = {}


def _statement(key: str, build: Callable[[], Any]) -> Any:
    """A gateway statement built once per process (parameters are bound per call)."""
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        stmt = _STATEMENTS[key] = build()
    return stmt


def _grant_predicates(mode: str) -> list[Any]:
    # The same predicates as grants.active_grant (an active grant to one of the caller's own departments).
    where = [
        Grant.resource_id == Resource.id,
        Grant.consumer_department_id.in_(bindparam("departments", expanding=True)),
        Grant.revoked_at.is_(None),
        Grant.expires_at > bindparam("now"),
    ]
    if mode == AccessMode.records:
        where.append(Grant.mode == AccessMode.records.value)
    return where


def _target_stmt(mode: str) -> Any:
    """The resource, its items, its active upload and the caller's candidate grants, in one query: one row per
    item and grant (grant columns NULL when there is none)."""
    return (
        select(
            Resource.id,
            Resource.code,
            Resource.kind,
            Resource.api_url,
            Resource.provider_department_id,
            Resource.division_code,
            DataItem.name,
            DataItem.type,
            DataItem.mask,
            DataItem.personal,
            DataItem.sensitive,
            Upload.id,
            Upload.version,
            Grant.id,
            Grant.consumer_department_id,
            Grant.fields,
            Grant.clear_fields,
            Grant.row_filter_division,
            Grant.rate_limit_per_minute,
            Grant.purpose,
            Grant.mode,
            Grant.granted_at,
        )
        .join(DataItem, DataItem.resource_id == Resource.id)
        .outerjoin(
            Upload, and_(Upload.resource_id == Resource.id, Upload.status == UploadStatus.active.value)
        )
        .outerjoin(Grant, and_(*_grant_predicates(mode)))
        .where(Resource.code == bindparam("code"))
        .order_by(DataItem.position, Upload.version.desc(), Grant.id)
    )


def _target_and_grant(
    session: Session, code: str, mode: str, departments: list[int]
) -> tuple[Target, GrantView | None]:
    """The gateway's view of a resource by code (404 if there is none) and the caller's best active grant."""
    # Core statement on the connection: no ORM execution layer on the hot path, one round trip.
    rows = (
        session.connection()
        .execute(
            _statement(f"target.{mode}", lambda: _target_stmt(mode)),
            {"code": code, "departments": departments, "now": utcnow()},
        )
        .all()
    )
    if not rows:
        raise NotFoundError(f"目录资源 {code} 不存在 (no catalog entry {code})")
    first = rows[0]
    items: dict[str, tuple[str, str, bool]] = {}
    grants: dict[int, Any] = {}
    for r in rows:
        items.setdefault(r[6], (r[7], r[8], bool(r[9] or r[10])))
        if r[13] is not None:
            grants.setdefault(r[13], r)
    res = Target(first[0], first[1], first[2], first[3], first[4], first[5], items, first[11], first[12])
    if not grants:
        return res, None
    # The newest grant wins (granted_at, then id); a verify call prefers a verify grant: only that one lets
    # masked items be checked.
    best = max(
        grants.values(),
        key=lambda r: (mode != AccessMode.records and r[20] == AccessMode.verify.value, r[21], r[13]),
    )
    return res, GrantView(*best[13:21])


def _refuse(session: Session, actor: Principal, res: Target, code: str, mode: str) -> None:
    """Raise 404 (entry not visible) or 403 (visible, not granted), audited after the rollback."""
    visible = is_visible(session, actor=actor, resource_id=res.id)
    reason = "no_grant" if visible else "not_visible"
    denied = {
        "actor": actor,
        "action": "exchange.gateway.denied",
        "entity_type": KIND,
        "entity_id": code,
        "detail": {"mode": mode, "reason": reason},
    }
    log.warning(
        "exchange gateway call refused",
        extra={"resource_code": code, "mode": mode, "reason": reason, "actor": f"{actor.kind}:{actor.id}"},
    )
    if not visible:
        raise NotFoundError(
            f"目录资源 {code} 不存在或不可见 (no catalog entry {code} visible to you)", audit=denied
        )
    raise ForbiddenError(
        f"没有资源 {code} 的有效授权，请先提交共享申请 (no active grant for {code}; file a sharing "
        "request first)",
        audit=denied,
    )


@dataclass(frozen=True)
class Counting:
    """How a served call is counted against its grant's rate limit: `guard`, counted in the call's own audit
    append (PostgreSQL keeping the counters in its own database: no round trip of its own), or a count made
    beside the records query that `wait()` waits for (which raises 429 over the limit)."""

    wait: Callable[[], None]
    guard: ratelimits.Count | None = None
    grant: GrantView | None = None

    def refused(self, exc: GuardRefused) -> NoReturn:
        """The 429 of a call whose guard went over the limit (nothing was appended or served)."""
        grant = cast(GrantView, self.grant)  # a guard is made for a grant only
        RATE_LIMITER.refuse(grant.id, grant.rate_limit_per_minute, ratelimits.retry_after(exc.expires_at))


def count_call(session: Session, acc: Access) -> Counting:
    """Count a call against its grant's rate limit. On PostgreSQL with the counters in its database the
    count is a guard of the call's audit append (`audit.record`). With another remote counter store (Redis) it
    is a round trip on a connection of its own: it runs in a worker thread meanwhile, and the caller waits for
    it before anything is served or audited. The in-process store (SQLite) counts at once."""
    grant = acc.grant
    if grant is None:
        return Counting(_counted)
    guard = RATE_LIMITER.in_statement(grant.id, grant.rate_limit_per_minute, session.connection().engine)
    if guard is not None:
        return Counting(_counted, guard, grant)
    if isinstance(ratelimits.storage(), ratelimits.LocalStorage):
        RATE_LIMITER.hit(grant.id, grant.rate_limit_per_minute)
        return Counting(_counted)
    return Counting(_COUNTERS.submit(RATE_LIMITER.hit, grant.id, grant.rate_limit_per_minute).result)


def _counted() -> None:
    return None


_COUNTERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="exchange-ratelimit")


def resolve(session: Session, *, actor: Principal | None, code: str, mode: str) -> tuple[Principal, Access]:
    """The caller (401 if anonymous) and how it reaches the resource's records (the caller counts the call
    with `count_call`). 404 if the entry is invisible, 403 without a grant, 409 for a provider-API
    resource."""
    if actor is None:
        raise UnauthorizedError("需要登录 (authentication required)")
    res, candidate = _target_and_grant(session, code, mode, list(actor.department_ids))
    own = in_provider_scope(session, actor=actor, resource=res)
    grant = None if own else candidate
    if not own and grant is None:
        # Only a refusal needs to know whether the entry is visible at all (404) or visible but not granted
        # (403).
        _refuse(session, actor, res, code, mode)
    if res.kind != ResourceKind.table:
        raise ConflictError(
            f"该资源由提供方接口提供: {res.api_url} (served by the provider's registered API)"
        )
    items = res.items
    fields = list(items) if own or not grant or not grant.fields else [f for f in grant.fields if f in items]
    clear = set(grant.clear_fields or []) if grant else set(items)
    masks = {
        f: items[f][1] for f in fields if items[f][1] != MaskRule.none and items[f][2] and f not in clear
    }
    return actor, Access(res, grant, fields, masks, grant.row_filter_division if grant else None)
