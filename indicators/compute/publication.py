"""Publication rules: the same status logic for every kind of indicator.

- ``missing``: no denominator (no data, or zero);
- ``suppressed``: survey cell with fewer respondents than the indicator's ``min_n`` — value,
  numerator, denominator and interval are withheld wherever the table is published;
- ``low_reliability``: survey cell below ``reliable_n`` or with a coefficient of variation above
  ``max_cv``; a ratio whose member communes did not all report; a commuting cell resting on fewer
  than 200 workers (INSEE's caution threshold);
- ``ok`` otherwise.

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

from indicators.catalogue.definitions import Catalogue

RAW_COLUMNS = (
    "indicator_id VARCHAR, territory_code VARCHAR, territory_level VARCHAR, year INTEGER, "
    "breakdown VARCHAR, "
    "numerator DOUBLE, denominator DOUBLE, estimate DOUBLE, se DOUBLE, ci_low DOUBLE, "
    "ci_high DOUBLE, n_unweighted BIGINT, members_reporting BIGINT, members_total BIGINT"
)
COMMUTING_CAUTION_WORKERS = 200
Z_95 = 1.959963984540054


def _register_metadata(con: duckdb.DuckDBPyConnection, catalogue: Catalogue) -> None:
    rows = [
        {"indicator_id": i.id, "ordinal": n, "kind": i.kind, "min_n": i.min_n,
         "reliable_n": i.reliable_n, "max_cv": i.max_cv}
        for n, i in enumerate(catalogue)
    ]
    con.register("_indicator_meta_frame", pd.DataFrame(rows))
    con.execute("CREATE OR REPLACE TEMP TABLE _indicator_meta AS "
                "SELECT * FROM _indicator_meta_frame")
    con.unregister("_indicator_meta_frame")


STATUS_SQL = f"""
CREATE OR REPLACE TABLE indicator_values AS
WITH names AS (SELECT DISTINCT territory_code, territory_level, territory_name
               FROM territory_members),
levels AS (SELECT level AS territory_level, ordinal AS level_ordinal FROM territory_levels),
judged AS (
    SELECT r.*, m.ordinal, m.kind,
        CASE
            WHEN r.estimate IS NULL THEN 'missing'
            WHEN m.kind LIKE 'survey%' AND r.n_unweighted < m.min_n THEN 'suppressed'
            WHEN m.kind LIKE 'survey%' AND (r.n_unweighted < m.reliable_n
                 OR r.se / nullif(abs(r.estimate), 0) > m.max_cv) THEN 'low_reliability'
            WHEN r.members_reporting < r.members_total THEN 'low_reliability'
            WHEN m.kind = 'commuting' AND r.denominator < {COMMUTING_CAUTION_WORKERS}
                 THEN 'low_reliability'
            ELSE 'ok'
        END AS status,
        CASE
            WHEN r.estimate IS NULL AND r.members_reporting = 0 THEN 'no data reported'
            WHEN r.estimate IS NULL THEN 'denominator is zero or missing'
            WHEN m.kind LIKE 'survey%' AND r.n_unweighted < m.min_n
                THEN format('unweighted n = {{}} < {{}}', r.n_unweighted, m.min_n)
            WHEN m.kind LIKE 'survey%' AND r.n_unweighted < m.reliable_n
                THEN format('unweighted n = {{}} < {{}}', r.n_unweighted, m.reliable_n)
            WHEN m.kind LIKE 'survey%' AND r.se / nullif(abs(r.estimate), 0) > m.max_cv
                THEN format('coefficient of variation {{:.3f}} > {{}}',
                            r.se / abs(r.estimate), m.max_cv)
            WHEN r.members_reporting < r.members_total
                THEN format('{{}} of {{}} member communes reported',
                            r.members_reporting, r.members_total)
            WHEN m.kind = 'commuting' AND r.denominator < {COMMUTING_CAUTION_WORKERS}
                THEN format('fewer than {COMMUTING_CAUTION_WORKERS} workers ({{:.0f}})',
                            r.denominator)
        END AS status_reason
    FROM _raw_values r JOIN _indicator_meta m USING (indicator_id))
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


def finalise_values(con: duckdb.DuckDBPyConnection, catalogue: Catalogue) -> int:
    """Turn raw estimates into the published ``indicator_values`` and ``indicator_changes``."""
    con.execute(SIGNIFICANT_DIGITS_SQL)
    _register_metadata(con, catalogue)
    con.execute(STATUS_SQL)
    con.execute(CHANGES_SQL)
    return con.execute("SELECT count(*) FROM indicator_values").fetchall()[0][0]
