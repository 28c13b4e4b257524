"""Methodologies: arithmetic by hand, the VM0033 uncertainty rule, applicability refusal; Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest

from govgrid.carbon.engine.methodology import REGISTRY, AccountingInputs, ProjectInfo, get_methodology
from govgrid.carbon.engine.spec import ApplicabilityError
from govgrid.carbon.engine.uncertainty import Normal, monte_carlo

JUNSHAN = ProjectInfo(name="Junshan", wetland_type="lake", tidal=False, soil="mineral")
TIDAL = ProjectInfo(name="marsh", wetland_type="tidal_marsh", tidal=True)


def test_registry_has_both():
    assert {"ipcc_inland_wetland", "vm0033"} <= set(REGISTRY)
    with pytest.raises(KeyError, match="known"):
        get_methodology("nope")


def test_ipcc_by_hand():
    x = AccountingInputs(
        bas_year=2018,
        alt_year=2023,
        project_stock_t1_tc=1000,
        project_stock_t2_tc=1120,
        baseline_change_tc=20,
        uncertainty_rel=0.15,
        leakage_fraction=0.1,
        buffer_fraction=0.2,
    )
    r = get_methodology("ipcc_inland_wetland").account(JUNSHAN, x)
    diff = (120 - 20) * 44 / 12
    ner = diff * 0.9
    adj = ner * (1 - 0.05)
    assert r.annual_sink_tc == pytest.approx(24.0)
    assert r.annual_sink_tco2e == pytest.approx(24.0 * 44 / 12)
    assert r.gross_net_removals_tco2e == pytest.approx(ner)
    assert r.net_creditable_tco2e == pytest.approx(adj * 0.8)


def test_vm0033_uncertainty_only_beyond_twenty_percent():
    m = get_methodology("vm0033")
    base = {
        "bas_year": 2020,
        "alt_year": 2025,
        "project_stock_t1_tc": 0,
        "project_stock_t2_tc": 300,
        "buffer_fraction": 0.1,
        "fire_reduction_premium_tco2e": 10,
    }
    ner = 300 * 44 / 12 + 10
    within = m.account(TIDAL, AccountingInputs(**base, uncertainty_rel=0.18))
    assert within.uncertainty_deduction_tco2e == 0
    assert within.net_creditable_tco2e == pytest.approx(ner * 0.9)
    beyond = m.account(TIDAL, AccountingInputs(**base, uncertainty_rel=0.30))
    assert beyond.net_creditable_tco2e == pytest.approx(ner * (1 - 0.10) * 0.9)


def test_vm0033_refuses_a_non_tidal_wetland_with_reasons():
    x = AccountingInputs(bas_year=2018, alt_year=2023, project_stock_t1_tc=0, project_stock_t2_tc=1)
    with pytest.raises(ApplicabilityError) as exc:
        get_methodology("vm0033").account(JUNSHAN, x)
    assert len(exc.value.reasons) == 2
    assert "not tidally influenced" in str(exc.value) and "'lake' is not a tidal wetland" in str(exc.value)
    with pytest.raises(ApplicabilityError, match="coastal"):
        get_methodology("ipcc_inland_wetland").check_applicable(TIDAL)


def test_monte_carlo_reproducible_and_contains_deterministic():
    params = {"cf": Normal(mean=0.47, sd=0.02), "agb": Normal(mean=100.0, sd=15.0, lower=0)}

    def fn(cf, agb):
        return cf * agb * 1.2

    a = monte_carlo(fn, params, n=4000, seed=7)
    b = monte_carlo(fn, params, n=4000, seed=7)
    c = monte_carlo(fn, params, n=4000, seed=8)
    assert (a.p05, a.p95, a.mean) == (b.p05, b.p95, b.mean)
    assert a.p05 != c.p05
    assert a.deterministic == pytest.approx(0.47 * 100 * 1.2)
    assert a.p05 < a.deterministic < a.p95
    # the relative sd of the product is about sqrt(0.0426^2 + 0.15^2) = 0.156, so the half-width is ~1.645 x
    # that
    assert a.half_width_rel == pytest.approx(1.645 * np.hypot(0.02 / 0.47, 0.15), rel=0.1)
