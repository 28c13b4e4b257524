"""Measures (办事指标) per department (a line in a division) and item, and 好差评 ratings with follow-up.

- 跑动次数: mean office visits per application (the item's visits when it was done at a counter, else 0);
- 即办件率: share of items done on the spot; 网上可办率 / 掌上可办率: share of items online / on a phone;
- 承诺时限压缩比: sum(statutory - promised) / sum(statutory) over the items;
- on-time rate (按时办结率): finished applications finished by their due time / finished applications;
- 好评率: ratings 4 or 5 / ratings.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core.audit import service as audit
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from govgrid.services.enums import BAD_RATINGS, SATISFACTION_ZH, AppStatus, EventKind, Satisfaction
from govgrid.services.models import Application, Rating, ServiceItem
from govgrid.services.services import workflow
from govgrid.services.services.access import (
    KIND,
    application_clause,
    require_applicant,
    require_login,
    supervisor_clause,
    visible_application,
)

log = logging.getLogger(__name__)
FINISHED = (AppStatus.approved, AppStatus.rejected)


def ratio(part: float, whole: float) -> float | None:
    """part / whole, None when there is nothing to divide."""
    return part / whole if whole else None


def item_measures(rows: list[ServiceItem]) -> dict[str, Any]:
    """Catalogue measures of a set of items."""
    n = len(rows)
    statutory = sum(i.statutory_days for i in rows)
    return {
        "items": n,
        "on_the_spot_rate": ratio(sum(1 for i in rows if i.on_the_spot), n),
        "online_rate": ratio(sum(1 for i in rows if i.online), n),
        "mobile_rate": ratio(sum(1 for i in rows if i.mobile), n),
        "compression_ratio": ratio(sum(i.statutory_days - i.promised_days for i in rows), statutory),
        "zero_or_one_visit_rate": ratio(sum(1 for i in rows if i.visits <= 1), n),
    }


def application_measures(apps: list[Application], ratings: list[Rating]) -> dict[str, Any]:
    """Measures of a set of applications and their ratings."""
    finished = [a for a in apps if a.status in FINISHED and a.finished_at is not None]
    on_time = [a for a in finished if a.due_at is None or a.finished_at <= a.due_at]  # type: ignore[operator]
    return {
        "applications": len(apps),
        "finished": len(finished),
        "visits_mean": ratio(sum(a.visits for a in apps), len(apps)),
        "on_time_rate": ratio(len(on_time), len(finished)),
        "ratings": len(ratings),
        "good_rate": ratio(sum(1 for r in ratings if int(r.score) >= 4), len(ratings)),
        "bad_open": sum(1 for r in ratings if r.score in BAD_RATINGS and r.follow_up is None),
    }


def measures(
    session: Session, *, actor: Principal | None, division_code: str | None = None
) -> dict[str, Any]:
    """The measures per department and per item for the items of a division (and the applications the
    caller may see)."""
    who = require_login(actor)
    stmt = select(ServiceItem)
    if division_code:
        stmt = stmt.where(ServiceItem.division_code.like(division_code + "%"))
    catalogue = list(session.scalars(stmt.order_by(ServiceItem.code)))
    apps = list(session.scalars(select(Application).where(application_clause(who))))
    ratings = list(session.scalars(select(Rating).where(Rating.application_id.in_([a.id for a in apps]))))
    rating_of = {r.application_id: r for r in ratings}
    by_dept: dict[int, list[ServiceItem]] = defaultdict(list)
    for i in catalogue:
        by_dept[i.department_id].append(i)
    out_depts = []
    for dept_id, rows in by_dept.items():
        dept_apps = [a for a in apps if a.department_id == dept_id]
        out_depts.append(
            {
                "department": rows[0].department.name,
                "department_id": dept_id,
                "division_code": rows[0].division_code,
                "line": rows[0].department.line_code,
                **item_measures(rows),
                **application_measures(dept_apps, [rating_of[a.id] for a in dept_apps if a.id in rating_of]),
            }
        )
    out_items = []
    for i in catalogue:
        item_apps = [a for a in apps if a.item_id == i.id]
        out_items.append(
            {
                "code": i.code,
                "name": i.name,
                "kind": i.kind,
                "department": i.department.name,
                "statutory_days": i.statutory_days,
                "promised_days": i.promised_days,
                "visits": i.visits,
                "on_the_spot": i.on_the_spot,
                "online": i.online,
                "mobile": i.mobile,
                **{k: v for k, v in item_measures([i]).items() if k == "compression_ratio"},
                **application_measures(item_apps, [rating_of[a.id] for a in item_apps if a.id in rating_of]),
            }
        )
    return {
        "total": {**item_measures(catalogue), **application_measures(apps, ratings)},
        "departments": sorted(out_depts, key=lambda d: (d["division_code"], d["department"])),
        "items": out_items,
    }


def rate(session: Session, *, actor: Principal | None, number: str, score: str, comment: str = "") -> Rating:
    """The applicant's 好差评 of a finished application (once)."""
    who = require_login(actor)
    try:
        level = Satisfaction(str(score))
    except ValueError:
        raise ValidationFailedError(
            "评价须为 1 至 5 (score must be 1..5)", details=[{"loc": ["score"], "msg": "1..5"}]
        ) from None
    app = visible_application(session, actor=who, number=number)
    require_applicant(who, app)
    if app.status not in FINISHED:
        raise ConflictError("办结后才能评价 (rate after the application is finished)")
    if session.scalar(select(Rating.id).where(Rating.application_id == app.id)) is not None:
        raise ConflictError("该办件已评价 (already rated)")
    comment = (comment or "").strip()[:1000]
    if level in BAD_RATINGS and not comment:
        raise ValidationFailedError(
            "差评请写明原因，便于整改 (say what went wrong)",
            details=[{"loc": ["comment"], "msg": "required for a bad rating"}],
        )
    row = Rating(
        application_id=app.id,
        department_id=app.department_id,
        score=level.value,
        comment=comment,
        rated_at=utcnow(),
    )
    session.add(row)
    workflow.note(session, app, kind=EventKind.rated, actor=who, text=f"申请人评价：{SATISFACTION_ZH[level]}")
    session.flush()
    audit.record(
        session,
        actor=who,
        action="services.application.rated",
        entity_type=KIND,
        entity_id=app.number,
        department_id=app.department_id,
        detail={"score": level.value},
    )
    log.info("application rated", extra={"application": app.number, "score": level.value})
    return row


