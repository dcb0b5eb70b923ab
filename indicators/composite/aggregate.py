"""Aggregation, level by level, and ranking.

The hierarchy is compiled once into a plan (which columns are the children of which parent, at
each level), so that aggregating is a couple of matrix products per level: fast enough to run
thousands of times in a Monte Carlo analysis. Weights are relative within each parent, and a
missing child's weight goes to its available siblings only — COINr's rule: the weighted mean is
taken over the children present.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from indicators.composite.hierarchy import CompositeError, Hierarchy
from indicators.composite.specification import Aggregate


@dataclass(frozen=True, eq=False)
class LevelPlan:
    """One aggregation level: positions of children and parents, and who belongs to whom."""

    children: np.ndarray
    parents: np.ndarray
    membership: np.ndarray  # children × parents, 1 where the child belongs to the parent


@dataclass(frozen=True, eq=False)
class Plan:
    """Every node in computation order (indicators, then aggregates level by level)."""

    codes: tuple[str, ...]
    n_indicators: int
    levels: tuple[LevelPlan, ...]

    def weights(self, weights: Mapping[str, float]) -> np.ndarray:
        """Weights aligned with ``codes`` (the index, which has none, gets 1)."""
        return np.array([float(weights.get(code, 1.0)) for code in self.codes])


def compile_plan(hierarchy: Hierarchy) -> Plan:
    codes = (*hierarchy.indicators, *hierarchy.aggregates)
    position = {code: n for n, code in enumerate(codes)}
    levels = []
    for level in range(2, hierarchy.depth + 1):
        parents = [c for c in hierarchy.aggregates if hierarchy.node(c).level == level]
        children = [c for p in parents for c in hierarchy.children(p)]
        membership = np.array([[float(hierarchy.node(c).parent == p) for p in parents]
                               for c in children])
        levels.append(LevelPlan(np.array([position[c] for c in children]),
                                np.array([position[p] for p in parents]), membership))
    return Plan(codes, len(hierarchy.indicators), tuple(levels))


def aggregate_array(x: np.ndarray, plan: Plan, weights: np.ndarray, spec: Aggregate,
                    units: Sequence[str] | None = None) -> np.ndarray:
    """Scores of every node (units × ``plan.codes``) from normalised indicators ``x``."""
    scores = np.full((x.shape[0], len(plan.codes)), np.nan)
    scores[:, :plan.n_indicators] = x
    for level in plan.levels:
        values = scores[:, level.children]
        present = ~np.isnan(values)
        weighted = level.membership * weights[level.children][:, None]
        available = present @ weighted
        if spec.method != "amean":
            _check_positive(values, present, level, plan, spec, units)
        with np.errstate(invalid="ignore", divide="ignore"):
            if spec.method == "amean":
                result = np.where(present, values, 0.0) @ weighted / available
            elif spec.method == "gmean":
                logs = np.log(np.where(present, values, 1.0))
                result = np.exp(logs @ weighted / available)
            elif spec.method == "hmean":
                result = available / (np.where(present, 1.0 / np.where(present, values, 1.0),
                                                0.0) @ weighted)
            else:
                raise CompositeError(f"unknown aggregation {spec.method!r}; "
                                     "valid: ['amean', 'gmean', 'hmean']")
        result[available == 0] = np.nan
        if spec.min_share is not None:
            share = (present @ level.membership) / level.membership.sum(axis=0)
            result[share < spec.min_share] = np.nan
        scores[:, level.parents] = result
    return scores


def _check_positive(values: np.ndarray, present: np.ndarray, level: LevelPlan, plan: Plan,
                    spec: Aggregate, units: Sequence[str] | None) -> None:
    """Geometric and harmonic means are undefined at 0 and below: say so, never patch it."""
    bad = present & ~(values > 0)
    if not bad.any():
        return
    row, column = (int(i[0]) for i in np.nonzero(bad))
    code = plan.codes[level.children[column]]
    unit = f" for unit {units[row]!r}" if units is not None else ""
    name = {"gmean": "geometric", "hmean": "harmonic"}[spec.method]
    raise CompositeError(
        f"the {name} mean needs values above 0, but {code!r} scores {values[row, column]:g}{unit}; "
        "normalise onto a positive range (e.g. min-max onto 1–100) or use the arithmetic mean")


def rank_descending(scores: np.ndarray) -> np.ndarray:
    """Rank 1 for the highest score; ties share the best rank; missing scores stay missing.

    Works along the first axis, so a units × runs matrix is ranked run by run.
    """
    return rankdata(-scores, method="min", axis=0, nan_policy="omit")
