"""Indicator values: aggregation rules, publication rules and the sample's known patterns."""

import math
import statistics

import duckdb
import pytest
from scipy import stats

from indicators import load_catalogue


def value(con: duckdb.DuckDBPyConnection, indicator: str, territory: str, year: int = 2024,
          column: str = "value", breakdown: str = "total"):
    rows = con.execute(
        f"SELECT {column} FROM indicator_values WHERE indicator_id = ? AND territory_code = ? "
        "AND year = ? AND breakdown = ?", [indicator, territory, year, breakdown]).fetchall()
    assert len(rows) == 1, (indicator, territory, year, rows)
    return rows[0][0]


def test_every_indicator_has_a_value_for_the_five_cities_in_both_years(sample_warehouse):
    for indicator in load_catalogue():
        for city in ("63113", "78361", "34172", "91228", "56260"):
            for year in (2023, 2024):
                assert value(sample_warehouse, indicator.id, city, year,
                             column="status") in {"ok", "low_reliability"}


def test_a_ratio_aggregates_by_summing_numerators_and_denominators(sample_warehouse):
    con = sample_warehouse
    numerator, denominator = con.execute("""
        SELECT sum(a.value), (SELECT sum(p.population) FROM population p
                              JOIN territories t ON t.territory_code = p.territory_code
                              WHERE t.epci_code = '246300701' AND p.year = 2024)
        FROM admin_measures a JOIN territories t ON t.territory_code = a.territory_code
        WHERE t.epci_code = '246300701' AND a.year = 2024
          AND a.measure_id = 'library_active_borrowers'""").fetchall()[0]
    assert value(con, "MED04", "246300701") == pytest.approx(100 * numerator / denominator)
    assert value(con, "MED04", "246300701", column="numerator") == pytest.approx(numerator)


def test_a_merged_commune_does_not_count_as_a_missing_member(sample_warehouse):
    assert value(sample_warehouse, "MED04", "200059228", column="status") == "ok"
    rows = sample_warehouse.execute(
        "SELECT count(*) FROM indicator_values WHERE territory_code = '91182'").fetchall()
    assert rows == [(0,)]


def test_evry_is_an_employment_pole_whose_qualified_jobs_go_to_outsiders(sample_warehouse):
    assert value(sample_warehouse, "LNK01", "91228") > 100
    assert value(sample_warehouse, "LNK03", "91228") < 50


def test_commuting_within_an_epci_counts_as_local_for_the_epci(sample_warehouse):
    con = sample_warehouse
    assert value(con, "LNK02", "200059228") > value(con, "LNK02", "91228")


def test_a_survey_estimate_for_a_group_pools_its_members_microdata(sample_warehouse):
    con = sample_warehouse
    pooled = con.execute("""
        SELECT 100 * sum(weight) FILTER (WHERE formal_12m = 1 OR nonformal_12m = 1)
                   / sum(weight) FILTER (WHERE (formal_12m = 1 OR nonformal_12m = 1) IS NOT NULL)
        FROM survey_responses r JOIN territory_groups g ON g.member_code = r.territory_code
        WHERE g.group_code = 'PAYS-VANNES' AND r.year = 2024 AND age BETWEEN 25 AND 64
        """).fetchall()[0][0]
    assert value(con, "LL01", "PAYS-VANNES") == pytest.approx(pooled)


def test_survey_cells_carry_standard_error_interval_and_n(sample_warehouse):
    con = sample_warehouse
    se, low, high, n = (value(con, "LL01", "34172", column=c)
                        for c in ("se", "ci_low", "ci_high", "n_unweighted"))
    estimate = value(con, "LL01", "34172")
    assert se > 0 and low < estimate < high and n >= 500


def test_a_survey_cell_below_min_n_is_suppressed_with_its_reason(sample_warehouse):
    con = sample_warehouse
    assert value(con, "LL01", "56087", column="status") == "suppressed"
    assert value(con, "LL01", "56087") is None
    assert value(con, "LL01", "56087", column="numerator") is None
    assert value(con, "LL01", "56087", column="status_reason").startswith("unweighted n = ")


def test_a_small_survey_cell_is_flagged_low_reliability(sample_warehouse):
    assert value(sample_warehouse, "LL04", "63124", column="status") == "low_reliability"
    assert value(sample_warehouse, "LL04", "63124", column="status_reason") == (
        "unweighted n = 51 < 100")


def test_survey_indicators_have_sex_breakdowns(sample_warehouse):
    con = sample_warehouse
    women = value(con, "LL01", "63113", breakdown="sex=F")
    men = value(con, "LL01", "63113", breakdown="sex=M")
    total = value(con, "LL01", "63113")
    assert min(women, men) <= total <= max(women, men)


def test_a_change_is_significant_only_when_the_design_based_test_says_so(sample_warehouse):
    """A t test on the design's degrees of freedom for the pair of years."""
    rows = sample_warehouse.execute("""
        SELECT change, se_change, df_change, significant FROM indicator_changes
        WHERE indicator_id = 'LL01' AND significant IS NOT NULL""").fetchall()
    assert rows
    for change, se_change, df_change, significant in rows:
        assert significant == (abs(change) > stats.t.ppf(0.975, df_change) * se_change)


def test_changes_take_the_covariance_of_psus_surveyed_both_years(sample_warehouse):
    """The sample revisits its PSUs: the standard error of a change is sqrt(V1 + V2 - 2C),
    below the independent samples' one where the covariance is positive."""
    rows = sample_warehouse.execute("""
        SELECT c.se_change, c.covariance, a.se, b.se FROM indicator_changes c
        JOIN indicator_values a USING (indicator_id, territory_code, territory_level,
                                       breakdown, year)
        JOIN indicator_values b ON b.indicator_id = c.indicator_id
         AND b.territory_code = c.territory_code AND b.territory_level = c.territory_level
         AND b.breakdown = c.breakdown AND b.year = c.previous_year
        WHERE a.se IS NOT NULL AND b.se IS NOT NULL""").fetchall()
    ratios = [se / math.sqrt(s1 * s1 + s2 * s2) for se, _, s1, s2 in rows]
    assert sum(cov > 0 for _, cov, _, _ in rows) > len(rows) / 2
    assert statistics.median(ratios) < 0.95
    for se, cov, s1, s2 in rows:
        assert se == pytest.approx(math.sqrt(max(s1 * s1 + s2 * s2 - 2 * cov, 0)), rel=1e-9)


def test_indicator_values_snapshot(sample_warehouse, dataframe_regression):
    frame = sample_warehouse.execute(
        "SELECT * EXCLUDE (territory_name, status_reason) FROM indicator_values "
        "ORDER BY indicator_id, territory_code, year, breakdown").df()
    dataframe_regression.check(frame, basename="indicator_values",
                               default_tolerance={"rtol": 1e-9, "atol": 1e-9})
