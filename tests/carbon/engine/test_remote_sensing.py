"""Spectral indices, masking, classification and biomass regression: by hand and on a Landsat-like scene."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from govgrid.carbon.engine.remote_sensing import (
    INDEX_NODATA,
    BandMap,
    BiomassRegressionModel,
    ClassificationModel,
    SpectralIndicesModel,
    indices,
)


def test_indices_by_hand():
    out = indices(blue=np.array([0.05]), green=np.array([0.1]), red=np.array([0.1]), nir=np.array([0.3]))
    assert out["ndvi"][0] == pytest.approx(0.5)  # (0.3-0.1)/(0.4)
    assert out["evi"][0] == pytest.approx(2.5 * 0.2 / (0.3 + 0.6 - 0.375 + 1))
    assert out["ndwi"][0] == pytest.approx(-0.5)  # (0.1-0.3)/0.4
    assert np.isnan(indices(np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1))["ndvi"][0])


def test_index_rasters_mask_nodata_and_cloud(tmp_path, make_raster):
    img = np.zeros((4, 2, 2), np.uint16)
    img[:, :, :] = np.array([500, 1000, 1000, 3000])[:, None, None]  # blue, green, red, nir x 1e4
    img[0, 0, 1] = 4000  # bright blue: cloud
    img[:, 1, 1] = 0  # nodata
    path = make_raster("img.tif", img, nodata=0)
    paths = SpectralIndicesModel().execute({"image_path": path, "out_dir": tmp_path / "idx"})
    with rasterio.open(paths["ndvi"]) as src:
        ndvi = src.read(1)
    assert ndvi[0, 0] == pytest.approx(0.5)
    assert ndvi[0, 1] == INDEX_NODATA and ndvi[1, 1] == INDEX_NODATA


def test_band_out_of_range_is_a_problem(make_raster, tmp_path):
    path = make_raster("img.tif", np.ones((3, 2, 2), np.uint16))
    problems = SpectralIndicesModel().validate({"image_path": path, "out_dir": tmp_path})
    assert [p.key for p in problems] == ["bands.nir"]


LANDSAT = BandMap(blue=1, green=2, red=3, nir=4, scale=1 / 255, cloud_blue_threshold=None)


def test_landsat_like_ndvi(landsat_like_stack, tmp_path):
    paths = SpectralIndicesModel().execute(
        {"image_path": landsat_like_stack, "out_dir": tmp_path, "bands": LANDSAT, "block_rows": 40}
    )
    with rasterio.open(paths["ndvi"]) as src:
        ndvi = src.read(1)
        assert src.shape == (150, 170)
    with rasterio.open(landsat_like_stack) as src:
        collar = src.read(1) == src.nodata
        red, nir = src.read(3).astype(float), src.read(4).astype(float)
    assert 0.05 < collar.mean() < 0.2  # the scene has a nodata collar ...
    assert (ndvi[collar] == INDEX_NODATA).all()  # ... masked in the output
    valid = ndvi[ndvi != INDEX_NODATA]
    assert valid.size == (~collar).sum()
    assert -1 <= valid.min() < 0 < valid.max() <= 1  # water is negative, dense vegetation near 0.8
    for r, c in ((75, 85), (40, 60), (110, 120)):
        assert ndvi[r, c] == pytest.approx((nir[r, c] - red[r, c]) / (nir[r, c] + red[r, c]), abs=1e-5)


def test_landsat_like_classification_accuracy(landsat_like_stack, tmp_path):
    # labels from a transparent NDVI/NDWI rule on the pixels: water, bare, sparse, dense vegetation
    with rasterio.open(landsat_like_stack) as src:
        b = src.read().astype(float) / 255
        transform = src.transform
    ix = indices(*b)
    label = np.select([ix["ndwi"] > 0.05, ix["ndvi"] < 0.1, ix["ndvi"] < 0.35], [1, 2, 4], default=5)
    rng = np.random.default_rng(0)
    rows = ["x,y,class"]
    for cls in (1, 2, 4, 5):
        rr, cc = np.nonzero(label == cls)
        pick = rng.choice(len(rr), size=min(60, len(rr)), replace=False)
        for i in pick:
            x, y = rasterio.transform.xy(transform, rr[i], cc[i])
            rows.append(f"{x},{y},{cls}")
    pts = tmp_path / "train.csv"
    pts.write_text("\n".join(rows) + "\n")
    res = ClassificationModel().execute(
        {
            "image_path": landsat_like_stack,
            "training_points_path": pts,
            "out_path": tmp_path / "lc.tif",
            "bands": LANDSAT,
            "n_estimators": 50,
        }
    )
    acc = res.accuracy
    assert acc.n_test == sum(map(sum, acc.confusion))
    assert acc.overall_accuracy > 0.8 and acc.kappa > 0.7
    with rasterio.open(tmp_path / "lc.tif") as src:
        assert set(np.unique(src.read(1))) <= {0, 1, 2, 4, 5}


def test_biomass_regression_recovers_a_linear_law(tmp_path, make_raster):
    rng = np.random.default_rng(1)
    red = rng.uniform(300, 1200, (20, 20))
    nir = rng.uniform(1500, 4500, (20, 20))
    img = np.stack([np.full_like(red, 400), np.full_like(red, 800), red, nir]).astype(np.uint16)
    path = make_raster("img.tif", img)
    red, nir = img[2].astype(float), img[3].astype(float)  # the stored (rounded) values
    ndvi = (nir - red) / (nir + red)
    rows = ["x,y,agb_t_ha"]
    for r in range(0, 20, 2):
        for c in range(0, 20, 3):
            x, y = 500000 + c * 10 + 5, 3260000 - r * 10 - 5
            rows.append(f"{x},{y},{2 + 30 * ndvi[r, c] + rng.normal(0, 0.5)}")
    plots = tmp_path / "plots.csv"
    plots.write_text("\n".join(rows) + "\n")
    model, out = BiomassRegressionModel().execute(
        {"image_path": path, "plots_path": plots, "predictors": ("ndvi",), "out_path": tmp_path / "agb.tif"}
    )
    assert model.coef[0] == pytest.approx(30, rel=0.1)
    assert model.residual_std == pytest.approx(0.5, rel=0.4)
    assert model.rmse <= model.residual_std
    with rasterio.open(out) as src:
        assert src.read(1)[0, 0] == pytest.approx(model.intercept + model.coef[0] * ndvi[0, 0], abs=1e-3)


def test_points_outside_and_unknown_classes_are_problems(tmp_path, make_raster):
    path = make_raster("img.tif", np.ones((4, 3, 3), np.uint16))
    pts = tmp_path / "p.csv"
    pts.write_text("x,y,class\n0,0,1\n1,1,9\n")
    keys = [str(p) for p in ClassificationModel().validate({"image_path": path, "training_points_path": pts})]
    assert any("classes not in class_names: [9]" in k for k in keys)
    assert any("fewer than 4 points" in k for k in keys)
    assert any("empty overlap" in k for k in keys)
