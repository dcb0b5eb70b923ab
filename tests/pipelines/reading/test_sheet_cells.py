"""Excel cells that hold no value: a TRUE/FALSE cell is never 1/0 or a code, and an error
cell (#DIV/0!, #N/A …) is never an empty one; each is quarantined with its own rule, naming
the file, the row and the file's column."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from pathlib import Path

import xlsxwriter

from pipelines.reading.readers import _error_cells
from tests.bad_inputs_loader import Run, ingest_source

HEADER = ["CODGEO", "ANNEE", "SEXE", "TRANCHE_AGE", "POP"]
SOURCE = {"name": "population", "path": "population.xlsx", "format": "xlsx",
          "table": "population",
          "columns": {"territory_code": "CODGEO", "year": "ANNEE", "sex": "SEXE",
                      "age_group": "TRANCHE_AGE", "population": "POP"},
          "recode": {"sex": {"1": "M", "2": "F"}}}
BOOLEAN = ("a TRUE/FALSE cell, not a number or code",
           "une cellule VRAI/FAUX, pas un nombre ni un code")


def workbook(path: Path, rows: list[list[object]]) -> None:
    """Rows under the header; ``True``/``False`` as boolean cells, ``('=1/0', '#DIV/0!')`` as
    a formula with its cached error."""
    book = xlsxwriter.Workbook(str(path))
    book.set_properties({"created": datetime(2024, 1, 1)})
    sheet = book.add_worksheet("Population")
    sheet.write_row(0, 0, HEADER)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if isinstance(value, bool):
                sheet.write_boolean(r, c, value)
            elif isinstance(value, tuple):
                sheet.write_formula(r, c, value[0], None, value[1])
            elif isinstance(value, str):
                sheet.write_string(r, c, value)
            else:
                sheet.write_number(r, c, value)
    book.close()


def ingest(tmp_path: Path, rows: list[list[object]]) -> Run:
    workbook(tmp_path / "population.xlsx", rows)
    return ingest_source(tmp_path, SOURCE, references=("territories",))


def quarantined(run: Run) -> list[tuple]:
    return run.con.execute(
        "SELECT row_number, file_column, check_id, value, rule.en, rule.fr FROM quarantine "
        "WHERE source = 'population' ORDER BY row_number, check_id").fetchall()


def loaded(run: Run) -> list[tuple]:
    return run.con.execute("SELECT source_row, sex, year, population FROM population "
                           "ORDER BY source_row").fetchall()


def test_true_and_false_cells_are_quarantined_never_read_as_one_zero_or_a_code(tmp_path):
    run = ingest(tmp_path, [["01053", 2024, 1, "25-34", True],    # row 2: population
                            ["01053", 2024, True, "35-44", 10],   # row 3: sex, "1" → M
                            ["01053", True, 2, "25-34", 10],      # row 4: year
                            ["2A004", 2024, 2, "25-34", False],   # row 5: population
                            ["2A004", 2024, 1, "25-34", 12]])     # row 6: good
    assert not run.result.errors, [str(e) for e in run.result.errors]
    assert quarantined(run) == [
        (2, "POP", "population.population.excel_boolean", "TRUE", *BOOLEAN),
        (3, "SEXE", "population.sex.excel_boolean", "TRUE", *BOOLEAN),
        (4, "ANNEE", "population.year.excel_boolean", "TRUE", *BOOLEAN),
        (5, "POP", "population.population.excel_boolean", "FALSE", *BOOLEAN)]
    assert loaded(run) == [(6, "M", 2024, 12.0)]
    [outcome] = [o for o in run.result.outcomes if o.source == "population"]
    assert (outcome.rows_read, outcome.rows_accepted, outcome.rows_quarantined) == (5, 1, 4)
    problems = run.con.execute(
        "SELECT file, \"row\", \"column\", value, message.en FROM problems "
        "WHERE code = 'check.population.sex.excel_boolean'").fetchall()
    assert problems == [("population.xlsx", 3, "SEXE", "TRUE", BOOLEAN[0])]


def test_an_error_cell_is_quarantined_as_the_excel_error_it_holds_not_as_empty(tmp_path):
    run = ingest(tmp_path, [["01053", 2024, 1, "25-34", ("=1/0", "#DIV/0!")],
                            ["01053", 2024, ("=NA()", "#N/A"), "35-44", 10],
                            [("=1+\"a\"", "#VALUE!"), 2024, 2, "25-34", 10],
                            ["2A004", 2024, 2, "25-34", ("=1+1", 2)]])
    assert not run.result.errors, [str(e) for e in run.result.errors]
    found = quarantined(run)
    assert [r[:4] for r in found] == [
        (2, "POP", "population.population.excel_error", "#DIV/0!"),
        (3, "SEXE", "population.sex.excel_error", "#N/A"),
        (4, "CODGEO", "population.territory_code.excel_error", "#VALUE!")]
    assert found[0][4:] == (
        "the cell holds the Excel error #DIV/0!, not a value: correct the formula or type the "
        "value",
        "la cellule contient l'erreur Excel #DIV/0!, pas une valeur : corrigez la formule ou "
        "saisissez la valeur")
    assert not any("empty" in r[4] for r in found)
    assert loaded(run) == [(5, "F", 2024, 2.0)]  # a formula's number is a number


def test_a_row_holding_only_an_error_cell_is_not_skipped_as_empty(tmp_path):
    run = ingest(tmp_path, [["01053", 2024, 1, "25-34", 3],
                            ["", "", "", "", ("=1/0", "#DIV/0!")],
                            ["2A004", 2024, 2, "25-34", 4]])
    assert [r[:4] for r in quarantined(run) if r[2].endswith("excel_error")] == [
        (3, "POP", "population.population.excel_error", "#DIV/0!")]
    assert [r[0] for r in loaded(run)] == [2, 4]


def test_text_that_looks_like_true_or_an_error_is_text(tmp_path):
    run = ingest(tmp_path, [["01053", 2024, "TRUE", "25-34", 3],
                            ["2A004", 2024, 2, "25-34", "#DIV/0!"]])
    assert [r[2] for r in quarantined(run)] == ["population.sex.isin",
                                                "population.population.type"]


def test_error_cells_are_found_without_cell_references_and_with_prefixed_tags(tmp_path):
    sheet = ('<?xml version="1.0"?><x:worksheet xmlns:x="http://schemas.openxmlformats.org/'
             'spreadsheetml/2006/main"><x:sheetData><x:row><x:c t="s"><x:v>0</x:v></x:c>'
             '</x:row><x:row r="4"><x:c><x:v>1</x:v></x:c><x:c t=\'e\'><x:v>#REF!</x:v></x:c>'
             '</x:row></x:sheetData></x:worksheet>')
    workbook_xml = ('<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
                    'relationships"><sheets><sheet name="Données" sheetId="1" r:id="rId7"/>'
                    '</sheets></workbook>')
    rels = ('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
            'relationships"><Relationship Id="rId7" Type="x/worksheet" '
            'Target="/xl/sheets/s.xml"/></Relationships>')
    root = ('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
            'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("_rels/.rels", root)
        archive.writestr("xl/workbook.xml", workbook_xml)
        archive.writestr("xl/_rels/workbook.xml.rels", rels)
        archive.writestr("xl/sheets/s.xml", sheet)
    path = tmp_path / "book.xlsx"
    path.write_bytes(buffer.getvalue())
    assert _error_cells(path, "Données") == {(3, 1): "#REF!"}
    assert _error_cells(path, "Other") == {}
    (tmp_path / "not.xlsx").write_bytes(b"\xd0\xcf\x11\xe0 an .xls")
    assert _error_cells(tmp_path / "not.xlsx", "Données") == {}
