"""Data steps before normalisation: denominate, screen, impute, treat outliers.

Each step takes the unit × indicator values and its specification and returns new values plus
a record of what it did (for the log of choices). Imputation and treatment also work on plain
arrays, because the Monte Carlo analysis repeats them thousands of times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from indicators.composite.data import CompositeData
from indicators.composite.hierarchy import CompositeError, Hierarchy
from indicators.composite.specification import Denominate, Impute, Screen, Treat


def denominate(values: pd.DataFrame, data: CompositeData, spec: Denominate
               ) -> tuple[pd.DataFrame, dict]:
    """Divide each chosen indicator by its denominator (divided first by its scale factor)."""
    by = spec.by or {code: node.denominator for code in values.columns
                     if (node := data.hierarchy.node(code)).denominator}
    if not by:
        raise CompositeError("denomination chosen but no indicator has a denominator")
    unknown = sorted(set(by) - set(values.columns))
    if unknown:
        raise CompositeError(f"denominators given for unknown indicators: {unknown}")
    unscaled = sorted(set(spec.scale) - set(by))
    if unscaled:
        raise CompositeError(f"scale factors given for indicators not denominated: {unscaled}")
    if data.denominators is None:
        raise CompositeError("denomination chosen but the data has no denominator columns")
    absent = sorted({d for d in by.values() if d not in data.denominators.columns})
    if absent:
        raise CompositeError(f"denominator column(s) not in the data: {absent}")
    out = values.copy()
    for code, column in by.items():
        denominator = data.denominators.loc[values.index, column].astype(float)
        denominator = denominator / spec.scale.get(code, 1.0)
        zero = denominator.index[denominator == 0]
        if len(zero):
            raise CompositeError(f"denominator {column!r} of {code!r} is 0 for {list(zero)}")
        out[code] = values[code] / denominator
    return out, {"denominated": dict(sorted(by.items()))}


def screen(values: pd.DataFrame, hierarchy: Hierarchy, spec: Screen
           ) -> tuple[pd.DataFrame, Hierarchy, dict]:
    """Drop units below the availability threshold, then indicators below the coverage one."""
    kept_units = values.index
    if spec.unit_min_availability is not None:
        availability = values.notna().mean(axis=1)
        kept_units = values.index[availability >= spec.unit_min_availability]
    removed_units = [str(u) for u in values.index.difference(kept_units, sort=False)]
    if len(kept_units) < 2:
        raise CompositeError(f"screening leaves {len(kept_units)} unit(s); at least 2 are "
                             "needed to compare units")
    values = values.loc[kept_units]
    dropped: list[str] = []
    if spec.indicator_min_coverage is not None:
        coverage = values.notna().mean(axis=0)
        dropped = [c for c in values.columns if coverage[c] < spec.indicator_min_coverage]
    pruned: tuple[str, ...] = ()
    if dropped:
        hierarchy, pruned = hierarchy.without(dropped)
        values = values.drop(columns=dropped)
    return values, hierarchy, {"removed_units": removed_units, "removed_indicators": dropped,
                               "removed_aggregates": list(pruned)}


def impute(values: pd.DataFrame, data: CompositeData, spec: Impute
           ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Fill missing values as chosen; returns the values, a mask of filled cells and a record."""
    groups, previous = impute_inputs(values, data, spec)
    filled, mask = impute_array(values.to_numpy(dtype=float), spec, groups, previous)
    out = pd.DataFrame(filled, index=values.index, columns=values.columns)
    imputed = pd.DataFrame(mask, index=values.index, columns=values.columns)
    rows, columns = np.nonzero(mask)
    cells = [{"unit": str(values.index[r]), "indicator": str(values.columns[c])}
             for r, c in zip(rows, columns, strict=True)]
    still = int(np.isnan(filled).sum())
    return out, imputed, {"imputed_cells": cells, "still_missing": still}


