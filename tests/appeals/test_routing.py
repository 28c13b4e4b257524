"""Classification (rules for cold start, the trained model), location (point, address, text) and the unit."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from govgrid.appeals.demo import TEMPLATES
from govgrid.appeals.services import access, classifier, intake, routing, workflow
from govgrid.core.audit.service import PublicActor
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ValidationFailedError
from tests.appeals.conftest import village_point

SH = ZoneInfo("Asia/Shanghai")


def test_keyword_rules():
    assert classifier.classify_rules("小区门口垃圾堆放没人清运").code == "garbage"
    assert classifier.classify_rules("老板拖欠工资三个月").code == "wage_arrears"
    top = classifier.classify_rules("完全无关的一句话")
    assert top.code == "other" and top.confidence == 0.0


def test_unit_proposal_smallest_node_first(db, world):
    village = db.get(Division, "410527100200")
    assert routing.propose_unit(
        db, division=village, category_code="village_affairs"
    ) == routing.department_id(db, code="410527100200-government")
    assert routing.propose_unit(db, division=village, category_code="wage_arrears") == routing.department_id(
        db, code="410527-human_resources"
    )
    town = db.get(Division, "410527100")
    assert routing.propose_unit(db, division=town, category_code="other") == routing.department_id(
        db, code="410527100-government"
    )
    county = db.get(Division, "410527")
    assert routing.propose_unit(
        db, division=county, category_code="village_affairs"
    ) == routing.department_id(db, code="410527-government")


def test_locate_point_address_text_and_errors(db, world):
    lon, lat = village_point(db, "410527103201")
    assert (
        routing.locate(db, lon=lon, lat=lat, address=None, default_division_code=None).division.code
        == "410527103201"
    )
    found = routing.locate(
        db, lon=None, lat=None, address="内黄县城关镇西街村人民路12号", default_division_code="410527"
    )
    assert (
        found.division.code.startswith("410527100")
        and found.division.level == "village"
        and found.source == "address"
    )
    assert (
        routing.locate(db, lon=None, lat=None, address="不知道哪里", default_division_code="410527").source
        == "channel"
    )
    with pytest.raises(ValidationFailedError):
        routing.locate(db, lon=-30.0, lat=-60.0, address=None, default_division_code=None)
    with pytest.raises(ValidationFailedError):
        routing.locate(db, lon=114.9, lat=None, address=None, default_division_code=None)
    with pytest.raises(ValidationFailedError):
        routing.locate(db, lon=None, lat=None, address="某处", default_division_code=None)


def test_train_on_confirmed_tickets_time_split_and_use(db, world):
    """A fixture-sized synthetic history: this checks the mechanics (time split, metrics, activation), not
    accuracy."""
    rng = random.Random(7)
    disp = access.load_principal(db, username="nh_dispatcher")
    start = datetime(2026, 3, 1, 9, 0, tzinfo=SH)
    cats = ["garbage", "noise", "water_supply", "wage_arrears", "village_affairs", "food_safety"]
    for i in range(180):
        cat = cats[i % len(cats)]
        text = rng.choice(TEMPLATES[cat]).format(place="东关村", road="人民路")
        at = start + timedelta(days=i)  # six months
        t = intake.create_ticket(
            db,
            actor=PublicActor("web"),
            now=at,
            data=intake.TicketInput(channel="web", description=text, default_division_code="410527100200"),
        )
        workflow.dispatch(db, actor=disp, ticket=t, category_code=cat, now=at + timedelta(hours=1))
    report = classifier.train_classifier(db, test_fraction=0.2)
    assert report.n_train + report.n_test == 180 and report.n_test >= 36
    assert report.split_month > "2026-03" and 0 <= report.macro_f1 <= 1 and 0 <= report.top3_accuracy <= 1
    assert report.model_id is not None
    got = classifier.classify(db, text="东关村自来水停水两天了没有通知")
    assert got.source == "model" and got.code == "water_supply" and len(got.top) == 3


def test_train_refuses_too_little_history(db, world):
    with pytest.raises(ValidationFailedError):
        classifier.train_classifier(db, min_labelled=10_000)
