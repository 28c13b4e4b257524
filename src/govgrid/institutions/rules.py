"""Pure rules of the institutions module: default grading (GB/T 43697, 就高从严), the outcome of a use,
and the scoring rule turning use into credited contribution (贡献分) for 绩效考核. No database, no web."""

from __future__ import annotations

import re
from dataclasses import dataclass

from govgrid.institutions.enums import GRADE_RANK, Grade, Outcome

# Points per served call by outcome, and per row served; a division may store its own (versioned).
DEFAULT_WEIGHTS: dict[str, float] = {
    Outcome.prefill.value: 3.0,
    Outcome.verify.value: 2.0,
    Outcome.case.value: 2.0,
    Outcome.sync.value: 1.0,
    Outcome.other.value: 0.5,
}
DEFAULT_ROW_WEIGHT = 0.01
MAX_WEIGHT = 1000.0


def default_grade(
    *, sharing_type: str, catalog_grade: str, personal_items: int, sensitive_items: int
) -> tuple[Grade, list[str]]:
    """The grade a resource gets by default and why: the highest of every rule that applies (就高从严)."""
    found: list[tuple[Grade, str]] = [(Grade.general, "default")]
    if catalog_grade in Grade.__members__:
        found.append((Grade(catalog_grade), f"catalog_{catalog_grade}"))
    if sharing_type == "none":
        found.append((Grade.important, "not_shared"))
    if sensitive_items:
        found.append((Grade.important, "sensitive_personal"))
    elif personal_items:
        found.append((Grade.general, "personal"))
    top = max(GRADE_RANK[g] for g, _ in found)
    grade = next(g for g, r in GRADE_RANK.items() if r == top)
    return grade, [why for g, why in found if g == grade and why != "default"] or ["default"]


def higher(a: Grade | str, b: Grade | str) -> Grade:
    """The higher of two grades."""
    ga, gb = Grade(a), Grade(b)
    return ga if GRADE_RANK[ga] >= GRADE_RANK[gb] else gb


_CASE_WORDS = ("办件", "案件", "复核", "核查", "执法", "检查")
_SYNC_WORDS = ("同步", "拉取", "监测", "名录")


_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{3,63}")


def case_refs(purpose: str) -> set[str]:
    """The references a purpose names (case codes, ticket and application numbers: letters, digits and
    dashes with at least one digit), e.g. "城管案件核查 CG-20261203-0007" -> {"CG-20261203-0007"}."""
    return {m for m in _REF.findall(purpose) if any(c.isdigit() for c in m)}


def outcome_of(kind: str, purpose: str) -> Outcome:
    """What a use enabled, from the call kind and the purpose the caller gave."""
    if kind == "verify":
        return Outcome.verify
    if "预填" in purpose:
        return Outcome.prefill
    if any(w in purpose for w in _CASE_WORDS):
        return Outcome.case
    if any(w in purpose for w in _SYNC_WORDS):
        return Outcome.sync
    return Outcome.other


def check_weights(weights: dict[str, float], row_weight: float) -> list[str]:
    """Problems with a scoring rule (empty when it is usable)."""
    problems = [f"unknown:{k}" for k in weights if k not in Outcome.__members__]
    problems += [f"range:{k}" for k, v in weights.items() if not 0 <= v <= MAX_WEIGHT]
    if not 0 <= row_weight <= MAX_WEIGHT:
        problems.append("range:row_weight")
    return problems


@dataclass(frozen=True)
class Credit:
    """Credited contribution of one use: points from calls and from rows."""

    outcome: Outcome
    points: float


def credit(
    *, kind: str, purpose: str, calls: int, rows: int, weights: dict[str, float], row_weight: float
) -> Credit:
    """Points a use earns its provider under a rule: calls x weight of its outcome + rows x row weight."""
    outcome = outcome_of(kind, purpose)
    return Credit(outcome, calls * float(weights.get(outcome.value, 0.0)) + rows * row_weight)
