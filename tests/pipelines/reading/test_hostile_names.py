"""Column names are data, never SQL: whatever a file or a project file calls its columns, the
data loads (or a clear problem is raised) and nothing is written outside the run."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter

from tests.bad_inputs_loader import ingest_source


def hostile_names(outside: Path) -> list[str]:
    return [
        f"x\" AS VARCHAR) AS y FROM t; COPY (SELECT 1) TO '{outside}'; --",
        "code'; DROP TABLE territories; --",
        "[red]",
        "année ✓ 2024",
        "_row",
        "a;b",
        "-- comment",
    ]


CONTRACT = ["territory_code", "year", "measure_id", "value", "source"]
ROWS = [["01053", "2024", "library_active_borrowers", "5432.5", "Médiathèque"],
        ["2A004", "2024", "schools_total", "12", "Rectorat"]]


def admin_source(path: str, fmt: str, names: list[str]) -> dict:
    return {"name": "admin", "path": path, "format": fmt, "table": "admin_measures",
            "columns": dict(zip(CONTRACT, names, strict=False))}


def assert_loaded_and_nothing_written(run, outside: Path, before: set[Path], root: Path) -> None:
    assert not outside.exists()
    assert not run.result.errors, [str(e) for e in run.result.errors]
    [outcome] = [o for o in run.result.outcomes if o.source == "admin"]
    assert (outcome.rows_read, outcome.rows_accepted) == (2, 2)
    assert {p for p in root.rglob("*")} - before <= {root / "lci.yaml"} | {
        root / n for n in ("territories.csv", "groups.csv", "codebook.csv")}
    values = run.con.execute("SELECT territory_code, value FROM admin_measures "
                             "ORDER BY 1").fetchall()
    assert values == [("01053", 5432.5), ("2A004", 12.0)]
    assert run.con.execute("SELECT count(*) FROM territories").fetchall()[0][0] > 0


@pytest.mark.parametrize("first", range(3))
def test_hostile_csv_header_loads_as_ordinary_columns(tmp_path: Path, first: int):
    outside = tmp_path / "pwned.csv"
    names = hostile_names(outside)[first:first + 5]
    header = ",".join('"' + n.replace('"', '""') + '"' for n in names) + ",\n"
    body = "".join(",".join(row) + ",extra\n" for row in ROWS)
    (tmp_path / "admin.csv").write_text(header + body, encoding="utf-8")
    before = set(tmp_path.rglob("*"))
    run = ingest_source(tmp_path, {**admin_source("admin.csv", "csv", names),
                                   "options": {"delimiter": ","}})
    assert_loaded_and_nothing_written(run, outside, before, tmp_path)
    [report] = [r for r in run.result.reports if r.source == "admin"]
    assert any("column_6" in n for n in report.notes)  # the empty name, numbered


@pytest.mark.parametrize("first", range(3))
def test_hostile_parquet_column_names_load_as_ordinary_columns(tmp_path: Path, first: int):
    outside = tmp_path / "pwned.csv"
    names = hostile_names(outside)[first:first + 5]
    columns = {n: [row[i] for row in ROWS] for i, n in enumerate(names)}
    columns["file_row_number"] = ["r1", "r2"]  # DuckDB's own name for row numbers
    pq.write_table(pa.table(columns), tmp_path / "admin.parquet")
    before = set(tmp_path.rglob("*"))
    run = ingest_source(tmp_path, admin_source("admin.parquet", "parquet", names))
    assert_loaded_and_nothing_written(run, outside, before, tmp_path)
    rows = run.con.execute("SELECT source_row FROM admin_measures ORDER BY 1").fetchall()
    assert rows == [(1,), (2,)]


@pytest.mark.parametrize("first", range(3))
def test_hostile_excel_header_loads_as_ordinary_columns(tmp_path: Path, first: int):
    outside = tmp_path / "pwned.csv"
    names = hostile_names(outside)[first:first + 5]
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("Data")
    for c, name in enumerate([*names, "POP\nnouvelle ligne"]):
        sheet.write_string(0, c, name)
    for r, row in enumerate(ROWS, start=1):
        for c, value in enumerate(row):
            sheet.write_string(r, c, value)
    book.close()
    (tmp_path / "admin.xlsx").write_bytes(buffer.getvalue())
    before = set(tmp_path.rglob("*"))
    run = ingest_source(tmp_path, admin_source("admin.xlsx", "xlsx", names))
    assert_loaded_and_nothing_written(run, outside, before, tmp_path)


def test_a_hostile_name_in_the_mapping_is_a_missing_column_not_sql(tmp_path: Path):
    outside = tmp_path / "pwned.csv"
    (tmp_path / "admin.csv").write_text(
        "code,annee,indicateur,valeur,source\n01053,2024,schools_total,12,Rectorat\n",
        encoding="utf-8")
    names = ["code", "annee", "indicateur", hostile_names(outside)[0], "source"]
    run = ingest_source(tmp_path, {**admin_source("admin.csv", "csv", names),
                                   "recode": {"measure_id": {"x'); COPY (SELECT 1) TO "
                                                             f"'{outside}'; --": "y"}},
                                   "missing_codes": {"source": ["'; --", "\"", "[x]"]}})
    assert not outside.exists()
    [error] = run.result.errors
    assert error.source == "admin"
    assert "missing column(s)" in error.message and "COPY" in error.message
    assert error.problem.column == names[3]


def test_hostile_recode_keys_and_missing_codes_are_values(tmp_path: Path):
    outside = tmp_path / "pwned.csv"
    key = f"x'); COPY (SELECT 1) TO '{outside}'; --"
    (tmp_path / "admin.csv").write_text(
        "code,annee,indicateur,valeur,source\n"
        f"01053,2024,\"{key}\",12,\"'; --\"\n"
        "2A004,2024,schools_total,3,[x]\n", encoding="utf-8")
    run = ingest_source(tmp_path, {
        **admin_source("admin.csv", "csv", ["code", "annee", "indicateur", "valeur", "source"]),
        "recode": {"measure_id": {key: "schools_total"}},
        "missing_codes": {"source": ["'; --", "[x]"]}})
    assert not outside.exists()
    assert not run.result.errors
    rows = run.con.execute("SELECT territory_code, measure_id, source FROM admin_measures "
                           "ORDER BY 1").fetchall()
    assert rows == [("01053", "schools_total", None), ("2A004", "schools_total", None)]
