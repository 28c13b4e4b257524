"""Pure wetland carbon computation: stock, remote sensing, LiDAR, soil, methodologies, Monte Carlo, reports.

Imports nothing of govgrid.core, govgrid.web, SQLAlchemy or FastAPI, even indirectly (an import-linter
contract). Files: ``spec`` (the validate-then-execute contract), ``rasters`` (block-wise helpers),
``pools``, ``crosstab`` and ``stock`` (InVEST-compatible carbon), ``remote_sensing``, ``lidar``, ``soil``,
``uncertainty``, ``methodology``, ``config`` and ``assessment`` (a whole run), ``result`` and ``report`` (the
MRV report), ``demo`` (seeded synthetic inputs).
"""

from .assessment import run_assessment
from .config import load_config, validate_config
from .demo import generate_demo_inputs
from .methodology import (
    REGISTRY,
    AccountingInputs,
    CreditResult,
    Methodology,
    ProjectInfo,
    get_methodology,
    register,
)
from .result import AssessmentResult
from .spec import ApplicabilityError, Problem, ValidationError
from .stock import CarbonStockModel, valuation_constant

__all__ = [
    "REGISTRY",
    "AccountingInputs",
    "ApplicabilityError",
    "AssessmentResult",
    "CarbonStockModel",
    "CreditResult",
    "Methodology",
    "Problem",
    "ProjectInfo",
    "ValidationError",
    "generate_demo_inputs",
    "get_methodology",
    "load_config",
    "register",
    "run_assessment",
    "validate_config",
    "valuation_constant",
]
