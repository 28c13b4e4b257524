"""信用风险分类 A-D from rules over shared data. Pure: the facts in, the class and its reasons out.

Points (风险分值) add up from the shared facts; the class follows the points (A 0, B 1-14, C 15-34, D 35+),
and some facts put an entity in D directly:

| fact (shared by) | points |
|---|---|
| administrative penalty in the last 3 years (市场监管, other lines) | 10 each |
| complaint found justified in the last year (12345 / appeals) | 3 each, at most 15 |
| on the abnormal-operation list (经营异常名录) | 15 |
| tax credit (税务) C / D | 10 / D directly |
| inspection with a problem found (双随机 results) | 10 each; serious ones 25 |
| serious violation list (严重违法失信名单) | D directly |
"""

from __future__ import annotations

from dataclasses import dataclass, field

from govgrid.market.enums import CreditClass, TaxStatus

COMPLAINT_CAP = 15


@dataclass(frozen=True)
class RiskFacts:
    """What the shared data says about one entity."""

    penalties: int = 0
    complaints: int = 0
    abnormal: bool = False
    serious_violation: bool = False
    tax_status: TaxStatus = TaxStatus.unknown
    problem_findings: int = 0
    serious_findings: int = 0


@dataclass(frozen=True)
class RiskAssessment:
    """A class with its points and the reasons a person can read (zh-CN)."""

    credit_class: CreditClass
    points: int
    reasons: list[str] = field(default_factory=list)


def classify(facts: RiskFacts) -> RiskAssessment:
    """The credit-risk class of an entity from its facts."""
    points = 0
    reasons: list[str] = []
    direct_d = False
    if facts.penalties:
        points += 10 * facts.penalties
        reasons.append(f"近三年行政处罚 {facts.penalties} 次 (+{10 * facts.penalties})")
    if facts.complaints:
        add = min(3 * facts.complaints, COMPLAINT_CAP)
        points += add
        reasons.append(f"近一年有效投诉 {facts.complaints} 件 (+{add})")
    if facts.abnormal:
        points += 15
        reasons.append("列入经营异常名录 (+15)")
    if facts.tax_status == TaxStatus.C:
        points += 10
        reasons.append("纳税信用 C 级 (+10)")
    if facts.tax_status == TaxStatus.D:
        direct_d = True
        reasons.append("纳税信用 D 级（直接列为 D 类）")
    ordinary = facts.problem_findings - facts.serious_findings
    if ordinary > 0:
        points += 10 * ordinary
        reasons.append(f"抽查发现问题 {ordinary} 次 (+{10 * ordinary})")
    if facts.serious_findings:
        points += 25 * facts.serious_findings
        reasons.append(f"抽查发现严重问题 {facts.serious_findings} 次 (+{25 * facts.serious_findings})")
    if facts.serious_violation:
        direct_d = True
        reasons.append("列入严重违法失信名单（直接列为 D 类）")
    if direct_d or points >= 35:
        cls = CreditClass.D
    elif points >= 15:
        cls = CreditClass.C
    elif points >= 1:
        cls = CreditClass.B
    else:
        cls = CreditClass.A
    if not reasons:
        reasons.append("无不良记录")
    return RiskAssessment(cls, points, reasons)
