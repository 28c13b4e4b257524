"""A whole wetland carbon assessment (湿地碳汇核算) from one TOML or YAML config.

imagery -> classification (both epochs) -> AGB regression -> LiDAR CHM allometry (forest class)
-> soil kriging -> per-epoch measured pools -> stock maps per epoch (InVEST-compatible engine)
-> change -> Monte Carlo -> methodology -> MRV report (HTML + PDF).

Per-epoch pools for class k (Mg C/ha): c_above = AGB_k x CF, c_below = AGB_k x R_k x CF, c_soil = kriged
SOC zonal mean of class k (one survey, so a class density), c_dead from the pools table; AGB_k is the
class mean of the regression map of that epoch's image, or the LiDAR allometry mean for the forest class.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from .config import AssessmentConfig, load_config, validate_config
from .lidar import AllometryModel, CanopyHeightModel
from .methodology import C_TO_CO2, AccountingInputs, get_methodology
from .pools import POOLS, read_pool_table
from .rasters import map_blocks, row_windows
from .remote_sensing import INDEX_NODATA, BiomassRegressionModel, ClassificationModel, classify_raster
from .result import AssessmentResult
from .soil import SOIL_NODATA, SoilCarbonModel
from .spec import Problem, ValidationError
from .stock import CARBON_NODATA, CarbonStockModel
from .uncertainty import Normal, monte_carlo

__all__ = [
    "AssessmentConfig",
    "AssessmentResult",
    "load_config",
    "run_assessment",
    "validate_config",
    "zonal_means",
]


def sha256(path: Path) -> str:
    """SHA-256 of a file, streamed."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _zonal_block(task: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    class_path, value_path, nodata, window, nbins = task
    with rasterio.open(class_path) as c, rasterio.open(value_path) as v:
        cls = c.read(1, window=window).ravel().astype(np.int64)
        val = v.read(1, window=window).ravel().astype(np.float64)
    ok = (val != nodata) & np.isfinite(val)
    cnt_all = np.bincount(cls, minlength=nbins)
    return (
        np.bincount(cls[ok], weights=val[ok], minlength=nbins),
        np.bincount(cls[ok], minlength=nbins),
        cnt_all,
    )


def zonal_means(
    class_path: Path, value_path: Path, nodata: float, nbins: int = 256
) -> tuple[dict[int, float], dict[int, int]]:
    """Mean of ``value_path`` per class of ``class_path`` (same grid), and pixel counts per class."""
    with rasterio.open(class_path) as src:
        windows = row_windows(src.width, src.height, 512)
    sums = np.zeros(nbins)
    cnts = np.zeros(nbins)
    alls = np.zeros(nbins)
    for s, c, a in map_blocks(
        _zonal_block, [(str(class_path), str(value_path), nodata, w, nbins) for w in windows]
    ):
        sums += s
        cnts += c
        alls += a
    means = {k: float(sums[k] / cnts[k]) for k in range(1, nbins) if cnts[k] > 0}
    return means, {k: int(alls[k]) for k in range(1, nbins) if alls[k] > 0}


def _diff_block(task: tuple) -> tuple[Any, np.ndarray]:
    a_path, b_path, window = task
    with rasterio.open(a_path) as a, rasterio.open(b_path) as b:
        x, y = a.read(1, window=window), b.read(1, window=window)
    ok = (x != CARBON_NODATA) & (y != CARBON_NODATA)
    return window, np.where(ok, y - x, np.float32(CARBON_NODATA)).astype(np.float32)


def _write_diff(bas_path: Path, alt_path: Path, out_path: Path) -> Path:
    with rasterio.open(bas_path) as src:
        profile = src.profile
        windows = row_windows(src.width, src.height, 512)
    with rasterio.open(out_path, "w", **profile) as dst:
        for window, arr in map_blocks(_diff_block, [(str(bas_path), str(alt_path), w) for w in windows]):
            dst.write(arr, 1, window=window)
    return out_path


