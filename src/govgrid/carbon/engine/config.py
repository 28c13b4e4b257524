"""The assessment config (one TOML or YAML file), typed, and its validation: every problem of the config and
of each step's inputs at once, keyed by config location, before anything runs."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml
from pydantic import Field
from pydantic import ValidationError as PydanticValidationError

from .lidar import Allometry, CanopyHeightModel
from .methodology import REGISTRY, ProjectInfo, get_methodology
from .pools import read_pool_table
from .remote_sensing import WETLAND_CLASSES, BandMap, BiomassRegressionModel, ClassificationModel
from .soil import SoilCarbonModel
from .spec import ArgsModel, Problem, pydantic_problems


class ProjectSection(ProjectInfo):
    """[project]: applicability facts and the methodology id."""

    methodology: str = "ipcc_inland_wetland"


class EpochsSection(ArgsModel):
    """[epochs]: the two monitoring years and their images."""

    bas_year: int
    alt_year: int
    image_bas: Path
    image_alt: Path


class InputsSection(ArgsModel):
    """[inputs]: labelled points, plots, LiDAR, soil samples, default pools."""

    training_points: Path
    field_plots: Path
    soil_samples: Path
    carbon_pools: Path
    lidar: Path | None = None


class LidarSection(ArgsModel):
    """[lidar]: CHM cell size and which land-cover class the plot represents."""

    resolution_m: float = Field(default=2.0, gt=0)
    forest_class: int = 5


class ParametersSection(ArgsModel):
    """[parameters]: carbon fraction, errors, deductions, Monte Carlo."""

    carbon_fraction: float = Field(default=0.47, gt=0, le=1)
    carbon_fraction_sd: float = Field(default=0.02, ge=0)
    root_shoot_rel_error: float = Field(default=0.3, ge=0)
    baseline_change_tc: float = 0.0
    leakage_fraction: float = Field(default=0.0, ge=0, le=1)
    buffer_fraction: float = Field(default=0.1, ge=0, le=1)
    monte_carlo_n: int = Field(default=5000, ge=100)
    seed: int = 42


class ValuationSection(ArgsModel):
    """[valuation]: InVEST valuation parameters."""

    price_per_metric_ton_of_c: float = Field(ge=0)
    discount_rate: float
    rate_change: float


class AssessmentConfig(ArgsModel):
    """The whole config file, typed."""

    out_dir: Path = Path("output")
    project: ProjectSection
    epochs: EpochsSection
    inputs: InputsSection
    bands: BandMap = BandMap()
    lidar: LidarSection = LidarSection()
    allometry: dict[int, Allometry] = Field(default_factory=dict)
    root_shoot: dict[int, float] = Field(default_factory=dict)
    parameters: ParametersSection = ParametersSection()
    valuation: ValuationSection | None = None
    scheduler: str | None = None


def load_config(path: Path | str) -> tuple[AssessmentConfig | None, list[Problem]]:
    """Parse a TOML (.toml) or YAML (.yaml/.yml) config; relative paths resolve beside the file."""
    path = Path(path)
    if not path.exists():
        return None, [Problem("config", f"file not found: {path}")]
    try:
        raw = tomllib.loads(path.read_text()) if path.suffix == ".toml" else yaml.safe_load(path.read_text())
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        return None, [Problem("config", f"cannot parse {path.name}: {exc}")]
    if not isinstance(raw, dict):
        return None, [Problem("config", "top level must be a table/mapping")]
    try:
        cfg = AssessmentConfig.model_validate(raw)
    except PydanticValidationError as exc:
        return None, pydantic_problems(exc)
    base = path.parent.resolve()

    def res(p: Path | None) -> Path | None:
        return None if p is None else (p if p.is_absolute() else base / p)

    for section, names in (
        ("epochs", ("image_bas", "image_alt")),
        ("inputs", tuple(InputsSection.model_fields)),
    ):
        obj = getattr(cfg, section)
        for n in names:
            setattr(obj, n, res(getattr(obj, n)))
    cfg.out_dir = res(cfg.out_dir)  # type: ignore[assignment]
    return cfg, []


def validate_config(cfg: AssessmentConfig) -> list[Problem]:
    """Every problem of the config and of each step's inputs, keyed by config location."""
    problems: list[Problem] = []
    if cfg.project.methodology not in REGISTRY:
        problems.append(Problem("project.methodology", f"unknown; known: {sorted(REGISTRY)}"))
    else:
        for reason in get_methodology(cfg.project.methodology).applicability(cfg.project):
            problems.append(Problem("project", f"{cfg.project.methodology} does not apply: {reason}"))
    if cfg.epochs.alt_year <= cfg.epochs.bas_year:
        problems.append(Problem("epochs.alt_year", "out of range: must be after bas_year"))

    def sub(prefix_map: dict[str, str], found: list[Problem]) -> None:
        for p in found:
            problems.append(Problem(prefix_map.get(p.key, p.key), p.message))

    for key, img in (("epochs.image_bas", cfg.epochs.image_bas), ("epochs.image_alt", cfg.epochs.image_alt)):
        sub(
            {"image_path": key, "training_points_path": "inputs.training_points"},
            ClassificationModel().validate(
                {"image_path": img, "training_points_path": cfg.inputs.training_points, "bands": cfg.bands}
            ),
        )
    sub(
        {"image_path": "epochs.image_alt", "plots_path": "inputs.field_plots"},
        [
            p
            for p in BiomassRegressionModel().validate(
                {"image_path": cfg.epochs.image_alt, "plots_path": cfg.inputs.field_plots, "bands": cfg.bands}
            )
            if p.key != "image_path"
        ],
    )
    sub(
        {"samples_path": "inputs.soil_samples", "template_path": "epochs.image_bas"},
        [
            p
            for p in SoilCarbonModel().validate({"samples_path": cfg.inputs.soil_samples})
            if p.key != "template_path"
        ],
    )
    if cfg.inputs.lidar is not None:
        sub(
            {"las_path": "inputs.lidar"},
            CanopyHeightModel().validate({"las_path": cfg.inputs.lidar, "out_dir": cfg.out_dir}),
        )
        if cfg.lidar.forest_class not in cfg.allometry:
            problems.append(
                Problem("allometry", f"no coefficients for the LiDAR forest class {cfg.lidar.forest_class}")
            )
    table = read_pool_table(cfg.inputs.carbon_pools, "inputs.carbon_pools", problems)
    if table is not None:
        missing = sorted(set(WETLAND_CLASSES) - set(table.pools))
        if missing:
            problems.append(
                Problem("inputs.carbon_pools", f"classes missing from the carbon pool table: {missing}")
            )
    # deduplicate: the classification check runs once per image over the same points
    unique: list[Problem] = []
    for p in problems:
        if p not in unique:
            unique.append(p)
    return unique