def bad_ratings(session: Session, *, actor: Principal | None) -> list[tuple[Rating, Application]]:
    """差评 in the supervisor's territory, those without follow-up first."""
    who = require_login(actor)
    stmt = (
        select(Rating, Application)
        .join(Application, Application.id == Rating.application_id)
        .where(Rating.score.in_([s.value for s in BAD_RATINGS]), supervisor_clause(who))
        .order_by(Rating.followed_up_at.is_not(None), Rating.rated_at)
    )
    return [(r, a) for r, a in session.execute(stmt).all()]


def follow_up(session: Session, *, actor: Principal | None, rating_id: int, note: str) -> Rating:
    """A supervisor's follow-up (整改回访) of a bad rating."""
    who = require_login(actor)
    note = (note or "").strip()[:2000]
    if not note:
        raise ValidationFailedError(
            "请填写回访整改情况 (write the follow-up)", details=[{"loc": ["note"], "msg": "required"}]
        )
    row = session.execute(
        select(Rating, Application)
        .join(Application, Application.id == Rating.application_id)
        .where(Rating.id == rating_id, supervisor_clause(who))
    ).first()
    if row is None:
        raise NotFoundError(f"评价 {rating_id} 不存在或不在您的监督范围 (no rating {rating_id} for you)")
    rating, app = row
    if rating.score not in BAD_RATINGS:
        raise ForbiddenError("只有差评需要回访 (only bad ratings are followed up)")
    if rating.follow_up:
        raise ConflictError("该差评已回访 (already followed up)")
    rating.follow_up, rating.followed_up_by, rating.followed_up_at = note, workflow.actor_name(who), utcnow()
    workflow.note(session, app, kind=EventKind.follow_up, actor=who, text=f"差评回访：{note}")
    audit.record(
        session,
        actor=who,
        action="services.rating.followed_up",
        entity_type=KIND,
        entity_id=app.number,
        department_id=app.department_id,
    )
    log.info("bad rating followed up", extra={"rating": rating.id})
    session.flush()
    return rating
