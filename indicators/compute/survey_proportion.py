"""Survey-based indicators: design-based proportions for every territory, year and breakdown.

A territory's estimate pools the respondents of its member communes while keeping the whole
sampling design (strata, PSUs, weights): each territory is a domain of one design, so the
variance is the one R's ``svyby`` would give. Strata are taken within survey year, so the two
years are independent samples.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from indicators.catalogue.definitions import CatalogueError, Indicator, SurveyProportion
from indicators.compute import survey_pairs
from indicators.compute.calibration import calibrated_design
from indicators.compute.options import ComputeOptions
from indicators.compute.plan import IndicatorPlan, Statement
from indicators.compute.publication import add_design_rows
from indicators.conditions import ConditionError, check_expression
from indicators.sql import quote_ident
from indicators.survey import SurveyDesign, survey_query
from indicators.survey.results import prepare, run_domains, to_estimates
from indicators.territories import member_in_year

POOLED_RESPONSES = f"""
SELECT m.territory_code AS _territory, m.territory_level AS _level, r.*,
       r.year || '/' || r.stratum AS _stratum,
       r.year || '/' || r.stratum || '/' || r.psu AS _psu
FROM survey_responses r JOIN territory_members m ON m.commune_code = r.territory_code
     AND {member_in_year("m", "r.year")}
