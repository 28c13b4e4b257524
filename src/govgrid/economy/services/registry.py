"""The indicator registry (指标目录): the built-in catalogue, listing, reading and adding indicators."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.departments.catalogue import LINES
from govgrid.core.errors import ConflictError, NotFoundError, ValidationFailedError
from govgrid.economy.catalog import INDICATORS
from govgrid.economy.enums import Frequency
from govgrid.economy.models import Indicator
from govgrid.economy.schemas import IndicatorCreate
from govgrid.economy.services import access

log = logging.getLogger(__name__)
LINE_CODES = {code for code, _, _ in LINES}
LEVELS = ("province", "city", "county", "township")


def ensure_catalog(session: Session) -> dict[str, Indicator]:
    """Insert the built-in indicators where missing; returns every indicator by code."""
    have = {i.code: i for i in session.scalars(select(Indicator))}
    for d in INDICATORS:
        if d.code not in have:
            ind = Indicator(
                code=d.code,
                name_zh=d.name_zh,
                name_en=d.name_en,
                unit=d.unit,
                frequency=d.frequency,
                line_code=d.line_code,
                division_level=d.division_level,
                definition=d.definition,
            )
            session.add(ind)
            have[d.code] = ind
    session.flush()
    return have


def list_indicators(session: Session) -> list[Indicator]:
    """Every indicator, by code (the built-in ones are added on first use)."""
    ensure_catalog(session)
    return list(session.scalars(select(Indicator).order_by(Indicator.id)))


def get_indicator(session: Session, code: str) -> Indicator:
    """One indicator by code; 404 with the codes to choose from."""
    ensure_catalog(session)
    ind = session.scalar(select(Indicator).where(Indicator.code == code))
    if ind is None:
        raise NotFoundError(f"指标 {code} 不在指标目录中 (no indicator {code})")
    return ind


def create_indicator(session: Session, *, actor: Actor, body: IndicatorCreate) -> Indicator:
    """Add an indicator to the registry (statistics admin)."""
    access.require_registry_admin(actor)
    ensure_catalog(session)
    if body.line_code not in LINE_CODES:
        raise ValidationFailedError(
            f"条线 {body.line_code} 不存在 (unknown line)",
            details=[{"loc": ["body", "line_code"], "msg": "unknown line"}],
        )
    if body.division_level not in LEVELS:
        raise ValidationFailedError(
            f"统计层级应为 {'/'.join(LEVELS)} (unknown level)",
            details=[{"loc": ["body", "division_level"], "msg": "unknown level"}],
        )
    if session.scalar(select(Indicator.id).where(Indicator.code == body.code)) is not None:
        raise ConflictError(f"指标代码 {body.code} 已存在 (indicator code already used)")
    ind = Indicator(
        code=body.code,
        name_zh=body.name_zh,
        name_en=body.name_en,
        unit=body.unit,
        frequency=Frequency(body.frequency),
        line_code=body.line_code,
        division_level=body.division_level,
        definition=body.definition,
    )
    session.add(ind)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="economy.indicator_create",
        entity_type="economy_indicator",
        entity_id=ind.id,
        detail={"code": ind.code},
    )
    log.info("indicator created", extra={"indicator_id": ind.id})
    return ind
