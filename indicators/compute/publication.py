"""Publication rules: the same status logic for every kind of indicator.

- ``missing``: no denominator (no data, or zero);
- ``suppressed``: survey cell with fewer respondents than the indicator's ``min_n`` — value,
  numerator, denominator and interval are withheld wherever the table is published;
- ``low_reliability``: a survey cell below ``reliable_n``, or resting on fewer design degrees
  of freedom than ``min_df`` (the domain's PSUs minus its strata), or on an effective sample
  size (n / design effect) below ``min_effective_n``, or a proportion whose 95 % interval is
  wider than ``max_interval_width`` points, or whose coefficient of variation exceeds
  ``max_cv`` (a proportion's CV is taken on the smaller of p and 1 − p, so that p and 1 − p
  get the same verdict), or where more than ``max_item_nonresponse`` of the respondents in
  the indicator's population left its questions unanswered (``item_nonresponse``, published
  for every survey cell); a ratio whose member communes did not all report; a commuting cell
  resting on fewer than 200 workers (INSEE's caution threshold);
- ``ok`` otherwise.

The reason given is the first rule a cell fails, in the order above, so that every reason has
one form the exports can translate. The project's ``ReliabilityRules`` default to the NCHS Data
Presentation Standards for Proportions (2017).

A change compares a year with the previous year the indicator has values for (not necessarily
the year before: a survey may run every five years). A change between years is marked
significant only for survey indicators, by a design-based t test: the variance of the
difference is V1 + V2 - 2 C, C the covariance the two years' estimates have through the PSUs
surveyed both years (zero for independent samples: ``indicators.compute.survey_pairs``), with
the degrees of freedom of both years' PSUs taken once each (R's ``svycontrast`` over the
pooled design, ``degf`` of the pair's cells).

Published numbers are rounded to 12 significant digits: parallel sums in DuckDB may differ in the
last bits from one run to the next, and outputs must be byte-identical for the same inputs.
"""

from __future__ import annotations

import contextlib

import duckdb
import pandas as pd
import pyarrow as pa
from scipy import stats

from indicators.catalogue.definitions import Catalogue, Indicator
from indicators.compute.options import ReliabilityRules
from indicators.compute.suppression import complementary_suppression
from indicators.sql import quote_ident

RAW_COLUMNS = (
    "indicator_id VARCHAR, territory_code VARCHAR, territory_level VARCHAR, year INTEGER, "
    "breakdown VARCHAR, "
    "numerator DOUBLE, denominator DOUBLE, estimate DOUBLE, se DOUBLE, ci_low DOUBLE, "
    "ci_high DOUBLE, n_unweighted BIGINT, members_reporting BIGINT, members_total BIGINT"
)
DESIGN_COLUMNS = (
    "indicator_id VARCHAR, territory_code VARCHAR, territory_level VARCHAR, year INTEGER, "
    "breakdown VARCHAR, df DOUBLE, deff DOUBLE, n_population BIGINT"
)
"""What a survey cell's reliability rests on besides its raw row: the domain's design degrees
of freedom, (means, totals, ratios) the engine's design effect, and its respondents in the
indicator's population, answers or not (item non-response); kept apart from
``_raw_values`` so that the other kinds' rows keep their columns."""
COVARIANCE_COLUMNS = (
    "indicator_id VARCHAR, breakdown VARCHAR, territory_level VARCHAR, territory_code VARCHAR, "
    "year INTEGER, other_level VARCHAR, other_code VARCHAR, other_year INTEGER, "
    "covariance DOUBLE, shared_psus BIGINT, shared_strata BIGINT"
)
DESIGN_ONLY = ("df", "deff", "n_population")
KEYS = ("indicator_id", "territory_code", "territory_level", "year", "breakdown")
COMMUTING_CAUTION_WORKERS = 200
Z_95 = 1.959963984540054


