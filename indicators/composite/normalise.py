"""Normalisation: bring indicators onto one scale where higher is always better.

Every indicator is first multiplied by its direction (+1/−1), as COINr does, so "best" is the
maximum for every method; bounds (minimum, maximum, mean, standard deviation) are computed over
the units present. A registry maps each method to its function; an indicator whose scale cannot
be computed (every unit equal, a target no better than the worst unit) is an error naming it,
never a column of NaN.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.stats import rankdata

from indicators.composite.hierarchy import CompositeError, Hierarchy
from indicators.composite.specification import (
    DistanceToTarget,
    Goalposts,
    MinMax,
    Normalisation,
    PercentRank,
    Rank,
    ZScore,
)


def resolve(spec: Normalisation, hierarchy: Hierarchy) -> Normalisation:
    """The spec with everything taken from the hierarchy written in (targets), for the log."""
    if isinstance(spec, DistanceToTarget):
        targets = dict(spec.targets) or {c: hierarchy.node(c).target for c in hierarchy.indicators
                                          if hierarchy.node(c).target is not None}
        absent = [c for c in hierarchy.indicators if c not in targets]
        if absent:
            raise CompositeError(f"distance-to-target normalisation needs a target for every "
                                 f"indicator; none for {absent}")
        return spec.model_copy(update={"targets": {c: targets[c] for c in hierarchy.indicators}})
    if isinstance(spec, Goalposts):
        absent = [c for c in hierarchy.indicators if c not in spec.posts]
        if absent:
            raise CompositeError(f"goalposts are needed for every indicator; none for {absent}")
    return spec


def normalise_array(x: np.ndarray, directions: np.ndarray, spec: Normalisation,
                    codes: Sequence[str]) -> np.ndarray:
    """Normalise the columns of ``x`` (units × indicators named by ``codes``)."""
    try:
        method = _METHODS[spec.method]
    except KeyError:
        raise CompositeError(f"unknown normalisation {spec.method!r}; "
                             f"valid: {sorted(_METHODS)}") from None
    with np.errstate(invalid="ignore", divide="ignore"):
        return method(x * directions, x, directions, spec, codes)


def _min_max(xd, x, directions, spec: MinMax, codes):
    low, high = _bounds(xd, codes)
    flat = high == low
    if flat.any():
        raise CompositeError(f"min-max normalisation is undefined for {_names(codes, flat)}: "
                             "every unit has the same value")
    return (xd - low) / (high - low) * (spec.upper - spec.lower) + spec.lower


def _z_score(xd, x, directions, spec: ZScore, codes):
    present = ~np.isnan(xd)
    n = present.sum(axis=0)
    mean = np.where(present, xd, 0.0).sum(axis=0) / n
    sd = np.sqrt(np.where(present, (xd - mean) ** 2, 0.0).sum(axis=0) / (n - 1))
    flat = ~(sd > 0)
    if flat.any():
        raise CompositeError(f"z-scores are undefined for {_names(codes, flat)}: "
                             "fewer than two distinct values")
    return (xd - mean) / sd * spec.sd + spec.mean


def _rank(xd, x, directions, spec: Rank, codes):
    return rankdata(xd, method="min", axis=0, nan_policy="omit")


def _percent_rank(xd, x, directions, spec: PercentRank, codes):
    n = (~np.isnan(xd)).sum(axis=0)
    if (n < 2).any():
        raise CompositeError(f"percentile ranks need two units or more; not so for "
                             f"{_names(codes, n < 2)}")
    return (rankdata(xd, method="min", axis=0, nan_policy="omit") - 1) / (n - 1)


def _distance_to_target(xd, x, directions, spec: DistanceToTarget, codes):
    target = np.array([spec.targets[c] for c in codes]) * directions
    worst, _ = _bounds(xd, codes)
    beyond = ~(target > worst)
    if beyond.any():
        raise CompositeError(f"the target of {_names(codes, beyond)} is no better than the "
                             "worst unit: distance to target is undefined")
    y = (xd - worst) / (target - worst)
    if spec.cap:
        y = np.minimum(y, 1.0)
    return y * (spec.upper - spec.lower) + spec.lower


def _goalposts(xd, x, directions, spec: Goalposts, codes):
    low = np.array([spec.posts[c][0] for c in codes])
    high = np.array([spec.posts[c][1] for c in codes])
    y = np.where(directions > 0, (x - low) / (high - low), (high - x) / (high - low))
    if spec.truncate:
        y = np.clip(y, 0.0, 1.0)
    return y * (spec.upper - spec.lower) + spec.lower


def _bounds(xd: np.ndarray, codes: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    present = ~np.isnan(xd)
    empty = ~present.any(axis=0)
    if empty.any():
        raise CompositeError(f"no unit has a value for {_names(codes, empty)}")
    return (np.where(present, xd, np.inf).min(axis=0),
            np.where(present, xd, -np.inf).max(axis=0))


def _names(codes: Sequence[str], mask: np.ndarray) -> list[str]:
    return [code for code, bad in zip(codes, mask, strict=True) if bad]


_METHODS: dict[str, Callable[..., np.ndarray]] = {
    "minmax": _min_max,
    "zscore": _z_score,
    "rank": _rank,
    "prank": _percent_rank,
    "target": _distance_to_target,
    "goalposts": _goalposts,
}
