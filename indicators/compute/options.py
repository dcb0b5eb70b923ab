"""Settings of a computation that come from the project rather than the indicator."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ComputeOptions:
    """Settings that come from the project rather than from an indicator's definition."""

    lonely_psu: str = "fail"
