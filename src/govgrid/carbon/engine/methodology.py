"""Crediting methodologies (方法学): a small base class, a registry, and two implementations.

A methodology turns stock changes (t C) of the project and baseline scenarios, with the Monte Carlo
uncertainty of the net removals, into net creditable t CO2e, and refuses projects outside its
applicability with an ``ApplicabilityError`` that lists every reason.

Registered: ``ipcc_inland_wetland`` (default) and ``vm0033``. Add one with ``@register``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from pydantic import Field

from .spec import ApplicabilityError, ArgsModel

C_TO_CO2 = 44.0 / 12.0

WetlandType = Literal[
    "inland_mineral",
    "inland_organic",
    "tidal_marsh",
    "tidal_freshwater",
    "mangrove",
    "seagrass",
    "lake",
    "riverine",
]


class ProjectInfo(ArgsModel):
    """What applicability rules look at."""

    name: str = "project"
    wetland_type: WetlandType = "inland_mineral"
    tidal: bool = False
    soil: Literal["mineral", "organic"] = "mineral"
    activity: str = "wetland restoration"


class AccountingInputs(ArgsModel):
    """Stock-difference inputs of one monitoring period (t C) and the deductions' parameters."""

    bas_year: int
    alt_year: int
    project_stock_t1_tc: float
    project_stock_t2_tc: float
    baseline_change_tc: float = Field(
        default=0.0, description="stock change over the period without the project (t C)"
    )
    uncertainty_rel: float = Field(
        default=0.0, ge=0, description="90% CI half-width / mean of the net removals"
    )
    leakage_fraction: float = Field(default=0.0, ge=0, le=1)
    buffer_fraction: float = Field(default=0.1, ge=0, le=1)
    fire_reduction_premium_tco2e: float = Field(default=0.0, ge=0)
    project_emissions_tco2e: float = Field(
        default=0.0, ge=0, description="CH4/N2O and fossil emissions of the project (t CO2e)"
    )


@dataclass
class CreditResult:
    """Every step from stock change to net creditable t CO2e."""

    methodology: str
    years: int
    project_removals_tco2e: float
    baseline_removals_tco2e: float
    leakage_tco2e: float
    gross_net_removals_tco2e: float
    uncertainty_rel: float
    allowed_uncertainty: float
    uncertainty_deduction_tco2e: float
    buffer_tco2e: float
    net_creditable_tco2e: float
    annual_sink_tc: float
    annual_sink_tco2e: float
    equations: list[str] = field(default_factory=list)


class Methodology(ABC):
    """Base class: ``applicability`` lists reasons to refuse; ``account`` does the arithmetic."""

    id: ClassVar[str]
    title: ClassVar[str]
    citation: ClassVar[str]
    allowed_uncertainty: ClassVar[float]

    @abstractmethod
    def applicability(self, project: ProjectInfo) -> list[str]:
        """Reasons the project is outside this methodology (empty when it applies)."""

    def check_applicable(self, project: ProjectInfo) -> None:
        """Raise ``ApplicabilityError`` with every reason when the project is outside the methodology."""
        reasons = self.applicability(project)
        if reasons:
            raise ApplicabilityError(self.id, reasons)

    def uncertainty_deduction(self, ner: float, error: float) -> float:
        """Deduction for uncertainty beyond the allowed share: NER x (error - allowed) if error > allowed."""
        if ner <= 0 or error <= self.allowed_uncertainty:
            return 0.0
        return ner * min(1.0, error - self.allowed_uncertainty)

    def account(self, project: ProjectInfo, x: AccountingInputs) -> CreditResult:
        """Net creditable t CO2e for one monitoring period (refuses inapplicable projects)."""
        self.check_applicable(project)
        years = x.alt_year - x.bas_year
        dc = x.project_stock_t2_tc - x.project_stock_t1_tc
        project_removals = dc * C_TO_CO2 - x.project_emissions_tco2e
        baseline_removals = x.baseline_change_tc * C_TO_CO2
        diff = project_removals - baseline_removals
        leakage = max(0.0, diff) * x.leakage_fraction
        ner = self.net_removals(diff, leakage, x)
        ded = self.uncertainty_deduction(ner, x.uncertainty_rel)
        adjusted = ner - ded
        buffer = max(0.0, adjusted) * x.buffer_fraction
        return CreditResult(
            methodology=self.id,
            years=years,
            project_removals_tco2e=project_removals,
            baseline_removals_tco2e=baseline_removals,
            leakage_tco2e=leakage,
            gross_net_removals_tco2e=ner,
            uncertainty_rel=x.uncertainty_rel,
            allowed_uncertainty=self.allowed_uncertainty,
            uncertainty_deduction_tco2e=ded,
            buffer_tco2e=buffer,
            net_creditable_tco2e=max(0.0, adjusted - buffer),
            annual_sink_tc=dc / years,
            annual_sink_tco2e=dc * C_TO_CO2 / years,
            equations=self.equations(),
        )

    @abstractmethod
    def net_removals(self, diff_tco2e: float, leakage_tco2e: float, x: AccountingInputs) -> float:
        """Net removals before the uncertainty deduction and the buffer (t CO2e)."""

    @abstractmethod
    def equations(self) -> list[str]:
        """The equations applied, for the report."""


REGISTRY: dict[str, type[Methodology]] = {}


def register(cls: type[Methodology]) -> type[Methodology]:
    """Class decorator adding a methodology to the registry under its ``id``."""
    REGISTRY[cls.id] = cls
    return cls


