"""Deployment settings kept as data (table appeals_config): 三率 formulas and weights, clock overrides per
category, escalation and duplicate-detection thresholds, the default jurisdiction. Read once per session."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from govgrid.appeals.enums import ResolutionBasis, ResponseBasis
from govgrid.appeals.models import AppealsConfig
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.authz.principal import Principal
from govgrid.core.db import utcnow
from govgrid.core.errors import ForbiddenError, ValidationFailedError

log = logging.getLogger(__name__)

RATES = "rates"
DEADLINES = "deadlines"
ESCALATION = "escalation"
OPEN311 = "open311"

DEFAULT_RATES: dict[str, Any] = {
    # 响应率 numerator: signed (签收及时), contacted (联系及时) or signed_and_contacted (both in time)
    "response_basis": ResponseBasis.signed_and_contacted.value,
    # 解决率: survey (rated resolved / rated) or closed (closed / dispatched)
    "resolution_basis": ResolutionBasis.survey.value,
    # 满意率 = (satisfied + basic_weight x basically satisfied) / rated
    "basic_weight": 1.0,
    "weights": {"response": 30, "resolution": 35, "satisfaction": 35},
}
DEFAULT_ESCALATION: dict[str, Any] = {
    "superior_grace_days": 1,
    "auto_close_days": 5,
    "duplicate_hours": 72,
    "duplicate_similarity": 0.5,
    "duplicate_meters": 300,
}


def get_config(session: Session, *, key: str, default: dict[str, Any]) -> dict[str, Any]:
    """A configuration value merged over its default (read once per session)."""
    cache = session.info.setdefault("appeals_config", {})
    if key not in cache:
        row = session.get(AppealsConfig, key)
        cache[key] = dict(row.value or {}) if row is not None else {}
    out = dict(default)
    out.update(cache[key])
    return out


def rates_config(session: Session) -> dict[str, Any]:
    """The 三率 formulas and weights in force."""
    return get_config(session, key=RATES, default=DEFAULT_RATES)


def escalation_config(session: Session) -> dict[str, Any]:
    """Escalation grace, auto-close and duplicate-detection thresholds in force."""
    return get_config(session, key=ESCALATION, default=DEFAULT_ESCALATION)


def deadline_override(
    session: Session, *, category_code: str, division_code: str | None = None
) -> dict[str, Any]:
    """The clock overrides for one category (sign_hours, contact_hours, resolve_days), if any: the
    deployment's, then the county's own (of `division_code`'s county) over them."""
    value = get_config(session, key=DEADLINES, default={}).get(category_code, {})
    out = dict(value) if isinstance(value, dict) else {}
    if division_code:
        own = division_category(session, division_code=division_code[:6], category_code=category_code)
        out.update({k: own[k] for k in CLOCK_KEYS if k in own})
    return out


# --- A county's own category settings (routing line and clocks per category), e.g. from a solution pack.

DIVISION_PREFIX = "division:"
CLOCK_KEYS = ("sign_hours", "contact_hours", "resolve_days")


def division_settings(session: Session, *, division_code: str) -> dict[str, Any] | None:
    """A county's own appeals settings ({"categories": {code: {line?, sign_hours?, ...}}}), None if unset."""
    cache = session.info.setdefault("appeals_config", {})
    key = DIVISION_PREFIX + division_code
    if key not in cache:
        row = session.get(AppealsConfig, key)
        cache[key] = dict(row.value) if row is not None else None
    found = cache[key]
    return dict(found) if found is not None else None


def division_category(session: Session, *, division_code: str, category_code: str) -> dict[str, Any]:
    """A county's own settings for one category ({} when it has none)."""
    value = (division_settings(session, division_code=division_code) or {}).get("categories", {})
    found = value.get(category_code, {}) if isinstance(value, dict) else {}
    return dict(found) if isinstance(found, dict) else {}


def set_division_settings(
    session: Session, *, actor: Actor, division_code: str, value: dict[str, Any] | None
) -> None:
    """Store (or, with None, remove) a county's own appeals settings (audited)."""
    key = DIVISION_PREFIX + division_code
    if value is not None:
        set_config(session, actor=actor, key=key, value=value)
        return
    session.info.pop("appeals_config", None)
    row = session.get(AppealsConfig, key)
    if row is None:
        return
    session.delete(row)
    session.flush()
    audit.record(
        session, actor=actor, action="appeals.config_removed", entity_type="appeals_config", entity_id=key
    )
    log.info("appeals setting removed", extra={"key": key})


def default_jurisdiction(session: Session) -> str | None:
    """The division code concerns without a point default to (the deployment's county), if set."""
    code = get_config(session, key=OPEN311, default={}).get("default_jurisdiction")
    return str(code) if code else None


def set_config(session: Session, *, actor: Actor, key: str, value: dict[str, Any]) -> None:
    """Store a configuration value (audited)."""
    session.info.pop("appeals_config", None)
    row = session.get(AppealsConfig, key)
    if row is None:
        session.add(AppealsConfig(key=key, value=value, updated_at=utcnow()))
    else:
        row.value = value
        row.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="appeals.config_set",
        entity_type="appeals_config",
        entity_id=key,
        detail=value,
    )
    log.info("appeals setting changed", extra={"key": key})


def validate_rates_config(value: dict[str, Any]) -> dict[str, Any]:
    """Check a 三率 configuration, reporting every problem at once; returns it merged over the defaults."""
    problems = []
    merged = dict(DEFAULT_RATES)
    merged.update(value)
    if merged["response_basis"] not in tuple(ResponseBasis):
        problems.append({"loc": ["response_basis"], "msg": "signed | contacted | signed_and_contacted"})
    if merged["resolution_basis"] not in tuple(ResolutionBasis):
        problems.append({"loc": ["resolution_basis"], "msg": "survey | closed"})
    bw = merged["basic_weight"]
    if not isinstance(bw, int | float) or isinstance(bw, bool) or not 0 <= bw <= 1:
        problems.append({"loc": ["basic_weight"], "msg": "a number within 0..1"})
    w = merged["weights"]
    if (
        not isinstance(w, dict)
        or set(w) != {"response", "resolution", "satisfaction"}
        or not all(isinstance(x, int | float) and not isinstance(x, bool) and x >= 0 for x in w.values())
        or sum(w.values()) <= 0
    ):
        problems.append(
            {"loc": ["weights"], "msg": "{response, resolution, satisfaction}: non-negative, sum > 0"}
        )
    unknown = set(value) - set(DEFAULT_RATES)
    problems.extend({"loc": [k], "msg": "unknown setting"} for k in sorted(unknown))
    if problems:
        raise ValidationFailedError("三率配置无效 (invalid rates configuration)", details=problems)
    return merged


def set_rates_config(session: Session, *, actor: Principal, value: dict[str, Any]) -> dict[str, Any]:
    """Change the platform-wide 三率 formulas and weights (the platform administrator only); returns them."""
    if not actor.is_superuser:
        log.warning("appeals setting refused", extra={"key": RATES, "reason": "not_platform_admin"})
        raise ForbiddenError(
            "三率计分规则是全平台设置，只有平台管理员可以修改 "
            "(the 三率 scoring is a platform-wide setting: only the platform administrator may change it)"
        )
    merged = validate_rates_config(value)
    set_config(session, actor=actor, key=RATES, value=merged)
    return merged
