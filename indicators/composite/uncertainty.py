"""Monte Carlo uncertainty and sensitivity analysis of a composite index's ranks.

Each uncertain choice is a *factor*: the normalisation, the aggregation, the imputation (drawn
among alternatives), the weights (each moved within ±``weight_noise`` of its value) and — what
other tools leave out — the sampling error of survey-based indicators (each estimate drawn from
its sampling distribution using its standard error). The index is rebuilt for every draw and
units are ranked; the 5th, 50th and 95th percentiles of each unit's rank give its median rank
and 5–95 % rank interval (COINr ``get_sensitivity``: ``Median``, ``Q5``, ``Q95``).

Sensitivity follows COINr and Saltelli et al. (2010): two independent samples A and B of size
N, plus, for each factor i, A with factor i taken from B (N × (d + 2) runs). The output is the
mean absolute rank change against the nominal ranks; first-order indices
Sᵢ = mean(y_B (y_ABᵢ − y_A)) / Var(y) and total indices STᵢ = Σ (y_A − y_ABᵢ)² / (2 N Var(y)),
with Var(y) over A and B. Draws come from one seeded generator: same seed, same results.

Memory stays bounded whatever the number of units: runs go in batches of rows, large samples
(the sampling draws: units × survey values per run) are redrawn batch by batch from the
generator's saved state instead of being held whole, and only each unit's ranks in the
independent runs are kept, for their quantiles. Runs of a batch share the processors.
"""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from indicators.composite.aggregate import aggregate_array, compile_plan, rank_descending
from indicators.composite.build import CompositeResult, LogEntry, build_composite
from indicators.composite.data import CompositeData
from indicators.composite.hierarchy import CompositeError
from indicators.composite.normalise import normalise_array, resolve
from indicators.composite.preprocess import impute_array, impute_inputs, treat_array
from indicators.composite.specification import CompositeSpec, Uncertainty


@dataclass(frozen=True, eq=False)
class UncertaintyResult:
    """Rank statistics per unit and, with the Saltelli design, sensitivity per choice.

    ``ranks`` has one row per unit: ``rank`` (nominal), ``median_rank``, ``rank_p05`` and
    ``rank_p95``. ``sensitivity`` has ``choice``, ``first_order_index`` and
    ``total_order_index`` (missing when no choice moves any rank, as the indices are then 0/0).
    """

    nominal: CompositeResult
    ranks: pd.DataFrame
    sensitivity: pd.DataFrame | None
    runs: int
    log: LogEntry


@dataclass(frozen=True)
class _Factor:
    """One uncertain choice: how to draw N values of it, and how to apply one to a run."""

    name: str
    draw: Callable[[np.random.Generator, int], np.ndarray]
    apply: Callable[[dict, np.ndarray], None]
    numbers: int = 1  # numbers drawn per run
    batched: bool = False  # draws are floats filled row by row: they can be drawn in batches


