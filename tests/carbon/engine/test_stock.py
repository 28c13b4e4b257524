"""Stock model: hand-computed 3x3 numbers, InVEST's valuation constant, validation of broken inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio

from govgrid.carbon.engine.spec import ValidationError
from govgrid.carbon.engine.stock import NPV_NODATA, CarbonStockModel, crosstab, valuation_constant

BAS = np.array([[1, 1, 2], [2, 3, 3], [255, 1, 2]], dtype=np.uint8)
ALT = np.array([[1, 2, 2], [3, 3, 1], [1, 255, 3]], dtype=np.uint8)
POOLS = "lucode,c_above,c_below,c_soil,c_dead\n1,10,5,20,1\n2,2,1,30,0.5\n3,0,0,5,0\n"
K = 40.87302


@pytest.fixture
def inputs(tmp_path, make_raster):
    pools = tmp_path / "pools.csv"
    pools.write_text(POOLS)
    # 100 m pixels: one hectare each, so per-hectare values equal per-pixel Mg C
    bas = make_raster("bas.tif", BAS, res=100.0, nodata=255)
    alt = make_raster("alt.tif", ALT, res=100.0, nodata=255)
    return {"lulc_bas_path": bas, "lulc_alt_path": alt, "carbon_pools_path": pools}


def test_valuation_constant_matches_invest():
    assert valuation_constant(2010, 2012, 5.0, 50.0, 50.0) == pytest.approx(K, abs=1e-5)
    # ratio == 1 takes the limit: the plain price
    assert valuation_constant(2000, 2010, 0.0, 0.0, 7.0) == pytest.approx(7.0)


def test_crosstab_counts_pairs(inputs):
    table = crosstab(inputs["lulc_bas_path"], inputs["lulc_alt_path"], block_rows=1)
    assert table[(2, 3)] == 2
    assert table[(255, 1)] == 1
    assert sum(table.values()) == 9


def test_stock_rasters_and_totals_by_hand(inputs, tmp_path):
    out = tmp_path / "out"
    args = dict(
        inputs,
        out_dir=out,
        bas_year=2010,
        alt_year=2012,
        price_per_metric_ton_of_c=50,
        discount_rate=5,
        rate_change=50,
    )
    res = CarbonStockModel().execute(args)
    # baseline: 3 x 36 + 3 x 33.5 + 2 x 5 ; alternate: 3 x 36 + 2 x 33.5 + 3 x 5
    assert res.storage_bas == pytest.approx(218.5)
    assert res.storage_alt == pytest.approx(190.0)
    # changes where both valid: 0, -2.5, 0, -28.5, 0, +31, -28.5
    assert res.change == pytest.approx(-28.5)
    assert res.npv == pytest.approx(-28.5 * K, rel=1e-6)
    with rasterio.open(out / "c_storage_bas.tif") as src:
        assert src.nodata == -1 and src.dtypes[0] == "float32"
        np.testing.assert_array_equal(src.read(1), [[36, 36, 33.5], [33.5, 5, 5], [-1, 36, 33.5]])
    with rasterio.open(out / "c_change_bas_alt.tif") as src:
        np.testing.assert_array_equal(src.read(1), [[0, -2.5, 0], [-28.5, 0, 31], [-1, -1, -28.5]])
    with rasterio.open(out / "npv_alt.tif") as src:
        assert src.nodata == pytest.approx(3.4028235e38, rel=1e-6)
        npv = src.read(1)
        assert npv[2, 0] == np.float32(NPV_NODATA)
        assert npv[1, 2] == pytest.approx(31 * K, rel=1e-6)
    summary = json.loads((out / "summary.json").read_text())
    for key in ("storage_bas", "storage_alt", "change", "npv"):
        assert summary[key] == pytest.approx(getattr(res, key))


def test_totals_only_writes_no_rasters_and_agrees(inputs, tmp_path):
    full = CarbonStockModel().execute(dict(inputs, out_dir=tmp_path / "a"))
    fast = CarbonStockModel().execute(dict(inputs, out_dir=tmp_path / "b", totals_only=True))
    assert not (tmp_path / "b" / "c_storage_bas.tif").exists()
    assert (fast.storage_bas, fast.storage_alt, fast.change) == (
        full.storage_bas,
        full.storage_alt,
        full.change,
    )


def test_pixel_area_scales_totals(tmp_path, make_raster):
    pools = tmp_path / "p.csv"
    pools.write_text("lucode,c_above,c_below,c_soil,c_dead\n1,1,1,1,1\n")
    bas = make_raster("b.tif", np.ones((4, 4), np.int16), res=10.0)  # 16 px x 0.01 ha x 4 Mg C/ha
    assert CarbonStockModel().execute(
        {"lulc_bas_path": bas, "carbon_pools_path": pools, "totals_only": True}
    ).storage_bas == pytest.approx(0.64)


def test_runs_on_a_dask_cluster(inputs, tmp_path):
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        res = CarbonStockModel().execute(
            dict(inputs, out_dir=tmp_path / "d", scheduler=cluster.scheduler_address)
        )
    assert res.change == pytest.approx(-28.5)
    with rasterio.open(tmp_path / "d" / "c_storage_alt.tif") as src:
        assert src.read(1)[2, 2] == 5


def test_validate_lists_every_problem_with_its_key(tmp_path, make_raster):
    pools = tmp_path / "pools.csv"
    pools.write_text("lucode,c_above,c_below,c_soil,c_dead\n1,10,5,-20,1\n2,2,1,,0.5\n")
    bas = make_raster("bas.tif", BAS, res=100.0, nodata=255)
    alt = make_raster("alt.tif", ALT, res=50.0, nodata=255)  # resolution mismatch
    model = CarbonStockModel()
    problems = model.validate(
        {
            "lulc_bas_path": bas,
            "lulc_alt_path": alt,
            "carbon_pools_path": pools,
            "out_dir": tmp_path / "o",
            "price_per_metric_ton_of_c": -5,
            "discount_rate": -150,
            "bas_year": 2020,
            "alt_year": 2010,
            "rate_change": 0,
        }
    )
    text = [str(p) for p in problems]
    keys = {p.key for p in problems}
    assert {
        "lulc_alt_path",
        "carbon_pools_path",
        "price_per_metric_ton_of_c",
        "discount_rate",
        "alt_year",
    } <= keys
    assert any("resolution mismatch" in t for t in text)
    assert any("c_soil = -20.0 is out of range" in t for t in text)
    assert any("c_soil is empty" in t for t in text)


def test_validate_crs_mismatch_missing_classes_nodata_and_overlap(tmp_path, make_raster):
    pools = tmp_path / "pools.csv"
    pools.write_text("lucode,c_above,c_below,c_soil,c_dead\n1,10,5,20,1\n")
    bas = make_raster("bas.tif", BAS, res=100.0, nodata=255)
    alt_crs = make_raster("alt_crs.tif", ALT, res=100.0, nodata=255, crs="EPSG:32650")
    all_nodata = make_raster("nod.tif", np.full((3, 3), 255, np.uint8), res=100.0, nodata=255)
    far = make_raster("far.tif", ALT, res=100.0, nodata=255, origin=(900000.0, 3260000.0))
    flt = make_raster("flt.tif", BAS.astype(np.float32), res=100.0)
    geo = make_raster("geo.tif", BAS, res=0.001, crs="EPSG:4326", origin=(112.7, 29.5))
    m = CarbonStockModel()
    p1 = m.validate(
        {"lulc_bas_path": bas, "lulc_alt_path": alt_crs, "carbon_pools_path": pools, "totals_only": True}
    )
    assert any(p.key == "lulc_alt_path" and "CRS mismatch" in p.message for p in p1)
    assert any(
        p.key == "lulc_bas_path" and "classes missing from the carbon pool table: 2, 3" in p.message
        for p in p1
    )
    p2 = m.validate(
        {"lulc_bas_path": all_nodata, "lulc_alt_path": far, "carbon_pools_path": pools, "totals_only": True}
    )
    assert any(p.key == "lulc_bas_path" and "only nodata" in p.message for p in p2)
    assert any(p.key == "lulc_alt_path" and "empty overlap" in p.message for p in p2)
    p3 = m.validate(
        {
            "lulc_bas_path": flt,
            "lulc_alt_path": geo,
            "carbon_pools_path": tmp_path / "none.csv",
            "totals_only": True,
        }
    )
    assert any(p.key == "lulc_bas_path" and "integer codes" in p.message for p in p3)
    assert any(p.key == "lulc_alt_path" and "not projected" in p.message for p in p3)
    assert any(p.key == "carbon_pools_path" and "not found" in p.message for p in p3)


def test_execute_refuses_invalid_args_before_running(tmp_path, make_raster, monkeypatch):
    pools = tmp_path / "pools.csv"
    pools.write_text("lucode,c_above,c_below,c_soil,c_dead\n1,10,5,20,1\n")
    bas = make_raster("bas.tif", BAS, res=100.0, nodata=255)
    model = CarbonStockModel()
    monkeypatch.setattr(model, "run", lambda args: pytest.fail("run reached with invalid args"))
    with pytest.raises(ValidationError) as exc:
        model.execute(
            {"lulc_bas_path": bas, "carbon_pools_path": pools, "out_dir": tmp_path / "o", "unknown_key": 1}
        )
    keys = {p.key for p in exc.value.problems}
    assert keys == {"unknown_key"}
    with pytest.raises(ValidationError) as exc:
        model.execute({"lulc_bas_path": bas, "carbon_pools_path": pools, "out_dir": tmp_path / "o"})
    assert [p.key for p in exc.value.problems] == ["lulc_bas_path"]
