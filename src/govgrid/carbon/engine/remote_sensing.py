"""Remote sensing (遥感): spectral indices, cloud/nodata masking, wetland classification, biomass regression.

Indices (reflectance in 0..1 after ``scale``):

* NDVI = (NIR - Red) / (NIR + Red)  (Rouse et al. 1974)
* EVI = 2.5 (NIR - Red) / (NIR + 6 Red - 7.5 Blue + 1)  (Huete et al. 2002)
* NDWI = (Green - NIR) / (Green + NIR)  (McFeeters 1996, open-water index)

Wetland classes (湿地地类) follow the Junshan scheme in ``WETLAND_CLASSES``. Classification is a
scikit-learn random forest trained on labelled points; accuracy (overall, Cohen's kappa, confusion
matrix) is measured on held-out points only. Above-ground biomass (地上生物量) is a linear regression
on the indices calibrated against field plots, reported with its RMSE and residual standard deviation
so the Monte Carlo can propagate it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from pydantic import Field
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression
from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix
from sklearn.model_selection import train_test_split

from .rasters import map_blocks, progress_bar, raster_info, row_windows
from .spec import ArgsModel, InputSpec, Model, OutputSpec, Problem

INDEX_NODATA = -9999.0
CLASS_NODATA = 0
WETLAND_CLASSES: dict[int, str] = {
    1: "open water 开阔水面",
    2: "mudflat 泥滩",
    3: "reed marsh 芦苇沼泽",
    4: "sedge meadow 苔草草甸",
    5: "forest/plantation 林地/人工林",
    6: "cropland 耕地",
    7: "built-up 建设用地",
}
FEATURES = ("blue", "green", "red", "nir", "ndvi", "evi", "ndwi")


class BandMap(ArgsModel):
    """Which 1-based band holds which colour, and the factor turning stored values into reflectance."""

    blue: int = Field(default=1, ge=1)
    green: int = Field(default=2, ge=1)
    red: int = Field(default=3, ge=1)
    nir: int = Field(default=4, ge=1)
    scale: float = Field(default=1e-4, gt=0)
    cloud_blue_threshold: float | None = Field(
        default=0.25, description="blue reflectance above this is masked as cloud"
    )


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    return np.where(np.isfinite(out), out, np.nan).astype(np.float32)


def indices(blue: np.ndarray, green: np.ndarray, red: np.ndarray, nir: np.ndarray) -> dict[str, np.ndarray]:
    """NDVI, EVI and NDWI (McFeeters) from reflectance arrays; NaN where undefined."""
    b, g, r, n = (np.asarray(x, dtype=np.float32) for x in (blue, green, red, nir))
    return {
        "ndvi": _div(n - r, n + r),
        "evi": _div(2.5 * (n - r), n + 6.0 * r - 7.5 * b + 1.0),
        "ndwi": _div(g - n, g + n),
    }


def read_features(
    src: rasterio.io.DatasetReader, bands: BandMap, window: Any = None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Reflectance and indices for a window, with a mask of valid (not nodata, not cloud) pixels."""
    idx = [bands.blue, bands.green, bands.red, bands.nir]
    raw = src.read(idx, window=window, masked=True)
    valid: np.ndarray = np.asarray(~np.ma.getmaskarray(raw).any(axis=0))
    refl = raw.filled(0).astype(np.float32) * np.float32(bands.scale)
    blue, green, red, nir = refl
    if bands.cloud_blue_threshold is not None:
        # bright blue marks cloud and haze over this landscape; water and vegetation stay darker
        valid &= blue <= bands.cloud_blue_threshold
    feats = {"blue": blue, "green": green, "red": red, "nir": nir, **indices(blue, green, red, nir)}
    for v in feats.values():
        valid &= np.isfinite(v)
    return feats, valid


def _indices_block(task: tuple) -> tuple[Any, dict[str, np.ndarray]]:
    path, bands, window = task
    with rasterio.open(path) as src:
        feats, valid = read_features(src, bands, window)
    return window, {
        k: np.where(valid, feats[k], np.float32(INDEX_NODATA)).astype(np.float32)
        for k in ("ndvi", "evi", "ndwi")
    }


