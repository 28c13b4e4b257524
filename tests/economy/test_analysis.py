"""Growth rates, the vectorised anomaly scan, cross-checks, STL seasonal adjustment and the nowcast."""

from __future__ import annotations

import numpy as np
import pytest

from govgrid.economy import analysis as a


def seasonal_series(n: int, months: int = 72, noise: float = 0.02, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(months)
    season = 1 + 0.2 * np.sin(2 * np.pi * t / 12)
    return (100 * 1.06 ** (t / 12) * season)[None, :] * (1 + noise * rng.standard_normal((n, months)))


def test_yoy_and_cumulative_growth():
    periods = a.month_range("2024-01", "2025-03")
    values = np.array([10.0] * 12 + [11.0, 12.0, 13.0])
    yoy = a.yoy(values)
    assert np.isnan(yoy[:12]).all()
    assert yoy[12:] == pytest.approx([10.0, 20.0, 30.0])
    ytd = a.ytd_growth(periods, values)
    assert ytd[12] == pytest.approx(10.0) and ytd[14] == pytest.approx(20.0)  # (11+12+13)/30 - 1
    assert np.isnan(ytd[:12]).all()


def test_scan_finds_a_planted_spike_and_not_its_echo_a_year_later():
    x = seasonal_series(3)
    x[1, 50] *= 1.4
    res = a.scan(x)
    assert res.flagged[1, 50]
    assert res.score[1, 50] > a.Z_THRESHOLD
    assert res.low[1, 50] < res.expected[1, 50] < res.high[1, 50] < x[1, 50]
    assert not res.flagged[1, 62], "one past outlier must not make the same month next year look wrong"
    assert not res.flagged[:, : a.first_scannable()].any()


def test_scan_rarely_flags_clean_series():
    res = a.scan(seasonal_series(2000, 120, seed=3))
    rate = res.flagged[:, a.first_scannable() :].mean()
    assert rate < 0.004, rate


def test_scan_handles_negative_values_and_gaps():
    x = seasonal_series(1, 72)[0] - 150  # crosses zero: scanned in levels, not logs
    x[40] = np.nan
    x[60] += 200
    res = a.scan(x)
    assert res.flagged[0, 60]
    assert not res.flagged[0, 40]


def test_crosscheck_flags_a_divergence():
    base = seasonal_series(2, 72, seed=5)
    values, partner = base[0].copy(), base[1] * 0.5
    values[66] *= 0.65
    res = a.crosscheck(values, partner, min_gap_pp=10)
    assert res.flagged[66] and not res.flagged[60]
    assert res.growth[66] < res.low[66]


def test_seasonal_adjustment_removes_the_season():
    x = seasonal_series(1, 72, noise=0.005)[0]
    adj = a.seasonal_adjust(x)
    assert adj is not None
    raw_swing = np.std(np.diff(x))
    assert np.std(np.diff(adj.adjusted)) < raw_swing / 3
    assert a.seasonal_adjust(x[:20]) is None


def test_nowcast_has_an_interval():
    x = seasonal_series(1, 60, noise=0.01)[0]
    nc = a.nowcast(x, horizon=3)
    assert nc is not None and len(nc.mean) == 3
    assert (nc.low < nc.mean).all() and (nc.mean < nc.high).all()
    # next January follows the seasonal pattern of past Januaries (within 10%)
    assert nc.mean[0] == pytest.approx(x[-12] * 1.06, rel=0.1)


def test_month_helpers():
    assert a.month_range("2024-11", "2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert a.next_months("2025-11", 3) == ["2025-12", "2026-01", "2026-02"]
