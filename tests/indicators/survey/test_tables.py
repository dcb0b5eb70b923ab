"""Estimates and comparisons as tables, and the design a warehouse recorded, read back.

Specifications: a table has one row per domain, its by columns first; ``percent=True``
scales a proportion's estimate, se and interval and nothing else; ``design_for`` gives the
design of the published cells (the commune cells again, to 1e-9) and refuses, in one
message, a warehouse that records none.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import numpy as np
import pandas as pd
import pytest

from indicators import load_catalogue
from indicators.survey import (
    SurveyDesign,
    SurveyDesignError,
    compare_domains,
    comparisons_table,
    design_for,
    estimates_table,
    survey_mean,
    survey_proportion,
    survey_table,
)
from indicators.survey.recorded import (
    RecordedDesign,
    record_design,
    recorded_design,
    responses_design,
)
from indicators.survey.tables import COMPARISON_COLUMNS, ESTIMATE_COLUMNS

LL01 = load_catalogue().get("LL01").computation
CITIES = ("34172", "91228", "63113")


@pytest.fixture(scope="module")
def warehouse(sample_warehouse) -> Iterator[duckdb.DuckDBPyConnection]:
    """The sample's responses and published values, with the design a run records."""
    con = duckdb.connect()
    for table in ("survey_responses", "indicator_values"):
        rows = sample_warehouse.sql(f"SELECT * FROM {table}").to_arrow_table()  # noqa: F841
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM rows")
    record_design(con, responses_design("fail"))
    yield con
    con.close()


@pytest.fixture(scope="module")
def by_commune(warehouse) -> list:
    return survey_proportion(warehouse, design_for(warehouse), LL01.condition,
                             by=("territory_code", "year"), where=LL01.population, na_rm=True)


def test_an_estimates_table_has_one_row_per_domain_its_by_columns_first(by_commune):
    table = estimates_table(by_commune)
    assert list(table.columns) == ["territory_code", "year", *ESTIMATE_COLUMNS]
    assert len(table) == len(by_commune) > 30
    for row, e in zip(table.itertuples(index=False), by_commune, strict=True):
        assert (row.territory_code, row.year) == (e.by["territory_code"], e.by["year"])
        assert (row.estimate, row.se, row.ci_low, row.ci_high, row.df, row.n, row.cv) == (
            e.estimate, e.se, e.ci_low, e.ci_high, e.df, e.n, e.cv)
        assert row.deff == e.deff if e.deff is not None else np.isnan(row.deff)
    assert table.attrs == {"statistic": "proportion", "ci_method": "logit", "level": 0.95,
                           "percent": False}


def test_percent_scales_a_proportion_its_se_and_interval_and_nothing_else(by_commune):
    plain, percent = estimates_table(by_commune), estimates_table(by_commune, percent=True)
    scaled = ["estimate", "se", "ci_low", "ci_high"]
    pd.testing.assert_frame_equal(percent[scaled], 100 * plain[scaled])
    kept = [c for c in percent.columns if c not in scaled]
    pd.testing.assert_frame_equal(percent[kept], plain[kept])
    assert percent.attrs["percent"] is True


def test_percent_is_refused_for_a_mean(warehouse):
    means = survey_mean(warehouse, design_for(warehouse), "age", by=("year",))
    with pytest.raises(ValueError, match="percent=True scales proportions, not a mean"):
        estimates_table(means, percent=True)


def test_survey_table_is_the_estimators_result_as_a_table(warehouse, by_commune):
    design = design_for(warehouse)
    pd.testing.assert_frame_equal(
        survey_table(warehouse, design, "proportion", LL01.condition,
                     by=("territory_code", "year"), where=LL01.population, na_rm=True,
                     percent=True),
        estimates_table(by_commune, percent=True))
    pd.testing.assert_frame_equal(survey_table(warehouse, design, "mean", "age", by=("sex",)),
                                  estimates_table(survey_mean(warehouse, design, "age",
                                                              by=("sex",))))


def test_a_design_effect_r_gives_as_na_is_nan(by_commune):
    assert np.isnan(estimates_table([by_commune[0]._replace(deff=None)])["deff"].item())


def test_no_estimate_is_an_empty_table_with_the_columns():
    table = estimates_table([])
    assert list(table.columns) == list(ESTIMATE_COLUMNS) and table.empty


def changes(warehouse) -> list:
    return [compare_domains(warehouse, design_for(warehouse), "proportion", LL01.condition,
                            by=("territory_code", "year"),
                            first={"territory_code": c, "year": 2024},
                            second={"territory_code": c, "year": 2023},
                            where=LL01.population, na_rm=True)
            for c in CITIES]


