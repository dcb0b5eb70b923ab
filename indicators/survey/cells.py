"""The one pass over the rows: weighted sums per domain and sampling unit, and the design.

Every number the estimators need is a sum over rows within a (domain, sampling unit)
cell: the statistic's sums A = sum(w*y) and B = sum(w*x), the second moments for the
design effect, the row counts, and what the design checks read (invalid weights, NULL
strata or PSUs, fpc ranges). So the rows are scanned once, grouped by the domain keys
and the finest sampling unit, into ``_g``: with clusters one row per PSU (or second-stage
unit) and domain, typically tens of times smaller than the data. Rows outside ``where``
or outside every domain still appear, with NULL domain keys, so that the full design's
list of strata and PSUs (which R keeps when it subsets) comes from ``_g`` as well.

Everything else reads ``_g``: the per-stratum and per-PSU structure (``_P0``, ``_S0``,
``_S``, ``_P``), the checks, the domain totals and, because the linearised value of a
PSU is (A_pd - theta_d * B_pd) / B_d, the variance inputs too. Only a design without
clusters, whose units are the rows themselves, reads the rows a second time (see
``_survey_query``).
"""

from __future__ import annotations

from dataclasses import dataclass

from indicators.survey.design import DesignLayout

_NO_DOUBLE = "CAST(NULL AS DOUBLE)"
# Bits of ``in_flags`` (clustered designs with ``where``): rows within ``where``, and
# rows of nonzero weight within ``where``.
INSIDE, NONZERO_IN = 1, 2
_VALID_POSITIVE = "_w > 0 AND _w < 'inf'"
# Valid weights are finite and >= 0 (NaN compares above infinity; NULL is invalid too).
_INVALID = "(_w >= 0 AND _w < 'inf') IS NOT TRUE"


@dataclass(frozen=True)
class Linear:
    """What the aggregate sums: ``y`` over ``x`` (``x`` is 1.0 for totals and means).

    ``y`` and ``x`` are SQL expressions castable to DOUBLE; a NULL in either marks the
    row as missing for this statistic. ``binary`` says y is 0 or 1 (a proportion's
    condition), so that sum(w*y^2) is sum(w*y) and need not be summed over the rows.
    """

    kind: str
    y: str
    x: str = "1.0"
    binary: bool = False

    @property
    def ratio(self) -> bool:
        return self.kind == "ratio"

    @property
    def ok(self) -> str:
        """The row has the statistic's values (it counts in the estimate)."""
        return "_y IS NOT NULL AND _x IS NOT NULL" if self.ratio else "_y IS NOT NULL"

    @property
    def b(self) -> str:
        """Column of ``_g``/``_d`` holding B: with x = 1 it is the sum of weights."""
        return "b" if self.ratio else "ws"

    def sums(self) -> dict[str, str]:
        """Weighted sums over the rows with the statistic's values (``_v``: their weight).

        With x = 1 the x sums repeat others and are left out, as is sum(w*y^2) for 0/1 y.
        """
        sums = {"a": "_v * _y", "ws": "_v"}
        if not self.binary:
            sums["cyy"] = "_v * _y * _y"
        if self.ratio:
            sums |= {"b": "_v * _x", "cxy": "_v * _x * _y", "cxx": "_v * _x * _x"}
        return sums


def domain_keys(by: list[str]) -> list[str]:
    return [f"_d{i}" for i in range(max(1, len(by)))]


def unit_columns(layout: DesignLayout) -> list[str]:
    """Columns naming the finest sampling unit the variance needs."""
    cols = ["_h"]
    if layout.psu is not None:
        cols.append("_p")
    if layout.ssu is not None:
        cols.append("_s")
    return cols


def rows_cte(layout: DesignLayout, stat: Linear, by: list[str], where: str | None) -> str:
    """All rows of the source with standard column names: design, domain, filter, values.

    ``_in`` is the subpopulation filter (NULL counts as outside, as R's subset()); the
    design columns stay for every row because strata and PSU counts use the full design.
    """
    cols = layout.row_columns()
    cols += [f"{d} AS _d{i}" for i, d in enumerate(by or ["0"])]
    cols.append(f"coalesce(CAST({where} AS BOOLEAN), FALSE) AS _in" if where else "TRUE AS _in")
    cols.append(f"CAST({stat.y} AS DOUBLE) AS _y")
    cols.append(f"CAST({stat.x} AS DOUBLE) AS _x")
    inner = f"SELECT {', '.join(cols)} FROM {layout.relation}"
    # _v: the weight of a row with the statistic's values, NULL for a missing one, so
    # that plain sums skip missing rows (cheaper than FILTER clauses); NaN for an invalid
    # weight, whatever the values, so that the cell's sum of weights ``ws`` is NaN: the
    # flag the design checks read, at no extra aggregate (valid weights never sum to NaN).
    v = f"CASE WHEN {_INVALID} THEN CAST('NaN' AS DOUBLE) WHEN {stat.ok} THEN _w END"
    return f"SELECT *, {v} AS _v FROM ({inner})"