"""
PERCENT = 100.0
RAW_FIELDS = ("indicator_id", "territory_code", "territory_level", "year", "breakdown",
              "numerator", "denominator",
              "value", "se", "ci_low", "ci_high", "n_unweighted", "members_reporting",
              "members_total")
# The domain's degrees of freedom; the engine's design effect; its respondents in the
# population, answering or not (the item non-response is the share of the latter).
DESIGN_FIELDS = ("df", "deff", "n_population")


def design(options: ComputeOptions) -> SurveyDesign:
    """The pooled design: every territory a domain, strata and PSUs taken within year."""
    return SurveyDesign(source=POOLED_RESPONSES, weights="weight", strata="_stratum",
                        psu=("_psu",), lonely_psu=options.lonely_psu)


def breakdowns(indicator: Indicator) -> list[tuple[str, ...]]:
    """The domains of each estimate: territory (level and code) × year, then each declared
    breakdown."""
    return [("_territory", "_level", "year"),
            *(("_territory", "_level", "year", b) for b in indicator.breakdowns)]


def _has_responses(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("SELECT count(*) FROM survey_responses").fetchall()[0][0])


def checked_definition(con: duckdb.DuckDBPyConnection, indicator: Indicator,
                       qualifier: str | None = None) -> tuple[str, str]:
    """The indicator's condition and population as checked SQL over ``survey_responses``.

    The catalogue may come from anywhere: each expression must be one expression over the
    table's columns with the allowed operators and functions (``indicators.conditions``);
    a refusal names the catalogue file, the indicator and the field.
    """
    spec = indicator.computation
    assert isinstance(spec, SurveyProportion)
    cursor = con.execute("SELECT * FROM survey_responses LIMIT 0")
    columns = [d[0] for d in cursor.description]
    cursor.fetchall()
    checked = []
    for field in ("condition", "population"):
        try:
            checked.append(check_expression(getattr(spec, field), columns, role=field,
                                            qualifier=qualifier))
        except ConditionError as error:
            raise CatalogueError(f"{indicator.defined_in or 'catalogue'}, indicator "
                                 f"{indicator.id}: field 'computation.{field}': {error}"
                                 ) from None
    return checked[0], checked[1]


def plan(con: duckdb.DuckDBPyConnection, indicator: Indicator,
         options: ComputeOptions) -> IndicatorPlan:
    """One survey-engine statement per breakdown (none without survey microdata)."""
    spec = indicator.computation
    assert isinstance(spec, SurveyProportion)
    checked_definition(con, indicator)  # a refusal names the catalogue file and field
    if not _has_responses(con):
        return IndicatorPlan(indicator, ())
    statements = tuple(
        Statement(f"proportion where {spec.condition} among {spec.population}, "
                  f"by {', '.join(b.lstrip('_') for b in by if b != '_level')} (Taylor "
                  f"linearisation; the "
                  f"logit interval is computed from estimate, variance and df)",
                  survey_query(con, design(options), "proportion", spec.condition, by=by,
                               where=spec.population))
        for by in breakdowns(indicator))
    return IndicatorPlan(indicator, statements)


def run(con: duckdb.DuckDBPyConnection, planned: IndicatorPlan, options: ComputeOptions) -> None:
    """Insert one raw row per territory × year (× breakdown) into ``_raw_values``."""
    if not planned.statements:
        return
    indicator = planned.indicator
    spec = indicator.computation
    assert isinstance(spec, SurveyProportion)
    rows, covariances = [], []
    pooled = calibrated_design(con, design(options), options)  # itself without calibration
    for by in breakdowns(indicator):
        # What survey_proportion(..., ci="logit") runs, with the covariances of the pairs
        # the changes and gaps are tested on, from the same scan.
        prep = prepare(con, pooled, "proportion", spec.condition, None, by=by,
                       where=spec.population)
        result = run_domains(con, prep, na_rm=True,
                             pairs=survey_pairs.pairs(con, by, options.panel))
        covariances += survey_pairs.rows(indicator.id, by, result, PERCENT)
        for e, n_population in zip(to_estimates(result, "proportion", "logit", 0.95),
                                   result.n_rows.astype("int64").tolist(), strict=True):
            label = "total" if len(by) == 3 else f"{by[3]}={e.by[by[3]]}"
            rows.append((
                indicator.id, e.by["_territory"], e.by["_level"], int(e.by["year"]), label,
                e.estimate * e.sum_weights, e.sum_weights, PERCENT * e.estimate,
                PERCENT * e.se, PERCENT * e.ci_low, PERCENT * e.ci_high, e.n, None, None,
                e.df, None,  # a proportion's design effect is p(1 - p)/n's, in publication
                n_population,
            ))
    survey_pairs.insert(con, covariances)
    if rows:
        # Columnar insert: one row at a time costs milliseconds each at national scale.
        add_design_rows(con, pa.table(list(zip(*rows, strict=True)),
                                      names=[*RAW_FIELDS, *DESIGN_FIELDS]))


def breakdown_filter(indicator: Indicator, breakdown: tuple[str, str] | None,
                     parameters: dict[str, object]) -> str:
    """SQL restricting the respondents ``r`` to one breakdown cell (its value bound), or ""."""
    if breakdown is None:
        return ""
    column, value = breakdown
    if column not in indicator.breakdowns:
        raise ValueError(f"{indicator.id} has no breakdown by {column!r}; "
                         f"its breakdowns: {list(indicator.breakdowns) or 'none'}")
    parameters["breakdown_value"] = value
    return f" AND CAST(r.{quote_ident(column)} AS VARCHAR) = $breakdown_value"


def records(indicator: Indicator, territory: str, level: str, year: int,
            breakdown: tuple[str, str] | None) -> Statement:
    """The respondents behind one cell: weight, answer, and what each adds to the estimate.

    A respondent without an answer leaves the estimate (``counted`` false), not the design.
    The condition and population are checked again (their columns when the SQL runs) and
    written with every column qualified by ``r.``, the responses' alias.
    """
    spec = indicator.computation
    assert isinstance(spec, SurveyProportion)
    condition, population = (check_expression(getattr(spec, f), None, role=f, qualifier="r")
                             for f in ("condition", "population"))
    parameters: dict[str, object] = {"territory": territory, "level": level, "year": year}
    group = breakdown_filter(indicator, breakdown, parameters)
    sql = f"""
WITH respondents AS (
    SELECT r.source_file, r.source_row, r.respondent_id, r.territory_code AS commune_code,
           r.stratum, r.psu, r.weight, CAST(({condition}) AS DOUBLE) AS answer
    FROM survey_responses r JOIN territory_members m ON m.commune_code = r.territory_code
         AND {member_in_year("m", "r.year")}
    WHERE m.territory_code = $territory AND m.territory_level = $level AND r.year = $year
      AND coalesce(CAST(({population}) AS BOOLEAN), FALSE){group})
SELECT *, weight * answer AS numerator_part,
       CASE WHEN answer IS NOT NULL THEN weight END AS denominator_part,
       answer IS NOT NULL AS counted
FROM respondents ORDER BY source_file, source_row"""
    return Statement("respondents behind the cell", sql, parameters)