def impute_inputs(values: pd.DataFrame, data: CompositeData, spec: Impute
                  ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The group codes or previous values an imputation method needs, aligned to ``values``."""
    if spec.method == "group_mean":
        if data.groups is None or spec.group not in data.groups.columns:
            raise CompositeError(f"group column {spec.group!r} not found in the data")
        labels = data.groups.loc[values.index, spec.group]
        if labels.isna().any():
            raise CompositeError(f"units without a {spec.group!r} group: "
                                 f"{list(labels.index[labels.isna()].astype(str))}")
        return pd.factorize(labels.astype(str), sort=True)[0], None
    if spec.method == "previous_year":
        if data.previous is None:
            raise CompositeError("previous-year imputation chosen but no previous values given")
        previous = data.previous.reindex(index=values.index, columns=values.columns)
        return None, previous.to_numpy(dtype=float)
    return None, None


def impute_array(x: np.ndarray, spec: Impute, groups: np.ndarray | None = None,
                 previous: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Array form of ``impute``: cells with no source to fill from stay missing."""
    missing = np.isnan(x)
    if spec.method == "none" or not missing.any():
        return x, np.zeros_like(missing)
    present = ~missing
    zeroed = np.where(present, x, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        if spec.method == "mean":
            fill = np.broadcast_to(zeroed.sum(axis=0) / present.sum(axis=0), x.shape)
        elif spec.method == "median":
            fill = np.broadcast_to(_nanmedian(x), x.shape)
        elif spec.method == "group_mean":
            assert groups is not None
            sums = np.zeros((groups.max() + 1, x.shape[1]))
            counts = np.zeros_like(sums)
            np.add.at(sums, groups, zeroed)
            np.add.at(counts, groups, present)
            fill = (sums / counts)[groups]
        else:  # previous_year
            assert previous is not None
            fill = previous
    out = np.where(missing, fill, x)
    return out, missing & ~np.isnan(out)


def _nanmedian(x: np.ndarray) -> np.ndarray:
    medians = np.full(x.shape[1], np.nan)
    for j in range(x.shape[1]):
        column = x[:, j][~np.isnan(x[:, j])]
        if column.size:
            medians[j] = np.median(column)
    return medians


def skewness(x: np.ndarray) -> float:
    """Bias-corrected sample skewness, as Excel's SKEW and COINr's ``skew`` (NaNs dropped)."""
    x = x[~np.isnan(x)]
    n = x.size
    if n < 3:
        raise CompositeError("skewness needs at least 3 values")
    d = x - x.mean()
    m2 = np.sum(d**2)
    if m2 == 0:
        return float("nan")
    return float(np.sqrt(n) * np.sum(d**3) / m2**1.5 * np.sqrt(n * (n - 1)) / (n - 2))


def kurtosis(x: np.ndarray) -> float:
    """Bias-corrected sample excess kurtosis, as Excel's KURT and COINr's ``kurt``."""
    x = x[~np.isnan(x)]
    n = x.size
    if n < 4:
        raise CompositeError("kurtosis needs at least 4 values")
    d = x - x.mean()
    m2 = np.sum(d**2)
    if m2 == 0:
        return float("nan")
    r = n * np.sum(d**4) / m2**2
    return float(((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3)))


def passes(x: np.ndarray, spec: Treat) -> bool:
    """COINr ``check_SkewKurt``: fails only when |skew| ≥ threshold AND kurtosis ≥ threshold.

    A constant column has no outliers and passes.
    """
    skew, kurt = skewness(x), kurtosis(x)
    if np.isnan(skew):
        return True
    return bool(abs(skew) < spec.skew_threshold or kurt < spec.kurtosis_threshold)


@dataclass(frozen=True)
class Treatment:
    """What outlier treatment did to one indicator (row positions of winsorised points)."""

    failed: bool
    high: tuple[int, ...] = ()
    low: tuple[int, ...] = ()
    logged: bool = False
    passes_after: bool = True


def treat_column(x: np.ndarray, spec: Treat) -> tuple[np.ndarray, Treatment]:
    """COINr's default ``Treat`` on one indicator.

    When the indicator fails the skew-kurtosis check, its highest value (lowest if skew < 0;
    tied values together) takes the next value in, one point at a time, until it passes or
    ``max_winsorised`` points are reached. If it still fails, winsorisation is dropped and the
    original values are log-transformed instead: log(x − min + 0.01 (max − min)).
    """
    if passes(x, spec):
        return x, Treatment(failed=False)
    y = x.copy()
    high = low = np.array([], dtype=int)
    winsorised = 0
    ok = False
    while not ok and winsorised < spec.max_winsorised:
        if skewness(y) >= 0:
            high = np.flatnonzero(y == np.nanmax(y))
            y[high] = np.nanmax(np.delete(y, high))
        else:
            low = np.flatnonzero(y == np.nanmin(y))
            y[low] = np.nanmin(np.delete(y, low))
        winsorised = high.size + low.size
        ok = passes(y, spec)
    if ok:
        return y, Treatment(True, tuple(high.tolist()), tuple(low.tolist()))
    lowest, highest = np.nanmin(x), np.nanmax(x)
    logged = np.log(x - lowest + 0.01 * (highest - lowest))
    return logged, Treatment(True, logged=True, passes_after=passes(logged, spec))


def treat_array(x: np.ndarray, spec: Treat) -> tuple[np.ndarray, tuple[Treatment, ...]]:
    columns, records = [], []
    for j in range(x.shape[1]):
        column, record = treat_column(x[:, j], spec)
        columns.append(column)
        records.append(record)
    return np.column_stack(columns), tuple(records)


def treat(values: pd.DataFrame, spec: Treat) -> tuple[pd.DataFrame, dict]:
    """Treat every indicator; the record lists, per treated indicator, what was done."""
    treated, records = treat_array(values.to_numpy(dtype=float), spec)
    units = [str(u) for u in values.index]
    effect = {}
    for code, record in zip(values.columns, records, strict=True):
        if record.failed:
            effect[code] = {
                "winsorised_high": [units[i] for i in record.high],
                "winsorised_low": [units[i] for i in record.low],
                "log_transformed": record.logged,
                "passes_after": record.passes_after,
            }
    return pd.DataFrame(treated, index=values.index, columns=values.columns), {"treated": effect}
