"""Ingestion: files as offices send them become validated tables; bad rows keep their reasons."""

from pathlib import Path

import duckdb
import pytest

from pipelines.config import load_config
from pipelines.ingest import ingest
from tests.small_project import write_small_project


@pytest.fixture
def ingested(tmp_path: Path):
    config = load_config(write_small_project(tmp_path))
    con = duckdb.connect()
    result = ingest(con, config)
    yield con, result
    con.close()


def quarantined(con, source: str) -> list[tuple]:
    return con.execute(
        "SELECT file, row_number, file_column, rule.en, value FROM quarantine WHERE source = ? "
        "ORDER BY row_number, file_column", [source]).fetchall()


def test_codes_keep_their_leading_zeros_and_corsican_letters(ingested):
    con, _ = ingested
    codes = {r[0] for r in con.execute("SELECT territory_code FROM territories").fetchall()}
    assert {"01053", "2A004", "01", "2A"} <= codes


def test_french_csv_decimal_comma_thousands_space_and_accents(ingested):
    con, _ = ingested
    value, source = con.execute(
        "SELECT value, source FROM admin_measures WHERE territory_code = '01053'").fetchall()[0]
    assert value == 5432.5
    assert source == "Médiathèque É. Zola"


def test_text_in_a_number_column_is_quarantined_with_file_row_column_and_value(ingested):
    con, _ = ingested
    assert ("admin.csv", 4, "valeur", "must be a number", "douze") in quarantined(con, "admin")


def test_an_unknown_commune_is_quarantined(ingested):
    con, _ = ingested
    rows = quarantined(con, "admin")
    assert ("admin.csv", 5, "code_commune",
            "must be a commune of the territories table, valid that year", "99001") in rows


def test_excel_rows_are_numbered_as_the_spreadsheet_shows_them(ingested):
    con, _ = ingested
    rows = quarantined(con, "population")
    assert rows == [("population.xlsx", 6, "POP", "must be at least 0", "-5")]
    sexes = con.execute("SELECT DISTINCT sex FROM population ORDER BY 1").fetchall()
    assert sexes == [("F",), ("M",)]


def test_every_row_read_is_accepted_or_quarantined(ingested):
    con, result = ingested
    for outcome in result.outcomes:
        assert outcome.rows_read == outcome.rows_accepted + outcome.rows_quarantined
    by_source = {o.source: o for o in result.outcomes}
    assert (by_source["admin"].rows_read, by_source["admin"].rows_accepted) == (4, 2)
    stored = con.execute("SELECT count(*) FROM admin_measures").fetchall()[0][0]
    assert stored == by_source["admin"].rows_accepted


def test_duplicated_keys_quarantine_every_copy(tmp_path: Path):
    rows = ["code_commune;annee;indicateur;valeur;source",
            "01053;2024;schools_total;12;Rectorat",
            "01053;2024;schools_total;13;Rectorat"]
    config = load_config(write_small_project(tmp_path, admin_rows=rows))
    con = duckdb.connect()
    ingest(con, config)
    rules = {r[3] for r in quarantined(con, "admin")}
    assert rules == {"(territory_code, year, measure_id) must be unique: this combination "
                     "appears more than once"}
    assert len(quarantined(con, "admin")) == 2


def test_a_missing_column_stops_the_source_with_one_message(tmp_path: Path):
    rows = ["code_commune;annee;indicateur;source", "01053;2024;schools_total;Rectorat"]
    config = load_config(write_small_project(tmp_path, admin_rows=rows))
    result = ingest(duckdb.connect(), config)
    assert [e.source for e in result.errors] == ["admin"]
    assert "missing column(s) 'valeur'" in str(result.errors[0])
    assert "admin.csv" in str(result.errors[0])


def test_a_table_larger_than_a_sheet_comes_as_several_sources(tmp_path: Path):
    """A sheet holds 1,048,576 rows: a larger table is split over workbooks (or sheets), each a
    source of the same table, validated together and traced to its own file and row."""
    from tests.small_project import POPULATION_ROWS, write_population_xlsx

    config_path = write_small_project(tmp_path)
    write_population_xlsx(tmp_path / "population_2.xlsx",
                          [["01053", 2024, 1, "35-44", 1900], ["01053", 2024, 2, "35-44", -1]],
                          sheet="Suite")
    text = config_path.read_text(encoding="utf-8")
    second = text[text.index("  - name: population"):].replace(
        "name: population", "name: population_2").replace(
        "path: population.xlsx", "path: population_2.xlsx").replace(
        "sheet: Population", "sheet: Suite")
    config_path.write_text(text + second, encoding="utf-8")
    con = duckdb.connect()
    result = ingest(con, load_config(config_path))
    by_source = {o.source: o for o in result.outcomes}
    assert (by_source["population"].rows_read, by_source["population"].rows_accepted) == (
        len(POPULATION_ROWS), 2)
    assert (by_source["population_2"].rows_read,
            by_source["population_2"].rows_accepted) == (2, 1)
    assert con.execute("SELECT count(*) FROM population").fetchone()[0] == 3
    assert quarantined(con, "population_2") == [
        ("population_2.xlsx", 5, "POP", "must be at least 0", "-1")]
    files = con.execute("SELECT DISTINCT source_file FROM population ORDER BY 1").fetchall()
    assert [f[0] for f in files] == ["population.xlsx", "population_2.xlsx"]
