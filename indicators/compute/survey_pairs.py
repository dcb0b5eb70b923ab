"""Which survey cells are paired for a design covariance, and the covariances found.

Two comparisons the publication tests rest on shared PSUs:

- a **change**: a territory's cell against the same cell in the previous survey year. When
  the survey revisits its PSUs (a PSU code, within its stratum, found in both years), the
  two years are one panel and their estimates are correlated; a stratum whose PSUs differ
  between the years is an independent sample (``indicators.survey.covariance``);
- a **gap**: a territory against a territory that contains it (its EPCI, département,
  région, or a group it belongs to), in the same year: the larger one holds every
  respondent of the smaller one.

The covariances come from the same query as the cells' own estimates and are kept in
``_raw_covariances`` in the published scale (percent for proportions); the publication turns
them into the standard errors and degrees of freedom of the tests.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pyarrow as pa

from indicators.compute.publication import COVARIANCE_COLUMNS
from indicators.survey.covariance import Pairs
from indicators.survey.results import DomainResult
from indicators.territories import member_in_year

FIELDS = ("indicator_id", "breakdown", "territory_level", "territory_code", "year",
          "other_level", "other_code", "other_year", "covariance", "shared_psus",
          "shared_strata")
LINK = "_survey_unit_link"
CONTAINING = "_containing_territories"

# Domain keys of the pooled design's queries: _d0 territory, _d1 level, _d2 year, _d3 the
# breakdown's value (see survey_proportion.breakdowns).
_CHANGE_PAIRS = """
SELECT a._domain AS _first, b._domain AS _second
FROM domains a JOIN domains b ON b._d0 = a._d0 AND b._d1 = a._d1{same_breakdown}
 AND b._d2 = (SELECT max(_d2) FROM domains WHERE _d2 < a._d2)"""
_GAP_PAIRS = f"""
SELECT a._domain AS _first, b._domain AS _second
FROM domains a JOIN {CONTAINING} c ON c.territory_code = a._d0
 AND c.territory_level = a._d1 AND c.year = a._d2
JOIN domains b ON b._d0 = c.reference_code AND b._d1 = c.reference_level AND b._d2 = a._d2"""


def prepare(con: duckdb.DuckDBPyConnection, panel: bool) -> None:
    """Create the link of each year's PSUs to the same PSU in other years (``panel``; else
    every unit is only itself) and each territory's containing territories, per survey year.

    A territory contains another when it holds all of that one's member communes valid in
    the year and more (an EPCI astride two départements is inside neither; two territories
    of the same communes are one population, whose gap is zero by definition).
    """
    # A PSU's code names it across years when no code is in two strata of one year (else a
    # code is only a PSU within its stratum, whose code may carry the year).
    unique = not con.execute(
        "SELECT count(*) FROM (SELECT year, psu FROM survey_responses GROUP BY ALL "
        "HAVING count(DISTINCT stratum) > 1)").fetchall()[0][0]
    psu = ("CAST(r.psu AS VARCHAR)" if panel and unique else
           "r.stratum || '/' || r.psu" if panel else "r.year || '/' || r.stratum || '/' || r.psu")
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE {LINK} AS
SELECT DISTINCT r.year || '/' || r.stratum AS _h, r.year || '/' || r.stratum || '/' || r.psu AS _p,
       {psu} AS link_p
FROM survey_responses r""")
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE {CONTAINING} AS
WITH years AS (SELECT DISTINCT year FROM survey_responses),
members AS (
    SELECT DISTINCT y.year, m.territory_code, m.territory_level, m.commune_code
    FROM territory_members m JOIN years y ON {member_in_year("m", "y.year")}),
sizes AS (SELECT year, territory_code, territory_level, count(*) AS n FROM members GROUP BY ALL),
shared AS (
    SELECT a.year, a.territory_code, a.territory_level, b.territory_code AS reference_code,
           b.territory_level AS reference_level, count(*) AS n
    FROM members a JOIN members b ON b.year = a.year AND b.commune_code = a.commune_code
     AND (b.territory_code <> a.territory_code OR b.territory_level <> a.territory_level)
    GROUP BY ALL)
SELECT s.year, s.territory_code, s.territory_level, s.reference_code, s.reference_level
FROM shared s JOIN sizes z USING (year, territory_code, territory_level)
JOIN sizes r ON r.year = s.year AND r.territory_code = s.reference_code
 AND r.territory_level = s.reference_level
WHERE s.n = z.n AND r.n > z.n""")


def pairs(con: duckdb.DuckDBPyConnection, by: Sequence[str], panel: bool) -> Pairs:
    """Changes for every domain; gaps to containing territories for the totals only (the
    relations they read are prepared once per connection, by the run or here)."""
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary AND "
                       "table_name = $name", {"name": CONTAINING}).fetchall()[0][0]:
        prepare(con, panel)
    changes = _CHANGE_PAIRS.format(same_breakdown=" AND b._d3 = a._d3" if len(by) > 3 else "")
    sql = changes if len(by) > 3 else f"{changes}\nUNION ALL{_GAP_PAIRS}"
    return Pairs(sql, link=LINK if panel else None)


def rows(indicator_id: str, by: Sequence[str], result: DomainResult,
         scale: float) -> list[tuple]:
    """One row per pair found, the covariance in the published scale (``scale``²)."""
    found = []
    for pair in result.pairs or ():
        a, b = result.by[pair.first], result.by[pair.second]
        label = "total" if len(by) == 3 else f"{by[3]}={a[by[3]]}"
        found.append((indicator_id, label, a["_level"], a["_territory"], int(a["year"]),
                      b["_level"], b["_territory"], int(b["year"]),
                      scale * scale * pair.covariance, int(pair.shared_psus),
                      int(pair.shared_strata)))
    return found


def insert(con: duckdb.DuckDBPyConnection, found: list[tuple]) -> None:
    """Append ``found`` to ``_raw_covariances`` (columnar: a row at a time is slow)."""
    if not found:
        return
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS _raw_covariances ({COVARIANCE_COLUMNS})")
    con.register("_covariance_rows", pa.table(list(zip(*found, strict=True)), names=FIELDS))
    try:
        con.execute("INSERT INTO _raw_covariances SELECT * FROM _covariance_rows")
    finally:
        con.unregister("_covariance_rows")
