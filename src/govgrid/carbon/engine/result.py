"""What a whole assessment returns (and the MRV report is written from): shared by ``assessment`` and
``report`` without either importing the other's module."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class AssessmentResult:
    """What the registry needs: credits, vintage, area, reports, hashes; plus the detail for the report."""

    project: str
    methodology: str
    vintage_start: int
    vintage_end: int
    area_ha: float
    net_creditable_tco2e: float
    annual_sink_tc: float
    annual_sink_tco2e: float
    interval_90_tco2e: tuple[float, float]
    report_html: str
    report_pdf: str
    result_json: str
    input_hashes: dict[str, str]
    parameters: dict[str, Any]
    credit: dict[str, Any] = field(default_factory=dict)
    stocks: dict[str, Any] = field(default_factory=dict)
    classification: dict[str, Any] = field(default_factory=dict)
    biomass: dict[str, Any] = field(default_factory=dict)
    lidar: dict[str, Any] = field(default_factory=dict)
    soil: dict[str, Any] = field(default_factory=dict)
    monte_carlo: dict[str, Any] = field(default_factory=dict)
    invest_compatible: dict[str, Any] = field(default_factory=dict)
    rasters: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return json.loads(json.dumps(asdict(self), default=str))
