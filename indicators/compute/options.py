"""Settings of a computation that come from the project rather than the indicator."""

from __future__ import annotations

from dataclasses import dataclass, field

from indicators.catalogue.definitions import AGE_GROUPS
from indicators.compute.calibration import CalibrationRules


@dataclass(frozen=True)
class ReliabilityRules:
    """When a published survey cell is flagged ``low_reliability`` besides ``reliable_n``.

    The defaults are the NCHS Data Presentation Standards for Proportions (Parker et al.,
    Vital Health Stat 2(175), 2017): 8 design degrees of freedom, an effective sample size of
    30 and a 95 % interval 30 points wide. A zero minimum (or a width of 100) turns a rule off.
    """

    min_df: int = 8  # the domain's PSUs minus its strata
    min_effective_n: float = 30.0  # n / design effect
    max_interval_width: float = 30.0  # points, percentages only
    symmetric_cv: bool = True  # a proportion's CV taken on min(p, 1 - p)
    # OMB Standards for Statistical Surveys (2006), 3.2.9: item response below 70 %
    max_item_nonresponse: float = 0.3


@dataclass(frozen=True)
class ComputeOptions:
    """Settings that come from the project rather than from an indicator's definition."""

    lonely_psu: str = "fail"
    age_bands: tuple[str, ...] | None = AGE_GROUPS  # the population's bands (None: totals only)
    population_sex: bool = True  # the population is split by sex
    reliability: ReliabilityRules = field(default_factory=ReliabilityRules)
    panel: bool = True  # a PSU code found in two survey years is the same PSU, revisited
    calibration: CalibrationRules | None = None  # survey weights calibrated to the population
