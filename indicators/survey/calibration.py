"""Calibration of survey weights to population margins, as R's ``survey::calibrate``.

The weights of a design are adjusted so that the weighted counts of each category of the
calibration variables (sex, age group, ...; one or several crossed per margin) equal the
population's, separately within each group (a territory and year, say) that has its own
population. ``calfun`` is R's: ``linear`` (the GREG estimator, optionally with ``bounds``
on g = calibrated / design weight) or ``raking``; the iterations, the convergence
criterion (``epsilon``, ``maxit``) and the model matrix (an intercept and treatment
contrasts per margin, within each group) are ``grake``'s, so that the weights agree with
R's to rounding.

Every row of a cell (one combination of the group and calibration variables) has the same
model-matrix row, hence the same factor g: the rows are read once, into the cells (a
temporary table); each iteration is then one query over the cells, and only each group's
small system (its totals and K x K matrix) comes back to Python. The calibrated design
returned reads the original source joined to the cells' factors, and carries what its
variance needs (``CalibrationTables``): R's residuals on the calibration variables
(see ``indicators.survey.residuals``). Its tables live on the connection given.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import duckdb
import numpy as np
import pyarrow as pa

from indicators.sql import quote_ident
from indicators.survey.design import (
    CalibrationTables,
    SurveyDesign,
    SurveyDesignError,
    column_sql,
    resolve,
    resolve_source,
)

CalFun = Literal["linear", "raking"]
WEIGHT_COLUMN = "_cal_weight"
CELL_COLUMN = "_cal_cell"
# grake(): weights are first scaled to the population when every ratio exceeds this.
_RESCALE_THRESHOLD = 20
# MASS::ginv's tolerance, which grake uses to solve its systems.
_GINV_TOL = 256 * np.finfo(float).eps


class CalibrationError(SurveyDesignError):
    """Margins that cannot calibrate the design: the message names margin and category."""


@dataclass(frozen=True)
class Margin:
    """Population totals of one margin: a categorical variable, or several crossed.

    ``population`` is a table or SELECT query with the group columns (``by`` of
    ``calibrate``), the ``variables`` and a ``total`` column; rows repeating a category
    are summed, so the full population table (by sex and age) serves every margin.
    """

    variables: tuple[str, ...]
    population: str
    total: str = "total"

    def __post_init__(self) -> None:
        if isinstance(self.variables, str):
            object.__setattr__(self, "variables", (self.variables,))
        object.__setattr__(self, "variables", tuple(self.variables))
        if not self.variables:
            raise CalibrationError("a margin needs at least one variable")

    @property
    def name(self) -> str:
        return " x ".join(self.variables)


@dataclass(frozen=True)
class _Column:
    """One model-matrix column: its group, margin (-1: the intercept) and category."""

    group: tuple[object, ...]
    margin: int
    category: tuple[object, ...]


def calibrate(
    con: duckdb.DuckDBPyConnection,
    design: SurveyDesign,
    margins: Sequence[Margin],
    *,
    by: Sequence[str] = (),
    calfun: CalFun = "linear",
    bounds: tuple[float, float] | None = None,
    epsilon: float = 1e-7,
    maxit: int = 50,
    once: str | None = None,
) -> SurveyDesign:
    """The design with weights calibrated to ``margins`` within each ``by`` group.

    ``once`` names a boolean column for a source that repeats its respondents (a pooled
    design with one copy per territory level): true on one copy of each. Only those count
    in the calibration and in the variance's unit totals; every copy gets its weight.

    As ``calibrate(design, ~m1 + m2, population, calfun=, bounds=, epsilon=, maxit=)``,
    ``by`` giving each group its own intercept and contrasts (its own population). A linear
    calibration without bounds is R's closed form (``regcalibrate``). Raises
    ``CalibrationError`` for a category without respondents, a category missing from the
    population, margins whose totals disagree, weights the calibration would make zero or
    negative, and when the iterations do not converge (naming the worst margin).
    """
    if calfun not in ("linear", "raking"):
        raise CalibrationError(f"calfun must be 'linear' or 'raking', got {calfun!r}")
    lo, hi = (-np.inf, np.inf) if bounds is None else (float(bounds[0]), float(bounds[1]))
    if not lo < 1 < hi:
        raise CalibrationError(f"bounds must surround 1 (lower < 1 < upper), got {bounds}")
    if not margins:
        raise CalibrationError("calibration needs at least one margin")
    if design.calibration is not None:
        raise CalibrationError("the design is already calibrated")
    if not design.weights:
        raise CalibrationError("calibration needs a design with a weights column")
    layout = resolve(con, design)
    if layout.psu is None:
        raise CalibrationError(
            "calibration needs the design's sampling units: without clusters, give a "
            "respondent identifier as psu (the same design as R's id = ~1)")
    for name in (WEIGHT_COLUMN, CELL_COLUMN):
        if name in layout.columns:
            raise CalibrationError(f"the source already has a column {name!r}")
    by = (by,) if isinstance(by, str) else tuple(by)
    variables = list(dict.fromkeys(v for m in margins for v in m.variables))
    if set(by) & set(variables):
        raise CalibrationError(f"a group column cannot be a calibration variable: {by}")
    keys = [*by, *variables]
    key_sql = [column_sql(layout.columns, c, "calibration") for c in keys]
    # Named after what they calibrate, so that the same calibration writes the same SQL
    # (a run and its audit compare the statements they ran); a repeat replaces them.
    tag = hashlib.sha256(repr((design, tuple(margins), by, calfun, bounds, epsilon, maxit,
                               once)).encode()).hexdigest()[:12]
    names = {n: f"_lci_calibration_{tag}_{n}" for n in ("cells", "terms", "inverse", "g")}
    cells = quote_ident(names["cells"])
    once_sql = column_sql(layout.columns, once, "once") if once else None
    _build_cells(con, layout.relation, layout.weight, keys, key_sql, cells, len(by), once_sql)
    model = _Model(con, cells, keys, by, margins, tag)
    model.write_terms(quote_ident(names["terms"]))
    system = _System(con, cells, quote_ident(names["terms"]), model, tag)
    if calfun == "linear" and bounds is None:
        eta, iterations = system.closed_form(), 0
        g_sql, params = "1 + _u", {}
    else:
        eta, iterations = system.iterate(calfun, lo, hi, epsilon, maxit)
        g_sql, params = f"({_fm1(calfun)} + 1) * c.scale", {"lo": lo, "hi": hi}
    g_table = quote_ident(names["g"])
    system.store_factors(g_table, eta, g_sql, params)
    _check_factors(con, g_table, keys)
    _write_table(con, quote_ident(names["inverse"]), system.inverse(), tag)
    joined = " AND ".join(f"_s.{k} = _k._b{i}" for i, k in enumerate(key_sql))
    source = (
        f"SELECT _s.*, CAST(_s.{layout.weight} AS DOUBLE) * _k.g AS "
        f"{quote_ident(WEIGHT_COLUMN)}, _k._c AS {quote_ident(CELL_COLUMN)} "
        f"FROM (SELECT * FROM {layout.relation}) AS _s JOIN {g_table} AS _k ON {joined}"
    )
    if once_sql:
        alone = con.execute(f"SELECT count(*) FROM (SELECT * FROM {layout.relation}) AS _s "
                            f"ANTI JOIN {g_table} AS _k ON {joined}").fetchall()[0][0]
        if alone:
            raise CalibrationError(f"{alone} rows are copies of no row where {once} holds: "
                                   f"their weights cannot be calibrated")
    tables = CalibrationTables(cells=names["g"], terms=names["terms"],
                               inverse=names["inverse"], cell_column=CELL_COLUMN,
                               iterations=iterations, once_column=once)
    return SurveyDesign(source=source, weights=WEIGHT_COLUMN, strata=design.strata,
                        psu=design.psu, fpc=design.fpc, lonely_psu=design.lonely_psu,
                        calibration=tables)


def _build_cells(con: duckdb.DuckDBPyConnection, relation: str, weight: str,
                 keys: list[str], key_sql: list[str], cells: str, n_by: int,
                 once: str | None) -> None:
    """The one scan of the rows: design weights summed per cell (``_b0``... the keys)."""
    counted = f" WHERE {once}" if once else ""
    w = f"CAST({weight} AS DOUBLE)"
    cols = ", ".join(f"{k} AS _b{i}" for i, k in enumerate(key_sql))
    group = ", ".join(f"_b{i}" for i in range(n_by))
    gi = f"dense_rank() OVER (ORDER BY {group}) - 1" if n_by else "0"
    order = ", ".join(f"_b{i}" for i in range(len(keys)))
    _run(con,
        f"CREATE OR REPLACE TEMP TABLE {cells} AS "
        f"SELECT row_number() OVER (ORDER BY {order}) AS _c, "
        f"{gi} AS _gi, *, 1.0 AS scale FROM (SELECT {cols}, sum({w}) AS d, count(*) AS n, "
        f"count_if(({w} >= 0 AND {w} < 'inf') IS NOT TRUE) AS bad "
        f"FROM {relation}{counted} GROUP BY ALL)"
    )
    nulls = ", ".join(f"coalesce(sum(n) FILTER (_b{i} IS NULL), 0)" for i in range(len(keys)))
    *missing, bad = con.execute(f"SELECT {nulls}, sum(bad) FROM {cells}").fetchall()[0]
    for name, count in zip(keys, missing, strict=True):
        if count:
            raise CalibrationError(
                f"calibration column {name!r} is NULL in {count} rows: every respondent "
                f"needs a category")
    if bad:
        raise CalibrationError(
            f"the design weights are missing, negative or not finite in {bad} rows")


def _describe(by: Sequence[str], group: Sequence[object]) -> str:
    return ", ".join(f"{b}={v!r}" for b, v in zip(by, group, strict=True)) or "the design"


class _Model:
    """The model matrix's columns: per group an intercept, then each margin's categories
    but its first (R's treatment contrasts), and the population total of each column.

    Checks the margins against the respondents on the way: a category of the population
    without respondents (R would fail to converge) or of the respondents missing from the
    population, and margins that disagree on a group's population, are errors.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, cells: str, keys: list[str],
                 by: tuple[str, ...], margins: Sequence[Margin], tag: str) -> None:
        self.con, self.cells, self.by, self.tag = con, cells, by, tag
        self.margins = list(margins)
        n_by = len(by)
        groups = con.sql(f"SELECT DISTINCT _gi, {', '.join(f'_b{i}' for i in range(n_by))} "
                         f"FROM {cells} ORDER BY _gi" if n_by else
                         "SELECT 0 AS _gi").fetchall()
        self.groups = [tuple(g[1:]) for g in groups]
        levels: list[list[list[tuple[tuple[object, ...], float]]]] = []
        self.level_types: list[list[pa.DataType]] = []
        for m in self.margins:
            found, types = self._levels(m, keys)
            levels.append(found)
            self.level_types.append(types)
        self.levels = levels  # [margin][group] -> [(category, total)], first = reference
        self.columns: list[_Column] = []
        self.population: list[float] = []
        self.start: list[int] = []
        for gi, group in enumerate(self.groups):
            self.start.append(len(self.columns))
            totals = [sum(t for _, t in levels[mi][gi]) for mi in range(len(self.margins))]
            for mi in range(1, len(self.margins)):
                if abs(totals[mi] - totals[0]) > 1e-6 * max(1.0, abs(totals[0])):
                    raise CalibrationError(
                        f"the margins disagree on the population of {_describe(by, group)}: "
                        f"{self.margins[0].name} sums to {totals[0]:.10g}, "
                        f"{self.margins[mi].name} to {totals[mi]:.10g}")
            self.columns.append(_Column(group, -1, ()))
            self.population.append(totals[0])
            for mi in range(len(self.margins)):
                for category, total in levels[mi][gi][1:]:
                    self.columns.append(_Column(group, mi, category))
                    self.population.append(total)
        self.start.append(len(self.columns))

    def _levels(self, margin: Margin, keys: list[str]
                ) -> tuple[list[list[tuple[tuple[object, ...], float]]], list[pa.DataType]]:
        """Each group's categories of ``margin`` in order, with their population totals."""
        n_by = len(self.by)
        relation, columns, _ = resolve_source(self.con, margin.population)
        role = f"population ({margin.name})"
        group_sql = [column_sql(columns, b, role) for b in self.by]
        var_sql = [column_sql(columns, v, role) for v in margin.variables]
        total = column_sql(columns, margin.total, role)
        g = [f"_b{i}" for i in range(n_by)]
        v = [f"_b{keys.index(name)}" for name in margin.variables]
        pop_cols = ", ".join([*(f"{s} AS {n}" for s, n in zip(group_sql, g, strict=True)),
                              *(f"{s} AS {n}" for s, n in zip(var_sql, v, strict=True))])
        groups = f"(SELECT DISTINCT _gi{''.join(', ' + c for c in g)} FROM {self.cells})"
        join = f"JOIN {groups} AS _g USING ({', '.join(g)})" if n_by else \
            "CROSS JOIN (SELECT 0 AS _gi)"
        on = ", ".join(["_gi", *v])
        table = self.con.sql(
            f"WITH pop AS (SELECT _gi, {', '.join(v)}, sum(total) AS total, "
            f"count(*) - count(total) AS null_total, "
            f"count_if(NOT (total >= 0 AND total < 'inf')) AS bad_total "
            f"FROM (SELECT {pop_cols}, CAST({total} AS DOUBLE) AS total FROM {relation}) "
            f"{join} GROUP BY ALL), "
            f"sam AS (SELECT _gi, {', '.join(v)}, sum(d) AS d, sum(n) AS n FROM {self.cells} "
            f"GROUP BY ALL) "
            f"SELECT * FROM sam FULL JOIN pop USING ({on}) ORDER BY {on}"
        ).to_arrow_table()
        types = [table.schema.field(c).type for c in v]
        found: list[list[tuple[tuple[object, ...], float]]] = [[] for _ in self.groups]
        for row in table.to_pylist():
            gi = row["_gi"]
            category = tuple(row[c] for c in v)
            where = (f"{margin.name}={category[0] if len(category) == 1 else category!r} in "
                     f"{_describe(self.by, self.groups[gi])}")
            if row["null_total"] or row["bad_total"]:
                raise CalibrationError(
                    f"the population's {margin.total!r} is missing, negative or not finite "
                    f"for {where}")
            if row["total"] is None:
                raise CalibrationError(
                    f"{row['n']} respondents are in {where}, a category the population of "
                    f"margin {margin.name!r} does not have")
            if row["n"] is None:
                if row["total"] == 0:
                    continue  # as R: a column empty in both the sample and the population
                raise CalibrationError(
                    f"no respondent is in {where}, whose population is {row['total']:.10g}: "
                    f"merge it with a neighbouring category or calibrate at a coarser level")
            if not row["d"] > 0:
                raise CalibrationError(f"the respondents in {where} all have weight 0")
            found[gi].append((category, row["total"]))
        return found, types

    def write_terms(self, terms: str) -> None:
        """``terms``: for each cell, the columns whose model-matrix entry is 1."""
        first = pa.table({"_gi": pa.array(range(len(self.groups)), pa.int64()),
                          "_k": pa.array(self.start[:-1], pa.int64())})
        parts = [f"SELECT c._c, i._k FROM {self.cells} AS c "
                 f"JOIN {quote_ident(self._view('_i'))} AS i USING (_gi)"]
        tables = {"_i": first}
        by_margin: dict[int, list[tuple[int, _Column]]] = {}
        for k, col in enumerate(self.columns):
            if col.margin >= 0:
                by_margin.setdefault(col.margin, []).append((k, col))
        for mi, cols in by_margin.items():
            margin = self.margins[mi]
            names = [f"_b{len(self.by) + self._variables().index(v)}" for v in margin.variables]
            data = {"_gi": pa.array([self.groups.index(c.group) for _, c in cols], pa.int64()),
                    "_k": pa.array([k for k, _ in cols], pa.int64())}
            for j, name in enumerate(names):
                data[name] = pa.array([c.category[j] for _, c in cols],
                                      self.level_types[mi][j])
            tables[f"_m{mi}"] = pa.table(data)
            on = " AND ".join(f"c.{n} = l.{n}" for n in ["_gi", *names])
            view = quote_ident(self._view(f"_m{mi}"))
            parts.append(f"SELECT c._c, l._k FROM {self.cells} AS c JOIN {view} AS l ON {on}")
        for name, table in tables.items():
            self.con.register(self._view(name), table)
        try:
            _run(self.con, f"CREATE OR REPLACE TEMP TABLE {terms} AS {' UNION ALL '.join(parts)}")
        finally:
            for name in tables:
                self.con.unregister(self._view(name))

    def _view(self, name: str) -> str:
        return f"_lci_calibration_{self.tag}{name}"

    def _variables(self) -> list[str]:
        return list(dict.fromkeys(v for m in self.margins for v in m.variables))

    def describe(self, k: int) -> str:
        col = self.columns[k]
        where = _describe(self.by, col.group)
        if col.margin < 0:
            return f"the total population of {where}"
        cat = col.category[0] if len(col.category) == 1 else col.category
        return f"margin {self.margins[col.margin].name!r}, category {cat!r} of {where}"


