"""Compute every indicator of the catalogue for every territory and year, in DuckDB.

A registry keyed by the definition's ``kind`` maps *what* is declared in the catalogue to *how* it
is computed. Each computation yields raw rows (estimate, numerator, denominator, n, SE, CI);
``_status.py`` then applies the publication rules the same way for every kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from indicators._catalogue import (
    AdminRatio,
    Catalogue,
    CommutingRatio,
    Indicator,
    MeasureQuantity,
    PopulationQuantity,
    SurveyProportion,
)
from indicators._status import RAW_COLUMNS, finalise_values
from indicators._survey_indicators import survey_proportion_rows
from indicators._territories import build_membership, member_in_year

Computer = Callable[[duckdb.DuckDBPyConnection, Indicator, "ComputeOptions"], None]


@dataclass(frozen=True)
class ComputeOptions:
    """Settings that come from the project rather than from an indicator's definition."""

    lonely_psu: str = "fail"


def _quantity_sql(quantity: MeasureQuantity | PopulationQuantity) -> str:
    """Per commune and year, the amount one side of a ratio contributes."""
    if isinstance(quantity, MeasureQuantity):
        return (f"SELECT territory_code AS commune_code, year, sum(value) AS amount "
                f"FROM admin_measures WHERE measure_id = '{quantity.measure}' GROUP BY ALL")
    filters = ["TRUE"]
    if quantity.age_groups:
        filters.append(f"age_group IN ({', '.join(repr(g) for g in quantity.age_groups)})")
    if quantity.sex:
        filters.append(f"sex = '{quantity.sex}'")
    return (f"SELECT territory_code AS commune_code, year, sum(population) AS amount "
            f"FROM population WHERE {' AND '.join(filters)} GROUP BY ALL")


def admin_ratio_rows(con: duckdb.DuckDBPyConnection, indicator: Indicator,
                     options: ComputeOptions) -> None:
    """Ratio of sums over the member communes that report both sides (coverage is recorded)."""
    spec = indicator.computation
    assert isinstance(spec, AdminRatio)
    con.execute(f"""
        INSERT INTO _raw_values
        WITH num AS ({_quantity_sql(spec.numerator)}),
             den AS ({_quantity_sql(spec.denominator)}),
             years AS (SELECT DISTINCT year FROM num UNION SELECT DISTINCT year FROM den),
             pairs AS (
                 SELECT m.territory_code, y.year, m.commune_code, num.amount AS n, den.amount AS d
                 FROM territory_members m JOIN years y ON {member_in_year("m", "y.year")}
                 LEFT JOIN num ON num.commune_code = m.commune_code AND num.year = y.year
                 LEFT JOIN den ON den.commune_code = m.commune_code AND den.year = y.year)
        SELECT '{indicator.id}', territory_code, year, 'total',
               sum(n) FILTER (WHERE n IS NOT NULL AND d IS NOT NULL),
               sum(d) FILTER (WHERE n IS NOT NULL AND d IS NOT NULL),
               {spec.scale} * sum(n) FILTER (WHERE n IS NOT NULL AND d IS NOT NULL)
                 / nullif(sum(d) FILTER (WHERE n IS NOT NULL AND d IS NOT NULL), 0),
               NULL, NULL, NULL, NULL,
               count(*) FILTER (WHERE n IS NOT NULL AND d IS NOT NULL), count(*)
        FROM pairs GROUP BY ALL""")


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
        return (f"SELECT r.territory_code, c.year, sum(c.workers) AS workers FROM commuting c "
                f"JOIN territory_members r ON r.commune_code = c.residence_code "
                f"AND {member_in_year('r', 'c.year')} "
                f"JOIN territory_members w ON w.commune_code = c.workplace_code "
                f"AND w.territory_code = r.territory_code WHERE {jobs} GROUP BY ALL")
    return (f"SELECT m.territory_code, c.year, sum(c.workers) AS workers FROM commuting c "
            f"JOIN territory_members m ON m.commune_code = c.{end}_code "
            f"AND {member_in_year('m', 'c.year')} WHERE {jobs} GROUP BY ALL")


def commuting_rows(con: duckdb.DuckDBPyConnection, indicator: Indicator,
                   options: ComputeOptions) -> None:
    """Flows placed at both ends: a flow between two communes of an EPCI is local to it."""
    spec = indicator.computation
    assert isinstance(spec, CommutingRatio)
    numerator, denominator = COMMUTING_SIDES[spec.measure]
    con.execute(f"""
        INSERT INTO _raw_values
        WITH num AS ({_placed_workers(*numerator)}), den AS ({_placed_workers(*denominator)})
        SELECT '{indicator.id}', den.territory_code, den.year, 'total',
               coalesce(num.workers, 0), den.workers,
               {spec.scale} * coalesce(num.workers, 0) / nullif(den.workers, 0),
               NULL, NULL, NULL, NULL, NULL, NULL
        FROM den LEFT JOIN num USING (territory_code, year)""")


def survey_rows(con: duckdb.DuckDBPyConnection, indicator: Indicator,
                options: ComputeOptions) -> None:
    spec = indicator.computation
    assert isinstance(spec, SurveyProportion)
    survey_proportion_rows(con, indicator, spec, options.lonely_psu)


COMPUTERS: dict[str, Computer] = {
    "admin_ratio": admin_ratio_rows,
    "commuting": commuting_rows,
    "survey_proportion": survey_rows,
}


def compute_indicator_values(con: duckdb.DuckDBPyConnection, catalogue: Catalogue,
                             lonely_psu: str = "fail") -> int:
    """Create ``territory_members``, ``indicator_values`` and ``indicator_changes``.

    ``lonely_psu`` is the project's rule for survey strata with a single PSU (R's options).
    Returns the number of rows in ``indicator_values``.
    """
    options = ComputeOptions(lonely_psu=lonely_psu)
    build_membership(con)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _raw_values ({RAW_COLUMNS})")
    for indicator in catalogue:
        try:
            compute = COMPUTERS[indicator.kind]
        except KeyError:
            raise ValueError(f"{indicator.id}: unknown kind {indicator.kind!r}; "
                             f"known: {sorted(COMPUTERS)}") from None
        compute(con, indicator, options)
    return finalise_values(con, catalogue)
