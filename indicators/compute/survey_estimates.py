"""Survey-based means, totals and ratios for every territory, year and breakdown.

The same pooled design and domains as the proportions (``survey_proportion.design`` and
``breakdowns``): each territory is a domain of one design with its strata, PSUs and weights,
so the variance is the one R's ``svyby(..., svymean/svytotal/svyratio)`` gives, and the
interval is ``confint``'s (normal, 95 %). The catalogue's expressions are checked
(``indicators.conditions``) and added to the pooled rows as columns the engine estimates.

What a raw row's numerator and denominator hold, so that ``lci trace`` can add them up from
the respondents who answered (``counted``):

* ``survey_mean``: sum of weight × variable, and sum of weights (their quotient is the mean);
* ``survey_total``: the estimated total (sum of weight × variable), and the estimated size of
  the population it is taken over (sum of weights);
* ``survey_ratio``: the two estimated totals, sum of weight × numerator and sum of weight ×
  denominator, over the respondents with both.

The published value, standard error and interval are ``scale`` × the engine's; numerator and
denominator are not scaled.
"""

from __future__ import annotations

import dataclasses
import math
import re

import duckdb
import numpy as np
import pyarrow as pa

from indicators.catalogue.definitions import (
    CatalogueError,
    Indicator,
    SurveyMean,
    SurveyRatio,
    SurveyTotal,
)
from indicators.compute import survey_pairs
from indicators.compute.calibration import calibrated_design
from indicators.compute.options import ComputeOptions
from indicators.compute.plan import IndicatorPlan, Statement
from indicators.compute.publication import add_design_rows
from indicators.compute.survey_proportion import (
    DESIGN_FIELDS,
    RAW_FIELDS,
    breakdown_filter,
    breakdowns,
    design,
)
from indicators.conditions import ConditionError, check_expression
from indicators.sql import quote_ident
from indicators.survey import SurveyDesign, survey_query, survey_total
from indicators.survey.results import DomainResult, prepare, run_domains, to_estimates
from indicators.territories import member_in_year

SurveyEstimate = SurveyMean | SurveyTotal | SurveyRatio
STATISTICS = {"survey_mean": "mean", "survey_total": "total", "survey_ratio": "ratio"}
CI, LEVEL = "normal", 0.95  # R's confint() of svymean, svytotal and svyratio
# The engine's columns for the checked expressions, added to the pooled rows.
ESTIMATED = {"variable": "_variable", "numerator": "_numerator", "denominator": "_denominator"}
_NUMBER_TYPES = re.compile(r"^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|FLOAT|DOUBLE|REAL|DECIMAL.*|"
                           r"BOOLEAN)$", re.IGNORECASE)


def _spec(indicator: Indicator) -> SurveyEstimate:
    spec = indicator.computation
    assert isinstance(spec, SurveyEstimate)
    return spec


def _refusal(indicator: Indicator, field: str, message: str) -> CatalogueError:
    return CatalogueError(f"{indicator.defined_in or 'catalogue'}, indicator {indicator.id}: "
                          f"field 'computation.{field}': {message}")


def checked_definition(con: duckdb.DuckDBPyConnection, indicator: Indicator) -> dict[str, str]:
    """Each expression of the definition (``EXPRESSIONS``) as checked SQL over
    ``survey_responses``, by field.

    The catalogue may come from anywhere: each must be one expression over the table's
    columns with the allowed operators and functions (``indicators.conditions``), and the
    variable, numerator and denominator must give numbers; a refusal names the catalogue
    file, the indicator and the field.
    """
    spec = _spec(indicator)
    cursor = con.execute("SELECT * FROM survey_responses LIMIT 0")
    columns = [d[0] for d in cursor.description]
    cursor.fetchall()
    checked: dict[str, str] = {}
    for field in spec.EXPRESSIONS:
        text = getattr(spec, field)
        try:
            sql = check_expression(text, columns, role=field)
        except ConditionError as error:
            raise _refusal(indicator, field, str(error)) from None
        if field in ESTIMATED:
            _check_number(con, indicator, field, text, sql)
        checked[field] = sql
    return checked