def _counts() -> list[str]:
    """Row counts of a cell: all rows, rows with the statistic's values, those of them
    with a nonzero weight, and all rows of nonzero weight.

    Plain counts of possibly-NULL values, without a CASE per row: ``_v`` is NULL exactly
    for the rows without the statistic's values. An invalid weight (NULL, negative, NaN,
    infinite) can blur the last two, but its cell's ``ws`` is NaN and the estimate stops
    on it before any count is read.
    """
    return [
        "count(*) AS n_all",
        "count(_v) AS n_ok",
        "count(nullif(_v, 0)) AS nnz_ok",
        "count(nullif(_w, 0)) AS nnz_all",
    ]


def aggregate_cte(
    layout: DesignLayout,
    stat: Linear,
    keys: list[str],
    where: str | None,
    only: str | None,
) -> str:
    """``_g``: one row per (domain, unit) cell of ``rows``; outside rows under NULL keys.

    ``only`` narrows the domains (a filter on the domain keys) without touching the
    design. Aggregates run on every row, so they are few: the sums (``ws`` NaN if the
    cell has invalid weights, then counted by kind for the message: see
    ``_survey_checks``) and the row counts (``_counts``).
    With ``where``, clustered designs note per cell whether it has rows within it (of
    nonzero weight), designs without clusters count the latter (their units are rows).
    """
    inside = " AND ".join(c for c in ("_in" if where else "", f"({only})" if only else "") if c)
    key_cols = [f"CASE WHEN {inside} THEN {k} END AS {k}" if inside else k for k in keys]
    aggs = [f"coalesce(sum({e}), 0) AS {n}" for n, e in stat.sums().items()]
    aggs += _counts()
    if stat.ratio:
        aggs += ["count(_y) AS n_y", "count(_x) AS n_x"]
    if where and layout.psu is not None:
        bits = f"CASE WHEN {_VALID_POSITIVE} THEN {INSIDE | NONZERO_IN} ELSE {INSIDE} END"
        aggs.append(f"bit_or(CASE WHEN _in THEN {bits} ELSE 0 END) AS in_flags")
    elif where:
        aggs.append(f"count_if(_in AND {_VALID_POSITIVE}) AS nnz_in")
    if layout.fpc1 is not None:
        aggs += ["count(_f1) AS n_f1", "min(_f1) AS lo1", "max(_f1) AS hi1"]
    if layout.second_stage:
        aggs += ["count(_f2) AS n_f2", "min(_f2) AS lo2", "max(_f2) AS hi2"]
    cols = ", ".join(key_cols + unit_columns(layout) + aggs)
    return f"SELECT {cols} FROM respondents GROUP BY ALL"


def weighted_cte(layout: DesignLayout, stat: Linear) -> tuple[str, str] | None:
    """``_gw``: ``_g`` with the weights implied by the fpc, when the design has no weights.

    The implied weight is constant within a stratum (one stage) or a PSU (two stages), so
    the cell sums, all linear in the weight, are scaled after the grouping.
    """
    if not layout.implied_weights:
        return None
    relation, keys, factor = implied_factor(layout)
    scaled = ", ".join(f"psu_totals.{n} * {relation}.{factor} AS {n}" for n in stat.sums())
    return "psu_totals_weighted", (f"SELECT psu_totals.* REPLACE ({scaled}) FROM psu_totals "
                                   f"JOIN {relation} USING ({keys})")


def implied_factor(layout: DesignLayout) -> tuple[str, str, str]:
    """Relation, join keys and column of the fpc-implied weight factor of a row."""
    if layout.second_stage:
        return "psus", "_h, _p", "g"
    return "strata", "_h", "g1"


