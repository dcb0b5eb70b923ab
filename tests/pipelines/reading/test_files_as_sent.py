"""Files as offices send them: every line accounted for, mixed line endings read, the wrong
kind of file named for what it is, numbers read under the declared locale only."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.bad_inputs_loader import Run, ingest_source

HEADER = "code_commune;annee;indicateur;valeur;source"
GOOD = "01053;2024;schools_total;{n};Rectorat"
ADMIN = {"name": "admin", "path": "admin.csv", "format": "csv", "table": "admin_measures",
         "options": {"delimiter": ";", "decimal": ","},
         "columns": {"territory_code": "code_commune", "year": "annee",
                     "measure_id": "indicateur", "value": "valeur", "source": "source"}}


def admin_lines(count: int) -> list[str]:
    """``count`` data lines (the value is the line's position; keys repeat, so parse
    failures are looked at apart)."""
    return [f"{'01053' if n % 2 else '2A004'};2024;"
            f"{'schools_total' if n % 4 < 2 else 'library_active_borrowers'};{n};R{n}"
            for n in range(count)]


def parse_failures(run: Run) -> list[tuple]:
    return [r for r in quarantined(run) if r[1] == "admin_measures.parse"]


def staged_rows(run: Run) -> list[int]:
    """Line numbers of the rows that reached validation (accepted or failing a check)."""
    loaded = {r[0] for r in run.con.execute("SELECT source_row FROM admin_measures").fetchall()}
    failing = {r[0] for r in quarantined(run) if r[1] != "admin_measures.parse"}
    return sorted(loaded | failing)


def ingest_bytes(tmp_path: Path, data: bytes, **changes) -> Run:
    (tmp_path / "admin.csv").write_bytes(data)
    return ingest_source(tmp_path, {**ADMIN, **changes},
                         references=("territories", "admin_codebook"))


def outcome(run: Run):
    assert not run.result.errors, [str(e) for e in run.result.errors]
    [found] = [o for o in run.result.outcomes if o.source == "admin"]
    return found


def quarantined(run: Run) -> list[tuple]:
    return run.con.execute("SELECT row_number, check_id, rule.en, value FROM quarantine WHERE "
                           "source = 'admin' ORDER BY row_number, check_id").fetchall()


def test_a_stray_quote_that_swallows_lines_quarantines_every_line_it_swallowed(tmp_path):
    lines = admin_lines(40)
    lines[2] = lines[2].replace(";R2", ';"R2 annexe')  # opens a quote on line 4
    lines[30] = lines[30].replace(";30;", ';30";')  # closes it on line 32, mid-field
    lines[31] = lines[31].replace(";R31", ';"R31')  # opens one never closed (line 33)
    run = ingest_bytes(tmp_path, "\n".join([HEADER, *lines, ""]).encode())
    found = outcome(run)
    assert found.rows_read == 40
    assert found.rows_read == found.rows_accepted + found.rows_quarantined
    rows = parse_failures(run)
    assert [r[0] for r in rows] == list(range(4, 42))  # lines 4-41: 38 rows of 40
    assert staged_rows(run) == [2, 3]
    assert any("unclosed quote" in r[2] for r in rows)
    assert rows[1][3] == lines[3]  # the swallowed line, as written


def test_a_quoted_value_over_several_lines_is_quarantined_with_its_lines(tmp_path):
    lines = admin_lines(6)
    lines[1] = lines[1].replace(";R1", ';"R1\n\nsuite"')
    run = ingest_bytes(tmp_path, "\n".join([HEADER, *lines, ""]).encode())
    found = outcome(run)
    assert found.rows_read == 7
    rows = parse_failures(run)
    assert [r[0] for r in rows] == [3, 5]  # line 4 is empty, inside the value
    assert "runs over 3 lines (lines 3–5)" in rows[0][2]
    assert "column 'source'" in rows[0][2]
    assert staged_rows(run) == [2, 6, 7, 8, 9]


def test_mixed_line_endings_are_read_and_a_stray_cr_rejects_only_its_line(tmp_path):
    lines = admin_lines(6)
    data = ("\r\n".join([HEADER, *lines[:3]]) + "\n" + lines[3] + "\r\n"
            + lines[4].replace(";R4", ";R\r4") + "\r\n" + lines[5] + "\r\n").encode()
    run = ingest_bytes(tmp_path, data)
    found = outcome(run)
    # The stray CR ends a line, as editors show it: line 6 is cut in two (lines 6 and 7).
    assert found.rows_read == 7
    assert [r[0] for r in parse_failures(run)] == [7]  # '4;R' splits well, '4' does not
    [report] = [r for r in run.result.reports if r.source == "admin"]
    assert any("mixed line endings" in n for n in report.notes)
    assert staged_rows(run) == [2, 3, 4, 5, 6, 8]


def test_a_windows_file_with_line_feeds_inside_quoted_values_is_read(tmp_path):
    lines = admin_lines(3)
    lines[0] = lines[0].replace(";R0", ';"R0\nsuite"')
    run = ingest_bytes(tmp_path, ("\r\n".join([HEADER, *lines]) + "\r\n").encode())
    found = outcome(run)
    assert found.rows_read == 4
    assert [r[0] for r in parse_failures(run)] == [2, 3]
    assert staged_rows(run) == [4, 5]


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("admin.csv", HEADER + "\n")
    return buffer.getvalue()


def xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


def test_files_that_are_not_text_are_named_for_what_they_are(tmp_path):
    for data, said in [(zip_bytes(), "this is a ZIP archive, not a CSV text file"),
                       (xlsx_bytes(), "this is an Excel workbook (xlsx), not a CSV text file: "
                                      "declare format: xlsx"),
                       (b"\x1f\x8b\x08\x00" + b"\x00" * 20, "this is a gzip archive"),
                       (b"%PDF-1.7\n%\xe2\xe3", "this is a PDF document"),
                       (b"PAR1\x00\x00PAR1", "this is a Parquet file")]:
        run = ingest_bytes(tmp_path, data)
        [error] = run.result.errors
        assert said in error.message, error.message
        assert error.problem.code == "source.not_text"
        assert "encoding" not in error.message


def test_a_text_file_named_xlsx_or_parquet_is_said_to_be_text(tmp_path):
    (tmp_path / "population.xlsx").write_bytes(b"CODGEO;ANNEE\n01053;2024\n")
    run = ingest_source(tmp_path, {"name": "population", "path": "population.xlsx",
                                   "format": "xlsx", "table": "population"})
    assert "this is a text file, not an Excel workbook" in run.result.errors[0].message
    (tmp_path / "population.parquet").write_bytes(b"CODGEO;ANNEE\n01053;2024\n")
    run = ingest_source(tmp_path, {"name": "population", "path": "population.parquet",
                                   "format": "parquet", "table": "population"})
    assert "not a Parquet file" in run.result.errors[0].message


def test_numbers_are_read_under_the_declared_decimal_comma_only(tmp_path):
    values = ["1.234", "1 234,5", "1\u00a0234,5", "1\u202f234", "12,5", "1.234,5", "1 23,4",
              "-3,25", "1e3"]
    lines = [f"{'01053' if n % 2 else '2A004'};2024;library_active_borrowers;{v};R{n}"
             if n < 2 else f"{'01053' if n % 2 else '2A004'};{2024};m{n};{v};R{n}"
             for n, v in enumerate(values)]
    run = ingest_bytes(tmp_path, "\n".join([HEADER, *lines, ""]).encode())
    outcome(run)
    checks = {(r[0], r[1]) for r in quarantined(run)}
    assert (2, "admin_measures.value.decimal_comma") in checks  # 1.234
    assert (7, "admin_measures.value.decimal_comma") in checks  # 1.234,5
    assert (8, "admin_measures.value.type") in checks  # 1 23,4: not a thousands group
    assert all(c != "admin_measures.value.type" for r, c in checks if r in (3, 4, 5, 6, 9))
    shown = run.con.execute("SELECT source_row, value FROM admin_measures").fetchall()
    assert (3, 1234.5) in shown


def test_dots_between_thousands_are_read_when_the_project_declares_them(tmp_path):
    lines = ["01053;2024;library_active_borrowers;1.234,5;R", "2A004;2024;schools_total;1.234;R",
             "01053;2024;schools_total;12.34;R"]
    run = ingest_bytes(tmp_path, "\n".join([HEADER, *lines, ""]).encode(),
                       options={"delimiter": ";", "decimal": ",", "thousands": "."})
    outcome(run)
    assert sorted(run.con.execute("SELECT value FROM admin_measures").fetchall()) == [
        (1234.0,), (1234.5,)]
    assert [r[:2] for r in quarantined(run)] == [(4, "admin_measures.value.decimal_comma")]


def test_a_comma_under_the_decimal_point_is_a_bad_value_not_a_thousands_separator(tmp_path):
    lines = ["01053;2024;library_active_borrowers;1,5;R", "2A004;2024;schools_total;1 234.5;R",
             "01053;2024;schools_total;1_000;R"]
    run = ingest_bytes(tmp_path, "\n".join([HEADER, *lines, ""]).encode(),
                       options={"delimiter": ";", "decimal": "."})
    outcome(run)
    rows = quarantined(run)
    assert (2, "admin_measures.value.type", "must be a number", "1,5") in rows
    assert any(r[0] == 4 and r[1] == "admin_measures.value.type" for r in rows)
    assert run.con.execute("SELECT value FROM admin_measures").fetchall() == [(1234.5,)]


def test_nan_infinities_and_overflows_are_not_finite_numbers(tmp_path):
    values = ["NaN", "nan", "Infinity", "-inf", "1e400", "+INF", "12"]
    lines = [f"01053;2024;m{n};{v};R" for n, v in enumerate(values)]
    run = ingest_bytes(tmp_path, "\n".join([HEADER, *lines, ""]).encode(),
                       options={"delimiter": ";", "decimal": "."})
    found = outcome(run)
    finite = [r for r in quarantined(run) if r[1] == "admin_measures.value.finite"]
    assert [r[0] for r in finite] == [2, 3, 4, 5, 6, 7]
    assert all("not a finite number" in r[2] for r in finite)
    assert not [r for r in quarantined(run) if r[1] == "admin_measures.value.type"]
    assert found.rows_quarantined == 7  # the last: m6 is not a measure of the codebook


def test_a_nan_weight_in_parquet_does_not_pass_weight_greater_than_zero(tmp_path):
    from tests.bad_inputs.make_corpus import SURVEY_HEADER, respondent, survey_rows
    rows = [r.split(",") for r in survey_rows()]
    columns = {name: [row[i] for row in rows] for i, name in enumerate(SURVEY_HEADER.split(","))}
    columns["weight"] = pa.array([float("nan"), float("inf"), 1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    pq.write_table(pa.table(columns), tmp_path / "survey.parquet")
    run = ingest_source(tmp_path, {"name": "survey", "path": "survey.parquet",
                                   "format": "parquet", "table": "survey_responses"},
                        references=("territories",))
    assert respondent  # the corpus's builders
    rows = run.con.execute("SELECT row_number, check_id FROM quarantine WHERE source = 'survey' "
                           "AND check_id LIKE '%weight%' ORDER BY 1").fetchall()
    assert rows == [(1, "survey_responses.weight.finite"), (2, "survey_responses.weight.finite")]


def test_rows_of_years_the_project_does_not_declare_are_quarantined(tmp_path):
    lines = ["01053;2023;schools_total;3;R", "2A004;2024;schools_total;4;R"]
    run = ingest_bytes(tmp_path, "\n".join([HEADER, *lines, ""]).encode())
    rows = quarantined(run)
    assert rows == [(2, "admin_measures.year.project_years",
                     "year 2023 is not one of the project's years [2024]", "2023")]
    fr = run.con.execute("SELECT rule.fr FROM quarantine WHERE source = 'admin'").fetchall()
    assert fr == [("l'année 2023 n'est pas l'une des années du projet [2024]",)]


def test_decomposed_unicode_matches_recode_keys_and_patterns(tmp_path):
    nfd = "Me\u0301diathe\u0300que"
    lines = [f"01053;2024;{nfd};3;{nfd}", "2A004;2024;schools_total;4;R"]
    run = ingest_bytes(tmp_path, "\n".join([HEADER, *lines, ""]).encode(),
                       recode={"measure_id": {"Médiathèque": "library_active_borrowers"}})
    assert not quarantined(run)
    stored = run.con.execute("SELECT measure_id, source FROM admin_measures "
                             "WHERE territory_code = '01053'").fetchall()
    assert stored == [("library_active_borrowers", "Médiathèque")]


def test_an_unmapped_nested_parquet_column_is_ignored_and_a_mapped_one_refused(tmp_path):
    table = pa.table({"CODGEO": ["01053", "2A004"], "ANNEE": [2024, 2024],
                      "SEXE": ["M", "F"], "TRANCHE_AGE": ["25-34", "25-34"],
                      "POP": [10.0, 20.0], "tags": pa.array([[1, 2], [3]]),
                      "meta": pa.array([{"a": 1}, {"a": 2}])})
    pq.write_table(table, tmp_path / "population.parquet")
    source = {"name": "population", "path": "population.parquet", "format": "parquet",
              "table": "population",
              "columns": {"territory_code": "CODGEO", "year": "ANNEE", "sex": "SEXE",
                          "age_group": "TRANCHE_AGE", "population": "POP"}}
    run = ingest_source(tmp_path, source, references=("territories",))
    assert not run.result.errors
    [report] = [r for r in run.result.reports if r.source == "population"]
    assert any("'tags', 'meta'" in n for n in report.notes)
    assert run.con.execute("SELECT count(*) FROM population").fetchall()[0][0] == 2
    run = ingest_source(tmp_path, {**source, "columns": {**source["columns"], "sex": "tags"}},
                        references=("territories",))
    assert "hold lists or structures" in run.result.errors[0].message


def test_a_corrupt_parquet_page_is_a_source_error_naming_the_file(tmp_path):
    values = [f"{n:05d}" for n in range(20000)]
    table = pa.table({"CODGEO": values, "ANNEE": [2024] * 20000, "SEXE": ["M"] * 20000,
                      "TRANCHE_AGE": ["25-34"] * 20000, "POP": [1.0] * 20000})
    path = tmp_path / "population.parquet"
    pq.write_table(table, path, compression="snappy", use_dictionary=False)
    data = bytearray(path.read_bytes())
    for offset in range(200, 60000, 7):  # scribble over the first column's pages
        data[offset] = (data[offset] * 31 + 7) % 256
    path.write_bytes(bytes(data))
    source = {"name": "population", "path": "population.parquet", "format": "parquet",
              "table": "population",
              "columns": {"territory_code": "CODGEO", "year": "ANNEE", "sex": "SEXE",
                          "age_group": "TRANCHE_AGE", "population": "POP"}}
    run = ingest_source(tmp_path, source, references=("territories",))
    [error] = run.result.errors
    assert error.source == "population" and "population.parquet" in str(error)
    assert "\n" not in error.message and "Traceback" not in error.message
    assert error.problem.message.fr
