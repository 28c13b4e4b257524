"""The measures port and the modules' providers: figures computed from the modules' own tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from govgrid.core import ports
from tests.coordination.conftest import ticket

NOW = datetime.now(UTC)
START = NOW - timedelta(days=30)


def test_every_module_registers_its_measures(providers):
    catalog = ports.measure_catalog()
    for key in (
        "appeals.on_time_rate",
        "appeals.satisfaction",
        "services.online_rate",
        "services.on_the_spot_rate",
        "exchange.approval_hours",
        "exchange.gateway_calls",
        "citymap.closure_rate",
        "citymap.on_time_closure",
    ):
        assert key in catalog, key
    assert catalog["exchange.approval_hours"].better == "lower"
    assert catalog["services.online_rate"].title_zh == "网上可办率"


def test_a_provider_with_a_wrong_direction_is_refused():
    with pytest.raises(ValueError, match="higher or lower"):
        ports.register_measures(
            ports.MeasureProvider(
                "x", (ports.Measure("x.y", "甲", "x", "ratio", "sideways"),), lambda *a, **k: {}
            )
        )


def test_appeals_on_time_rate_counts_late_and_overdue_open_tickets(db: Session, providers):
    day = timedelta(days=1)
    # a county of 安阳 without demo tickets: 滑县 410526
    ticket(
        db, "410526", created=NOW - 10 * day, due=NOW - 5 * day, answered=NOW - 6 * day, rating="satisfied"
    )
    ticket(
        db, "410526", created=NOW - 10 * day, due=NOW - 5 * day, answered=NOW - 4 * day, rating="unsatisfied"
    )
    ticket(db, "410526", created=NOW - 10 * day, due=NOW - 5 * day, answered=None, state="signed")
    ticket(db, "410526", created=NOW - 10 * day, due=NOW + 5 * day, answered=None, state="signed")  # not due
    ticket(db, "410526", created=NOW - 90 * day, due=NOW - 80 * day, answered=None, state="signed")  # before
    values = ports.measures(db, "410526", START, NOW)
    assert values["appeals.on_time_rate"] == pytest.approx(1 / 3)
    assert values["appeals.satisfaction"] == pytest.approx(1 / 2)
    # the city sees the county's tickets in its subtree; a sibling county none of them
    assert ports.measures(db, "410500", START, NOW)["appeals.on_time_rate"] is not None
    assert ports.measures(db, "410522", START, NOW)["appeals.on_time_rate"] is None


def test_every_provider_answers_for_an_empty_division(db: Session, providers):
    values = ports.measures(db, "640522", START, NOW)  # 海原县: nothing recorded
    assert set(ports.measure_catalog()) <= set(values)
    assert values["exchange.gateway_calls"] == 0
    assert values["services.online_rate"] is None and values["citymap.closure_rate"] is None