class IndicesArgs(ArgsModel):
    """Inputs of the spectral-index model."""

    image_path: Path
    out_dir: Path
    bands: BandMap = BandMap()
    block_rows: int = Field(default=512, ge=1)
    scheduler: str | None = None
    progress: bool = False


class SpectralIndicesModel(Model[IndicesArgs]):
    """Write NDVI, EVI and NDWI rasters block by block, masking nodata and cloud."""

    name = "spectral_indices"
    args_type = IndicesArgs
    inputs = (
        InputSpec("image_path", "multi-band GeoTIFF (surface reflectance x scale)"),
        InputSpec("bands", "band numbers of blue, green, red, NIR and the reflectance scale"),
    )
    outputs = tuple(
        OutputSpec(f"{k}.tif", k.upper(), "unitless", "float32", INDEX_NODATA)
        for k in ("ndvi", "evi", "ndwi")
    )

    def check(self, args: IndicesArgs) -> list[Problem]:
        """Band numbers must exist in the image."""
        problems: list[Problem] = []
        info = raster_info("image_path", args.image_path, problems)
        if info is not None:
            problems += band_problems(info.count, args.bands)
        return problems

    def run(self, args: IndicesArgs) -> dict[str, Path]:
        """Write the three index rasters; returns their paths."""
        args.out_dir.mkdir(parents=True, exist_ok=True)
        with rasterio.open(args.image_path) as src:
            profile = {
                "driver": "GTiff",
                "width": src.width,
                "height": src.height,
                "count": 1,
                "dtype": "float32",
                "crs": src.crs,
                "transform": src.transform,
                "nodata": INDEX_NODATA,
                "compress": "deflate",
            }
            windows = row_windows(src.width, src.height, args.block_rows)
        paths = {k: args.out_dir / f"{k}.tif" for k in ("ndvi", "evi", "ndwi")}
        dsts = {k: rasterio.open(p, "w", **profile) for k, p in paths.items()}
        try:
            tasks = [(str(args.image_path), args.bands, w) for w in windows]
            with progress_bar("spectral indices", len(tasks), args.progress) as advance:
                for window, arrays in map_blocks(_indices_block, tasks, scheduler=args.scheduler):
                    for k, arr in arrays.items():
                        dsts[k].write(arr, 1, window=window)
                    advance(1)
        finally:
            for d in dsts.values():
                d.close()
        return paths


def band_problems(count: int, bands: BandMap, key: str = "bands") -> list[Problem]:
    """Band numbers beyond the image's band count."""
    return [
        Problem(f"{key}.{name}", f"out of range: band {getattr(bands, name)} but the image has {count} bands")
        for name in ("blue", "green", "red", "nir")
        if getattr(bands, name) > count
    ]


def read_points(
    path: Path, value_column: str, key: str, problems: list[Problem]
) -> list[tuple[float, float, float]]:
    """Read ``x, y, <value_column>`` rows from a CSV, reporting unreadable rows under ``key``."""
    if not path.exists():
        problems.append(Problem(key, f"file not found: {path}"))
        return []
    rows = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        cols = [c.strip() for c in reader.fieldnames or []]
        missing = [c for c in ("x", "y", value_column) if c not in cols]
        if missing:
            problems.append(Problem(key, f"missing columns: {', '.join(missing)}"))
            return []
        for i, raw in enumerate(reader, start=2):
            row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
            try:
                rows.append((float(row["x"]), float(row["y"]), float(row[value_column])))
            except ValueError:
                problems.append(Problem(key, f"line {i}: x, y or {value_column} is not a number"))
    if not rows:
        problems.append(Problem(key, "no points"))
    return rows


def sample_features(image_path: Path, xy: np.ndarray, bands: BandMap) -> tuple[np.ndarray, np.ndarray]:
    """Feature matrix (``FEATURES`` order) at map coordinates, and which points hit valid pixels."""
    with rasterio.open(image_path) as src:
        rows, cols = rasterio.transform.rowcol(src.transform, xy[:, 0], xy[:, 1])
        rows, cols = np.asarray(rows), np.asarray(cols)
        inside = (rows >= 0) & (rows < src.height) & (cols >= 0) & (cols < src.width)
        feats_x = np.full((len(xy), len(FEATURES)), np.nan, np.float32)
        ok = np.zeros(len(xy), bool)
        if inside.any():
            # read only the bounding window of the points, not the whole image
            r0, r1 = rows[inside].min(), rows[inside].max() + 1
            c0, c1 = cols[inside].min(), cols[inside].max() + 1
            win = rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0)
            feats, valid = read_features(src, bands, win)
            rr, cc = rows[inside] - r0, cols[inside] - c0
            feats_x[inside] = np.stack([feats[f][rr, cc] for f in FEATURES], axis=1)
            ok[inside] = valid[rr, cc]
    return feats_x, ok


