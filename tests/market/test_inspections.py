"""Results: recorded once, published without personal data, fed into the class, city events through the
port."""

import pytest

from govgrid.core import ports
from govgrid.market.enums import Outcome
from govgrid.market.models import Inspection, MarketEntity
from govgrid.market.services import draws, inspections
from tests.market.conftest import SYSTEM

API = "/api/v1/market"


@pytest.fixture()
def visits(db, registry_nh) -> list[Inspection]:
    plan = draws.create_plan(
        db,
        actor=SYSTEM,
        name="测试计划",
        year=2026,
        department_code="410527-market_regulation",
        items=[("410527-market_regulation", "公示信息检查")],
        sample_size=4,
        weights={"A": 1, "B": 1, "C": 1, "D": 1},
        per_group=2,
    )
    draws.commit_draw(db, actor=SYSTEM, plan_id=plan.id)
    draws.publish_draw(db, actor=SYSTEM, plan_id=plan.id)
    return sorted(db.query(Inspection).filter(Inspection.plan_id == plan.id), key=lambda v: v.id)


def test_a_finding_raises_the_class_and_is_published_without_people(client, db, visits, login):
    v = visits[0]
    entity = db.get(MarketEntity, v.entity_id)
    points = entity.risk_points
    body = {
        "outcome": "false_disclosure",
        "summary": "法定代表人王小明称电话13812345678可联系，公示年报与实际不符",
    }
    r = client.post(f"{API}/inspections/{v.id}/result", json=body, headers=login("nh_market"))
    assert r.status_code == 200, r.text
    db.refresh(entity)
    assert entity.risk_points == points + 25 and entity.last_inspector_ids == v.inspector_ids
    results = client.get(f"{API}/results").json()
    mine = next(x for x in results if x["credit_code"] == v.credit_code)
    assert mine["outcome_label"] == "公示信息隐瞒真实情况弄虚作假"
    assert "13812345678" not in mine["summary"] and "王小明" not in mine["summary"]
    assert not {"inspector_ids", "legal_rep", "inspectors"} & set(mine)
    assert client.get(f"{API}/results", headers={"Accept-Language": "en"}).status_code == 200
    # recorded once: a second result is refused
    again = client.post(
        f"{API}/inspections/{v.id}/result", json={"outcome": "no_problem"}, headers=login("nh_market")
    )
    assert again.status_code == 409 and "已录入" in again.json()["error"]["message"]


def test_city_case_goes_through_the_declared_port(client, db, visits, login):
    v = visits[1]
    inspections.record_result(
        db, actor=SYSTEM, inspection_id=v.id, outcome=Outcome.unreachable, city_case=True
    )
    # queued on the session, delivered to the city map's subscriber after commit (core.events)
    sent = [e for e in db.info.get("pending_events", []) if e.name == ports.CITY_EVENT_REPORTED]
    assert len(sent) == 1
    payload = sent[0].payload
    assert payload["source"] == "market" and payload["external_ref"] == f"MKT-{v.id}"
    assert payload["division_code"] == v.division_code and payload["category"] == "market_supervision"
    assert "王小明" not in payload["description"]
    no_finding = client.post(
        f"{API}/inspections/{visits[2].id}/result",
        json={"outcome": "no_problem", "city_case": True},
        headers=login("nh_market"),
    )
    assert no_finding.status_code == 422


def test_other_division_anonymous_and_bad_input(client, db, visits, login):
    v = visits[0]
    assert (
        client.post(
            f"{API}/inspections/{v.id}/result", json={"outcome": "no_problem"}, headers=login("pd_market")
        ).status_code
        == 403
    )
    assert client.post(f"{API}/inspections/{v.id}/result", json={"outcome": "no_problem"}).status_code == 401
    assert (
        client.post(
            f"{API}/inspections/{v.id}/result", json={"outcome": "great"}, headers=login("nh_market")
        ).status_code
        == 422
    )
    assert (
        client.post(
            f"{API}/inspections/0/result", json={"outcome": "no_problem"}, headers=login("nh_market")
        ).status_code
        == 422
    )
    db.refresh(v)
    assert v.status == "pending"


def test_plan_completes_when_every_visit_is_recorded(client, db, visits, login):
    for v in visits:
        assert (
            client.post(
                f"{API}/inspections/{v.id}/result", json={"outcome": "no_problem"}, headers=login("nh_market")
            ).status_code
            == 200
        )
    plan = client.get(f"{API}/plans/{visits[0].plan_id}", headers=login("nh_market")).json()
    assert plan["status"] == "completed"