def add_design_rows(con: duckdb.DuckDBPyConnection, table: pa.Table) -> None:
    """Insert the raw rows of ``table`` into ``_raw_values`` and its keys with ``df`` and
    ``deff`` into ``_raw_design`` (created when a caller set up ``_raw_values`` alone)."""
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS _raw_design ({DESIGN_COLUMNS})")
    raw = [quote_ident(c) for c in table.column_names if c not in DESIGN_ONLY]
    con.register("_design_rows", table)
    try:
        con.execute(f"INSERT INTO _raw_values SELECT {', '.join(raw)} FROM _design_rows")
        con.execute(f"INSERT INTO _raw_design SELECT {', '.join(KEYS)}, df, deff, "
                    f"n_population FROM _design_rows")
    finally:
        con.unregister("_design_rows")


def _is_percentage(indicator: Indicator) -> bool:
    """A proportion, published in percent between 0 and 100, whose interval width is read in
    points (a ratio or mean scaled by 100 may exceed 100: its width is no number of points)."""
    return indicator.kind == "survey_proportion"


def _register_metadata(con: duckdb.DuckDBPyConnection, catalogue: Catalogue,
                       rules: ReliabilityRules) -> None:
    rows = [
        {"indicator_id": i.id, "ordinal": n, "kind": i.kind, "min_n": i.min_n,
         "reliable_n": i.reliable_n, "max_cv": float(i.max_cv),
         "min_df": float(rules.min_df), "min_effective_n": float(rules.min_effective_n),
         "max_interval_width": float(rules.max_interval_width) if _is_percentage(i) else None,
         "symmetric_cv": rules.symmetric_cv and i.kind == "survey_proportion",
         "max_item_nonresponse": float(rules.max_item_nonresponse)}
        for n, i in enumerate(catalogue)
    ]
    frame = pd.DataFrame(rows).astype({"max_interval_width": "float64"})
    con.register("_indicator_meta_frame", frame)
    con.execute("CREATE OR REPLACE TEMP TABLE _indicator_meta AS "
                "SELECT * FROM _indicator_meta_frame")
    con.unregister("_indicator_meta_frame")
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS _raw_design ({DESIGN_COLUMNS})")