def analyse_uncertainty(data: CompositeData, spec: CompositeSpec | None,
                        uncertainty: Uncertainty,
                        progress: Callable[[int, int], None] | None = None) -> UncertaintyResult:
    """Rebuild the index of ``data`` under the uncertainties declared, from ``spec``'s choices.

    ``progress(done, total)`` hears how many runs are done, batch after batch.
    """
    nominal = build_composite(data, spec)
    model = _Model(data, nominal)
    factors = _factors(model, uncertainty)
    if not factors:
        raise CompositeError("nothing is uncertain: declare alternatives, weight noise or "
                             "sampling errors")
    if uncertainty.sensitivity and len(factors) < 2:
        raise CompositeError("sensitivity indices need at least two uncertain choices; "
                             "add one or set sensitivity=False")
    n = uncertainty.draws
    samples = _draw_samples(factors, n, uncertainty.seed)
    designs = [(0,) * len(factors)]  # A
    if uncertainty.sensitivity:
        designs.append((1,) * len(factors))  # B
        designs += [tuple(int(j == i) for j in range(len(factors))) for i in range(len(factors))]
    units = nominal.values.index
    nominal_ranks = nominal.ranks.to_numpy(dtype=float)
    independent = min(len(designs), 2)  # A and B: the runs rank intervals are taken from
    # Ranks are whole numbers below 2²⁴: float32 holds them (and NaN) exactly, at half the size.
    kept = np.empty((len(units), independent * n), dtype=np.float32)
    shifts = np.empty(len(designs) * n)
    runs, done = len(designs) * n, 0
    with ThreadPoolExecutor(max_workers=_workers()) as pool:  # numpy sorts without the GIL
        for rows, batch in _batches(samples, n):
            for d, design in enumerate(designs):
                run = functools.partial(model.run, factors, batch, design)
                scores = np.column_stack(list(pool.map(run, range(len(rows)))))
                ranks = rank_descending(scores)
                columns = d * n + rows
                if d < independent:
                    kept[:, columns] = ranks
                if uncertainty.sensitivity:
                    shifts[columns] = np.nanmean(np.abs(ranks - nominal_ranks[:, None]), axis=0)
                done += len(rows)
                if progress is not None:
                    progress(done, runs)
    stats = _rank_quantiles(kept)
    table = pd.DataFrame({"rank": nominal.ranks.to_numpy(), "median_rank": stats[1],
                          "rank_p05": stats[0], "rank_p95": stats[2]}, index=units)
    sensitivity = None
    if uncertainty.sensitivity:
        sensitivity = _indices(shifts, n, [f.name for f in factors])
    log = LogEntry(step="uncertainty", choice=uncertainty.model_dump(mode="json"),
                   effect={"runs": runs, "factors": [f.name for f in factors]})
    return UncertaintyResult(nominal, table, sensitivity, runs, log)


# At most this many numbers drawn at once for one sample: 35,000 communes × 15 survey values ×
# 500 draws would otherwise hold gigabytes of draws before the first run.
_BATCH_NUMBERS = 2_000_000
# Rank quantiles are taken over this many units at a time (a float64 copy of their ranks).
_QUANTILE_UNITS = 4_096


class _Sample:
    """N draws of one factor (sample A or B), either held whole or redrawn batch by batch.

    A large sample keeps only the generator's state at its start: its rows are drawn again,
    in order, when the runs reach them. A Generator fills an (n, k) array of normals or
    uniforms row after row, so drawing rows in batches from that state gives the very
    numbers one draw of the whole array would.
    """

    def __init__(self, factor: _Factor, rng: np.random.Generator, n: int) -> None:
        self.factor = factor
        self.width = factor.numbers
        self.whole: np.ndarray | None = None
        self.state: dict | None = None
        if factor.batched and self.width * n > _BATCH_NUMBERS:
            self.state = copy.deepcopy(rng.bit_generator.state)
            for start in range(0, n, self.rows_per_batch()):  # move the stream past it
                factor.draw(rng, min(self.rows_per_batch(), n - start))
        else:
            self.whole = factor.draw(rng, n)

    def rows_per_batch(self) -> int:
        return max(1, _BATCH_NUMBERS // max(self.width, 1))

    def reader(self) -> Callable[[int, int], np.ndarray]:
        """A function giving rows ``start:stop`` of the sample, called in increasing order."""
        if self.whole is not None:
            whole = self.whole
            return lambda start, stop: whole[start:stop]
        rng = np.random.default_rng()
        rng.bit_generator.state = self.state
        return lambda start, stop: self.factor.draw(rng, stop - start)


def _workers() -> int:
    """Runs computed at once: one per processor this process may use."""
    return max(1, len(os.sched_getaffinity(0)))


def _draw_samples(factors: Sequence[_Factor], n: int, seed: int) -> list[tuple[_Sample, _Sample]]:
    """Samples A and B of every factor, from one seeded stream in a fixed order."""
    rng = np.random.default_rng(seed)
    return [(_Sample(f, rng, n), _Sample(f, rng, n)) for f in factors]


def _batches(samples: Sequence[tuple[_Sample, _Sample]], n: int
             ) -> Iterator[tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]]:
    """Rows of the runs in consecutive batches, with every factor's A and B rows for them."""
    size = min([n, *(s.rows_per_batch() for pair in samples for s in pair)])
    readers = [(a.reader(), b.reader()) for a, b in samples]
    for start in range(0, n, size):
        stop = min(start + size, n)
        yield (np.arange(start, stop),
               [(a(start, stop), b(start, stop)) for a, b in readers])


