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
