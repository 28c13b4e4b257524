"""Pure wetland carbon computation: stock, remote sensing, LiDAR, soil, methodologies, Monte Carlo, reports.

Imports nothing of govgrid.core, govgrid.web, SQLAlchemy or FastAPI, even indirectly (an import-linter
contract). Files: ``spec`` (the validate-then-execute contract), ``rasters`` (block-wise helpers),
``pools``, ``crosstab`` and ``stock`` (InVEST-compatible carbon), ``remote_sensing``, ``lidar``, ``soil``,
``uncertainty``, ``methodology``, ``config`` and ``assessment`` (a whole run), ``result`` and ``report`` (the
MRV report), ``demo`` (seeded synthetic inputs).
"""

from __future__ import annotations

import importlib
from typing import Any

# Names are loaded from their submodule on first use (PEP 562): importing one light submodule such as
# ``spec`` does not load the raster stack (rasterio, scipy, scikit-learn).
_WHERE = {
    "run_assessment": "assessment",
    "load_config": "config",
    "validate_config": "config",
    "generate_demo_inputs": "demo",
    "REGISTRY": "methodology",
    "AccountingInputs": "methodology",
    "CreditResult": "methodology",
    "Methodology": "methodology",
    "ProjectInfo": "methodology",
    "get_methodology": "methodology",
    "register": "methodology",
    "AssessmentResult": "result",
    "ApplicabilityError": "spec",
    "Problem": "spec",
    "ValidationError": "spec",
    "CarbonStockModel": "stock",
    "valuation_constant": "stock",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
