"""Settings of a computation that come from the project rather than the indicator."""

from __future__ import annotations

from dataclasses import dataclass

from indicators.catalogue.definitions import AGE_GROUPS


@dataclass(frozen=True)
class ComputeOptions:
    """Settings that come from the project rather than from an indicator's definition."""

    lonely_psu: str = "fail"
    age_bands: tuple[str, ...] | None = AGE_GROUPS  # the population's bands (None: totals only)
    population_sex: bool = True  # the population is split by sex
