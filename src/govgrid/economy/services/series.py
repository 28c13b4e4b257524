"""Figures and their vintages (数据版本): imports from uploads and exchange pulls, current series, history.

A revision never overwrites: the new figure is the next vintage, the previous one keeps its value and
loses only its ``current`` flag. An import is all or nothing: every row is checked first (registry, unit,
division, duplicate period, permission) and one bad row refuses the whole file with a reason for each bad
row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz.principal import Principal
from govgrid.core.departments.models import Department
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ConflictError, PayloadTooLargeError, ValidationFailedError
from govgrid.economy import tables
from govgrid.economy.analysis import month_range
from govgrid.economy.enums import Source
from govgrid.economy.models import ImportBatch, Indicator, Observation
from govgrid.economy.services import access, registry

log = logging.getLogger(__name__)
MAX_DETAILS = 200


@dataclass
class Imported:
    """What one import wrote."""

    batch: ImportBatch
    written: int
    revised: int
    unchanged: int


def upload(session: Session, *, actor: Actor, data: bytes, filename: str) -> Imported:
    """Import an uploaded CSV/xlsx table: every row checked, nothing written unless all rows are good."""
    try:
        cells = tables.read_table(data, filename)
        units = {i.code: i.unit for i in registry.list_indicators(session)}
        parsed = tables.parse_rows(cells, units=units)
    except tables.TableError as exc:
        if len(data) > tables.MAX_BYTES:
            raise PayloadTooLargeError(str(exc)) from None
        raise ValidationFailedError(str(exc), details=[{"loc": ["file"], "msg": str(exc)}]) from None
    return import_rows(session, actor=actor, parsed=parsed, source=Source.upload, filename=filename[:200])


def _refuse(problems: list[tables.Problem]) -> ValidationFailedError:
    lines = sorted({p.line for p in problems})
    details: list[dict[str, Any]] = [
        {"loc": ["row", p.line, p.column], "msg": p.message} for p in problems[:MAX_DETAILS]
    ]
    shown = "、".join(str(n) for n in lines[:10])
    more = f" 等 {len(lines)} 行" if len(lines) > 10 else ""
    return ValidationFailedError(
        f"第 {shown}{more} 行有误，整个文件未导入，请改正后重新上传 "
        f"({len(lines)} rows are wrong; nothing was imported)",
        details=details,
        code="rows_invalid",
    )


def import_rows(
    session: Session,
    *,
    actor: Actor,
    parsed: tables.Parsed,
    source: Source,
    filename: str = "",
    resource_ref: str = "",
    is_demo: bool = False,
) -> Imported:
    """Write checked rows as new vintages (all or nothing); rows equal to the current figure are skipped."""
    problems = list(parsed.problems)
    rows = parsed.rows
    indicators = {i.code: i for i in registry.list_indicators(session)}
    codes = {r.division for r in rows}
    known = set(session.scalars(select(Division.code).where(Division.code.in_(codes)))) if codes else set()
    dept_codes = {
        f"{r.division}-{indicators[r.indicator].line_code}" for r in rows if r.indicator in indicators
    }
    depts = (
        {d.code: d for d in session.scalars(select(Department).where(Department.code.in_(dept_codes)))}
        if dept_codes
        else {}
    )
    allowed = {d.code: access.may_upload(session, actor, d.id) for d in depts.values()}
    good: list[tuple[tables.Row, Indicator, Department]] = []
    for r in rows:
        ind = indicators[r.indicator]
        if r.division not in known:
            problems.append(
                tables.Problem(r.line, "division", f"区划代码 {r.division} 不存在 (no such division)")
            )
            continue
        dept = depts.get(f"{r.division}-{ind.line_code}")
        if dept is None:
            problems.append(
                tables.Problem(
                    r.line,
                    "division",
                    f"区划 {r.division} 没有报送 {ind.code} 的部门 "
                    f"（{ind.line_code} 条线）(no reporting department there)",
                )
            )
            continue
        if not allowed[dept.code]:
            problems.append(
                tables.Problem(
                    r.line,
                    "indicator",
                    f"无权代{dept.name}报送 {ind.code} (you may not report for this department)",
                )
            )
            continue
        good.append((r, ind, dept))
    if problems:
        problems.sort(key=lambda p: p.line)
        log.info("economy import refused", extra={"rows": len(parsed.rows), "problems": len(problems)})
        raise _refuse(problems)
    current: dict[tuple[int, str, str], Observation] = {}
    if good:
        ids = {ind.id for _, ind, _ in good}
        periods = {r.period for r, _, _ in good}
        for o in session.scalars(
            select(Observation).where(
                Observation.current.is_(True),
                Observation.indicator_id.in_(ids),
                Observation.division_code.in_(codes),
                Observation.period.in_(periods),
            )
        ):
            current[(o.indicator_id, o.division_code, o.period)] = o
    batch = ImportBatch(
        source=source, filename=filename, resource_ref=resource_ref, created_by=access.actor_name(actor)
    )
    session.add(batch)
    session.flush()
    new_rows: list[dict[str, Any]] = []
    superseded: list[int] = []
    unchanged = 0
    for r, ind, dept in good:
        old = current.get((ind.id, r.division, r.period))
        if old is not None and abs(old.value - r.value) <= 1e-9 * max(1.0, abs(old.value)):
            unchanged += 1
            continue
        if old is not None:
            superseded.append(old.id)
        new_rows.append(
            {
                "indicator_id": ind.id,
                "division_code": r.division,
                "department_id": dept.id,
                "period": r.period,
                "value": r.value,
                "vintage": (old.vintage + 1) if old is not None else 1,
                "current": True,
                "batch_id": batch.id,
                "source": str(source),
                "is_demo": is_demo,
            }
        )
    try:
        if superseded:
            session.execute(update(Observation).where(Observation.id.in_(superseded)).values(current=False))
        if new_rows:
            session.execute(insert(Observation), new_rows)
    except IntegrityError:
        raise ConflictError(
            "另一份数据正在同时导入同一期别，请稍后重试 (a concurrent import; try again)"
        ) from None
    batch.rows = len(new_rows)
    batch.unchanged = unchanged
    session.flush()
    for div in sorted({r["division_code"] for r in new_rows}):
        audit.record(
            session,
            actor=actor,
            action="economy.import",
            entity_type="economy_batch",
            entity_id=batch.id,
            division_code=div,
            detail={
                "source": str(source),
                "rows": sum(1 for r in new_rows if r["division_code"] == div),
                "revised": len(superseded),
                "unchanged": unchanged,
            },
        )
    log.info(
        "economy batch imported",
        extra={
            "batch_id": batch.id,
            "rows": len(new_rows),
            "revised": len(superseded),
            "unchanged": unchanged,
        },
    )
    return Imported(batch, len(new_rows), len(superseded), unchanged)


@dataclass
class Panel:
    """The current figures of several indicators of one division on one month axis (NaN where missing)."""

    periods: list[str]
    values: dict[str, np.ndarray]  # indicator code -> values
    indicators: dict[str, Indicator]
    demo: bool


def load_panel(
    session: Session, *, principal: Principal | None, division_code: str, codes: list[str] | None = None
) -> Panel:
    """Current figures of a division (only those the principal may see; all for the scheduler)."""
    stmt = access.observation_query().where(
        Observation.division_code == division_code, Observation.current.is_(True)
    )
    if principal is not None:
        stmt = stmt.where(access.visible_observations(principal))
    indicators = {i.id: i for i in registry.list_indicators(session)}
    if codes is not None:
        wanted = [i for i in indicators.values() if i.code in codes]
        stmt = stmt.where(Observation.indicator_id.in_([i.id for i in wanted]))
    rows = session.execute(
        stmt.with_only_columns(
            Observation.indicator_id, Observation.period, Observation.value, Observation.is_demo
        )
    ).all()
    if not rows:
        return Panel([], {}, {}, False)
    periods = month_range(min(r[1] for r in rows), max(r[1] for r in rows))
    index = {p: i for i, p in enumerate(periods)}
    values: dict[str, np.ndarray] = {}
    present: dict[str, Indicator] = {}
    for ind_id, period, value, _ in rows:
        ind = indicators[ind_id]
        if ind.code not in values:
            values[ind.code] = np.full(len(periods), np.nan)
            present[ind.code] = ind
        values[ind.code][index[period]] = value
    order = [i.code for i in indicators.values() if i.code in values]
    return Panel(
        periods, {c: values[c] for c in order}, {c: present[c] for c in order}, any(r[3] for r in rows)
    )


def vintages(
    session: Session, *, principal: Principal, division_code: str, indicator: Indicator, limit: int = 200
) -> list[Observation]:
    """Every vintage of a series, newest period first, newest vintage first (revisions are kept)."""
    access.require_division(session, principal, division_code)
    stmt = (
        access.observation_query()
        .where(
            Observation.division_code == division_code,
            Observation.indicator_id == indicator.id,
            access.visible_observations(principal),
        )
        .order_by(Observation.period.desc(), Observation.vintage.desc())
        .limit(limit)
    )
    rows = list(session.scalars(stmt))
    audit.record(
        session,
        actor=principal,
        action="economy.read_vintages",
        entity_type="economy_series",
        entity_id=f"{division_code}:{indicator.code}",
        division_code=division_code,
    )
    return rows
