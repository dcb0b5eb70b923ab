"""Difference between two domains with its design-based standard error.

Domains of one design share PSUs, so their estimates are correlated; the difference's
variance is that of the difference of their linearised variables over the whole design,
which is what R gets from ``svycontrast(svyby(..., covmat=TRUE), c(a=1, b=-1))``. The
variance comes from the same query (and the same scan of the rows) as the two domains'
estimates: no domain's PSU totals are kept in Python.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import duckdb
import numpy as np
from scipy import stats

from indicators.survey.design import SurveyDesign, SurveyDesignError
from indicators.survey.intervals import EstimateCI, check_method, quantile
from indicators.survey.query import Contrast, domain_keys
from indicators.survey.results import Estimate, check_lonely, prepare, run_domains, to_estimates

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
        con,
        prep,
        na_rm=na_rm,
        only=(f"({match['first']}) OR ({match['second']})", params),
        contrast=Contrast(f"({match['first']})", f"({match['second']})"),
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
    var, lonely1, lonely2 = res.contrast
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
