"""Taylor-linearisation variance of many domains at once, as DuckDB CTEs.

Reproduces R's ``survey:::svyrecvar`` (``multistage`` / ``onestage`` / ``onestrat``) for
designs without calibration: with-replacement variance between PSUs within strata, with
the finite population correction, and, for two-stage designs with fpc at both stages, the
within-PSU variance between second-stage units scaled by the first-stage sampling fraction.

The input is a relation ``Z`` with one row per sampling unit of each group (a domain, or
a contrast): its linearised total ``z``, ``present`` (the unit has rows that R's subset
design keeps) and ``nz`` (the unit has a row of nonzero weight, for ``degf()``). Units
absent from ``Z`` count as zeros against the full design's PSU counts (``_S``, ``_P``),
but only present ones count as present strata for ``lonely_psu="average"`` and ``"fail"``.

Each stratum's sum of squares about the mean over all n_h PSUs, zeros included, comes from
one pass: ``var_pop`` (Welford, no cancellation) over the m present totals plus the exact
between-part terms m (zbar_m - zbar)^2 + (n_h - m) zbar^2. Design columns are joined on
the per-stratum (and per-PSU) aggregates, which are far smaller than the units.
"""

from __future__ import annotations

from dataclasses import dataclass

from indicators.survey.design import CERTAINTY_TOLERANCE, DesignLayout

_TOL = repr(CERTAINTY_TOLERANCE)
_NAN = "CAST('NaN' AS DOUBLE)"


@dataclass(frozen=True)
class VarianceSQL:
    """CTEs to append after the ``Z`` CTE, and the relation they end in.

    The final relation has the group keys and columns ``var`` (NaN where R gives NaN),
    ``df`` (R's ``degf()`` of the group's design), ``lonely1`` (a single-PSU stratum
    present in the group) and ``lonely2`` (a PSU with a single second-stage unit), the
    last two for ``lonely_psu="fail"`` to report.
    """

    ctes: list[tuple[str, str]]
    relation: str


def variance_ctes(layout: DesignLayout, z: str, keys: list[str],
                  prefix: str = "variance", stratum_totals: str | None = None) -> VarianceSQL:
    """Build the variance CTEs for relation ``z`` with group columns ``keys``.

    ``stratum_totals`` (one-stage designs only) replaces the per-stratum totals of the
    units of ``z`` by a relation that already has them: the group keys, ``_h``, ``zt``,
    ``m``, ``q``, ``psus_nz``, ``v2`` and ``lonely2`` (see ``indicators.survey.residuals``).
    """
    k = ", ".join(keys)
    ctes: list[tuple[str, str]] = []
    psu_level = z
    extra = "0.0 AS v2, CAST(NULL AS VARCHAR) AS lonely2"
    if layout.second_stage:
        # Stage 2, within each PSU: its second-stage units are the "PSUs" of one stratum.
        psu_level = f"{prefix}_by_psu"
        stage2 = _stratum_variance(layout.lonely, "psus.f2", "psus.n2", stage=2)
        ctes.append(
            (
                psu_level,
                f"SELECT {_cols('_a', keys)}, _a._h, _a._p, _a.zt AS z, _a.present, _a.nz, "
                f"CASE WHEN _a.m > 0 THEN psus.fr1 * {stage2} ELSE 0.0 END AS v2, "
                f"CASE WHEN _a.m > 0 AND psus.f2 >= {_TOL} "
                f"AND psus.n2 = 1 THEN CAST(_a._p AS VARCHAR) END AS lonely2 "
                f"FROM ({_unit_totals(z, k, '_h, _p')}) AS _a JOIN psus USING (_h, _p)",
            )
        )
        extra = "sum(v2) AS v2, min(lonely2) AS lonely2"
    stratum, out = f"{prefix}_by_stratum", prefix
    stratum_totals_sql = (f"SELECT * FROM {stratum_totals}" if stratum_totals is not None
                          else _unit_totals(psu_level, k, '_h', extra))
    stage1 = _stratum_variance(layout.lonely, "strata.f1", "strata.n_h", stage=1)
    ctes.append(
        (
            stratum,
            f"SELECT {_cols('_a', keys)}, _a._h, _a.m, _a.psus_nz, _a.v2, _a.lonely2, "
            f"CASE WHEN _a.m > 0 THEN {stage1} END AS vh, "
            f"CASE WHEN _a.m > 0 AND strata.f1 >= {_TOL} AND strata.n_h = 1 "
            f"THEN CAST(_a._h AS VARCHAR) END AS lonely1 "
            f"FROM ({stratum_totals_sql}) AS _a JOIN strata USING (_h)",
        )
    )
    # onestage(): strata with NA variance ("average") are dropped and the rest scaled up
    # by nstrat/nokstrat, nstrat counting the strata present in the group.
    present = "count(*) FILTER (m > 0)"
    ok = "count(vh) FILTER (m > 0)"
    ctes.append(
        (
            out,
            f"SELECT {k}, CASE WHEN {ok} = {present} THEN coalesce(sum(vh), 0) "
            f"WHEN {ok} = 0 THEN {_NAN} ELSE sum(vh) * {present} / {ok} END "
            f"+ sum(v2) AS var, "
            f"sum(psus_nz) - count(*) FILTER (psus_nz > 0) AS df, "
            f"min(lonely1) AS lonely1, min(lonely2) AS lonely2 "
            f"FROM {stratum} GROUP BY ALL",
        )
    )
    return VarianceSQL(ctes, out)


