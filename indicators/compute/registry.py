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

from indicators.catalogue.definitions import (
    AdminRatio,
    Catalogue,
    Indicator,
    MeasureQuantity,
    PopulationQuantity,
    SurveyComputation,
)
from indicators.compute import (
    admin_ratio,
    commuting,
    survey_estimates,
    survey_pairs,
    survey_proportion,
)
from indicators.compute.options import ComputeOptions
from indicators.compute.plan import IndicatorPlan, Statement
from indicators.compute.publication import (
    COVARIANCE_COLUMNS,
    DESIGN_COLUMNS,
    RAW_COLUMNS,
    STATUS_SQL,
    finalise_values,
)
from indicators.conditions import columns_used
from indicators.territories import FRENCH_LEVELS, TerritoryModel, build_membership

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
                   lonely_psu: str = "fail", options: ComputeOptions | None = None
                   ) -> IndicatorPlan:
    """The plan of one indicator over a warehouse that holds ``territory_members``."""
    options = options or ComputeOptions(lonely_psu=lonely_psu)
    lacking = missing_survey_columns(con, indicator)
    if lacking:
        many = len(lacking) > 1
        return IndicatorPlan(indicator, (), PUBLICATION, unavailable=(
            f"needs survey item{'s' if many else ''} {', '.join(lacking)}, which "
            f"the project's survey does not have (survey_items)",
            f"demande {'les questions' if many else 'la question'} d'enquête "
            f"{', '.join(lacking)}, que l'enquête du projet n'a pas (survey_items)"))
    indicator = _survey_breakdowns_available(con, indicator)
    planned = kind_module(indicator).plan(con, indicator, options)
    return IndicatorPlan(planned.indicator, planned.statements, PUBLICATION,
                         unavailable=planned.unavailable)


def missing_survey_columns(con: duckdb.DuckDBPyConnection, indicator: Indicator) -> list[str]:
    """The columns a survey indicator reads that ``survey_responses`` lacks: a project with
    its own survey items keeps the built-in indicators its survey can give."""
    spec = indicator.computation
    if not isinstance(spec, SurveyComputation):
        return []
    cursor = con.execute("SELECT * FROM survey_responses LIMIT 0")
    have = {d[0].lower() for d in cursor.description}
    cursor.fetchall()
    used = [c for field in spec.EXPRESSIONS
            for c in columns_used(getattr(spec, field), role=field)]
    return [c for c in dict.fromkeys(used) if c.lower() not in have]


def _survey_breakdowns_available(con: duckdb.DuckDBPyConnection,
                                 indicator: Indicator) -> Indicator:
    """The indicator without the breakdowns whose column the survey lacks (its total stays)."""
    if not indicator.kind.startswith("survey") or not indicator.breakdowns:
        return indicator
    cursor = con.execute("SELECT * FROM survey_responses LIMIT 0")
    have = {d[0].lower() for d in cursor.description}
    cursor.fetchall()
    kept = tuple(b for b in indicator.breakdowns if b.lower() in have)
    return indicator if kept == indicator.breakdowns else indicator.model_copy(
        update={"breakdowns": kept})


def needs(indicator: Indicator) -> tuple[str, ...]:
    """The contract tables an indicator's values come from."""
    spec = indicator.computation
    if indicator.kind.startswith("survey"):
        return ("survey_responses",)
    if isinstance(spec, AdminRatio):
        tables = []
        for side in (spec.numerator, spec.denominator):
            if isinstance(side, MeasureQuantity):
                tables.append("admin_measures")
            elif isinstance(side, PopulationQuantity) and side.detailed:
                tables.append("population")
            else:
                tables.append("population or population_totals")
        return tuple(dict.fromkeys(tables))
    return (indicator.kind,) if indicator.kind == "commuting" else ()


AVAILABILITY_DDL = """
CREATE OR REPLACE TABLE indicator_availability (indicator_id VARCHAR PRIMARY KEY,
  ordinal INTEGER, computed BOOLEAN, reason VARCHAR, reason_fr VARCHAR, needs VARCHAR[])
"""


def _has_survey(con: duckdb.DuckDBPyConnection) -> bool:
    """The warehouse holds survey responses (the pairs of cells need them)."""
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'survey_responses' "
        "AND NOT temporary").fetchall()[0][0]) and bool(con.execute(
        "SELECT count(*) FROM survey_responses").fetchall()[0][0])


def compute_indicator_values(con: duckdb.DuckDBPyConnection, catalogue: Catalogue,
                             lonely_psu: str = "fail",
                             territory_model: TerritoryModel = FRENCH_LEVELS,
                             options: ComputeOptions | None = None,
                             progress: Callable[[int, int, str], None] | None = None) -> int:
    """Create ``territory_members``, ``indicator_values``, ``indicator_changes``,
    ``indicator_sql`` and ``indicator_availability`` (which indicators the data could give,
    and why not the others).

    ``lonely_psu`` is the project's rule for survey strata with a single PSU (R's options);
    ``territory_model`` its territory levels (membership follows their parent columns);
    ``options`` the rest of the project's settings (its population's bands and sex split),
    overriding ``lonely_psu`` when given; ``progress(done, total, indicator_id)`` is called
    after each indicator. Returns the number of rows in ``indicator_values``.
    """
    options = options or ComputeOptions(lonely_psu=lonely_psu)
    build_membership(con, territory_model)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _raw_values ({RAW_COLUMNS})")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _raw_design ({DESIGN_COLUMNS})")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _raw_covariances ({COVARIANCE_COLUMNS})")
    if _has_survey(con):
        survey_pairs.prepare(con, options.panel)
    scripts, availability = [], []
    for n, indicator in enumerate(catalogue):
        planned = plan_indicator(con, indicator, options=options)
        kind_module(indicator).run(con, planned, options)
        scripts.append((indicator.id, indicator.kind, planned.script()))
        reason = planned.unavailable
        if reason is None and not con.execute(
                "SELECT count(*) FROM _raw_values WHERE indicator_id = ?",
                [indicator.id]).fetchall()[0][0]:
            tables = needs(indicator)
            reason = (f"no rows in {' and '.join(tables)}",
                      f"aucune ligne dans {' et '.join(t.replace(' or ', ' ou ') for t in tables)}")
        availability.append((indicator.id, n, reason is None, *(reason or (None, None)),
                             list(needs(indicator))))
        if progress is not None:
            progress(n + 1, len(catalogue), indicator.id)
    con.execute("CREATE OR REPLACE TABLE indicator_sql "
                "(indicator_id VARCHAR PRIMARY KEY, kind VARCHAR, sql VARCHAR)")
    if scripts:
        con.executemany("INSERT INTO indicator_sql VALUES (?, ?, ?)", scripts)
    con.execute(AVAILABILITY_DDL)
    if availability:
        con.executemany("INSERT INTO indicator_availability VALUES (?, ?, ?, ?, ?, ?)",
                        availability)
    return finalise_values(con, catalogue, options.reliability)