def _check_number(con: duckdb.DuckDBPyConnection, indicator: Indicator, field: str,
                  text: str, sql: str) -> None:
    """A variable must be a number (or a boolean, counted 1/0): text cannot be averaged."""
    try:
        described = con.execute(f"DESCRIBE SELECT ({sql}) AS _e FROM survey_responses").fetchall()
    except duckdb.Error as error:
        raise _refusal(indicator, field, f"{field} {text!r} cannot be computed: "
                       f"{str(error).splitlines()[0]}") from None
    kind = str(described[0][1])
    if not _NUMBER_TYPES.match(kind):
        raise _refusal(indicator, field, f"{field} {text!r} must give a number; it gives {kind}")


def estimated_design(checked: dict[str, str], options: ComputeOptions,
                     pooled: SurveyDesign | None = None) -> SurveyDesign:
    """The pooled design (``pooled``, calibrated or not; by default the plain one) whose rows
    also hold the checked variable (or numerator and denominator) as the columns of
    ``ESTIMATED``, for the engine to estimate."""
    added = ", ".join(f"({checked[field]}) AS {quote_ident(column)}"
                      for field, column in ESTIMATED.items() if field in checked)
    pooled = pooled or design(options)
    return dataclasses.replace(
        pooled, source=f"SELECT *, {added} FROM ({pooled.source}) AS _pooled")


def _estimated(spec: SurveyEstimate) -> tuple[str, str | None]:
    if isinstance(spec, SurveyRatio):
        return ESTIMATED["numerator"], ESTIMATED["denominator"]
    return ESTIMATED["variable"], None


def _has_responses(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("SELECT count(*) FROM survey_responses").fetchall()[0][0])


def _purpose(spec: SurveyEstimate, by: tuple[str, ...]) -> str:
    what = (f"ratio of the totals of {spec.numerator} and {spec.denominator}"
            if isinstance(spec, SurveyRatio) else
            f"{STATISTICS[spec.kind]} of {spec.variable}")
    domains = ", ".join(b.lstrip("_") for b in by if b != "_level")
    return (f"{what} among {spec.population}, by {domains} (Taylor linearisation; the normal "
            f"95 % interval is estimate ± 1.96 × SE; the published value is {spec.scale:g} × "
            f"theta)")


def plan(con: duckdb.DuckDBPyConnection, indicator: Indicator,
         options: ComputeOptions) -> IndicatorPlan:
    """One survey-engine statement per breakdown (none without survey microdata)."""
    spec = _spec(indicator)
    checked = checked_definition(con, indicator)  # a refusal names the file and the field
    if not _has_responses(con):
        return IndicatorPlan(indicator, ())
    estimated = estimated_design(checked, options)
    variable, denominator = _estimated(spec)
    statements = tuple(
        Statement(_purpose(spec, by),
                  survey_query(con, estimated, STATISTICS[spec.kind], variable, denominator,
                               by=by, where=spec.population))
        for by in breakdowns(indicator))
    return IndicatorPlan(indicator, statements)


def _scaled(scale: float, value: float) -> float | None:
    """A non-finite estimate (a ratio over a zero total) is no value: status ``missing``."""
    return scale * value if math.isfinite(value) else None


def run(con: duckdb.DuckDBPyConnection, planned: IndicatorPlan, options: ComputeOptions) -> None:
    """Insert one raw row per territory × year (× breakdown) into ``_raw_values``."""
    if not planned.statements:
        return
    indicator = planned.indicator
    spec = _spec(indicator)
    statistic = STATISTICS[spec.kind]
    checked = checked_definition(con, indicator)
    estimated = estimated_design(checked, options,
                                 calibrated_design(con, design(options), options))
    variable, denominator = _estimated(spec)
    rows, covariances = [], []
    for by in breakdowns(indicator):
        # What survey_mean/survey_total/survey_ratio run, keeping the domains' sums (B).
        prep = prepare(con, estimated, statistic, variable, denominator, by=by,
                       where=spec.population)
        result = run_domains(con, prep, na_rm=True,
                             pairs=survey_pairs.pairs(con, by, options.panel))
        covariances += survey_pairs.rows(indicator.id, by, result, spec.scale)
        estimates = to_estimates(result, statistic, CI, LEVEL)
        numerators = _numerators(con, estimated, checked, statistic, result, by)
        # The reliability rules read the domain's own degrees of freedom (its PSUs minus its
        # strata), not the whole design's that the interval uses.
        for e, numerator, b, df, n_population in zip(
                estimates, numerators, result.denominator.tolist(), result.df_domain.tolist(),
                result.n_rows.astype("int64").tolist(), strict=True):
            label = "total" if len(by) == 3 else f"{by[3]}={e.by[by[3]]}"
            value = _scaled(spec.scale, e.estimate)
            rows.append((
                indicator.id, e.by["_territory"], e.by["_level"], int(e.by["year"]), label,
                numerator, b, value,
                *((_scaled(spec.scale, x) for x in (e.se, e.ci_low, e.ci_high))
                  if value is not None else (None, None, None)),
                e.n, None, None, df, e.deff, n_population,
            ))
    survey_pairs.insert(con, covariances)
    if rows:
        # Columnar insert: one row at a time costs milliseconds each at national scale.
        add_design_rows(con, pa.table(list(zip(*rows, strict=True)),
                                      names=[*RAW_FIELDS, *DESIGN_FIELDS]))


