"""Compute every indicator of the catalogue for every territory and year, in DuckDB.

A registry keyed by the definition's ``kind`` maps *what* is declared in the catalogue to *how* it
is computed: each kind's module first builds a plan (the SQL and its parameters), then runs it.
Each computation yields raw rows (estimate, numerator, denominator, n, SE, CI);
``publication.py`` then applies the publication rules the same way for every kind. The plans'
SQL is kept in the warehouse table ``indicator_sql``, one script per indicator.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import duckdb

from indicators.catalogue.definitions import Catalogue, Indicator
from indicators.compute import admin_ratio, commuting, survey_estimates, survey_proportion
from indicators.compute.options import ComputeOptions
from indicators.compute.plan import IndicatorPlan, Statement
from indicators.compute.publication import RAW_COLUMNS, STATUS_SQL, finalise_values
from indicators.territories import build_membership

# kind → module with plan(con, indicator, options) and run(con, plan, options)
KINDS: dict[str, ModuleType] = {
    "admin_ratio": admin_ratio,
    "commuting": commuting,
    "survey_proportion": survey_proportion,
    "survey_mean": survey_estimates,
    "survey_total": survey_estimates,
    "survey_ratio": survey_estimates,
}
Planner = Callable[[duckdb.DuckDBPyConnection, Indicator, ComputeOptions], IndicatorPlan]
PUBLICATION = Statement("publication rules (the same for every indicator): status, "
                        "suppression and rounding of the raw rows", STATUS_SQL)


def kind_module(indicator: Indicator) -> ModuleType:
    try:
        return KINDS[indicator.kind]
    except KeyError:
        raise ValueError(f"{indicator.id}: unknown kind {indicator.kind!r}; "
                         f"known: {sorted(KINDS)}") from None


def plan_indicator(con: duckdb.DuckDBPyConnection, indicator: Indicator,
                   lonely_psu: str = "fail") -> IndicatorPlan:
    """The plan of one indicator over a warehouse that holds ``territory_members``."""
    planned = kind_module(indicator).plan(con, indicator, ComputeOptions(lonely_psu=lonely_psu))
    return IndicatorPlan(planned.indicator, planned.statements, PUBLICATION)


def compute_indicator_values(con: duckdb.DuckDBPyConnection, catalogue: Catalogue,
                             lonely_psu: str = "fail") -> int:
    """Create ``territory_members``, ``indicator_values``, ``indicator_changes`` and
    ``indicator_sql``.

    ``lonely_psu`` is the project's rule for survey strata with a single PSU (R's options).
    Returns the number of rows in ``indicator_values``.
    """
    options = ComputeOptions(lonely_psu=lonely_psu)
    build_membership(con)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _raw_values ({RAW_COLUMNS})")
    scripts = []
    for indicator in catalogue:
        planned = plan_indicator(con, indicator, lonely_psu)
        kind_module(indicator).run(con, planned, options)
        scripts.append((indicator.id, indicator.kind, planned.script()))
    con.execute("CREATE OR REPLACE TABLE indicator_sql "
                "(indicator_id VARCHAR PRIMARY KEY, kind VARCHAR, sql VARCHAR)")
    if scripts:
        con.executemany("INSERT INTO indicator_sql VALUES (?, ?, ?)", scripts)
    return finalise_values(con, catalogue)