def _rank_quantiles(ranks: np.ndarray) -> np.ndarray:
    """5th, 50th and 95th percentiles of each unit's ranks (rows), a block of units at a time."""
    stats = np.empty((3, ranks.shape[0]))
    for start in range(0, ranks.shape[0], _QUANTILE_UNITS):
        block = ranks[start:start + _QUANTILE_UNITS].astype(float)
        stats[:, start:start + _QUANTILE_UNITS] = np.nanquantile(block, [0.05, 0.5, 0.95], axis=1)
    return stats


def _indices(y: np.ndarray, n: int, names: Sequence[str]) -> pd.DataFrame:
    """Saltelli (2010) first-order and total-effect estimators, as COINr ``SA_estimate``."""
    y_a, y_b = y[:n], y[n:2 * n]
    variance = np.var(np.concatenate([y_a, y_b]), ddof=1)
    rows = []
    for i, name in enumerate(names):
        y_ab = y[(2 + i) * n:(3 + i) * n]
        if variance > 0:
            first = float(np.mean(y_b * (y_ab - y_a)) / variance)
            total = float(np.sum((y_a - y_ab) ** 2) / (2 * n * variance))
        else:
            first = total = float("nan")
        rows.append({"choice": name, "first_order_index": first, "total_order_index": total})
    return pd.DataFrame(rows)


class _Model:
    """The nominal build compiled for fast re-runs: arrays, plan, resolved choices."""

    def __init__(self, data: CompositeData, nominal: CompositeResult) -> None:
        self.data = data
        self.nominal = nominal
        self.hierarchy = nominal.hierarchy
        self.prepared = nominal.prepared
        self.base = nominal.prepared.to_numpy(dtype=float)
        self.directions = np.array(self.hierarchy.directions(), dtype=float)
        self.plan = compile_plan(self.hierarchy)
        self.weights = self.plan.weights(self.hierarchy.weights())
        self.units = [str(u) for u in self.prepared.index]
        self._impute_inputs: dict = {}

    def defaults(self) -> dict:
        spec = self.nominal.spec
        return {"values": self.base, "impute": spec.impute, "normalise": spec.normalise,
                "aggregate": spec.aggregate, "weights": self.weights}

    def impute_inputs(self, spec):
        key = spec.model_dump_json()
        if key not in self._impute_inputs:
            self._impute_inputs[key] = impute_inputs(self.prepared, self.data, spec)
        return self._impute_inputs[key]

    def run(self, factors: Sequence[_Factor], samples, design: tuple[int, ...],
            row: int) -> np.ndarray:
        """The index scores of one run: each factor's value from sample A or B, row ``row``."""
        run = self.defaults()
        for factor, (a, b), which in zip(factors, samples, design, strict=True):
            factor.apply(run, (b if which else a)[row])
        try:
            values, _ = impute_array(run["values"], run["impute"],
                                     *self.impute_inputs(run["impute"]))
            if self.nominal.spec.treat is not None:
                values, _ = treat_array(values, self.nominal.spec.treat)
            normalised = normalise_array(values, self.directions, run["normalise"],
                                         self.hierarchy.indicators)
            scores = aggregate_array(normalised, self.plan, run["weights"], run["aggregate"],
                                     self.units)
        except CompositeError as error:
            raise CompositeError(f"a Monte Carlo run failed (normalise: "
                                 f"{run['normalise'].method}, aggregate: "
                                 f"{run['aggregate'].method}, impute: {run['impute'].method}): "
                                 f"{error}") from None
        return scores[:, -1]


