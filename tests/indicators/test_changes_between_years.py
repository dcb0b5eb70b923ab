"""Changes between years: each year against the previous year the indicator has values for."""

from __future__ import annotations

import duckdb
import pytest

from indicators.compute.publication import SIGNIFICANT_DIGITS_SQL, compute_changes

VALUES_DDL = """
CREATE TABLE indicator_values (indicator_id VARCHAR, territory_code VARCHAR,
  territory_level VARCHAR, territory_name VARCHAR, year INTEGER, breakdown VARCHAR,
  value DOUBLE, numerator DOUBLE, denominator DOUBLE, se DOUBLE, ci_low DOUBLE, ci_high DOUBLE,
  n_unweighted BIGINT, status VARCHAR, status_reason VARCHAR)
"""


def _row(indicator: str, code: str, year: int, value: float | None, se: float | None = None,
         level: str = "COM") -> tuple:
    status = "ok" if value is not None else "missing"
    return (indicator, code, level, code, year, "total", value, None, None, se, None, None,
            None, status, None)


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    """A survey indicator run in 2016 and 2021, an administrative one every year from 2019
    (no value at all in 2020), a commune missing from 2016, and a région sharing a code."""
    con = duckdb.connect()
    con.execute(VALUES_DDL)
    rows = [
        _row("SURV", "A", 2016, 40.0, 1.0), _row("SURV", "A", 2021, 50.0, 1.0),
        _row("SURV", "B", 2021, 30.0, 1.0),
        _row("SURV", "11", 2016, 20.0, 5.0, "REG"), _row("SURV", "11", 2021, 21.0, 5.0, "REG"),
        _row("ADM", "A", 2019, 10.0), _row("ADM", "A", 2020, None), _row("ADM", "A", 2021, 12.0),
        _row("ADM", "B", 2019, 5.0), _row("ADM", "B", 2020, None), _row("ADM", "B", 2021, 6.0),
    ]
    con.executemany(f"INSERT INTO indicator_values VALUES ({', '.join('?' * 15)})", rows)
    con.execute(SIGNIFICANT_DIGITS_SQL)
    con.execute("CREATE TEMP TABLE _indicator_meta (indicator_id VARCHAR, ordinal INTEGER)")
    con.executemany("INSERT INTO _indicator_meta VALUES (?, ?)", [("SURV", 0), ("ADM", 1)])
    compute_changes(con)
    return con


def _changes(con, indicator: str) -> list[tuple]:
    return con.execute("SELECT territory_level, territory_code, year, previous_year, change, "
                       "significant FROM indicator_changes WHERE indicator_id = ? "
                       "ORDER BY territory_level, territory_code, year", [indicator]).fetchall()


def test_a_survey_run_every_five_years_compares_2021_with_2016(con):
    assert _changes(con, "SURV") == [
        ("COM", "A", 2021, 2016, 10.0, True),
        ("REG", "11", 2021, 2016, 1.0, False),
    ]


def test_a_commune_without_a_value_in_the_earlier_year_has_no_change(con):
    assert not [c for c in _changes(con, "SURV") if c[1] == "B"]


def test_a_year_without_any_value_is_skipped_and_every_territory_uses_the_same_year(con):
    changes = _changes(con, "ADM")
    assert [(c[1], c[2], c[3], c[4]) for c in changes if c[2] == 2021] == [
        ("A", 2021, 2019, 2.0), ("B", 2021, 2019, 1.0)]
    # 2020 has rows but no value: compared with 2019, its change is missing, not invented.
    assert [(c[1], c[3], c[4]) for c in changes if c[2] == 2020] == [
        ("A", 2019, None), ("B", 2019, None)]


def test_consecutive_years_still_compare_with_the_year_before(con):
    con.execute("INSERT INTO indicator_values VALUES ('ADM', 'A', 'COM', 'A', 2022, 'total', "
                "15, NULL, NULL, NULL, NULL, NULL, NULL, 'ok', NULL)")
    compute_changes(con)
    assert ("COM", "A", 2022, 2021, 3.0, None) in _changes(con, "ADM")


def test_the_first_year_has_no_change(con):
    assert all(c[2] != 2016 for c in _changes(con, "SURV"))
    assert all(c[2] != 2019 for c in _changes(con, "ADM"))
