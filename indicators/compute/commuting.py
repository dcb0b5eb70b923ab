"""Home-work flows placed at both ends: job concentration, local jobs, qualified jobs."""

from __future__ import annotations

import duckdb

from indicators.catalogue.definitions import CommutingRatio, Indicator
from indicators.compute.options import ComputeOptions
from indicators.compute.plan import IndicatorPlan, Statement
from indicators.territories import member_in_year

QUALIFIED_JOBS = "qualification IN ('managerial', 'intermediate')"

# (numerator, denominator): which end of a flow must lie in the territory, and which jobs count.
COMMUTING_SIDES = {
    "employment_concentration": (("workplace", "TRUE"), ("residence", "TRUE")),
    "local_job_retention": (("both", "TRUE"), ("residence", "TRUE")),
    "residents_share_of_qualified_jobs": (("both", QUALIFIED_JOBS), ("workplace", QUALIFIED_JOBS)),
}


def _placed_workers(end: str, jobs: str) -> str:
    """Workers per territory and year whose residence, workplace or both lie inside it."""
    if end == "both":
        return (f"SELECT r.territory_code, r.territory_level, c.year, sum(c.workers) AS workers "
                f"FROM commuting c "
                f"JOIN territory_members r ON r.commune_code = c.residence_code "
                f"AND {member_in_year('r', 'c.year')} "
                f"JOIN territory_members w ON w.commune_code = c.workplace_code "
                f"AND w.territory_code = r.territory_code "
                f"AND w.territory_level = r.territory_level "
                f"WHERE {jobs} GROUP BY ALL")
    return (f"SELECT m.territory_code, m.territory_level, c.year, sum(c.workers) AS workers "
            f"FROM commuting c "
            f"JOIN territory_members m ON m.commune_code = c.{end}_code "
            f"AND {member_in_year('m', 'c.year')} WHERE {jobs} GROUP BY ALL")


def plan(con: duckdb.DuckDBPyConnection, indicator: Indicator,
         options: ComputeOptions) -> IndicatorPlan:
    """Flows placed at both ends: a flow between two communes of an EPCI is local to it."""
    spec = indicator.computation
    assert isinstance(spec, CommutingRatio)
    numerator, denominator = COMMUTING_SIDES[spec.measure]
    sql = f"""
INSERT INTO _raw_values
WITH numerator_workers AS ({_placed_workers(*numerator)}),
     denominator_workers AS ({_placed_workers(*denominator)})
SELECT $indicator, d.territory_code, d.territory_level, d.year, 'total',
       coalesce(n.workers, 0), d.workers,
       $scale * coalesce(n.workers, 0) / nullif(d.workers, 0),
       NULL, NULL, NULL, NULL, NULL, NULL
FROM denominator_workers d
LEFT JOIN numerator_workers n USING (territory_code, territory_level, year)"""
    return IndicatorPlan(indicator, (Statement(
        f"{spec.measure.replace('_', ' ')}: workers placed by residence and workplace, "
        f"by territory and year", sql, {"indicator": indicator.id, "scale": spec.scale}),))


def run(con: duckdb.DuckDBPyConnection, planned: IndicatorPlan, options: ComputeOptions) -> None:
    for statement in planned.statements:
        statement.run(con)


def _inside(end: str, jobs: str) -> str:
    """SQL: a flow counts on this side (as ``_placed_workers`` places it)."""
    if end == "both":
        return f"(c.residence_code IN (SELECT * FROM members_in_year) " \
               f"AND c.workplace_code IN (SELECT * FROM members_any_year) AND {jobs})"
    return f"(c.{end}_code IN (SELECT * FROM members_in_year) AND {jobs})"


def records(indicator: Indicator, territory: str, level: str, year: int,
            breakdown: tuple[str, str] | None) -> Statement:
    """The home-work flows behind one cell, each with the part it adds to either side."""
    spec = indicator.computation
    assert isinstance(spec, CommutingRatio)
    numerator, denominator = COMMUTING_SIDES[spec.measure]
    sql = f"""
WITH members_in_year AS (SELECT commune_code FROM territory_members m
                         WHERE m.territory_code = $territory AND m.territory_level = $level
                           AND {member_in_year("m", "$year")}),
     members_any_year AS (SELECT commune_code FROM territory_members
                          WHERE territory_code = $territory AND territory_level = $level)
SELECT c.source_file, c.source_row, c.residence_code, c.workplace_code, c.qualification,
       c.workers,
       CASE WHEN {_inside(*numerator)} THEN c.workers END AS numerator_part,
       CASE WHEN {_inside(*denominator)} THEN c.workers END AS denominator_part,
       FALSE AS counted
FROM commuting c
WHERE c.year = $year AND ({_inside(*numerator)} OR {_inside(*denominator)})
ORDER BY c.source_file, c.source_row"""
    return Statement("records behind the cell", sql,
                     {"territory": territory, "level": level, "year": year})
