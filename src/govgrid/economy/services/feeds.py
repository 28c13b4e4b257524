"""Scheduled pulls from the data exchange (共享交换定时拉取): a feed names a shared resource, the fields
holding division, month and value, and the consumer department whose grant is used. Rows come through the
core data port (``core.ports.pull_rows``: the exchange checks the grant, masks and audits); they pass the same
row checks as an upload and are imported all or nothing as vintages with source ``exchange``.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core import ports
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz import policy
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.errors import AppError, ForbiddenError, NotFoundError
from govgrid.core.identity import service as identity
from govgrid.economy import tables
from govgrid.economy.enums import Source
from govgrid.economy.models import Feed
from govgrid.economy.schemas import FeedCreate
from govgrid.economy.services import access, registry, series

log = logging.getLogger(__name__)
PULL_LIMIT = 5000


def create_feed(session: Session, *, actor: Principal, body: FeedCreate) -> Feed:
    """Set up a feed for a department the actor reports for (operator/admin)."""
    if not policy.can_act(session, actor, body.department_id, access.UPLOAD_ROLES):
        raise ForbiddenError("只能为本人可报送数据的部门设置定时拉取 (not a department you report for)")
    ind = registry.get_indicator(session, body.indicator)
    feed = Feed(
        resource_code=body.resource_code,
        indicator_id=ind.id,
        department_id=body.department_id,
        division_field=body.division_field,
        period_field=body.period_field,
        value_field=body.value_field,
        filters=dict(body.filters),
        user_id=actor.id,
    )
    session.add(feed)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="economy.feed_create",
        entity_type="economy_feed",
        entity_id=feed.id,
        department_id=feed.department_id,
        detail={"resource": feed.resource_code},
    )
    log.info("economy feed created", extra={"feed_id": feed.id})
    return feed


def list_feeds(session: Session, *, principal: Principal) -> list[Feed]:
    """Feeds of the departments in the principal's scope."""
    stmt = select(Feed).where(policy.scope(Feed.department_id, principal)).order_by(Feed.id)
    return list(session.scalars(stmt))


def _cells(feed: Feed, rows: list[dict[str, Any]]) -> list[list[Any]]:
    """The pulled rows as a table with the upload's header (the indicator's own unit)."""
    head: list[Any] = ["indicator", "division", "period", "value", "unit"]
    body = [
        [
            feed.indicator.code,
            r.get(feed.division_field),
            r.get(feed.period_field),
            r.get(feed.value_field),
            feed.indicator.unit,
        ]
        for r in rows
    ]
    return [head, *body]


def run_feed(session: Session, *, actor: Actor, feed_id: int) -> series.Imported:
    """Pull the feed's rows now (as the user who set it up) and import them all or nothing."""
    feed = session.get(Feed, feed_id)
    p = access.principal_of(actor)
    if feed is None or (p is not None and not policy.can_act(session, p, feed.department_id)):
        raise NotFoundError(f"定时拉取 {feed_id} 不存在 (no feed {feed_id})")
    owner = identity.load_user_principal(session, feed.user_id)
    if owner is None:
        raise ForbiddenError("设置该拉取的用户已停用，请重新设置 (the feed's user is no longer active)")
    pulled = ports.pull_rows(
        session,
        actor=owner,
        resource_code=feed.resource_code,
        purpose=f"经济运行监测定时拉取 {feed.indicator.code}",
        department_id=feed.department_id,
        filters={str(k): str(v) for k, v in feed.filters.items()},
        limit=PULL_LIMIT,
    )
    units = {feed.indicator.code: feed.indicator.unit}
    parsed = tables.parse_rows(_cells(feed, pulled.rows), units=units) if pulled.rows else tables.Parsed()
    done = series.import_rows(
        session, actor=owner, parsed=parsed, source=Source.exchange, resource_ref=feed.resource_code
    )
    feed.last_run_at = utcnow()
    feed.last_status = f"ok: {done.written} 条新增/修订，{done.unchanged} 条未变"
    session.flush()
    log.info("economy feed pulled", extra={"feed_id": feed.id, "rows": done.written})
    return done


def run_all_feeds(session: Session, *, actor: Actor) -> int:
    """The scheduler's pass: every active feed in its own savepoint (one failing feed stops no other)."""
    ids = list(session.scalars(select(Feed.id).where(Feed.active.is_(True)).order_by(Feed.id)))
    ok = 0
    for feed_id in ids:
        try:
            with session.begin_nested():
                run_feed(session, actor=actor, feed_id=feed_id)
            ok += 1
        except (AppError, tables.TableError) as exc:
            feed = session.get(Feed, feed_id)
            if feed is not None:
                feed.last_run_at = utcnow()
                feed.last_status = f"failed: {getattr(exc, 'message', str(exc))}"[:2000]
            log.info("economy feed failed", extra={"feed_id": feed_id})
    session.flush()
    return ok