def points_outside(image_path: Path, pts: list[tuple[float, float, float]], key: str) -> list[Problem]:
    """Points that fall outside the image (empty overlap with the labels)."""
    with rasterio.open(image_path) as src:
        left, bottom, right, top = src.bounds
    out = [i for i, (x, y, _) in enumerate(pts) if not (left <= x < right and bottom < y <= top)]
    if not out:
        return []
    if len(out) == len(pts):
        return [Problem(key, "empty overlap: no point falls inside the image")]
    return [
        Problem(
            key,
            f"{len(out)} of {len(pts)} points fall outside the image "
            f"(rows {', '.join(str(i + 2) for i in out[:10])})",
        )
    ]


@dataclass
class AccuracyReport:
    """Held-out accuracy of a classifier (精度评价)."""

    labels: list[int]
    confusion: list[list[int]]
    overall_accuracy: float
    kappa: float
    n_train: int
    n_test: int
    producer_accuracy: dict[int, float] = field(default_factory=dict)
    user_accuracy: dict[int, float] = field(default_factory=dict)


class ClassifyArgs(ArgsModel):
    """Inputs of the supervised land-cover classification."""

    image_path: Path
    training_points_path: Path
    out_path: Path | None = None
    bands: BandMap = BandMap()
    class_names: dict[int, str] = Field(default_factory=lambda: dict(WETLAND_CLASSES))
    test_fraction: float = Field(default=0.3, gt=0, lt=1)
    n_estimators: int = Field(default=200, ge=10)
    seed: int = 0
    block_rows: int = Field(default=512, ge=1)
    scheduler: str | None = None
    progress: bool = False


@dataclass
class ClassificationResult:
    """The fitted classifier, its held-out accuracy and the written map."""

    classifier: Any
    accuracy: AccuracyReport
    out_path: Path | None


def _classify_block(task: tuple) -> tuple[Any, np.ndarray]:
    path, bands, clf, window = task
    with rasterio.open(path) as src:
        feats, valid = read_features(src, bands, window)
    out = np.full(valid.shape, CLASS_NODATA, np.uint8)
    if valid.any():
        feats_x = np.stack([feats[f][valid] for f in FEATURES], axis=1)
        out[valid] = clf.predict(feats_x).astype(np.uint8)
    return window, out


