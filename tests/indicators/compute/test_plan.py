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
        f"SELECT _d0, _d1, theta, n_ok FROM ({total.sql}) WHERE _found").fetchall()
    estimates = {(t, int(y)): (theta, n) for t, y, theta, n in rows}
    published = sample_warehouse.execute(
        "SELECT territory_code, year, value, n_unweighted FROM indicator_values "
        "WHERE indicator_id = 'LL01' AND breakdown = 'total' AND value IS NOT NULL").fetchall()
    assert published
    for territory, year, value, n in published:
        theta, n_ok = estimates[(territory, year)]
        assert value == pytest.approx(100 * theta, rel=1e-11)
        assert n == n_ok

