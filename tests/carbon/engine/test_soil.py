"""Soil stock by hand, units, kriging with variance and leave-one-out cross-validation."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from govgrid.carbon.engine.soil import SoilCarbonModel, soc_stock


def test_stock_formula_and_fraction_units():
    # 2% x 1.2 g/cm3 x 30 cm x (1 - 0.1) = 64.8 t C/ha
    assert soc_stock(np.array([2.0]), np.array([1.2]), np.array([30.0]), np.array([0.1]), "percent")[
        0
    ] == pytest.approx(64.8)
    assert soc_stock(np.array([0.02]), np.array([1.2]), np.array([30.0]), np.array([0.1]), "fraction")[
        0
    ] == pytest.approx(64.8)


def _samples(tmp_path, n=30, seed=0, soc_scale=1.0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(500000, 501000, n)
    y = rng.uniform(3259000, 3260000, n)
    soc = (1.5 + (x - 500000) / 1000) * soc_scale  # a west-east trend
    lines = ["x,y,soc,bulk_density_g_cm3,depth_cm,coarse_fraction"]
    lines += [f"{a},{b},{s},1.2,30,0.0" for a, b, s in zip(x, y, soc, strict=True)]
    p = tmp_path / "soil.csv"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_kriging_raster_variance_and_loo(tmp_path):
    res = SoilCarbonModel().execute(
        {"samples_path": _samples(tmp_path), "out_dir": tmp_path / "o", "resolution_m": 100, "block_rows": 3}
    )
    assert len(res.stocks_t_ha) == 30
    assert res.loo_rmse_t_ha < 0.2 * res.mean_stock_t_ha
    with rasterio.open(res.stock_path) as s, rasterio.open(res.variance_path) as v:
        stock, var = s.read(1), v.read(1)
    assert stock.shape == var.shape and (var >= 0).all()
    # kriged values stay within the trend's range: 1.5..2.5 % x 36
    assert 45 < stock.mean() < 100
    assert stock[:, -1].mean() > stock[:, 0].mean()


def test_soil_problems_all_at_once(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text(
        "x,y,soc,bulk_density_g_cm3,depth_cm,coarse_fraction\n"
        "0,0,2,3.5,30,0\n1,1,2,1.2,-5,0\n2,2,,1.2,30,0\n3,3,2,1.2,30,1.5\n"
    )
    problems = SoilCarbonModel().validate({"samples_path": p, "soc_units": "fraction"})
    text = " | ".join(map(str, problems))
    assert "bulk_density_g_cm3 must be in" in text
    assert "depth_cm must be in" in text
    assert "coarse_fraction must be in" in text
    assert "line 4: a value is empty" in text
    assert "look like percent" in text
    assert "kriging needs at least 6" in text
    assert {pr.key for pr in problems} == {"samples_path", "soc_units"}
