"""The case library: self-declared and nominated cases, review by an upper level, promotion by the province
and the platform, ratings from outside the division, figures before and after."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from govgrid.core.audit.service import SystemActor
from govgrid.core.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from govgrid.reuse.enums import CaseOrigin, CaseState
from govgrid.reuse.services import cases
from tests.reuse.conftest import NEIHUANG, PINGDING, principal


def test_a_county_declares_its_case_and_the_province_reviews_and_promotes_it(db: Session):
    nh_gov = principal(db, "nh_gov")
    case = cases.submit(db, actor=nh_gov, division_code=NEIHUANG, title="内黄县民声诉求监督群",
                        summary="诉求进群，下沉监督", measures_before={"按期办结率（%）": 82},
                        measures_after={"按期办结率（%）": 95.5})
    assert case.origin == CaseOrigin.self_declared and case.state == CaseState.submitted
    assert case.measures_after == {"按期办结率（%）": 95.5}
    with pytest.raises(ForbiddenError):  # not its own review
        cases.start_review(db, actor=nh_gov, case_id=case.id)
    hn_data = principal(db, "hn_data")  # 河南省数据管理局 admin (line reach), above 内黄县
    cases.start_review(db, actor=hn_data, case_id=case.id)
    with pytest.raises(ValidationFailedError):  # a rejection needs its reason
        cases.decide(db, actor=hn_data, case_id=case.id, accept=False)
    cases.decide(db, actor=hn_data, case_id=case.id, accept=True, note="可复制推广")
    cases.promote(db, actor=hn_data, case_id=case.id, level="provincial")
    with pytest.raises(ForbiddenError):  # the national list is the platform's
        cases.promote(db, actor=hn_data, case_id=case.id, level="national")
    done = cases.promote(db, actor=principal(db, "admin"), case_id=case.id, level="national")
    assert done.state == CaseState.recommended_national and done.reviewed_by


def test_an_upper_level_nominates_and_a_city_may_not_promote_to_the_province(db: Session):
    ay = principal(db, "hn_data")
    case = cases.submit(db, actor=ay, division_code=NEIHUANG, title="内黄县提名案例", summary="上级推荐")
    assert case.origin == CaseOrigin.nominated and case.nominated_by
    admin = principal(db, "admin")
    cases.start_review(db, actor=admin, case_id=case.id)
    cases.decide(db, actor=admin, case_id=case.id, accept=True)
    with pytest.raises(ForbiddenError):
        cases.promote(db, actor=principal(db, "nh_gov"), case_id=case.id, level="provincial")


def test_moves_off_the_table_are_refused_with_a_message(db: Session):
    case = cases.submit(db, actor=SystemActor("t"), division_code=PINGDING, title="一张图", summary="网格")
    with pytest.raises(ConflictError, match="不能改为"):
        cases.decide(db, actor=SystemActor("t"), case_id=case.id, accept=True)
    cases.start_review(db, actor=SystemActor("t"), case_id=case.id)
    cases.decide(db, actor=SystemActor("t"), case_id=case.id, accept=False, note="数据不足")
    again = cases.resubmit(db, actor=principal(db, "pd_gov"), case_id=case.id)
    assert again.state == CaseState.submitted


def test_ratings_come_from_outside_the_division_once_the_case_is_in_the_library(db: Session):
    system = SystemActor("t")
    case = cases.submit(db, actor=system, division_code=PINGDING, title="平定县一张图", summary="网格")
    with pytest.raises(NotFoundError):  # in review: another county does not even see it
        cases.rate(db, actor=principal(db, "nh_gov"), case_id=case.id, score=5)
    with pytest.raises(ValidationFailedError):
        cases.rate(db, actor=principal(db, "admin"), case_id=case.id, score=5)
    cases.start_review(db, actor=system, case_id=case.id)
    cases.decide(db, actor=system, case_id=case.id, accept=True)
    cases.rate(db, actor=principal(db, "nh_gov"), case_id=case.id, score=5)
    cases.rate(db, actor=principal(db, "jsh_gov"), case_id=case.id, score=3)
    rated = cases.rate(db, actor=principal(db, "nh_gov"), case_id=case.id, score=4)  # a second score replaces
    assert rated.rating_count == 2 and rated.rating == 3.5
    with pytest.raises(ForbiddenError):
        cases.rate(db, actor=principal(db, "pd_viewer"), case_id=case.id, score=5)


def test_bad_figures_are_refused_together(db: Session):
    with pytest.raises(ValidationFailedError) as bad:
        cases.submit(db, actor=principal(db, "pd_gov"), division_code=PINGDING, title="", summary="s",
                     measures_before={"率": "high"}, measures_after=[1])
    assert {d["loc"][0] for d in bad.value.details} == {"title", "measures_before", "measures_after"}