def _factors(model: _Model, uncertainty: Uncertainty) -> list[_Factor]:
    factors = []
    for name in ("normalise", "aggregate", "impute"):
        alternatives = getattr(uncertainty, name)
        if name == "normalise":
            alternatives = tuple(resolve(a, model.hierarchy) for a in alternatives)
        if alternatives:
            factors.append(_choice(name, alternatives))
    if uncertainty.weight_noise > 0:
        factors.append(_weights(model, uncertainty))
    if uncertainty.sampling:
        factors.append(_sampling(model))
    return factors


def _choice(name: str, alternatives: tuple) -> _Factor:
    def draw(rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.integers(0, len(alternatives), size=n)

    def apply(run: dict, value: np.ndarray) -> None:
        run[name] = alternatives[int(value)]

    return _Factor(name, draw, apply)


def _weights(model: _Model, uncertainty: Uncertainty) -> _Factor:
    levels = uncertainty.weight_levels
    moved = np.array([code != model.hierarchy.root and (
        levels is None or model.hierarchy.node(code).level in levels) for code in model.plan.codes])
    if not moved.any():
        raise CompositeError(f"no weight at levels {levels} to perturb")
    noise = uncertainty.weight_noise

    def draw(rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(-1.0, 1.0, size=(n, int(moved.sum())))

    def apply(run: dict, value: np.ndarray) -> None:
        weights = model.weights.copy()
        weights[moved] *= 1.0 + noise * value
        run["weights"] = weights

    return _Factor("weights", draw, apply, numbers=int(moved.sum()), batched=True)


def _sampling(model: _Model) -> _Factor:
    """Survey values redrawn: normal on their scale, or normal on the logit scale for shares.

    A percentage p with standard error s is drawn as logit⁻¹(logit(p) + z·s / (p (1 − p)))
    (delta method), which keeps it in 0–100 as its logit confidence interval does.
    """
    sampling = model.data.sampling
    if sampling is None:
        raise CompositeError("sampling uncertainty chosen but the data has no standard errors")
    codes = list(model.hierarchy.indicators)
    se = sampling.se.reindex(index=model.prepared.index, columns=codes).to_numpy(dtype=float)
    drawn = (se > 0) & ~np.isnan(model.base)
    denominated = next(e for e in model.nominal.log if e.step == "denominate").effect
    both = sorted(c for j, c in enumerate(codes) if drawn[:, j].any()
                  and c in denominated.get("denominated", {}))
    if both:
        raise CompositeError(f"{both} are denominated and have standard errors of the raw "
                             "value: give values and standard errors already denominated")
    if not drawn.any():
        raise CompositeError("sampling uncertainty chosen but no value has a standard error")
    logit = np.array([c in sampling.logit for c in codes])[None, :] & drawn
    share = model.base / 100.0
    if (logit & ~((share > 0) & (share < 1))).any():
        raise CompositeError("a percentage at 0 or 100 has a positive standard error: it cannot "
                             "be drawn on the logit scale")
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = np.where(logit, np.log(share / (1 - share)), model.base)
        spread = np.where(logit, se / 100.0 / (share * (1 - share)), se)
    rows, columns = np.nonzero(drawn)

    def draw(rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.standard_normal(size=(n, rows.size))

    def apply(run: dict, value: np.ndarray) -> None:
        values = model.base.copy()
        moved = centre[rows, columns] + spread[rows, columns] * value
        is_logit = logit[rows, columns]
        values[rows, columns] = np.where(is_logit, 100.0 / (1.0 + np.exp(-moved)), moved)
        run["values"] = values

    return _Factor("sampling", draw, apply, numbers=int(rows.size), batched=True)
