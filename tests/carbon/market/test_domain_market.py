"""Market rules without the web: transition tables, the cent-exact revenue split, price parsing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govgrid.carbon.enums import CreditStatus, ListingStatus, TradeStatus, can_move
from govgrid.carbon.services import benefits, market
from govgrid.core.errors import ValidationFailedError


def test_transition_tables():
    assert can_move(CreditStatus.active, CreditStatus.reserved)
    assert can_move(CreditStatus.reserved, CreditStatus.active)
    assert not can_move(CreditStatus.reserved, CreditStatus.retired)  # reserved credits cannot be retired
    assert not can_move(CreditStatus.retired, CreditStatus.reserved)
    assert can_move(TradeStatus.awaiting_payment, TradeStatus.paid)
    assert not can_move(TradeStatus.awaiting_payment, TradeStatus.settled)  # no delivery without payment
    assert not can_move(TradeStatus.settled, TradeStatus.failed)
    assert not can_move(ListingStatus.closed, ListingStatus.open)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cents=st.integers(min_value=0, max_value=10**12),
    bps=st.lists(st.integers(min_value=1, max_value=3000), min_size=1, max_size=3),
)
def test_split_is_cent_exact(cents, bps):
    shares = [benefits.Share("other", f"b{i}", bp) for i, bp in enumerate(bps)]
    shares.append(benefits.Share("developer", "rest", benefits.FULL - sum(bps)))
    net = Decimal(cents) / 100
    parts = benefits.split_amount(net, shares)
    assert sum(parts) == net
    assert all(p >= 0 for p in parts)


@pytest.mark.parametrize("bad", ["0", "-1", "1.234", "abc", "NaN", "Infinity", "100000.01"])
def test_bad_prices(bad):
    with pytest.raises(ValidationFailedError):
        market.parse_price(bad)


def test_good_price():
    assert market.parse_price("60.5") == Decimal("60.50")
