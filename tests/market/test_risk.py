"""Credit-risk classes A-D from shared facts, with reasons a person can read."""

from govgrid.market.enums import CreditClass, TaxStatus
from govgrid.market.risk import RiskFacts, classify


def test_clean_entity_is_a():
    r = classify(RiskFacts(tax_status=TaxStatus.A))
    assert r.credit_class == CreditClass.A and r.points == 0 and r.reasons == ["无不良记录"]


def test_points_move_through_the_classes():
    assert classify(RiskFacts(complaints=1)).credit_class == CreditClass.B
    assert classify(RiskFacts(penalties=1, abnormal=False, complaints=2)).credit_class == CreditClass.C  # 16
    assert classify(RiskFacts(penalties=2, abnormal=True)).credit_class == CreditClass.D  # 35


def test_complaints_are_capped():
    assert classify(RiskFacts(complaints=100)).points == 15


def test_direct_d_facts():
    for facts in (RiskFacts(tax_status=TaxStatus.D), RiskFacts(serious_violation=True)):
        r = classify(facts)
        assert r.credit_class == CreditClass.D
        assert any("直接列为 D 类" in x for x in r.reasons)


def test_findings_feed_the_class():
    assert classify(RiskFacts(problem_findings=1)).credit_class == CreditClass.B
    assert classify(RiskFacts(problem_findings=2, serious_findings=1)).points == 35