def structure_ctes(layout: DesignLayout, where: bool) -> list[tuple[str, str]]:
    """CTEs ``_S`` (per stratum) and, for two stages, ``_P`` (per PSU), read from ``_g``.

    Counts come from the full design, never from a domain: R keeps the design's
    ``fpc$sampsize`` when it subsets, so PSUs without domain rows count as zeros.
    ``f1``/``f2`` are the finite population corrections (N - n)/N (1 without fpc),
    ``fr1`` the first-stage sampling fraction n/N, ``g1``/``g`` the implied weights.
    ``_S0``/``_P0`` keep the raw sizes, fpc ranges and nonzero-weight counts (``nz``,
    and ``nz_in`` within ``where``, for degf()) that the design checks read.
    """
    ctes: list[tuple[str, str]] = []
    fpc1 = ("min(lo1)", "max(hi1)") if layout.fpc1 is not None else (_NO_DOUBLE, _NO_DOUBLE)
    fpc2 = ("min(lo2)", "max(hi2)") if layout.second_stage else (_NO_DOUBLE, _NO_DOUBLE)
    if layout.psu is not None:
        n2 = "count(DISTINCT _s)" if layout.second_stage else "1"
        inside = f"bit_or(in_flags) & {NONZERO_IN} > 0" if where else "sum(nnz_all) > 0"
        ctes.append(
            (
                "psu_counts",
                f"SELECT _h, _p, {n2} AS n2, {fpc1[0]} AS lo1, {fpc1[1]} AS hi1, "
                f"{fpc2[0]} AS lo2, {fpc2[1]} AS hi2, sum(nnz_all) > 0 AS nz, "
                f"{inside} AS nz_in FROM psu_totals GROUP BY _h, _p",
            )
        )
        counted = (
            "SELECT _h, count(*) AS n_h, min(lo1) AS lo1, max(hi1) AS hi1, "
            "count_if(nz) AS nz, count_if(nz_in) AS nz_in FROM psu_counts"
        )
    else:
        nz_in = "nnz_in" if where else "nnz_all"
        counted = (
            f"SELECT _h, sum(n_all) AS n_h, {fpc1[0]} AS lo1, {fpc1[1]} AS hi1, "
            f"sum(nnz_all) AS nz, sum({nz_in}) AS nz_in FROM psu_totals"
        )
    ctes.append(("stratum_counts", f"{counted} GROUP BY _h"))
    if layout.fpc1 is not None and layout.fpc_is_fraction is None:
        # R's as.fpc: all fpc values <= 1 are sampling fractions, else population sizes.
        stage2 = (" AND coalesce((SELECT max(hi2) FROM psu_counts), 0) <= 1"
                  if layout.second_stage else "")
        ctes.append(("fpc_kind",
                     f"SELECT (SELECT max(hi1) FROM stratum_counts) <= 1{stage2} AS frac"))
    if layout.fpc1 is not None:
        pop1 = _population(layout, "n_h", "hi1")
        per_stratum = (
            "SELECT _h, n_h, (pop1 - n_h) / pop1 AS f1, n_h / pop1 AS fr1, pop1 / n_h AS g1 "
            f"FROM (SELECT _h, CAST(n_h AS DOUBLE) AS n_h, CAST({pop1} AS DOUBLE) AS pop1 "
            "FROM stratum_counts)"
        )
    else:
        per_stratum = (
            "SELECT _h, CAST(n_h AS DOUBLE) AS n_h, 1.0 AS f1, "
            "CAST(NULL AS DOUBLE) AS fr1, 1.0 AS g1 FROM stratum_counts"
        )
    ctes.append(("strata", per_stratum))
    if layout.second_stage:
        pop2 = _population(layout, "n2", "hi2")
        ctes.append(
            (
                "psus",
                "SELECT _h, _p, n_h, f1, fr1, n2, (pop2 - n2) / pop2 AS f2, g1 * pop2 / n2 AS g "
                "FROM (SELECT _h, _p, CAST(n2 AS DOUBLE) AS n2, "
                f"CAST({pop2} AS DOUBLE) AS pop2 FROM psu_counts) JOIN strata USING (_h)",
            )
        )
    return ctes


def _population(layout: DesignLayout, n: str, fpc: str) -> str:
    """Population size from an fpc column: itself, or n / fraction (R's as.fpc)."""
    if layout.fpc_is_fraction is None:
        return f"CASE WHEN (SELECT frac FROM fpc_kind) THEN {n} / {fpc} ELSE {fpc} END"
    return f"{n} / {fpc}" if layout.fpc_is_fraction else fpc
