"""Design-based survey estimation in DuckDB SQL that agrees with R's ``survey`` package.

Means, totals, proportions and ratios, overall or by domain (``svyby``) and within a
subpopulation (``subset``), with Taylor-linearisation standard errors, design effects and
the confidence intervals of ``confint`` and ``svyciprop``. All row-level work is SQL, in
one scan of the rows (two for a design without clusters, see ``_survey_aggregate``); only
one small row per domain reaches Python, so 20 million rows and tens of thousands of
domains cost one group-by over the rows, not a Python loop.

The numbers are those of R's survey 4.1 (checked in tests/test_survey_against_r.py):

* degrees of freedom are ``degf()`` of the design after ``where`` (PSUs with nonzero
  weight minus strata) for means, totals and ratios, as ``confint(..., df=degf(design))``;
  proportions use ``degf()`` of each domain's own design, as ``svyby(..., svyciprop)`` does;
* ``deff`` is R's ``deff=TRUE``: the variance over that of simple random sampling without
  replacement from a population of size sum(weights), whether or not the design has fpc.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from indicators.survey.contrasts import Comparison, compare_domains
from indicators.survey.design import SurveyDesign, SurveyDesignError
from indicators.survey.intervals import EstimateCI, ProportionCI, check_method
from indicators.survey.results import Estimate, compile_query, prepare, run_linear, to_estimates

__all__ = [
    "Comparison",
    "Estimate",
    "SurveyDesign",
    "SurveyDesignError",
    "compare_domains",
    "survey_mean",
    "survey_proportion",
    "survey_query",
    "survey_ratio",
    "survey_total",
]


def survey_mean(
    con: duckdb.DuckDBPyConnection,
    design: SurveyDesign,
    variable: str,
    *,
    by: Sequence[str] = (),
    where: str | None = None,
    na_rm: bool = False,
    ci: EstimateCI = "normal",
    level: float = 0.95,
) -> list[Estimate]:
    """Weighted mean of a column, as ``svymean`` (within ``svyby`` when ``by`` is given)."""
    check_method(ci, False, level)
    res = run_linear(con, design, "mean", variable, None, by=by, where=where, na_rm=na_rm)
    return to_estimates(res, "mean", ci, level)


def survey_total(
    con: duckdb.DuckDBPyConnection,
    design: SurveyDesign,
    variable: str,
    *,
    by: Sequence[str] = (),
    where: str | None = None,
    na_rm: bool = False,
    ci: EstimateCI = "normal",
    level: float = 0.95,
) -> list[Estimate]:
    """Estimated population total of a column, as ``svytotal``."""
    check_method(ci, False, level)
    res = run_linear(con, design, "total", variable, None, by=by, where=where, na_rm=na_rm)
    return to_estimates(res, "total", ci, level)


def survey_proportion(
    con: duckdb.DuckDBPyConnection,
    design: SurveyDesign,
    condition: str,
    *,
    by: Sequence[str] = (),
    where: str | None = None,
    na_rm: bool = False,
    ci: ProportionCI = "logit",
    level: float = 0.95,
) -> list[Estimate]:
    """Proportion of the population where a SQL condition holds, as ``svyciprop``.

    ``condition`` is a DuckDB boolean expression; rows where it is NULL are missing.
    Intervals: ``logit``, ``beta`` (Korn-Graubard), ``mean``, ``xlogit``, ``asin`` as the
    svyciprop methods of those names, with the domain's degrees of freedom; ``normal`` is
    ``confint(svymean(...))``.
    """
    check_method(ci, True, level)
    res = run_linear(con, design, "proportion", condition, None, by=by, where=where, na_rm=na_rm)
    return to_estimates(res, "proportion", ci, level)


def survey_ratio(
    con: duckdb.DuckDBPyConnection,
    design: SurveyDesign,
    numerator: str,
    denominator: str,
    *,
    by: Sequence[str] = (),
    where: str | None = None,
    na_rm: bool = False,
    ci: EstimateCI = "normal",
    level: float = 0.95,
) -> list[Estimate]:
    """Ratio of two population totals, as ``svyratio`` (a row missing either is missing)."""
    check_method(ci, False, level)
    res = run_linear(con, design, "ratio", numerator, denominator, by=by, where=where, na_rm=na_rm)
    return to_estimates(res, "ratio", ci, level)


def survey_query(
    con: duckdb.DuckDBPyConnection,
    design: SurveyDesign,
    statistic: str,
    variable: str,
    denominator: str | None = None,
    *,
    by: Sequence[str] = (),
    where: str | None = None,
) -> str:
    """The SQL an estimate runs, without running it (as ibis's ``compile()``).

    ``statistic`` is ``mean``, ``total``, ``proportion`` or ``ratio``; the statement is the
    one ``survey_mean`` … ``survey_ratio`` execute with the same arguments.
    """
    prep = prepare(con, design, statistic, variable, denominator, by=by, where=where)
    return compile_query(prep)