def _numerators(con: duckdb.DuckDBPyConnection, estimated: SurveyDesign,
                checked: dict[str, str], statistic: str, result: DomainResult,
                by: tuple[str, ...]) -> list[float]:
    """Each domain's sum of weight × variable (× numerator, for a ratio): theta × B.

    Where B is zero theta says nothing: a mean's sum is then zero too (weights are never
    negative), a ratio's numerator total is estimated apart, over the same respondents.
    """
    theta, b = result.estimate, result.denominator
    if statistic == "total":
        return theta.tolist()
    with np.errstate(invalid="ignore"):
        sums = np.where(b == 0, 0.0, theta * b)
    if statistic == "mean" or not (b == 0).any():
        return sums.tolist()
    answered = (f"({checked['population']}) AND {ESTIMATED['numerator']} IS NOT NULL "
                f"AND {ESTIMATED['denominator']} IS NOT NULL")
    totals = {tuple(e.by[k] for k in by): e.estimate
              for e in survey_total(con, estimated, ESTIMATED["numerator"], by=by,
                                    where=answered, na_rm=True)}
    return [totals.get(tuple(key[k] for k in by), math.nan) if zero else total
            for key, zero, total in zip(result.by, (b == 0).tolist(), sums.tolist(),
                                        strict=True)]


def records(indicator: Indicator, territory: str, level: str, year: int,
            breakdown: tuple[str, str] | None) -> Statement:
    """The respondents behind one cell: weight, answers, and what each adds to the
    numerator and the denominator.

    A respondent without an answer (without both, for a ratio) leaves the estimate
    (``counted`` false), not the design. The expressions are checked again (their columns
    when the SQL runs) and written with every column qualified by ``r.``.
    """
    spec = _spec(indicator)
    checked = {f: check_expression(getattr(spec, f), None, role=f, qualifier="r")
               for f in spec.EXPRESSIONS}
    parameters: dict[str, object] = {"territory": territory, "level": level, "year": year}
    group = breakdown_filter(indicator, breakdown, parameters)
    if isinstance(spec, SurveyRatio):
        answers = (f"CAST(({checked['numerator']}) AS DOUBLE) AS numerator_answer, "
                   f"CAST(({checked['denominator']}) AS DOUBLE) AS denominator_answer")
        counted = "numerator_answer IS NOT NULL AND denominator_answer IS NOT NULL"
        parts = (f"CASE WHEN {counted} THEN weight * numerator_answer END AS numerator_part, "
                 f"CASE WHEN {counted} THEN weight * denominator_answer END AS "
                 f"denominator_part")
    else:
        answers = f"CAST(({checked['variable']}) AS DOUBLE) AS answer"
        counted = "answer IS NOT NULL"
        parts = ("weight * answer AS numerator_part, "
                 f"CASE WHEN {counted} THEN weight END AS denominator_part")
    sql = f"""
WITH respondents AS (
    SELECT r.source_file, r.source_row, r.respondent_id, r.territory_code AS commune_code,
           r.stratum, r.psu, r.weight, {answers}
    FROM survey_responses r JOIN territory_members m ON m.commune_code = r.territory_code
         AND {member_in_year("m", "r.year")}
    WHERE m.territory_code = $territory AND m.territory_level = $level AND r.year = $year
      AND coalesce(CAST(({checked['population']}) AS BOOLEAN), FALSE){group})
SELECT *, {parts},
       {counted} AS counted
FROM respondents ORDER BY source_file, source_row"""
    return Statement("respondents behind the cell", sql, parameters)
