"""Indicator targets (指标目标): an upper level sets a threshold on a measure for its whole subtree.

The nearest target up the tree applies (a city may set a stricter one than its province). A division lags on a
measure when its figure is on the wrong side of the threshold (a missing figure never lags: nothing counted).
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.coordination.enums import Better
from govgrid.coordination.models import Target
from govgrid.coordination.services import access
from govgrid.core import ports
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.departments import service as departments
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ValidationFailedError

log = logging.getLogger(__name__)


def measure(key: str) -> ports.Measure:
    """A registered measure by key, or 422 listing the known keys."""
    catalog = ports.measure_catalog()
    if key not in catalog:
        raise ValidationFailedError(
            f"未知指标 {key} (unknown measure)",
            details=[{"loc": ["measure_key"], "msg": "one of " + ", ".join(catalog)}],
        )
    return catalog[key]


def meets(value: float, threshold: float, better: str) -> bool:
    """True if a figure is on the right side of its threshold."""
    return value >= threshold if better == Better.more else value <= threshold


def set_target(
    session: Session,
    *,
    actor: Actor,
    division_code: str,
    measure_key: str,
    threshold: float,
    is_demo: bool = False,
) -> Target:
    """Set (or change) a level's target on a measure for its subtree."""
    m = measure(measure_key)
    if m.unit == "ratio" and threshold > 1:
        raise ValidationFailedError(
            "比率指标的目标值应在 0 到 1 之间，例如 0.95 表示 95% (a ratio is 0..1)",
            details=[{"loc": ["threshold"], "msg": "0..1"}],
        )
    div = access.require_oversee(session, actor=actor, code=division_code, roles=access.WRITE_ROLES)
    dept = departments.ensure(session, line_code="government", division_code=div.code)
    row = session.scalar(select(Target).where(Target.division_code == div.code, Target.measure_key == m.key))
    if row is None:
        row = Target(
            division_code=div.code,
            division_path=div.path,
            department_id=dept.id,
            measure_key=m.key,
            threshold=threshold,
            better=m.better,
            set_by=access.actor_name(actor),
            is_demo=is_demo,
        )
        session.add(row)
    else:
        row.threshold = threshold
        row.set_by = access.actor_name(actor)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="coordination.target_set",
        entity_type="target",
        entity_id=row.id,
        division_code=div.code,
        detail={"measure": m.key, "threshold": threshold},
    )
    log.info("target set", extra={"target_id": row.id})
    return row


def effective(session: Session, *, division: Division) -> dict[str, Target]:
    """The targets that apply to a division's children: the nearest up the tree per measure."""
    codes = division.path.strip("/").split("/")
    rows = session.scalars(select(Target).where(Target.division_code.in_(codes)))
    out: dict[str, Target] = {}
    for t in sorted(rows, key=lambda t: len(t.division_path)):
        out[t.measure_key] = t  # deeper levels override
    return out


def lagging(values: dict[str, float | None], applying: dict[str, Target]) -> list[str]:
    """Measure keys whose figure misses its target."""
    return [
        k
        for k, t in applying.items()
        if values.get(k) is not None and not meets(values[k] or 0.0, t.threshold, t.better)
    ]


def list_targets(session: Session, *, actor: Actor, division_code: str) -> list[Target]:
    """The targets applying at a division the actor oversees."""
    div = access.require_oversee(session, actor=actor, code=division_code)
    rows = list(effective(session, division=div).values())
    audit.record(
        session,
        actor=actor,
        action="coordination.targets_read",
        entity_type="division",
        entity_id=div.code,
        division_code=div.code,
    )
    return rows
