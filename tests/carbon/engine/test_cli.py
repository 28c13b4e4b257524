"""CLI: stock writes outputs and exits 0; invalid inputs print problems (no traceback), exit 2; demo + run."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from govgrid.carbon.cli import app

runner = CliRunner()


def test_stock_command(tmp_path, make_raster):
    pools = tmp_path / "pools.csv"
    pools.write_text("lucode,c_above,c_below,c_soil,c_dead\n1,10,5,20,1\n2,2,1,30,0.5\n")
    bas = make_raster("bas.tif", np.array([[1, 2], [2, 2]], np.int16), res=100.0)
    alt = make_raster("alt.tif", np.array([[2, 2], [1, 1]], np.int16), res=100.0)
    out = tmp_path / "out"
    r = runner.invoke(
        app,
        [
            "stock",
            "--lulc-bas",
            str(bas),
            "--lulc-alt",
            str(alt),
            "--pools",
            str(pools),
            "--out",
            str(out),
            "--bas-year",
            "2010",
            "--alt-year",
            "2012",
            "--price",
            "50",
            "--discount-rate",
            "5",
            "--rate-change",
            "50",
        ],
    )
    assert r.exit_code == 0, r.output
    for name in ("c_storage_bas.tif", "c_storage_alt.tif", "c_change_bas_alt.tif", "npv_alt.tif"):
        assert (out / name).exists()
    summary = json.loads((out / "summary.json").read_text())
    # pools 36 and 33.5 Mg C/ha on 1-ha pixels: 1->2 loses 2.5, 2->2 keeps, two 2->1 gain 2.5 each
    assert summary["change"] == 2.5
    assert abs(summary["npv"] - 2.5 * 40.87302) < 1e-3


def test_stock_command_invalid_inputs_exit_2_without_traceback(tmp_path, make_raster):
    pools = tmp_path / "pools.csv"
    pools.write_text("lucode,c_above,c_below,c_soil,c_dead\n1,10,5,20,1\n")
    bas = make_raster("bas.tif", np.array([[1, 2], [2, 2]], np.int16), res=100.0)
    alt = make_raster("alt.tif", np.array([[1, 1], [1, 1]], np.int16), res=30.0, crs="EPSG:32650")
    r = runner.invoke(
        app,
        [
            "stock",
            "--lulc-bas",
            str(bas),
            "--lulc-alt",
            str(alt),
            "--pools",
            str(pools),
            "--out",
            str(tmp_path / "o"),
            "--discount-rate",
            "-200",
        ],
    )
    assert r.exit_code == 2
    assert "Traceback" not in r.output
    assert "lulc_alt_path: CRS mismatch" in r.output
    assert "lulc_bas_path: classes missing from the carbon pool table: 2" in r.output
    assert "discount_rate: out of range" in r.output
    assert not (tmp_path / "o").exists()


def test_demo_data_then_run_writes_html_and_pdf(tmp_path):
    r = runner.invoke(app, ["demo-data", str(tmp_path / "demo")])
    assert r.exit_code == 0, r.output
    assert "DEMO DATA" in (tmp_path / "demo" / "README.txt").read_text()
    r = runner.invoke(app, ["run", str(tmp_path / "demo" / "junshan.toml")])
    assert r.exit_code == 0, r.output
    out = tmp_path / "demo" / "output"
    html = (out / "report.html").read_text()
    assert "SHA-256" in html and "ipcc_inland_wetland" in html
    assert (out / "report.pdf").read_bytes()[:4] == b"%PDF"
    result = json.loads((out / "result.json").read_text())
    assert result["vintage_start"] == 2018 and result["vintage_end"] == 2023
    assert result["net_creditable_tco2e"] > 0
    lo, hi = result["interval_90_tco2e"]
    assert lo <= result["monte_carlo"]["deterministic"] <= hi
    assert set(result["input_hashes"]) >= {"config", "image_bas", "image_alt", "lidar", "soil_samples"}


def test_run_refuses_vm0033_on_junshan_and_bad_config(tmp_path):
    runner.invoke(app, ["demo-data", str(tmp_path / "demo")])
    cfg = tmp_path / "demo" / "junshan.toml"
    cfg.write_text(
        cfg.read_text()
        .replace('methodology = "ipcc_inland_wetland"', 'methodology = "vm0033"')
        .replace('soil_samples = "soil_samples.csv"', 'soil_samples = "missing.csv"')
    )
    r = runner.invoke(app, ["run", str(cfg)])
    assert r.exit_code == 2
    assert "Traceback" not in r.output
    assert (
        "project: vm0033 does not apply: "
        "project 'Junshan wetland restoration (DEMO)' is not tidally influenced" in r.output
    )
    assert "inputs.soil_samples: file not found" in r.output
