"""Every indicator is first declared as a plan (its SQL and parameters), then run.

The plan an auditor reads must be the statement that produced the number: running the SQL of
LL01's plan directly gives the published estimate; values of the catalogue reach DuckDB as
bound parameters, never pasted into the SQL.
"""

from __future__ import annotations

import pytest

from indicators import load_catalogue
from indicators.compute.registry import plan_indicator

CATALOGUE = load_catalogue()


def test_every_indicator_has_a_plan_whose_script_shows_its_definition(sample_warehouse):
    scripts = dict(sample_warehouse.execute(
        "SELECT indicator_id, sql FROM indicator_sql").fetchall())
    assert set(scripts) == {i.id for i in CATALOGUE}
    for indicator in CATALOGUE:
        script = scripts[indicator.id]
        assert script == plan_indicator(sample_warehouse, indicator).script()
        assert f"defined in the catalogue file {indicator.defined_in}" in script
        assert f"kind: {indicator.kind}" in script


@pytest.mark.parametrize("indicator", [i for i in CATALOGUE if i.kind == "admin_ratio"],
                         ids=lambda i: i.id)
def test_catalogue_values_are_bound_parameters_not_sql(sample_warehouse, indicator):
    [statement] = plan_indicator(sample_warehouse, indicator).statements
    assert statement.parameters["indicator"] == indicator.id
    measures = [v for k, v in statement.parameters.items() if k.endswith("_measure")]
    for measure in measures:
        assert measure not in statement.sql
    assert f"'{indicator.id}'" not in statement.sql


def test_running_the_survey_sql_of_the_plan_gives_the_published_estimate(sample_warehouse):
    ll01 = next(i for i in CATALOGUE if i.id == "LL01")
    total = plan_indicator(sample_warehouse, ll01).statements[0]
    rows = sample_warehouse.execute(
        f"SELECT _d0, _d1, _d2, theta, n_ok FROM ({total.sql}) WHERE _found").fetchall()
    estimates = {(t, lv, int(y)): (theta, n) for t, lv, y, theta, n in rows}
    published = sample_warehouse.execute(
        "SELECT territory_code, territory_level, year, value, n_unweighted "
        "FROM indicator_values "
        "WHERE indicator_id = 'LL01' AND breakdown = 'total' AND value IS NOT NULL").fetchall()
    assert published
    for territory, level, year, value, n in published:
        theta, n_ok = estimates[(territory, level, year)]
        assert value == pytest.approx(100 * theta, rel=1e-11)
        assert n == n_ok



def _with_condition(condition: str, population: str = "TRUE"):
    from indicators.catalogue.definitions import SurveyProportion

    ll01 = CATALOGUE.get("LL01")
    spec = SurveyProportion(kind="survey_proportion", condition=condition, population=population)
    return ll01.model_copy(update={"computation": spec})


def test_a_survey_condition_is_checked_against_the_table_when_planned():
    import duckdb

    from indicators.catalogue.definitions import CatalogueError
    from indicators.compute import survey_proportion
    from indicators.compute.options import ComputeOptions

    con = duckdb.connect()
    con.execute("CREATE TABLE survey_responses (age INTEGER, formal_12m INTEGER)")
    with pytest.raises(CatalogueError, match=r"LL\.yaml, indicator LL01: field "
                                             r"'computation.condition'.*unknown column "
                                             r"'formal_12' \(did you mean formal_12m\?\)"):
        survey_proportion.plan(con, _with_condition("formal_12 = 1"), ComputeOptions())
    with pytest.raises(CatalogueError, match="computation.population.*unknown column 'agee'"):
        survey_proportion.plan(con, _with_condition("formal_12m = 1", "agee > 1"),
                               ComputeOptions())
    assert survey_proportion.plan(con, _with_condition("FORMAL_12M = 1"),
                                  ComputeOptions()).statements == ()


def test_the_records_of_a_cell_use_the_checked_condition_with_qualified_columns():
    from indicators.compute import survey_proportion

    statement = survey_proportion.records(_with_condition("formal_12m = 1", "age > 17"),
                                          "34172", "COM", 2024, ("sex", "F"))
    assert 'CAST(("r"."formal_12m" = 1) AS DOUBLE)' in statement.sql
    assert 'CAST(("r"."age" > 17) AS BOOLEAN)' in statement.sql
    assert 'CAST(r."sex" AS VARCHAR) = $breakdown_value' in statement.sql


def test_a_line_break_in_a_condition_stays_inside_the_script_comment():
    from indicators.compute.plan import IndicatorPlan, Statement

    indicator = _with_condition("formal_12m = 'a\nb'")
    plan = IndicatorPlan(indicator, (Statement("proportion where formal_12m = 'a\nDROP TABLE x;'",
                                               "SELECT 1"),))
    script = plan.script()
    assert "\nDROP TABLE" not in script and "-- DROP TABLE x;" in script
