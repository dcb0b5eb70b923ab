"""Difference between two domains with its design-based standard error.

Domains of one design share PSUs, so their estimates are correlated; the difference's
variance is that of the difference of their linearised variables over the whole design,
which is what R gets from ``svycontrast(svyby(..., covmat=TRUE), c(a=1, b=-1))``. The
variance is computed from the rows in SQL: no domain's PSU totals are kept in Python.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import duckdb
import numpy as np
from scipy import stats

from indicators._survey_ci import EstimateCI, check_method, quantile
from indicators._survey_design import SurveyDesign, SurveyDesignError
from indicators._survey_estimate import (
    Estimate,
    Prepared,
    check_lonely,
    prepare,
    run_domains,
    to_estimates,
)
from indicators._survey_query import domain_keys, rows_cte, unit_columns, with_body
from indicators._survey_variance import variance_ctes

Statistic = Literal["mean", "total", "proportion", "ratio"]


@dataclass(frozen=True)
class Comparison:
    """first - second, with a z (``ci="normal"``) or t (``ci="t"``, design df) test.

    ``significant`` is ``p_value < 1 - level``; the interval is for the difference.
    """

    statistic: str
    first: Estimate
    second: Estimate
    difference: float
    se: float
    test_statistic: float
    df: float
    p_value: float
    significant: bool
    ci_low: float
    ci_high: float
    ci_method: str
    level: float


def compare_domains(
    con: duckdb.DuckDBPyConnection,
    design: SurveyDesign,
    statistic: Statistic,
    variable: str,
    *,
    by: Sequence[str],
    first: Mapping[str, object],
    second: Mapping[str, object],
    denominator: str | None = None,
    where: str | None = None,
    na_rm: bool = False,
    ci: EstimateCI = "normal",
    level: float = 0.95,
) -> Comparison:
    """Compare two domains of ``by``: ``first`` and ``second`` map each by column to a value.

    ``variable`` is the column (mean, total, ratio numerator) or the SQL condition
    (proportion). Both domains' own estimates come back as ``first`` and ``second``.
    """
    check_method(ci, False, level)
    by = (by,) if isinstance(by, str) else tuple(by)
    if not by:
        raise SurveyDesignError("compare_domains needs at least one by column")
    for name, dom in (("first", first), ("second", second)):
        if set(dom) != set(by):
            raise SurveyDesignError(f"{name} must give a value for each by column {by}, got {dom}")
        if any(dom[b] is None for b in by):
            raise SurveyDesignError(f"{name} names a NULL domain, which is never estimated")
    if all(first[b] == second[b] for b in by):
        raise SurveyDesignError("first and second name the same domain")
    prep = prepare(con, design, statistic, variable, denominator, by=by, where=where)
    keys = domain_keys(list(by))
    params = {f"first{i}": first[b] for i, b in enumerate(by)}
    params |= {f"second{i}": second[b] for i, b in enumerate(by)}
    match = {
        side: " AND ".join(f"{k} = ${side}{i}" for i, k in enumerate(keys))
        for side in ("first", "second")
    }
    res = run_domains(
        con, prep, na_rm=na_rm, only=(f"({match['first']}) OR ({match['second']})", params)
    )
    index = {tuple(b[c] for c in by): i for i, b in enumerate(res.by)}
    picked = []
    for dom in (first, second):
        i = index.get(tuple(dom[b] for b in by))
        if i is None:
            raise SurveyDesignError(f"domain {dict(dom)} has no rows with nonzero weight")
        picked.append(i)
    own_ci = ci if statistic != "proportion" else {"normal": "normal", "t": "mean"}[ci]
    estimates = to_estimates(res, statistic, own_ci, level)
    e1, e2 = (estimates[0], estimates[1]) if picked == [0, 1] else (estimates[1], estimates[0])
    theta = [float(res.estimate[i]) for i in picked]
    denom = [float(res.denominator[i]) for i in picked]
    sql = _difference_sql(replace(prep, layout=res.layout), match, theta, denom)
    try:
        var, lonely1, lonely2 = con.execute(sql, params).fetchall()[0]
    except duckdb.Error as exc:
        raise SurveyDesignError(f"cannot compare domains of {variable!r}: {exc}") from exc
    if design.lonely_psu == "fail":
        check_lonely([(lonely1, lonely2)])
    diff = theta[0] - theta[1]
    se = float(np.sqrt(var)) if var is not None else float("nan")
    df = float(res.df_design[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(np.divide(diff, se))
    if ci == "t":
        p = float(2 * stats.t.sf(abs(value), df)) if df > 0 else float("nan")
    else:
        p = float(2 * stats.norm.sf(abs(value)))
    q = float(quantile(level, df if ci == "t" else np.inf))
    return Comparison(
        statistic=statistic,
        first=e1,
        second=e2,
        difference=diff,
        se=se,
        test_statistic=value,
        df=df,
        p_value=p,
        significant=bool(p < 1 - level),
        ci_low=diff - q * se,
        ci_high=diff + q * se,
        ci_method=ci,
        level=level,
    )


def _difference_sql(
    prep: Prepared, match: dict[str, str], theta: list[float], denom: list[float]
) -> str:
    """Variance of the linearised difference over every unit of the (subset) design.

    As svyby(covmat=TRUE): each domain's influence is zero outside it, and the variance
    is taken over the whole design after ``where``, all of whose units are present.
    """
    layout, stat = prep.layout, prep.stat
    units = unit_columns(layout)
    ctes: list[tuple[str, str]] = [("rows", rows_cte(layout, stat, prep.by_sql, prep.where_sql))]
    ctes += layout.structure_ctes()
    dj = layout.unit_design()
    source, weight = "rows", "_w"
    if layout.implied_weights:
        source = f"rows JOIN {dj.relation} USING ({', '.join(dj.keys)})"
        weight = f"_w * {dj.relation}.{dj.weight_factor}"
    terms = []
    for sign, side, t, b in zip((1, -1), ("first", "second"), theta, denom, strict=True):
        if stat.kind == "total":
            t, b = 0.0, 1.0
        terms.append(
            f"WHEN ({match[side]}) AND _y IS NOT NULL AND _x IS NOT NULL "
            f"THEN {sign} * {weight} * (_y - CAST({t!r} AS DOUBLE) * _x) / CAST({b!r} AS DOUBLE)"
        )
    zr = f"CASE {' '.join(terms)} ELSE 0.0 END"
    u = ", ".join(f"rows.{c}" for c in units)
    group = f" GROUP BY {u}" if layout.psu is not None else ""
    total = "sum(zr)" if layout.psu is not None else "zr"
    ctes.append(("_zr", f"SELECT {u}, {zr} AS zr FROM {source} WHERE _in"))
    ctes.append(
        (
            "_z",
            f"SELECT 0 AS _g, {', '.join(units)}, {total} AS z, TRUE AS present, TRUE AS nz "
            f"FROM _zr{group.replace('rows.', '')}",
        )
    )
    var = variance_ctes(layout, "_z", ["_g"])
    ctes += var.ctes
    body = with_body(ctes)
    return f"WITH {body}\nSELECT var, lonely1, lonely2 FROM {var.relation}"