STATUS_SQL = f"""
CREATE OR REPLACE TABLE indicator_values AS
WITH names AS (SELECT DISTINCT territory_code, territory_level, territory_name
               FROM territory_members),
levels AS (SELECT level AS territory_level, ordinal AS level_ordinal FROM territory_levels),
measured AS (
    SELECT r.*, m.ordinal, m.kind, m.min_n, m.reliable_n, m.max_cv, m.min_df,
        m.min_effective_n, m.max_interval_width, m.max_item_nonresponse, d.df,
        1 - r.n_unweighted / nullif(d.n_population, 0) AS item_nonresponse,
        -- n / deff, deff floored at 1 and taken as 1 where undefined (p = 0 or 1), as NCHS
        r.n_unweighted / greatest(coalesce(CASE
            WHEN m.kind = 'survey_proportion' THEN CASE
                WHEN r.estimate > 0 AND r.estimate < 100 AND r.n_unweighted > 0
                THEN r.se * r.se / (r.estimate * (100 - r.estimate) / r.n_unweighted) END
            ELSE d.deff END, 1), 1) AS effective_n,
        r.ci_high - r.ci_low AS interval_width,
        CASE WHEN m.symmetric_cv
             THEN r.se / nullif(least(r.estimate, 100 - r.estimate), 0)
             ELSE r.se / nullif(abs(r.estimate), 0) END AS cv,
        m.kind LIKE 'survey%' AS survey
    FROM _raw_values r JOIN _indicator_meta m USING (indicator_id)
    LEFT JOIN _raw_design d USING (indicator_id, territory_code, territory_level, year,
                                   breakdown)),
judged AS (
    SELECT *,
        CASE
            WHEN estimate IS NULL THEN 'missing'
            WHEN survey AND n_unweighted < min_n THEN 'suppressed'
            WHEN survey AND (n_unweighted < reliable_n OR df < min_df
                 OR effective_n < min_effective_n OR interval_width > max_interval_width
                 OR cv > max_cv OR item_nonresponse > max_item_nonresponse)
                 THEN 'low_reliability'
            WHEN members_reporting < members_total THEN 'low_reliability'
            WHEN kind = 'commuting' AND denominator < {COMMUTING_CAUTION_WORKERS}
                 THEN 'low_reliability'
            ELSE 'ok'
        END AS status,
        CASE
            WHEN estimate IS NULL AND members_reporting = 0 THEN 'no data reported'
            WHEN estimate IS NULL THEN 'denominator is zero or missing'
            WHEN survey AND n_unweighted < min_n
                THEN format('unweighted n = {{}} < {{}}', n_unweighted, min_n)
            WHEN survey AND n_unweighted < reliable_n
                THEN format('unweighted n = {{}} < {{}}', n_unweighted, reliable_n)
            WHEN survey AND df < min_df
                THEN format('design degrees of freedom {{:.0f}} < {{:g}}', df, min_df)
            WHEN survey AND effective_n < min_effective_n
                THEN format('effective sample size {{:.1f}} < {{:g}}', effective_n,
                            min_effective_n)
            WHEN survey AND interval_width > max_interval_width
                THEN format('95% interval width {{:.2f}} points > {{:g}}', interval_width,
                            max_interval_width)
            WHEN survey AND cv > max_cv
                THEN format('coefficient of variation {{:.3f}} > {{}}', cv, max_cv)
            WHEN survey AND item_nonresponse > max_item_nonresponse
                THEN format('item non-response {{:.1f}}% > {{:g}}%', 100 * item_nonresponse,
                            100 * max_item_nonresponse)
            WHEN members_reporting < members_total
                THEN format('{{}} of {{}} member communes reported',
                            members_reporting, members_total)
            WHEN kind = 'commuting' AND denominator < {COMMUTING_CAUTION_WORKERS}
                THEN format('fewer than {COMMUTING_CAUTION_WORKERS} workers ({{:.0f}})',
                            denominator)
        END AS status_reason
    FROM measured)
SELECT j.indicator_id, j.territory_code, j.territory_level, n.territory_name, j.year,
       j.breakdown,
       CASE WHEN status NOT IN ('suppressed', 'missing') THEN _sig12(estimate) END AS value,
       CASE WHEN status <> 'suppressed' THEN _sig12(numerator) END AS numerator,
       CASE WHEN status <> 'suppressed' THEN _sig12(denominator) END AS denominator,
       CASE WHEN status <> 'suppressed' THEN _sig12(se) END AS se,
       CASE WHEN status <> 'suppressed' THEN _sig12(ci_low) END AS ci_low,
       CASE WHEN status <> 'suppressed' THEN _sig12(ci_high) END AS ci_high,
       n_unweighted, status, status_reason, _sig12(item_nonresponse) AS item_nonresponse
FROM judged j JOIN names n USING (territory_code, territory_level)
JOIN levels l USING (territory_level)
ORDER BY j.ordinal, l.level_ordinal, j.territory_code, j.year, j.breakdown
"""

CHANGES_SQL = f"""
CREATE OR REPLACE TABLE indicator_changes AS
WITH years AS (SELECT DISTINCT indicator_id, year FROM indicator_values),
with_values AS (SELECT DISTINCT indicator_id, year FROM indicator_values
                WHERE value IS NOT NULL),
previous AS (
    SELECT y.indicator_id, y.year, max(w.year) AS previous_year
    FROM years y JOIN with_values w ON w.indicator_id = y.indicator_id AND w.year < y.year
    GROUP BY y.indicator_id, y.year),
paired AS (
    SELECT cur.indicator_id, cur.territory_code, cur.territory_level, cur.breakdown, cur.year,
           prev.year AS previous_year, cur.value - prev.value AS change,
           CASE WHEN cur.se IS NOT NULL AND prev.se IS NOT NULL
                THEN sqrt(greatest(cur.se * cur.se + prev.se * prev.se
                                   - 2 * coalesce(t.covariance, 0), 0)) END AS se_change,
           t.covariance, t.df AS df_change,
           cur.se IS NOT NULL AND prev.se IS NOT NULL AND cur.value IS NOT NULL
             AND prev.value IS NOT NULL AS tested, m.ordinal
    FROM indicator_values cur
    JOIN previous p ON p.indicator_id = cur.indicator_id AND p.year = cur.year
    JOIN indicator_values prev ON prev.indicator_id = cur.indicator_id
         AND prev.territory_code = cur.territory_code
         AND prev.territory_level = cur.territory_level AND prev.breakdown = cur.breakdown
         AND prev.year = p.previous_year
    JOIN _indicator_meta m ON m.indicator_id = cur.indicator_id
    LEFT JOIN _change_terms t ON t.indicator_id = cur.indicator_id
         AND t.territory_code = cur.territory_code AND t.territory_level = cur.territory_level
         AND t.breakdown = cur.breakdown AND t.year = cur.year
         AND t.previous_year = p.previous_year)
SELECT indicator_id, territory_code, territory_level, breakdown, year, previous_year,
       _sig12(change) AS change,
       _sig12(se_change) AS se_change,
       CASE WHEN tested THEN
            CASE WHEN df_change IS NULL THEN abs(change) > {Z_95} * se_change
                 WHEN df_change > 0 THEN abs(change) > _t975(df_change) * se_change END
       END AS significant,
       -- A withheld cell's terms are withheld with it.
       CASE WHEN tested THEN _sig12(covariance) END AS covariance,
       CASE WHEN tested THEN df_change END AS df_change
FROM paired
ORDER BY ordinal, territory_level, territory_code, breakdown, year
"""
"""Each year against the previous year present for the indicator: the latest earlier year in
which the indicator has a value for some territory (2016 for 2021 when the survey ran in 2016
and 2021). Every territory and breakdown of an indicator compares with that same year, so a
table column holds changes over one period; a territory without a value that year has no
change. Reads ``indicator_values``, ``_indicator_meta`` and ``_change_terms`` (the survey
cells' covariance and degrees of freedom, which the changes publish), so the audit can
recompute it from what is published. A cell without terms (no design behind it) is tested
with the normal quantile."""