def _unit_totals(relation: str, k: str, group: str, extra: str = "") -> str:
    """Totals of one level's units: sum, count and spread of the present ones."""
    extra = f", {extra}" if extra else ""
    # count_if and NULLs (CASE) rather than FILTER clauses: cheaper per unit, same result.
    return (
        f"SELECT {k}, {group}, sum(z) AS zt, count_if(present) AS m, "
        f"coalesce(var_pop(CASE WHEN present THEN z END), 0) * count_if(present) AS q, "
        f"bool_or(present) AS present, bool_or(nz) AS nz, "
        f"count_if(nz) AS psus_nz{extra} "
        f"FROM {relation} GROUP BY {k}, {group}"
    )


def _cols(relation: str, keys: list[str]) -> str:
    return ", ".join(f"{relation}.{c}" for c in keys)


def _stratum_variance(lonely: str, f: str, n: str, stage: int) -> str:
    """SQL for one stratum's variance, R's onestrat() after its rowsum() of unit totals.

    Reads ``_a.zt`` (total of the units), ``_a.m`` (present units) and ``_a.q`` (their sum
    of squares about their own mean); the sum of squares about the mean zt/n of all n
    units, the n - m absent ones being zeros, adds m (zt/m - zt/n)^2 + (n - m) (zt/n)^2.
    A census stratum (f ~ 0) contributes nothing before any lonely-PSU rule applies; a
    single-PSU stratum follows ``lonely_psu``: "adjust" keeps the uncentred square
    (centring at the grand mean, zero for linearised means), "certainty" and "remove"
    contribute zero, "average" is NULL (scaled out at stage 1; NaN at stage 2, where R
    divides 0 by 0).
    """
    ss = f"(_a.q + _a.m * pow(_a.zt / _a.m - _a.zt / {n}, 2) + ({n} - _a.m) * pow(_a.zt / {n}, 2))"
    centred = f"{f} * {n} / ({n} - 1) * {ss}"
    single = {
        "adjust": f"{f} * pow(_a.zt, 2)",
        "certainty": "0.0",
        "remove": "0.0",
        "average": "CAST(NULL AS DOUBLE)" if stage == 1 else _NAN,
        "fail": "0.0",
    }[lonely]
    return f"(CASE WHEN {f} < {_TOL} THEN 0.0 WHEN {n} > 1 THEN {centred} ELSE {single} END)"
