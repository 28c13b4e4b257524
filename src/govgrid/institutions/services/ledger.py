"""The contribution ledger (数据贡献台账) and its scoring rules (贡献计分规则, 绩效考核).

The ledger is computed, never typed in: the exchange's served gateway calls (through ``core.ports.data_use``)
per provider department and resource, who used them, for which purposes, the outcome each use enabled, the
points it earns, and the cases closed (办结案件) it was used for: the references a use's purpose names (a
case code, a ticket number) that the handling module reported closed (``services.outcomes``). A division's
rule (weights per outcome and per row) is stored versioned; a division without its own rule uses its nearest
ancestor's, then the platform default. The assessing level's rule scores
every provider of its subtree.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from govgrid.core import ports
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.departments.models import Department
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ValidationFailedError
from govgrid.institutions import rules
from govgrid.institutions.enums import Outcome
from govgrid.institutions.models import ScoringRule
from govgrid.institutions.services import access, outcomes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LedgerRow:
    """One aggregated use with its outcome and credited points."""

    use: ports.DataUse
    provider_name: str
    outcome: Outcome
    points: float
    cases_closed: frozenset[str] = frozenset()  # case codes its purpose named that were reported closed


@dataclass
class ProviderScore:
    """A provider department's credited contribution over the period."""

    department_id: int
    department_name: str
    line_code: str
    division_code: str
    calls: int = 0
    rows: int = 0
    points: float = 0.0
    resources: set[str] = field(default_factory=set)
    consumers: set[str] = field(default_factory=set)
    outcomes: dict[str, int] = field(default_factory=dict)  # outcome -> calls
    cases_closed: set[str] = field(default_factory=set)  # closed cases (办结案件) its data was used for


@dataclass(frozen=True)
class Rule:
    """The rule in force: its weights, where it comes from (None: the platform default) and its version."""

    weights: dict[str, float]
    row_weight: float
    division_code: str | None
    version: int


@dataclass(frozen=True)
class Ledger:
    """A division's (or one line's) ledger over [start, end) with the scores of its providers."""

    division: Division
    line: str
    start: datetime
    end: datetime
    rule: Rule
    rows: list[LedgerRow]
    scores: list[ProviderScore]

    @property
    def cases_closed(self) -> int:
        """Closed cases (办结案件) the ledger's uses were for, each counted once."""
        return len(set().union(*(r.cases_closed for r in self.rows)))


def effective_rule(session: Session, *, division: Division) -> Rule:
    """The division's newest rule, else its nearest ancestor's, else the platform default."""
    found = session.scalar(
        select(ScoringRule)
        .where(literal(division.path).like(ScoringRule.division_path + "%"))
        .order_by(func.length(ScoringRule.division_path).desc(), ScoringRule.version.desc())
        .limit(1)
    )
    if found is None:
        return Rule(dict(rules.DEFAULT_WEIGHTS), rules.DEFAULT_ROW_WEIGHT, None, 0)
    weights = {**rules.DEFAULT_WEIGHTS, **{k: float(v) for k, v in found.weights.items()}}
    return Rule(weights, found.row_weight, found.division_code, found.version)


def set_rule(
    session: Session,
    *,
    actor: Actor | None,
    division_code: str,
    weights: dict[str, float],
    row_weight: float,
    note: str = "",
) -> ScoringRule:
    """Store a new version of the division's scoring rule (admin overseeing the division)."""
    div = access.require_rule_admin(session, actor=actor, code=division_code)
    who = access.require_login(actor)
    problems = rules.check_weights(weights, row_weight)
    if problems:
        raise ValidationFailedError(
            f"计分权重应为 0-{rules.MAX_WEIGHT:g} 之间的数字，且只能针对已知成效类别 "
            f"(weights: 0-{rules.MAX_WEIGHT:g}, known outcomes only)",
            details=[{"loc": ["body", "weights"], "msg": p} for p in problems],
        )
    last = session.scalar(select(func.max(ScoringRule.version)).where(ScoringRule.division_code == div.code))
    row = ScoringRule(
        division_code=div.code,
        division_path=div.path,
        version=(last or 0) + 1,
        weights={k: float(v) for k, v in weights.items()},
        row_weight=float(row_weight),
        note=note.strip()[:500],
        created_by=access.actor_name(who),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=who,
        action="institutions.rule_set",
        entity_type="scoring_rule",
        entity_id=row.id,
        division_code=div.code,
        detail={"version": row.version, "weights": row.weights, "row_weight": row.row_weight},
    )
    log.info("institutions rule set", extra={"division_code": div.code, "version": row.version})
    return row


def rule_history(session: Session, *, actor: Actor | None, division_code: str) -> list[ScoringRule]:
    """Every version of the division's own rule, newest first."""
    div = access.require_view(session, actor=actor, code=division_code)
    return list(
        session.scalars(
            select(ScoringRule)
            .where(ScoringRule.division_code == div.code)
            .order_by(ScoringRule.version.desc())
        )
    )


def ledger(
    session: Session,
    *,
    actor: Actor | None,
    division_code: str,
    start: datetime,
    end: datetime,
    line: str = "",
) -> Ledger:
    """The division's contribution ledger over [start, end) (one line 条 when `line` is given), scored."""
    if end <= start:
        raise ValidationFailedError("统计期的结束应晚于开始 (the period must end after it starts)")
    div = access.require_view(session, actor=actor, code=division_code)
    who = access.require_login(actor)
    rule = effective_rule(session, division=div)
    uses = [
        u
        for u in ports.data_use(session, start=start, end=end, division_code=div.code)
        if not line or u.provider_line_code == line
    ]
    seen = access.visible_departments(session, actor=who, ids={u.provider_department_id for u in uses})
    names: dict[int, str] = {}
    named = select(Department.id, Department.name).where(Department.id.in_(seen))
    for dept_id, dept_name in session.execute(named):
        names[dept_id] = dept_name
    rows: list[LedgerRow] = []
    scores: dict[int, ProviderScore] = {}
    closed = outcomes.closed_among(
        session, (ref for u in uses if u.provider_department_id in seen for ref in rules.case_refs(u.purpose))
    )
    for u in uses:
        if u.provider_department_id not in seen:
            continue
        cases = frozenset(closed[ref] for ref in rules.case_refs(u.purpose) if ref in closed)
        got = rules.credit(
            kind=u.kind,
            purpose=u.purpose,
            calls=u.calls,
            rows=u.rows,
            weights=rule.weights,
            row_weight=rule.row_weight,
        )
        name = names.get(u.provider_department_id, "")
        rows.append(LedgerRow(u, name, got.outcome, got.points, cases))
        s = scores.setdefault(
            u.provider_department_id,
            ProviderScore(u.provider_department_id, name, u.provider_line_code, u.provider_division_code),
        )
        s.calls += u.calls
        s.rows += u.rows
        s.points += got.points
        s.resources.add(u.resource_code)
        s.consumers.add(u.consumer_name or str(u.consumer_department_id or ""))
        s.outcomes[got.outcome.value] = s.outcomes.get(got.outcome.value, 0) + u.calls
        s.cases_closed |= cases
    audit.record(
        session,
        actor=who,
        action="institutions.ledger_read",
        entity_type="ledger",
        entity_id=div.code,
        division_code=div.code,
        detail={"line": line, "rows": len(rows), "rule_version": rule.version, "cases_closed": len(
            set().union(*(r.cases_closed for r in rows)))},
    )
    ranked = sorted(scores.values(), key=lambda s: (-s.points, s.department_id))
    return Ledger(div, line, start, end, rule, rows, ranked)
