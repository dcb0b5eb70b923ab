"""Ratios of sums of administrative measures or population over a territory's communes."""

from __future__ import annotations

import duckdb

from indicators.catalogue.definitions import (
    AdminRatio,
    Indicator,
    MeasureQuantity,
    PopulationQuantity,
)
from indicators.compute.options import ComputeOptions
from indicators.territories import member_in_year


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
