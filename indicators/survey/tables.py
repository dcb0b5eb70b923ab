"""Estimates and comparisons as pandas tables: one row per domain, proportions in percent.

The estimators return ``Estimate`` tuples and ``Comparison`` objects, which code and tests
rely on; a notebook wants a table it can sort, plot and print. These functions build that
table from the estimators' own results, so a number in the table is the estimate itself
(scaled by 100 for ``percent=True``, nothing else).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import duckdb

from indicators.survey.contrasts import Comparison
from indicators.survey.design import SurveyDesign
from indicators.survey.estimators import (
    survey_mean,
    survey_proportion,
    survey_ratio,
    survey_total,
)
from indicators.survey.results import Estimate

if TYPE_CHECKING:
    import pandas as pd

ESTIMATE_COLUMNS = ("estimate", "se", "ci_low", "ci_high", "df", "n", "sum_weights", "deff",
                    "cv")
COMPARISON_COLUMNS = ("difference", "se", "ci_low", "ci_high", "test_statistic", "df",
                      "p_value", "significant", "first_estimate", "first_se",
                      "second_estimate", "second_se")
PERCENT = 100.0
# Scaled by percent=True: what is in the proportion's unit (cv, deff, df and n are not).
_SCALED = ("estimate", "se", "ci_low", "ci_high", "difference", "first_estimate", "first_se",
           "second_estimate", "second_se")


def estimates_table(estimates: Iterable[Estimate], *, percent: bool = False) -> pd.DataFrame:
    """One row per domain: the ``by`` columns, then estimate, se, interval, df, n, sum of
    weights, deff (NaN where R gives NA) and cv.

    ``percent=True`` gives a proportion's estimate, se and interval in percent. The
    statistic, interval method and level are in the table's ``attrs``.
    """
    import pandas as pd  # here, not at import: the estimators start without pandas

    estimates = list(estimates)
    _check_percent(estimates, percent)
    by = _by_columns(e.by for e in estimates)
    factor = PERCENT if percent else 1.0
    rows = [{**{b: e.by.get(b) for b in by},
             "estimate": factor * e.estimate, "se": factor * e.se,
             "ci_low": factor * e.ci_low, "ci_high": factor * e.ci_high, "df": e.df, "n": e.n,
             "sum_weights": e.sum_weights, "deff": _float(e.deff), "cv": e.cv}
            for e in estimates]
    table = pd.DataFrame(rows, columns=[*by, *ESTIMATE_COLUMNS])
    table = table.astype({c: "float64" for c in ESTIMATE_COLUMNS if c != "n"} | {"n": "int64"})
    table.attrs.update(_described(estimates, percent))
    return table


def comparisons_table(comparisons: Comparison | Iterable[Comparison], *,
                      percent: bool = False) -> pd.DataFrame:
    """One row per comparison: each domain's ``by`` values (``first_<col>``,
    ``second_<col>``), the difference with its se and interval, the test statistic, df,
    p-value, whether it is significant, and both domains' estimates and se.

    ``percent=True`` gives proportions and their difference in percent (points).
    """
    import pandas as pd  # here, not at import: the estimators start without pandas

    if isinstance(comparisons, Comparison):
        comparisons = [comparisons]
    comparisons = list(comparisons)
    _check_percent(comparisons, percent)
    by = _by_columns(e.by for c in comparisons for e in (c.first, c.second))
    keys = [f"{side}_{b}" for side in ("first", "second") for b in by]
    factor = PERCENT if percent else 1.0
    rows = []
    for c in comparisons:
        row: dict[str, object] = {f"{side}_{b}": getattr(c, side).by.get(b)
                                  for side in ("first", "second") for b in by}
        row |= {"difference": c.difference, "se": c.se, "ci_low": c.ci_low,
                "ci_high": c.ci_high, "test_statistic": c.test_statistic, "df": c.df,
                "p_value": c.p_value, "significant": c.significant,
                "first_estimate": c.first.estimate, "first_se": c.first.se,
                "second_estimate": c.second.estimate, "second_se": c.second.se}
        rows.append({k: factor * v if k in _SCALED else v for k, v in row.items()})
    table = pd.DataFrame(rows, columns=[*keys, *COMPARISON_COLUMNS])
    table = table.astype({c: "float64" for c in COMPARISON_COLUMNS if c != "significant"}
                         | {"significant": "bool"})
    table.attrs.update(_described(comparisons, percent))
    return table


def survey_table(con: duckdb.DuckDBPyConnection, design: SurveyDesign, statistic: str,
                 variable: str, denominator: str | None = None, *, percent: bool = False,
                 **options: object) -> pd.DataFrame:
    """An estimator's result as ``estimates_table``: ``statistic`` is ``mean``, ``total``,
    ``proportion`` (``variable`` is the condition) or ``ratio`` (with ``denominator``);
    ``options`` are the estimator's (``by``, ``where``, ``na_rm``, ``ci``, ``level``)."""
    if statistic == "ratio":
        if denominator is None:
            raise ValueError("a ratio needs a denominator column")
        estimates = survey_ratio(con, design, variable, denominator, **options)
    elif denominator is not None:
        raise ValueError(f"only a ratio has a denominator, not a {statistic}")
    else:
        estimators = {"mean": survey_mean, "total": survey_total,
                      "proportion": survey_proportion}
        if statistic not in estimators:
            raise ValueError(f"unknown statistic {statistic!r}: mean, total, proportion or ratio")
        estimates = estimators[statistic](con, design, variable, **options)
    return estimates_table(estimates, percent=percent)


def _check_percent(results: Sequence[Estimate | Comparison], percent: bool) -> None:
    """Percent is a proportion's unit; a mean or total in percent would be a wrong number."""
    if percent:
        other = sorted({r.statistic for r in results} - {"proportion"})
        if other:
            raise ValueError(f"percent=True scales proportions, not a {' or '.join(other)}")


def _by_columns(domains: Iterable[dict[str, object]]) -> list[str]:
    """The domain columns in the order the estimates give them."""
    seen: dict[str, None] = {}
    for by in domains:
        seen.update(dict.fromkeys(by))
    return list(seen)


def _float(value: float | None) -> float:
    return float("nan") if value is None else value


def _described(results: Sequence[Estimate | Comparison], percent: bool) -> dict[str, object]:
    """What every row shares: the statistic, interval method, level and unit."""
    def shared(name: str) -> object:
        values = {getattr(r, name) for r in results}
        return values.pop() if len(values) == 1 else None

    return {"statistic": shared("statistic"), "ci_method": shared("ci_method"),
            "level": shared("level"), "percent": percent}