CHANGE_TERMS_SQL = """
CREATE OR REPLACE TEMP TABLE _change_terms AS
SELECT d.indicator_id, d.territory_code, d.territory_level, d.breakdown, d.year,
       p.year AS previous_year, coalesce(c.covariance, 0) AS covariance,
       d.df + p.df - coalesce(c.shared_psus, 0) + coalesce(c.shared_strata, 0) AS df
FROM _raw_design d
JOIN _raw_design p ON p.indicator_id = d.indicator_id AND p.territory_code = d.territory_code
     AND p.territory_level = d.territory_level AND p.breakdown = d.breakdown AND p.year < d.year
LEFT JOIN _raw_covariances c ON c.indicator_id = d.indicator_id AND c.breakdown = d.breakdown
     AND c.territory_level = d.territory_level AND c.territory_code = d.territory_code
     AND c.year = d.year AND c.other_level = d.territory_level
     AND c.other_code = d.territory_code AND c.other_year = p.year
"""
"""Each survey cell against each earlier year of the same cell: the covariance of the two
estimates (zero without shared PSUs) and the degrees of freedom of the pair: the PSUs of both
years minus their strata, a PSU or stratum surveyed both years counted once."""


GAPS_SQL = """
CREATE OR REPLACE TABLE indicator_gaps AS
WITH paired AS (
    SELECT c.indicator_id, c.territory_level, c.territory_code,
           c.other_level AS reference_level, c.other_code AS reference_code, c.year,
           c.breakdown, a.value - b.value AS gap,
           sqrt(greatest(a.se * a.se + b.se * b.se - 2 * c.covariance, 0)) AS se_gap,
           c.covariance, da.df + db.df - c.shared_psus + c.shared_strata AS df_gap, m.ordinal
    FROM _raw_covariances c
    JOIN indicator_values a ON a.indicator_id = c.indicator_id
         AND a.territory_level = c.territory_level AND a.territory_code = c.territory_code
         AND a.year = c.year AND a.breakdown = c.breakdown
    JOIN indicator_values b ON b.indicator_id = c.indicator_id
         AND b.territory_level = c.other_level AND b.territory_code = c.other_code
         AND b.year = c.year AND b.breakdown = c.breakdown
    JOIN _raw_design da ON da.indicator_id = c.indicator_id
         AND da.territory_level = c.territory_level AND da.territory_code = c.territory_code
         AND da.year = c.year AND da.breakdown = c.breakdown
    JOIN _raw_design db ON db.indicator_id = c.indicator_id
         AND db.territory_level = c.other_level AND db.territory_code = c.other_code
         AND db.year = c.year AND db.breakdown = c.breakdown
    JOIN _indicator_meta m ON m.indicator_id = c.indicator_id
    WHERE c.other_year = c.year AND a.value IS NOT NULL AND b.value IS NOT NULL
      AND a.se IS NOT NULL AND b.se IS NOT NULL)
SELECT indicator_id, territory_level, territory_code, reference_level, reference_code, year,
       breakdown, _sig12(gap) AS gap, _sig12(se_gap) AS se_gap, _sig12(covariance) AS covariance,
       df_gap,
       CASE WHEN se_gap > 0 AND df_gap > 0 THEN abs(gap) > _t975(df_gap) * se_gap END
         AS significant
FROM paired
ORDER BY ordinal, territory_level, territory_code, reference_level, reference_code, year,
         breakdown
"""
"""Each published survey cell against the same cell of each territory containing it, in the
same year: the gap, its standard error with the covariance of their shared respondents, the
pair's degrees of freedom (both cells' PSUs, a shared one counted once) and the t test.
Profiles read it; a pair not in it is tested as of independent estimates."""

