"""Publication rules: the same status logic for every kind of indicator.

- ``missing``: no denominator (no data, or zero);
- ``suppressed``: survey cell with fewer respondents than the indicator's ``min_n`` — value,
  numerator, denominator and interval are withheld wherever the table is published;
- ``low_reliability``: a survey cell below ``reliable_n``, or resting on fewer design degrees
  of freedom than ``min_df`` (the domain's PSUs minus its strata), or on an effective sample
  size (n / design effect) below ``min_effective_n``, or a proportion whose 95 % interval is
  wider than ``max_interval_width`` points, or whose coefficient of variation exceeds
  ``max_cv`` (a proportion's CV is taken on the smaller of p and 1 − p, so that p and 1 − p
  get the same verdict); a ratio whose member communes did not all report; a commuting cell
  resting on fewer than 200 workers (INSEE's caution threshold);
- ``ok`` otherwise.

The reason given is the first rule a cell fails, in the order above, so that every reason has
one form the exports can translate. The project's ``ReliabilityRules`` default to the NCHS Data
Presentation Standards for Proportions (2017).

A change compares a year with the previous year the indicator has values for (not necessarily
the year before: a survey may run every five years). A change between years is marked
significant only for survey indicators, by a design-based test
(independent samples each year: the variance of the difference is the sum of the variances).

Published numbers are rounded to 12 significant digits: parallel sums in DuckDB may differ in the
last bits from one run to the next, and outputs must be byte-identical for the same inputs.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa

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
    "breakdown VARCHAR, df DOUBLE, deff DOUBLE"
)
"""What a survey cell's reliability rests on besides its raw row: the domain's design degrees
of freedom, and (means, totals, ratios) the engine's design effect; kept apart from
``_raw_values`` so that the other kinds' rows keep their columns."""
KEYS = ("indicator_id", "territory_code", "territory_level", "year", "breakdown")
COMMUTING_CAUTION_WORKERS = 200
Z_95 = 1.959963984540054


def add_design_rows(con: duckdb.DuckDBPyConnection, table: pa.Table) -> None:
    """Insert the raw rows of ``table`` into ``_raw_values`` and its keys with ``df`` and
    ``deff`` into ``_raw_design`` (created when a caller set up ``_raw_values`` alone)."""
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS _raw_design ({DESIGN_COLUMNS})")
    raw = [quote_ident(c) for c in table.column_names if c not in ("df", "deff")]
    con.register("_design_rows", table)
    try:
        con.execute(f"INSERT INTO _raw_values SELECT {', '.join(raw)} FROM _design_rows")
        con.execute(f"INSERT INTO _raw_design SELECT {', '.join(KEYS)}, df, deff "
                    f"FROM _design_rows")
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
         "symmetric_cv": rules.symmetric_cv and i.kind == "survey_proportion"}
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
        m.min_effective_n, m.max_interval_width, d.df,
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
                 OR cv > max_cv) THEN 'low_reliability'
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
       n_unweighted, status, status_reason
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
    GROUP BY y.indicator_id, y.year)
SELECT cur.indicator_id, cur.territory_code, cur.territory_level, cur.breakdown, cur.year,
       prev.year AS previous_year,
       _sig12(cur.value - prev.value) AS change,
       _sig12(sqrt(cur.se * cur.se + prev.se * prev.se)) AS se_change,
       CASE WHEN cur.se IS NOT NULL AND prev.se IS NOT NULL
                 AND cur.value IS NOT NULL AND prev.value IS NOT NULL
            THEN abs(cur.value - prev.value) > {Z_95} * sqrt(cur.se * cur.se + prev.se * prev.se)
       END AS significant
FROM indicator_values cur
JOIN previous p ON p.indicator_id = cur.indicator_id AND p.year = cur.year
JOIN indicator_values prev ON prev.indicator_id = cur.indicator_id
     AND prev.territory_code = cur.territory_code
     AND prev.territory_level = cur.territory_level AND prev.breakdown = cur.breakdown
     AND prev.year = p.previous_year
JOIN _indicator_meta m ON m.indicator_id = cur.indicator_id
ORDER BY m.ordinal, cur.territory_level, cur.territory_code, cur.breakdown, cur.year
"""
"""Each year against the previous year present for the indicator: the latest earlier year in
which the indicator has a value for some territory (2016 for 2021 when the survey ran in 2016
and 2021). Every territory and breakdown of an indicator compares with that same year, so a
table column holds changes over one period; a territory without a value that year has no
change. Reads only ``indicator_values`` and ``_indicator_meta``, so the audit can recompute it
from the published values."""


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
    _register_metadata(con, catalogue, rules or ReliabilityRules())
    con.execute(STATUS_SQL)
    complementary_suppression(con)
    con.execute(CHANGES_SQL)
    return con.execute("SELECT count(*) FROM indicator_values").fetchall()[0][0]