def test_a_comparisons_table_has_one_row_per_comparison_with_both_domains(warehouse):
    compared = changes(warehouse)
    table = comparisons_table(compared)
    keys = ["first_territory_code", "first_year", "second_territory_code", "second_year"]
    assert list(table.columns) == [*keys, *COMPARISON_COLUMNS]
    assert table["first_territory_code"].tolist() == list(CITIES)
    assert set(table["first_year"]) == {2024} and set(table["second_year"]) == {2023}
    for row, c in zip(table.itertuples(index=False), compared, strict=True):
        assert (row.difference, row.se, row.ci_low, row.ci_high, row.test_statistic, row.df,
                row.p_value, row.significant) == (c.difference, c.se, c.ci_low, c.ci_high,
                                                  c.test_statistic, c.df, c.p_value,
                                                  c.significant)
        assert (row.first_estimate, row.second_estimate) == (c.first.estimate,
                                                             c.second.estimate)
        assert row.difference == pytest.approx(row.first_estimate - row.second_estimate,
                                               abs=1e-15)


def test_a_comparison_in_percent_is_in_points_its_test_unchanged(warehouse):
    compared = changes(warehouse)
    plain, percent = comparisons_table(compared), comparisons_table(compared, percent=True)
    scaled = ["difference", "se", "ci_low", "ci_high", "first_estimate", "first_se",
              "second_estimate", "second_se"]
    pd.testing.assert_frame_equal(percent[scaled], 100 * plain[scaled])
    kept = [c for c in plain.columns if c not in scaled]
    pd.testing.assert_frame_equal(percent[kept], plain[kept])
    one = comparisons_table(compared[0], percent=True)
    pd.testing.assert_frame_equal(one, percent.iloc[[0]])


def test_the_recorded_design_gives_the_published_commune_cells(warehouse, by_commune):
    published = warehouse.sql(
        "SELECT territory_code, year, value, se, ci_low, ci_high FROM indicator_values "
        "WHERE indicator_id = 'LL01' AND territory_level = 'COM' AND breakdown = 'total'"
    ).df()
    ours = estimates_table(by_commune, percent=True)
    both = published.merge(ours, on=["territory_code", "year"], validate="one_to_one")
    assert len(both) == len(published) == len(ours)
    both = both.dropna(subset=["value"])  # suppressed cells publish no value
    assert len(both) > 30
    np.testing.assert_allclose(both["estimate"], both["value"], rtol=1e-9)
    for column in ("se", "ci_low", "ci_high"):
        np.testing.assert_allclose(both[f"{column}_y"], both[f"{column}_x"], rtol=1e-9)


def test_a_recorded_design_reads_back_as_recorded_and_replaces_its_row():
    con = duckdb.connect()
    first = RecordedDesign("responses", "w", "h", ("p",), "year", "fail")
    record_design(con, first)
    assert recorded_design(con, "responses") == first
    again = RecordedDesign("responses", "w", None, (), None, "adjust")
    record_design(con, again)
    assert recorded_design(con, "responses") == again
    assert con.execute("SELECT count(*) FROM survey_design").fetchall() == [(1,)]


def test_design_for_quotes_every_recorded_name(warehouse):
    """Names with quotes and spaces stay column names: the estimate is the declared one."""
    con = duckdb.connect()
    rows = warehouse.sql("SELECT * FROM survey_responses").to_arrow_table()  # noqa: F841
    con.execute('CREATE TABLE "my responses" AS SELECT weight AS "w""t", stratum AS "the '
                'stratum", psu AS "p;su", year AS "y", age FROM rows')
    record_design(con, RecordedDesign("my responses", 'w"t', "the stratum", ("p;su",), "y",
                                      "fail"))
    declared = SurveyDesign(source="""SELECT *, year || '/' || stratum AS h,
                                             year || '/' || stratum || '/' || psu AS p
                                      FROM survey_responses""",
                            weights="weight", strata="h", psu=("p",))
    [recorded] = survey_mean(con, design_for(con, "my responses"), "age")
    [expected] = survey_mean(warehouse, declared, "age")
    assert (recorded.n, recorded.df) == (expected.n, expected.df)
    assert recorded.estimate == pytest.approx(expected.estimate, rel=1e-12)
    assert recorded.se == pytest.approx(expected.se, rel=1e-9)


def test_a_recorded_name_that_is_not_a_column_is_refused_not_run():
    con = duckdb.connect()
    con.execute("CREATE TABLE responses (w DOUBLE, h VARCHAR, p VARCHAR, year INTEGER)")
    record_design(con, RecordedDesign("responses", 'w" FROM x; --', "h", ("p",), "year",
                                      "fail"))
    with pytest.raises(SurveyDesignError, match="names columns the table does not have") as e:
        design_for(con, "responses")
    assert "'w\" FROM x; --'" in str(e.value)


def test_a_warehouse_without_a_recorded_design_is_refused_in_one_message():
    con = duckdb.connect()
    con.execute("CREATE TABLE survey_responses (weight DOUBLE)")
    with pytest.raises(SurveyDesignError, match="records no survey design .* run lci run "
                                                "again") as refused:
        design_for(con, "survey_responses")
    assert refused.value.__cause__ is None and refused.value.__suppress_context__ is False
    assert refused.value.__context__ is None  # no DuckDB error behind it
    record_design(con, RecordedDesign("other", "w", None, (), None, "fail"))
    with pytest.raises(SurveyDesignError, match="no survey design for 'survey_responses'; it "
                                                r"records one for \['other'\]"):
        design_for(con, "survey_responses")