CHANGE_TERMS_DDL = """
CREATE TEMP TABLE IF NOT EXISTS _change_terms (indicator_id VARCHAR, territory_code VARCHAR,
    territory_level VARCHAR, breakdown VARCHAR, year INTEGER, previous_year INTEGER,
    covariance DOUBLE, df DOUBLE)
"""


def compute_changes(con: duckdb.DuckDBPyConnection) -> None:
    """``indicator_changes`` from ``indicator_values``, ``_indicator_meta`` and the change
    terms when a caller wrote them (none: every change tested as of independent samples)."""
    con.execute(CHANGE_TERMS_DDL)
    register_t_quantile(con)
    con.execute(CHANGES_SQL)


def register_t_quantile(con: duckdb.DuckDBPyConnection) -> None:
    """``_t975(df)``: Student's 97.5 % quantile, which DuckDB lacks (scipy's, vectorised)."""
    def quantile(df: pa.Array) -> pa.Array:
        return pa.array(stats.t.ppf(0.975, df.to_numpy(zero_copy_only=False)))

    with contextlib.suppress(duckdb.InvalidInputException):
        con.remove_function("_t975")
    con.create_function("_t975", quantile, ["DOUBLE"], "DOUBLE", type="arrow",
                        side_effects=False)


SIGNIFICANT_DIGITS_SQL = """
CREATE OR REPLACE TEMP MACRO _sig12(x) AS
    CASE WHEN x IS NULL OR x = 0 OR isinf(x) OR isnan(x) THEN x
         ELSE round(x, 11 - CAST(floor(log10(abs(x))) AS INTEGER)) END
"""


def finalise_values(con: duckdb.DuckDBPyConnection, catalogue: Catalogue,
                    rules: ReliabilityRules | None = None) -> int:
    """Turn raw estimates into the published ``indicator_values`` and ``indicator_changes``,
    judging survey cells by the project's ``rules`` (NCHS's by default)."""
    con.execute(SIGNIFICANT_DIGITS_SQL)
    rules = rules or ReliabilityRules()
    _register_metadata(con, catalogue, rules)
    # The rules as the run applied them: the report's methods state them.
    con.execute("CREATE OR REPLACE TABLE reliability_rules AS SELECT "
                "CAST($min_df AS DOUBLE) AS min_df, "
                "CAST($min_effective_n AS DOUBLE) AS min_effective_n, "
                "CAST($max_interval_width AS DOUBLE) AS max_interval_width, "
                "CAST($symmetric_cv AS BOOLEAN) AS symmetric_cv, "
                "CAST($max_item_nonresponse AS DOUBLE) AS max_item_nonresponse",
                {"min_df": rules.min_df, "min_effective_n": rules.min_effective_n,
                 "max_interval_width": rules.max_interval_width,
                 "symmetric_cv": rules.symmetric_cv,
                 "max_item_nonresponse": rules.max_item_nonresponse})
    con.execute(STATUS_SQL)
    complementary_suppression(con)
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS _raw_covariances ({COVARIANCE_COLUMNS})")
    con.execute(CHANGE_TERMS_SQL)
    compute_changes(con)
    con.execute(GAPS_SQL)
    return con.execute("SELECT count(*) FROM indicator_values").fetchall()[0][0]