class ClassificationModel(Model[ClassifyArgs]):
    """Random-forest land-cover classification from labelled points, with a held-out accuracy report."""

    name = "wetland_classification"
    args_type = ClassifyArgs
    inputs = (
        InputSpec("image_path", "multi-band GeoTIFF"),
        InputSpec("training_points_path", "CSV x, y, class in the image CRS"),
        InputSpec("test_fraction", "share of points held out for the accuracy report", "fraction"),
    )
    outputs = (
        OutputSpec(
            "landcover.tif", "land-cover classes (WETLAND_CLASSES)", "class code", "uint8", CLASS_NODATA
        ),
    )

    def check(self, args: ClassifyArgs) -> list[Problem]:
        """Bands exist, points are readable and inside the image, classes known, enough per class."""
        problems: list[Problem] = []
        info = raster_info("image_path", args.image_path, problems)
        if info is not None:
            problems += band_problems(info.count, args.bands)
        pts = read_points(args.training_points_path, "class", "training_points_path", problems)
        if pts:
            codes = [int(c) for _, _, c in pts]
            unknown = sorted(set(codes) - set(args.class_names))
            if unknown:
                problems.append(Problem("training_points_path", f"classes not in class_names: {unknown}"))
            few = sorted(c for c in set(codes) if codes.count(c) < 4)
            if few:
                problems.append(Problem("training_points_path", f"classes with fewer than 4 points: {few}"))
            if info is not None:
                problems += points_outside(args.image_path, pts, "training_points_path")
        return problems

    def run(self, args: ClassifyArgs) -> ClassificationResult:
        """Fit on the training share, score on the held-out share, then classify the image."""
        pts = np.array(read_points(args.training_points_path, "class", "training_points_path", []))
        feats_x, ok = sample_features(args.image_path, pts[:, :2], args.bands)
        feats_x, y = feats_x[ok], pts[ok, 2].astype(int)
        x_train, x_test, y_train, y_test = train_test_split(
            feats_x, y, test_size=args.test_fraction, random_state=args.seed, stratify=y
        )
        clf = RandomForestClassifier(n_estimators=args.n_estimators, random_state=args.seed, n_jobs=1)
        clf.fit(x_train, y_train)
        pred = clf.predict(x_test)
        labels = sorted({int(v) for v in y})
        cm = confusion_matrix(y_test, pred, labels=labels)
        with np.errstate(divide="ignore", invalid="ignore"):
            prod = np.diag(cm) / cm.sum(axis=1)
            user = np.diag(cm) / cm.sum(axis=0)
        report = AccuracyReport(
            labels=labels,
            confusion=cm.tolist(),
            overall_accuracy=float(accuracy_score(y_test, pred)),
            kappa=float(cohen_kappa_score(y_test, pred)),
            n_train=len(y_train),
            n_test=len(y_test),
            producer_accuracy={lab: float(v) for lab, v in zip(labels, prod, strict=True)},
            user_accuracy={lab: float(v) for lab, v in zip(labels, user, strict=True)},
        )
        if args.out_path is not None:
            classify_raster(
                clf,
                args.image_path,
                args.out_path,
                args.bands,
                args.block_rows,
                args.scheduler,
                args.progress,
            )
        return ClassificationResult(clf, report, args.out_path)