def get_methodology(method_id: str) -> Methodology:
    """An instance of a registered methodology; ``KeyError`` lists the known ids."""
    try:
        return REGISTRY[method_id]()
    except KeyError:
        raise KeyError(f"unknown methodology {method_id!r}; known: {sorted(REGISTRY)}") from None


@register
class IpccInlandWetland(Methodology):
    """IPCC 2013 Wetlands Supplement, ch. 5 (inland wetland mineral soils), stock-difference method.

    Equations (IPCC 2006 Guidelines Vol. 4 eq. 2.5 stock difference; Wetlands Supplement ch. 5):

    * annual stock change dC = (C_t2 - C_t1) / (t2 - t1)  [t C/yr], over all pools
      (above- and below-ground biomass, dead organic matter, soil organic carbon);
    * removals R = dC x (t2 - t1) x 44/12 - project emissions  [t CO2e];
    * net removals NR = R_project - R_baseline - leakage;
    * uncertainty deduction when the 90% CI half-width U exceeds 10% (conservative CCER-style practice):
      NR_adj = NR x (1 - (U - 0.10));
    * non-permanence buffer B = NR_adj x buffer share; creditable = NR_adj - B.
    """

    id = "ipcc_inland_wetland"
    title = "IPCC 2013 Wetlands Supplement: inland mineral-soil wetlands (stock difference)"
    citation = (
        "IPCC (2014) 2013 Supplement to the 2006 IPCC Guidelines for National Greenhouse Gas Inventories: "
        "Wetlands, ch. 5 Inland Wetland Mineral Soils; IPCC (2006) Vol. 4 ch. 2, eq. 2.5"
    )
    allowed_uncertainty = 0.10

    def applicability(self, project: ProjectInfo) -> list[str]:
        """Inland (non-tidal) wetlands on mineral soils only."""
        reasons = []
        if project.tidal or project.wetland_type in (
            "tidal_marsh",
            "tidal_freshwater",
            "mangrove",
            "seagrass",
        ):
            reasons.append("tidal/coastal wetlands belong to Wetlands Supplement ch. 4 (coastal), not ch. 5")
        if project.soil == "organic" or project.wetland_type == "inland_organic":
            reasons.append(
                "organic soils are covered by Wetlands Supplement ch. 2-3 (drained/rewetted organic soils)"
            )
        return reasons

    def net_removals(self, diff_tco2e: float, leakage_tco2e: float, x: AccountingInputs) -> float:
        """NR = (R_project - R_baseline) - leakage."""
        return diff_tco2e - leakage_tco2e

    def equations(self) -> list[str]:
        """Equations shown in the report."""
        return [
            "dC = (C_t2 - C_t1) / (t2 - t1)  [t C/yr]",
            "R = dC x (t2 - t1) x 44/12 - E_project  [t CO2e]",
            "NR = R_project - R_baseline - LK",
            "NR_adj = NR x (1 - (U90 - 0.10)) if U90 > 0.10",
            "credits = NR_adj - buffer share x NR_adj",
        ]


@register
class Vm0033(Methodology):
    """Verra VM0033 v2.1, Methodology for Tidal Wetland and Seagrass Restoration.

    * NER = GHG_BSL - GHG_WPS + FRP - GHG_LK  (eq. 8.1), with GHG_BSL and GHG_WPS net emissions of the
      baseline and with-project scenarios (removals are negative emissions), FRP the fire reduction
      premium, GHG_LK leakage;
    * uncertainty: allowed 20% at 90% confidence; when NER_ERROR > 20%,
      adjusted NER = NER x (100% - NER_ERROR + 20%);
    * non-permanence buffer withheld per the VCS AFOLU Non-Permanence Risk Tool.

    Applicability: tidal wetlands (tidal marsh, tidal freshwater, mangrove) and seagrass meadows.
    """

    id = "vm0033"
    title = "Verra VM0033 v2.1 Tidal Wetland and Seagrass Restoration"
    citation = "Verra (2023) VM0033 Methodology for Tidal Wetland and Seagrass Restoration, v2.1, section 8"
    allowed_uncertainty = 0.20

    def applicability(self, project: ProjectInfo) -> list[str]:
        """Tidal wetlands and seagrass only."""
        reasons = []
        if not project.tidal:
            reasons.append(f"project '{project.name}' is not tidally influenced (tidal = false)")
        if project.wetland_type not in ("tidal_marsh", "tidal_freshwater", "mangrove", "seagrass"):
            reasons.append(
                f"wetland type '{project.wetland_type}' is not a tidal wetland or seagrass meadow "
                "(VM0033 applicability conditions, section 4)"
            )
        return reasons

    def net_removals(self, diff_tco2e: float, leakage_tco2e: float, x: AccountingInputs) -> float:
        """NER = GHG_BSL - GHG_WPS + FRP - GHG_LK, with GHG_BSL - GHG_WPS = R_project - R_baseline."""
        return diff_tco2e + x.fire_reduction_premium_tco2e - leakage_tco2e

    def equations(self) -> list[str]:
        """Equations shown in the report."""
        return [
            "NER = GHG_BSL - GHG_WPS + FRP - GHG_LK",
            "NER_adj = NER x (1 - (NER_ERROR - 0.20)) if NER_ERROR > 0.20",
            "credits = NER_adj - buffer share x NER_adj",
        ]