def run_assessment(
    config_path: Path | str, out_dir: Path | str | None = None, progress: bool = False
) -> AssessmentResult:
    """Run a whole assessment from a config file; raises ``ValidationError`` listing every problem."""
    cfg, problems = load_config(config_path)
    if cfg is None:
        raise ValidationError(problems)
    if out_dir is not None:
        cfg.out_dir = Path(out_dir)
    problems = validate_config(cfg)
    if problems:
        raise ValidationError(problems)
    out: Path = cfg.out_dir
    out.mkdir(parents=True, exist_ok=True)
    years = (cfg.epochs.bas_year, cfg.epochs.alt_year)
    images = {years[0]: cfg.epochs.image_bas, years[1]: cfg.epochs.image_alt}
    par = cfg.parameters
    sched = cfg.scheduler

    # 1. classification: fit on labelled points over the later image, apply to both epochs
    cls = ClassificationModel().execute(
        {
            "image_path": images[years[1]],
            "training_points_path": cfg.inputs.training_points,
            "out_path": out / f"landcover_{years[1]}.tif",
            "bands": cfg.bands,
            "seed": par.seed,
            "n_estimators": 100,
            "scheduler": sched,
            "progress": progress,
        }
    )
    lc = {years[1]: out / f"landcover_{years[1]}.tif"}
    lc[years[0]] = classify_raster(
        cls.classifier, images[years[0]], out / f"landcover_{years[0]}.tif", cfg.bands, scheduler=sched
    )

    # 2. AGB regression calibrated on the field plots (later epoch), applied to each epoch's image
    reg, _ = BiomassRegressionModel().execute(
        {"image_path": images[years[1]], "plots_path": cfg.inputs.field_plots, "bands": cfg.bands}
    )
    agb_paths = {}
    for y in years:
        _, agb_paths[y] = BiomassRegressionModel().execute(
            {
                "image_path": images[y],
                "plots_path": cfg.inputs.field_plots,
                "bands": cfg.bands,
                "out_path": out / f"agb_{y}.tif",
                "landcover_path": lc[y],
                "scheduler": sched,
            }
        )
    plot_mean = float(
        np.mean([float(r.split(",")[2]) for r in cfg.inputs.field_plots.read_text().splitlines()[1:] if r])
    )

    # 3. LiDAR plot: CHM and allometric biomass of the forest class
    lidar_doc: dict[str, Any] = {}
    forest_agb = None
    if cfg.inputs.lidar is not None:
        chm = CanopyHeightModel().execute(
            {"las_path": cfg.inputs.lidar, "out_dir": out / "lidar", "resolution_m": cfg.lidar.resolution_m}
        )
        allo = AllometryModel().execute(
            {
                "chm_path": chm.chm_path,
                "coefficients": cfg.allometry,
                "default_class": cfg.lidar.forest_class,
                "carbon_fraction": par.carbon_fraction,
                "out_path": out / "lidar" / "lidar_carbon.tif",
            }
        )
        forest_agb = allo.agb_t / allo.area_ha
        lidar_doc = {
            "n_points": chm.n_points,
            "n_ground": chm.n_ground,
            "max_height_m": chm.max_height_m,
            "mean_height_m": chm.mean_height_m,
            "plot_area_ha": allo.area_ha,
            "agb_t_ha": forest_agb,
            "carbon_t_ha": allo.carbon_t / allo.area_ha,
            "chm_path": str(chm.chm_path),
        }

    # 4. soil: kriging onto the image grid
    soil = SoilCarbonModel().execute(
        {"samples_path": cfg.inputs.soil_samples, "out_dir": out / "soil", "template_path": images[years[0]]}
    )
    soil_means, _ = zonal_means(lc[years[1]], soil.stock_path, SOIL_NODATA)

    # 5. per-epoch measured pools and stock maps through the InVEST-compatible engine
    pool_problems: list[Problem] = []
    defaults = read_pool_table(cfg.inputs.carbon_pools, "inputs.carbon_pools", pool_problems)
    if defaults is None:  # validate_config read the same table without problems
        raise ValidationError(pool_problems)
    cf = par.carbon_fraction
    pools_by_epoch: dict[int, dict[int, dict[str, float]]] = {}
    areas: dict[int, dict[int, float]] = {}
    stock_results = {}
    with rasterio.open(images[years[0]]) as src:
        px_ha = abs(src.transform.a * src.transform.e) / 10_000.0
    for y in years:
        agb_means, counts = zonal_means(lc[y], agb_paths[y], INDEX_NODATA)
        areas[y] = {k: n * px_ha for k, n in counts.items()}
        rows = {}
        for k in sorted(defaults.pools):
            agb = agb_means.get(k, 0.0)
            if k == cfg.lidar.forest_class and forest_agb is not None:
                agb = forest_agb
            rs = cfg.root_shoot.get(k, cfg.allometry[k].root_shoot if k in cfg.allometry else 0.0)
            rows[k] = {
                "agb_t_ha": agb,
                "root_shoot": rs,
                "c_above": agb * cf,
                "c_below": agb * rs * cf,
                "c_soil": soil_means.get(k, defaults.pools[k]["c_soil"]),
                "c_dead": defaults.pools[k]["c_dead"],
            }
        pools_by_epoch[y] = rows
        table_path = out / f"pools_{y}.csv"
        table_path.write_text(
            "lucode,"
            + ",".join(POOLS)
            + "\n"
            + "".join(f"{k}," + ",".join(f"{r[p]:.6f}" for p in POOLS) + "\n" for k, r in rows.items())
        )
        stock_results[y] = CarbonStockModel().execute(
            {
                "lulc_bas_path": lc[y],
                "carbon_pools_path": table_path,
                "out_dir": out / f"stock_{y}",
                "scheduler": sched,
            }
        )
    change_path = _write_diff(
        Path(stock_results[years[0]].outputs["c_storage_bas"]),
        Path(stock_results[years[1]].outputs["c_storage_bas"]),
        out / "c_change.tif",
    )
    s1, s2 = stock_results[years[0]].storage_bas, stock_results[years[1]].storage_bas

    # 6. InVEST-compatible run with the default pool table on the two classified maps (cross-check)
    inv_args: dict[str, Any] = {
        "lulc_bas_path": lc[years[0]],
        "lulc_alt_path": lc[years[1]],
        "carbon_pools_path": cfg.inputs.carbon_pools,
        "out_dir": out / "invest_compatible",
        "bas_year": years[0],
        "alt_year": years[1],
    }
    if cfg.valuation is not None:
        inv_args.update(cfg.valuation.model_dump())
    inv = CarbonStockModel().execute(inv_args)

    # 7. Monte Carlo over the stated errors; total stock is linear in the class pools
    lidar_rel = cfg.allometry[cfg.lidar.forest_class].rel_error if forest_agb is not None else 0.0
    rs_rel = reg.residual_std / plot_mean if plot_mean > 0 else 0.0
    soil_rel = (soil.mean_kriging_sd_t_ha or 0.0) / soil.map_mean_t_ha if soil.map_mean_t_ha else 0.0
    classes = sorted(defaults.pools)

    def epoch_arrays(y: int) -> dict[str, np.ndarray]:
        r = pools_by_epoch[y]
        a = np.array([areas[y].get(k, 0.0) for k in classes])
        forest = np.array([k == cfg.lidar.forest_class and forest_agb is not None for k in classes])
        return {
            "area": a,
            "agb": np.array([r[k]["agb_t_ha"] for k in classes]),
            "rs": np.array([r[k]["root_shoot"] for k in classes]),
            "soil": np.array([r[k]["c_soil"] for k in classes]),
            "dead": np.array([r[k]["c_dead"] for k in classes]),
            "forest": forest,
        }

    e1, e2 = epoch_arrays(years[0]), epoch_arrays(years[1])

    def net_removals(
        cf: np.ndarray, f_rs: np.ndarray, f_lidar: np.ndarray, f_root: np.ndarray, f_soil: np.ndarray
    ) -> np.ndarray:
        def total(e: dict[str, np.ndarray]) -> np.ndarray:
            f_agb = np.where(e["forest"][None, :], f_lidar[:, None], f_rs[:, None])
            bio = e["agb"][None, :] * f_agb * cf[:, None] * (1 + e["rs"][None, :] * f_root[:, None])
            dens = bio + e["soil"][None, :] * f_soil[:, None] + e["dead"][None, :]
            return (dens * e["area"][None, :]).sum(axis=1)

        diff = (total(e2) - total(e1) - par.baseline_change_tc) * C_TO_CO2
        return diff * (1 - par.leakage_fraction)

    mc = monte_carlo(
        net_removals,
        {
            "cf": Normal(mean=cf, sd=par.carbon_fraction_sd, lower=0),
            "f_rs": Normal(mean=1.0, sd=rs_rel, lower=0),
            "f_lidar": Normal(mean=1.0, sd=lidar_rel, lower=0),
            "f_root": Normal(mean=1.0, sd=par.root_shoot_rel_error, lower=0),
            "f_soil": Normal(mean=1.0, sd=soil_rel, lower=0),
        },
        n=par.monte_carlo_n,
        seed=par.seed,
    )

    # 8. methodology
    method = get_methodology(cfg.project.methodology)
    credit = method.account(
        cfg.project,
        AccountingInputs(
            bas_year=years[0],
            alt_year=years[1],
            project_stock_t1_tc=s1,
            project_stock_t2_tc=s2,
            baseline_change_tc=par.baseline_change_tc,
            uncertainty_rel=mc.half_width_rel,
            leakage_fraction=par.leakage_fraction,
            buffer_fraction=par.buffer_fraction,
        ),
    )

    inputs = {
        "config": Path(config_path),
        "image_bas": cfg.epochs.image_bas,
        "image_alt": cfg.epochs.image_alt,
        **{k: v for k, v in cfg.inputs.model_dump().items() if v is not None},
    }
    hashes = {k: sha256(Path(v)) for k, v in inputs.items()}
    result = AssessmentResult(
        project=cfg.project.name,
        methodology=method.id,
        vintage_start=years[0],
        vintage_end=years[1],
        area_ha=stock_results[years[1]].area_ha,
        net_creditable_tco2e=credit.net_creditable_tco2e,
        annual_sink_tc=credit.annual_sink_tc,
        annual_sink_tco2e=credit.annual_sink_tco2e,
        interval_90_tco2e=(mc.p05, mc.p95),
        report_html=str(out / "report.html"),
        report_pdf=str(out / "report.pdf"),
        result_json=str(out / "result.json"),
        input_hashes=hashes,
        parameters=json.loads(cfg.model_dump_json()),
        credit=asdict(credit),
        stocks={
            "years": list(years),
            "total_tc": {years[0]: s1, years[1]: s2},
            "pools": pools_by_epoch,
            "areas_ha": areas,
        },
        classification=asdict(cls.accuracy),
        biomass=asdict(reg) | {"plot_mean_agb_t_ha": plot_mean},
        lidar=lidar_doc,
        soil={k: v for k, v in asdict(soil).items() if k != "stocks_t_ha"}
        | {"n_samples": len(soil.stocks_t_ha)},
        monte_carlo=asdict(mc)
        | {
            "half_width_rel": mc.half_width_rel,
            "relative_sd": {"regression": rs_rel, "lidar_allometry": lidar_rel, "soil_kriging": soil_rel},
        },
        invest_compatible={k: v for k, v in inv.summary().items() if k != "transitions"},
        rasters={
            f"stock_{years[0]}": stock_results[years[0]].outputs["c_storage_bas"],
            f"stock_{years[1]}": stock_results[years[1]].outputs["c_storage_bas"],
            "change": str(change_path),
            "soil_variance": str(soil.variance_path),
            f"landcover_{years[0]}": str(lc[years[0]]),
            f"landcover_{years[1]}": str(lc[years[1]]),
        },
    )

    # imported here: matplotlib loads only when a report is written, not with the engine
    from .report import write_report

    write_report(result, out)
    Path(result.result_json).write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    return result