def _fm1(calfun: str) -> str:
    """R's ``calfun$Fm1(u, bounds)`` in SQL: g - 1 for the linear predictor ``_u``."""
    if calfun == "raking":
        return "least(greatest(exp(_u), $lo), $hi) - 1"
    return "least(greatest(_u + 1, $lo), $hi) - 1"


def _dfm1(calfun: str) -> str:
    """R's ``calfun$dF(u, bounds)``: the derivative, 0 where a bound holds g."""
    inside = "_u < $hi - 1 AND _u > $lo - 1"
    return f"CASE WHEN {inside} THEN {'exp(_u)' if calfun == 'raking' else '1.0'} ELSE 0.0 END"


class _System:
    """Each group's calibration system, summed over the cells by DuckDB.

    Columns are numbered ``_k`` over all groups; a group's columns are ``start[gi]`` to
    ``start[gi + 1]``, padded to the widest group for numpy's stacked solvers.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, cells: str, terms: str,
                 model: _Model, tag: str) -> None:
        self.con, self.cells, self.terms, self.model = con, cells, terms, model
        self.eta_view = f"_lci_calibration_{tag}_eta"
        starts = np.asarray(model.start)
        self.size = int(starts[-1])
        widths = np.diff(starts)
        self.width = int(widths.max())
        self.group = np.repeat(np.arange(len(widths)), widths)
        self.slot = np.arange(self.size) - starts[:-1][self.group]
        self.population = np.asarray(model.population, dtype=float)
        self.sample = self._sums(np.zeros(self.size), "linear", -np.inf, np.inf)[2]

    def _predictor(self) -> str:
        return (f"SELECT t._c, sum(e.eta) AS _u FROM {self.terms} AS t "
                f"JOIN {quote_ident(self.eta_view)} AS e USING (_k) GROUP BY t._c")

    def _register(self, eta: np.ndarray) -> None:
        self.con.register(self.eta_view, pa.table({"_k": pa.array(np.arange(self.size)),
                                                   "eta": pa.array(eta)}))

    def _sums(self, eta: np.ndarray, calfun: str, lo: float, hi: float, scaled: bool = False
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One query over the cells at ``eta``: sum(d F(u) x), sum(d F'(u) x x'), sum(d x)
        (d times its group's ``scale`` if ``scaled``), and per group whether every g and
        derivative is finite."""
        self._register(eta)
        d = "c.d * c.scale" if scaled else "c.d"
        try:
            rows = self.con.execute(
                f"WITH f AS (SELECT c._c, c._gi, {d} AS d, {_fm1(calfun)} AS fm1, "
                f"{_dfm1(calfun)} AS deriv FROM {self.cells} AS c "
                f"JOIN ({self._predictor()}) USING (_c)) "
                f"SELECT 0 AS kind, t1._k AS k, t2._k AS k2, sum(f.d * f.deriv) AS v "
                f"FROM {self.terms} AS t1 JOIN {self.terms} AS t2 USING (_c) JOIN f USING (_c) "
                f"GROUP BY ALL UNION ALL "
                f"SELECT 1, t._k, 0, sum(f.d * f.fm1) FROM {self.terms} AS t JOIN f USING (_c) "
                f"GROUP BY ALL UNION ALL "
                f"SELECT 2, t._k, 0, sum(f.d) FROM {self.terms} AS t JOIN f USING (_c) "
                f"GROUP BY ALL UNION ALL "
                f"SELECT 3, _gi, 0, CAST(bool_and(isfinite(fm1) AND isfinite(deriv)) AS DOUBLE) "
                f"FROM f GROUP BY _gi",
                {"lo": lo, "hi": hi},
            ).fetchnumpy()
        finally:
            self.con.unregister(self.eta_view)
        kind, k, k2, v = (rows[c] for c in ("kind", "k", "k2", "v"))
        matrix = np.zeros((len(self.model.groups), self.width, self.width))
        pick = kind == 0
        kk, kk2 = k[pick], k2[pick]
        matrix[self.group[kk], self.slot[kk], self.slot[kk2]] = v[pick]
        fit, total = np.zeros(self.size), np.zeros(self.size)
        fit[k[kind == 1]] = v[kind == 1]
        total[k[kind == 2]] = v[kind == 2]
        finite = np.ones(len(self.model.groups), dtype=bool)
        finite[k[kind == 3]] = v[kind == 3] == 1
        return fit, matrix, total, finite

    def _blocks(self, vector: np.ndarray) -> np.ndarray:
        out = np.zeros((len(self.model.groups), self.width))
        out[self.group, self.slot] = vector
        return out

    def _flat(self, blocks: np.ndarray) -> np.ndarray:
        return blocks[self.group, self.slot]

    def closed_form(self) -> np.ndarray:
        """R's regcalibrate: g = 1 + x' solve(sum d x x', population - sample totals)."""
        _, matrix, _, _ = self._sums(np.zeros(self.size), "linear", -np.inf, np.inf)
        padded = matrix + np.eye(self.width) * (self._blocks(np.ones(self.size)) == 0)[:, None]
        rhs = self._blocks(self.population - self.sample)
        return self._flat(np.linalg.solve(padded, rhs[..., None])[..., 0])

    def iterate(self, calfun: str, lo: float, hi: float, epsilon: float, maxit: int
                ) -> tuple[np.ndarray, int]:
        """R's grake(), step for step, for each group as if calibrated alone: Newton steps
        solved by a generalised inverse, step halving while a g is not finite, weights
        first scaled to the population when all its ratios exceed 20, convergence on
        |misfit| / (1 + |population|). A group stops when it has converged."""
        pop = self.population
        ratio = self._blocks(pop / self.sample)
        real = self._blocks(np.ones(self.size)) > 0
        low = np.where(real, ratio, np.inf).min(axis=1)
        mean = np.where(real, ratio, 0).sum(axis=1) / real.sum(axis=1)
        scale = np.where(low > _RESCALE_THRESHOLD, mean, 1.0)
        self._set_scales(scale)
        sample = self.sample * scale[self.group]
        eta = np.zeros(self.size)
        fit, matrix, _, _ = self._sums(eta, calfun, lo, hi, scaled=True)
        groups = len(self.model.groups)
        active = np.ones(groups, dtype=bool)
        iteration = np.ones(groups, dtype=int)
        while True:
            misfit = pop - sample - fit
            # MASS::ginv, which grake uses: numpy's pinv with the same relative cut-off.
            inverse = np.linalg.pinv(matrix, rcond=_GINV_TOL)
            step = np.einsum("gij,gj->gi", inverse, self._blocks(misfit)) * active[:, None]
            deta = self._flat(step)
            eta = eta + deta
            fit, matrix, _, finite = self._sums(eta, calfun, lo, hi, scaled=True)
            halve = active & ~finite & (iteration < maxit)
            while halve.any():
                iteration[halve] += 1
                deta = np.where(halve[self.group], deta / 2, deta)
                eta = eta - np.where(halve[self.group], deta, 0.0)
                fit, matrix, _, finite = self._sums(eta, calfun, lo, hi, scaled=True)
                halve = active & ~finite & (iteration < maxit)
            misfit = pop - sample - fit
            relative = np.abs(misfit) / (1 + np.abs(pop))
            worst = np.where(real, self._blocks(np.where(np.isnan(relative), np.inf, relative)),
                             0).max(axis=1)
            active &= ~(worst < epsilon)
            if not active.any():
                return eta, int(iteration.max())
            iteration[active] += 1
            if (iteration[active] > maxit).any():
                flat = np.where(active[self.group], np.nan_to_num(relative, nan=np.inf), -1.0)
                k = int(np.argmax(flat))
                raise CalibrationError(
                    f"the calibration did not converge in {maxit} iterations: "
                    f"{self.model.describe(k)} is still off by {misfit[k]:.6g} "
                    f"({relative[k]:.3g} of 1 + its population, epsilon {epsilon:g}); "
                    f"widen the bounds or merge small categories")

    def _set_scales(self, scale: np.ndarray) -> None:
        view = f"{self.eta_view}_scale"
        self.con.register(view, pa.table({"_gi": pa.array(np.arange(len(scale))),
                                          "scale": pa.array(scale)}))
        try:
            _run(self.con, f"UPDATE {self.cells} SET scale = s.scale FROM {quote_ident(view)} "
                           f"AS s WHERE {self.cells}._gi = s._gi")
        finally:
            self.con.unregister(view)

    def store_factors(self, table: str, eta: np.ndarray, g_sql: str,
                      params: dict[str, float]) -> None:
        """``table``: the cells with their calibration factor ``g``."""
        self._register(eta)
        try:
            _run(
                self.con,
                f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT c.*, {g_sql} AS g "
                f"FROM {self.cells} AS c "
                f"JOIN ({self._predictor()}) USING (_c)", params)
        finally:
            self.con.unregister(self.eta_view)

    def inverse(self) -> pa.Table:
        """(sum d x x')^-1 over the design weights, the projection R's qr.resid makes."""
        _, matrix, _, _ = self._sums(np.zeros(self.size), "linear", -np.inf, np.inf)
        inverse = np.linalg.pinv(matrix, rcond=_GINV_TOL)
        k, k2 = self._pairs()
        return pa.table({"_k": pa.array(k), "_k2": pa.array(k2),
                         "v": pa.array(inverse[self.group[k], self.slot[k], self.slot[k2]])})

    def _pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (k, k2) pair of columns of the same group, without the all-pairs square."""
        starts = np.asarray(self.model.start)
        widths = np.diff(starts)
        k = np.repeat(np.arange(self.size), widths[self.group])
        first = np.repeat(starts[:-1][self.group], widths[self.group])
        offset = np.arange(len(k)) - np.repeat(np.cumsum(widths[self.group]) -
                                               widths[self.group], widths[self.group])
        return k, first + offset


def _check_factors(con: duckdb.DuckDBPyConnection, table: str, keys: list[str]) -> None:
    """Calibrated weights must stay valid weights: positive and finite."""
    cols = ", ".join(f"_b{i}" for i in range(len(keys)))
    bad = con.execute(f"SELECT g, {cols}, count(*) OVER () FROM {table} "
                      f"WHERE NOT (g > 0 AND g < 'inf') ORDER BY g LIMIT 1").fetchall()
    if bad:
        bad = bad[0]
        cell = ", ".join(f"{k}={v!r}" for k, v in zip(keys, bad[1:-1], strict=True))
        raise CalibrationError(
            f"the calibration makes the weights of {bad[-1]} cells zero, negative or not "
            f"finite (g = {bad[0]:.6g} for {cell}); give bounds with a positive lower "
            f"bound, or calibrate by raking")


def _write_table(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table, tag: str) -> None:
    view = f"_lci_calibration_{tag}_upload"
    con.register(view, data)
    try:
        _run(con, f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {quote_ident(view)}")
    finally:
        con.unregister(view)


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, float] | None = None
         ) -> None:
    """Run a statement and read its (empty) result, leaving the connection free."""
    con.execute(sql, params).fetchall()
