"""Pure wetland carbon computation: stock, remote sensing, LiDAR, soil, methodologies, Monte Carlo, reports."""

from .assessment import AssessmentResult, load_config, run_assessment, validate_config
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