def classify_raster(
    clf: Any,
    image_path: Path,
    out_path: Path,
    bands: BandMap,
    block_rows: int = 512,
    scheduler: str | None = None,
    progress: bool = False,
) -> Path:
    """Apply a fitted classifier block by block, writing a uint8 land-cover raster (0 = nodata)."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(image_path) as src:
        profile = {
            "driver": "GTiff",
            "width": src.width,
            "height": src.height,
            "count": 1,
            "dtype": "uint8",
            "crs": src.crs,
            "transform": src.transform,
            "nodata": CLASS_NODATA,
            "compress": "lzw",
        }
        windows = row_windows(src.width, src.height, block_rows)
    tasks = [(str(image_path), bands, clf, w) for w in windows]
    with (
        rasterio.open(out_path, "w", **profile) as dst,
        progress_bar("classifying", len(tasks), progress) as advance,
    ):
        for window, arr in map_blocks(_classify_block, tasks, scheduler=scheduler):
            dst.write(arr, 1, window=window)
            advance(1)
    return out_path


class BiomassArgs(ArgsModel):
    """Inputs of the biomass regression."""

    image_path: Path
    plots_path: Path
    bands: BandMap = BandMap()
    predictors: tuple[str, ...] = ("ndvi", "evi")
    out_path: Path | None = None
    landcover_path: Path | None = None
    vegetated_classes: tuple[int, ...] = (3, 4, 5, 6)
    block_rows: int = Field(default=512, ge=1)
    scheduler: str | None = None


@dataclass
class BiomassRegression:
    """A calibrated AGB model (Mg dry matter/ha) and its residual error."""

    predictors: tuple[str, ...]
    coef: list[float]
    intercept: float
    rmse: float
    residual_std: float
    r2: float
    n_plots: int

    def predict(self, feats: dict[str, np.ndarray]) -> np.ndarray:
        """AGB from index arrays, floored at zero."""
        agb: np.ndarray = np.full_like(feats[self.predictors[0]], self.intercept, dtype=np.float32)
        for name, c in zip(self.predictors, self.coef, strict=True):
            agb = agb + np.float32(c) * feats[name]
        return np.maximum(agb, 0).astype(np.float32)


def _biomass_block(task: tuple) -> tuple[Any, np.ndarray]:
    path, bands, model, lc_path, veg, window = task
    with rasterio.open(path) as src:
        feats, valid = read_features(src, bands, window)
    agb = np.where(valid, model.predict(feats), np.float32(INDEX_NODATA))
    if lc_path is not None:
        with rasterio.open(lc_path) as lc:
            cls = lc.read(1, window=window)
        agb = np.where(valid & ~np.isin(cls, veg), np.float32(0), agb)
    return window, agb.astype(np.float32)


class BiomassRegressionModel(Model[BiomassArgs]):
    """Above-ground biomass from vegetation indices, calibrated on field plots (样地)."""

    name = "biomass_regression"
    args_type = BiomassArgs
    inputs = (
        InputSpec("image_path", "multi-band GeoTIFF"),
        InputSpec("plots_path", "CSV x, y, agb_t_ha (field-plot above-ground biomass)", "Mg dry matter/ha"),
    )
    outputs = (OutputSpec("agb.tif", "above-ground biomass", "Mg dry matter/ha", "float32", INDEX_NODATA),)

    def check(self, args: BiomassArgs) -> list[Problem]:
        """Plots readable, inside the image, non-negative AGB; predictors known."""
        problems: list[Problem] = []
        info = raster_info("image_path", args.image_path, problems)
        if info is not None:
            problems += band_problems(info.count, args.bands)
        bad = [p for p in args.predictors if p not in FEATURES]
        if bad:
            problems.append(Problem("predictors", f"unknown predictors {bad}; choose from {list(FEATURES)}"))
        pts = read_points(args.plots_path, "agb_t_ha", "plots_path", problems)
        if pts:
            neg = [i + 2 for i, p in enumerate(pts) if p[2] < 0]
            if neg:
                problems.append(Problem("plots_path", f"out of range: negative agb_t_ha on lines {neg[:10]}"))
            if len(pts) < len(args.predictors) + 3:
                problems.append(
                    Problem(
                        "plots_path", f"{len(pts)} plots are too few for {len(args.predictors)} predictors"
                    )
                )
            if info is not None:
                problems += points_outside(args.image_path, pts, "plots_path")
        if args.landcover_path is not None:
            lc = raster_info("landcover_path", args.landcover_path, problems)
            if lc is not None and info is not None and (lc.width, lc.height) != (info.width, info.height):
                problems.append(Problem("landcover_path", "land-cover grid differs from the image grid"))
        return problems

    def run(self, args: BiomassArgs) -> tuple[BiomassRegression, Path | None]:
        """Fit the regression on plot pixels; optionally write the AGB raster."""
        pts = np.array(read_points(args.plots_path, "agb_t_ha", "plots_path", []))
        feats_x, ok = sample_features(args.image_path, pts[:, :2], args.bands)
        cols = [FEATURES.index(p) for p in args.predictors]
        feats_x, y = feats_x[ok][:, cols], pts[ok, 2]
        reg = LinearRegression().fit(feats_x, y)
        resid = y - reg.predict(feats_x)
        dof = max(1, len(y) - len(cols) - 1)
        model = BiomassRegression(
            predictors=tuple(args.predictors),
            coef=[float(c) for c in reg.coef_],
            intercept=float(reg.intercept_),
            rmse=float(np.sqrt(np.mean(resid**2))),
            residual_std=float(np.sqrt(np.sum(resid**2) / dof)),
            r2=float(reg.score(feats_x, y)),
            n_plots=len(y),
        )
        if args.out_path is None:
            return model, None
        args.out_path.parent.mkdir(parents=True, exist_ok=True)
        with rasterio.open(args.image_path) as src:
            profile = {
                "driver": "GTiff",
                "width": src.width,
                "height": src.height,
                "count": 1,
                "dtype": "float32",
                "crs": src.crs,
                "transform": src.transform,
                "nodata": INDEX_NODATA,
                "compress": "deflate",
            }
            windows = row_windows(src.width, src.height, args.block_rows)
        lc = str(args.landcover_path) if args.landcover_path else None
        tasks = [(str(args.image_path), args.bands, model, lc, args.vegetated_classes, w) for w in windows]
        with rasterio.open(args.out_path, "w", **profile) as dst:
            for window, arr in map_blocks(_biomass_block, tasks, scheduler=args.scheduler):
                dst.write(arr, 1, window=window)
        return model, args.out_path
