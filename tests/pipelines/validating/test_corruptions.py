"""Random corruptions of valid files: ingest always answers, and never loses a row.

Each property starts from a valid source as an office sends it (a French administrative CSV, a
survey CSV, an Excel population sheet), applies a few random corruptions (lines deleted,
duplicated or blank, fields replaced by any text, another delimiter on one line, the file cut
at any byte, another encoding, garbage appended) and checks the promises: no exception escapes
ingest, only a recorded message for that source; when the source is read, rows read = rows
accepted + rows quarantined, the contract table holds exactly the accepted rows, and every
quarantined row names its file, row, check and rule (in English and French).
"""

from __future__ import annotations

import io
import math
import re
import tempfile
from pathlib import Path

import xlsxwriter
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.bad_inputs_loader import Run, ingest_source

FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- valid starting points ---------------------------------------------------------------------

ADMIN = {
    "lines": ["code_commune;annee;indicateur;valeur;source",
              "01053;2024;library_active_borrowers;5 432,5;Médiathèque É. Zola",
              "2A004;2024;library_active_borrowers;7000;Bibliothèque",
              "01053;2024;schools_total;12;Rectorat",
              "2A004;2024;schools_total;9;Rectorat"],
    "encoding": "cp1252", "newline": "\r\n", "delimiter": ";",
    "declared": {"delimiter": ";", "decimal": ",", "encoding": "cp1252"},
    "source": {"name": "admin", "path": "admin.csv", "format": "csv", "table": "admin_measures",
               "columns": {"territory_code": "code_commune", "year": "annee",
                           "measure_id": "indicateur", "value": "valeur", "source": "source"}},
    "references": ("territories", "admin_codebook"),
}
SURVEY_HEADER = ("respondent_id,year,territory_code,stratum,psu,weight,sex,age,age_group,"
                 "isced_level,labour_status,formal_12m,nonformal_12m,guided_ojt_12m,"
                 "informal_12m,digital_basic,volunteering_12m,library_12m,env_learning_12m,"
                 "workshop_12m,intends_to_train,unmet_demand")
SURVEY = {
    "lines": [SURVEY_HEADER, *(
        f"R{n:02},2024,{commune},{stratum},{stratum}-P{n % 2 + 1},{80 + 10 * n}.5,"
        f"{'FM'[n % 2]},{30 + n},25-34,{n % 9},employed,1,0,0,{n % 2},1,0,1,0,0,1,0"
        for n, commune, stratum in [(1, "01053", "S1"), (2, "01053", "S1"), (3, "01053", "S1"),
                                    (4, "01053", "S1"), (5, "2A004", "S2"), (6, "2A004", "S2"),
                                    (7, "2A004", "S2"), (8, "2A004", "S2")])],
    "encoding": "utf-8", "newline": "\n", "delimiter": ",",
    "declared": {"delimiter": ",", "encoding": "utf-8"},
    "source": {"name": "survey", "path": "survey.csv", "format": "csv",
               "table": "survey_responses"},
    "references": ("territories",),
}
POPULATION = {
    "rows": [["Population municipale — estimations 2024"], [],
             ["CODGEO", "ANNEE", "SEXE", "TRANCHE_AGE", "POP"],
             ["01053", 2024, 1, "25-34", 2100], ["01053", 2024, 2, "25-34", 2200.5],
             ["2A004", 2024, 1, "25-34", 1500], ["2A004", 2024, 2, "25-34", 1650],
             [1053, 2024, 1, "35-44", 1800], ["01053", 2024, 2, "35-44", 1900]],
    "source": {"name": "population", "path": "population.xlsx", "format": "xlsx",
               "table": "population", "options": {"sheet": "Population", "header_row": 3},
               "columns": {"territory_code": "CODGEO", "year": "ANNEE", "sex": "SEXE",
                           "age_group": "TRANCHE_AGE", "population": "POP"},
               "recode": {"sex": {"1": "M", "2": "F"}}},
    "references": ("territories",),
}


def cell_text(cell: object) -> str | None:
    """A cell as the Excel reader reads it: whole numbers without '.0', empty as missing."""
    if cell is None or cell == "":
        return None
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


# --- corruptions -------------------------------------------------------------------------------

def too_large_for_an_integer(text: str) -> bool:
    """Numbers that no 64-bit integer holds (1e30, inf, NaN...): they crash ingest, a known bug
    documented by test_a_number_too_large_for_an_integer_column_is_quarantined below."""
    for candidate in (text, re.sub(r"\s", "", text).replace(",", ".")):
        try:
            number = float(candidate)
        except (ValueError, OverflowError):
            continue
        if not math.isfinite(number) or abs(number) >= 2**63:
            return True
    return False


NASTY = ["", " ", '"', '""', ";", ",", "\t", "|", "N/A", "NA", "-", ".", "douze", "-5", "0",
         "1,5", "1.5", "12.0", "2024.0", "1e3", "99001", "1053", "2A004", "01999", "é", "\u00a0",
         "é;è", '"quoted;value"', 'a"b', "\r", "\n", "\r\n", "\x00", "\ufeff", "NULL", "9"]
FIELD_TEXT = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=12),
    st.integers(-10**6, 10**7).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(str),
).filter(lambda text: not too_large_for_an_integer(text))
LINE_CORRUPTION = st.one_of(
    st.tuples(st.just("delete line"), st.integers(0, 99)),
    st.tuples(st.just("duplicate line"), st.integers(0, 99)),
    st.tuples(st.just("insert blank line"), st.integers(0, 99)),
    st.tuples(st.just("replace field"), st.integers(0, 99), st.integers(0, 30), FIELD_TEXT),
    st.tuples(st.just("change delimiter of line"), st.integers(0, 99),
              st.sampled_from([";", ",", "\t", "|", " "])),
)
BYTE_CORRUPTION = st.one_of(
    st.tuples(st.just("truncate at byte"), st.integers(0, 10**6)),
    st.tuples(st.just("append bytes"), st.binary(min_size=1, max_size=12)),
    st.tuples(st.just("re-encode"), st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "latin-1",
                                                     "utf-16"])),
)


def corrupt_csv(spec: dict, corruptions: list[tuple]) -> bytes:
    """Apply the line corruptions to the text, then the byte corruptions to the file."""
    lines, delimiter = list(spec["lines"]), spec["delimiter"]
    for kind, *args in corruptions:
        if not lines or kind not in LINE_KINDS:
            continue
        i = args[0] % len(lines)
        if kind == "delete line":
            del lines[i]
        elif kind == "duplicate line":
            lines.insert(i, lines[i])
        elif kind == "insert blank line":
            lines.insert(i, "")
        elif kind == "replace field":
            fields = lines[i].split(delimiter)
            fields[args[1] % len(fields)] = args[2]
            lines[i] = delimiter.join(fields)
        elif kind == "change delimiter of line":
            lines[i] = lines[i].replace(delimiter, args[1])
    text = "".join(line + spec["newline"] for line in lines)
    data = text.encode(spec["encoding"], errors="replace")
    for kind, *args in corruptions:
        if kind not in LINE_KINDS:
            data = corrupt_bytes(data, spec["encoding"], kind, *args)
    return data


LINE_KINDS = {"delete line", "duplicate line", "insert blank line", "replace field",
              "change delimiter of line"}


def corrupt_bytes(data: bytes, encoding: str, kind: str, *args) -> bytes:
    if kind == "truncate at byte":
        return data[: args[0] % (len(data) + 1)]
    if kind == "append bytes":
        return data + args[0]
    return data.decode(encoding, errors="replace").encode(args[0], errors="replace")


# --- the promises ------------------------------------------------------------------------------

def ingest_corrupted(spec: dict, data: bytes, options: dict | None = None) -> Run:
    """Ingest the corrupted file with the reference tables it needs, in a throwaway folder."""
    source = dict(spec["source"]) | ({"options": options} if options is not None else {})
    with tempfile.TemporaryDirectory(prefix="lci-corrupt-") as folder:
        root = Path(folder)
        (root / source["path"]).write_bytes(data)
        return ingest_source(root, source, references=spec["references"])


def answered_without_loss(run: Run) -> bool:
    """The promises every corrupted source keeps; True when the source was read."""
    name, table, file = run.source["name"], run.source["table"], run.source["path"]
    con, result = run.con, run.result
    assert [e.source for e in result.errors] in ([], [name])
    assert all(o.rows_quarantined == 0 for o in result.outcomes if o.source != name)
    if result.errors:
        error = result.errors[0]
        assert error.message and "\n" not in error.message and file in str(error)
        assert name not in {o.source for o in result.outcomes}
        assert con.execute(f"SELECT count(*) FROM {table}").fetchall() == [(0,)]
        event(f"source stopped: {error.message[:40]}")
        return False
    [outcome] = [o for o in result.outcomes if o.source == name]
    assert outcome.rows_read == outcome.rows_accepted + outcome.rows_quarantined
    assert con.execute(f"SELECT count(*) FROM {table}").fetchall() == [(outcome.rows_accepted,)]
    quarantined = con.execute(
        "SELECT file, row_number, check_id, rule.en, rule.fr FROM quarantine WHERE source = ?",
        [name]).fetchall()
    for q_file, row, check, rule_en, rule_fr in quarantined:
        assert q_file == file and row is not None and check.startswith(f"{table}.")
        assert rule_en and rule_fr and rule_en != rule_fr
    assert len({q[1] for q in quarantined}) == outcome.rows_quarantined
    event("source read, some rows quarantined" if quarantined else "source read, all rows loaded")
    return True


def data_lines(data: bytes, encoding: str, header_row: int) -> list[str] | None:
    """The file's data lines as a spreadsheet shows them, or None when a quote may join lines."""
    text = data.decode(encoding)
    if '"' in text:
        return None
    return re.split(r"\r\n|\r|\n", text.lstrip("\ufeff"))[header_row:]


@settings(FAST, max_examples=40)
@given(spec=st.sampled_from([ADMIN, SURVEY]), declared=st.booleans(),
       corruptions=st.lists(st.one_of(LINE_CORRUPTION, LINE_CORRUPTION, BYTE_CORRUPTION),
                            min_size=1, max_size=3))
def test_a_corrupted_csv_is_answered_and_every_line_is_accounted_for(spec, declared,
                                                                     corruptions):
    data = corrupt_csv(spec, corruptions)
    run = ingest_corrupted(spec, data, spec["declared"] if declared else {})
    try:
        if answered_without_loss(run):
            [report] = [r for r in run.result.reports if r.source == spec["source"]["name"]]
            [outcome] = [o for o in run.result.outcomes if o.source == spec["source"]["name"]]
            lines = data_lines(data, report.encoding, report.header_row)
            if lines is not None:  # one row per non-blank line, none lost or invented
                event("rows read counted against the file's lines")
                assert outcome.rows_read == sum(1 for line in lines if line)
            rows = run.con.execute("SELECT max(row_number) FROM quarantine WHERE source = ?",
                                   [spec["source"]["name"]]).fetchall()[0][0]
            assert rows is None or rows <= data.count(b"\n") + data.count(b"\r") + 1
    finally:
        run.con.close()


XLSX_CELL = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**7),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(NASTY),
    st.text(max_size=12),
).filter(lambda cell: not too_large_for_an_integer(str(cell_text(cell))))
ROW_CORRUPTION = st.one_of(
    st.tuples(st.just("delete row"), st.integers(0, 99)),
    st.tuples(st.just("duplicate row"), st.integers(0, 99)),
    st.tuples(st.just("insert blank row"), st.integers(0, 99)),
    st.tuples(st.just("replace cell"), st.integers(0, 99), st.integers(0, 6), XLSX_CELL),
)
WORKBOOK_CORRUPTION = st.one_of(
    st.tuples(st.just("rename sheet"), st.sampled_from(["Feuil1", "Population 2024", "pop"])),
    st.tuples(st.just("truncate at byte"), st.integers(0, 10**6)),
    st.tuples(st.just("append bytes"), st.binary(min_size=1, max_size=12)),
)
XLSX_CORRUPTION = st.one_of(ROW_CORRUPTION, ROW_CORRUPTION, ROW_CORRUPTION, WORKBOOK_CORRUPTION)


def corrupt_xlsx(corruptions: list[tuple]) -> tuple[bytes, list[list[object]]]:
    """The workbook's bytes and the sheet's rows after the row corruptions."""
    rows = [list(row) for row in POPULATION["rows"]]
    sheet, byte_corruptions = "Population", []
    for kind, *args in corruptions:
        i = args[0] % len(rows) if args and isinstance(args[0], int) else 0
        if kind == "delete row":
            del rows[i]
        elif kind == "duplicate row":
            rows.insert(i, list(rows[i]))
        elif kind == "insert blank row":
            rows.insert(i, [])
        elif kind == "replace cell":
            rows[i] += [None] * (args[1] + 1 - len(rows[i]))
            rows[i][args[1]] = args[2]
        elif kind == "rename sheet":
            sheet = args[0]
        else:
            byte_corruptions.append((kind, *args))
        if not rows:
            rows = [[]]
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    worksheet = book.add_worksheet(sheet)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, str):
                worksheet.write_string(r, c, value)
            elif value is not None:
                worksheet.write(r, c, value)
    book.close()
    data = buffer.getvalue()
    for kind, *args in byte_corruptions:
        data = corrupt_bytes(data, "", kind, *args)
    return data, rows


@settings(FAST, max_examples=30)
@given(corruptions=st.lists(XLSX_CORRUPTION, min_size=1, max_size=3))
def test_a_corrupted_excel_sheet_is_answered_and_every_row_is_accounted_for(corruptions):
    data, rows = corrupt_xlsx(corruptions)
    run = ingest_corrupted(POPULATION, data)
    try:
        if answered_without_loss(run):
            [outcome] = [o for o in run.result.outcomes if o.source == "population"]
            # Empty rows are skipped (and noted), as empty lines of a CSV are.
            body = [row for row in rows[3:] if any(cell_text(cell) is not None for cell in row)]
            if not any(kind in {"truncate at byte", "append bytes"} for kind, *_ in corruptions):
                event("rows read counted against the sheet's rows")
                assert outcome.rows_read == len(body)
            rows_out = run.con.execute("SELECT min(row_number), max(row_number) FROM quarantine "
                                       "WHERE source = 'population'").fetchall()[0]
            assert rows_out == (None, None) or (rows_out[0] >= 4 and rows_out[1] <= len(rows))
    finally:
        run.con.close()


# --- row numbers point at the line holding the value -----------------------------------------

BAD_WORDS = st.sampled_from(["douze", "x", "-5", "1.5", "0", "99001", "S9", "NaNa", "2A004"])


def quarantined_values_are_on_their_rows(run: Run, data: bytes) -> None:
    """Each quarantined value is a field of the file line its row number names."""
    lines = data.decode("utf-8").split("\n")
    for row, value in run.con.execute(
            "SELECT row_number, value FROM quarantine WHERE source = 'survey' AND value "
            "IS NOT NULL").fetchall():
        line = lines[row - 1]
        parts = [part for part in value.split(" | ") if part]  # a key shows 'year | id'
        assert value == line or all(part in line.split(",") for part in parts), (
            f"row {row} holds {line!r}, not {value!r}")


@settings(FAST, max_examples=12)
@given(edits=st.lists(st.one_of(
    st.tuples(st.just("delete line"), st.integers(1, 99)),
    st.tuples(st.just("duplicate line"), st.integers(1, 99)),
    st.tuples(st.just("replace field"), st.integers(1, 99), st.integers(0, 21), BAD_WORDS)),
    min_size=1, max_size=4))
def test_quarantined_values_are_found_on_the_row_the_quarantine_names(edits):
    lines = list(SURVEY["lines"])
    for kind, i, *args in edits:
        i = 1 + (i - 1) % (len(lines) - 1)  # a data line: the header stays
        if kind == "delete line" and len(lines) > 2:
            del lines[i]
        elif kind == "duplicate line":
            lines.insert(i, lines[i])
        elif kind == "replace field":
            fields = lines[i].split(",")
            fields[args[0]] = args[1]
            lines[i] = ",".join(fields)
    data = "".join(f"{line}\n" for line in lines).encode()
    run = ingest_corrupted(SURVEY, data)
    try:
        assert answered_without_loss(run)
        quarantined_values_are_on_their_rows(run, data)
    finally:
        run.con.close()


# --- known bugs, documented -------------------------------------------------------------------

KNOWN_BUG = settings(FAST, max_examples=20)  # defects found once, kept as regressions
ALWAYS_BAD = st.sampled_from(["douze", "x", "-5", "S9"])  # bad as a weight, a sex or an age


@KNOWN_BUG
@given(blank=st.integers(1, 8), bad=st.integers(0, 7), field=st.sampled_from([5, 6, 7]),
       word=ALWAYS_BAD)
def test_a_blank_line_does_not_shift_the_row_numbers_after_it(blank, bad, field, word):
    lines = list(SURVEY["lines"])
    bad = blank + bad % (len(lines) - blank)  # a data line at or after the blank line
    fields = lines[bad].split(",")
    fields[field] = word
    lines[bad] = ",".join(fields)
    lines.insert(blank, "")
    data = "".join(f"{line}\n" for line in lines).encode()
    run = ingest_corrupted(SURVEY, data)
    try:
        assert answered_without_loss(run)
        quarantined_values_are_on_their_rows(run, data)
    finally:
        run.con.close()


@KNOWN_BUG
@given(row=st.integers(1, 8), field=st.sampled_from([1, 7, 9, 11, 20]),
       number=st.one_of(st.sampled_from(["99999999999999999999", "1e30", "inf", "-Infinity",
                                          "NaN", "612345678901234567890"]),
                        st.integers(min_value=2**63).map(str)))
def test_a_number_too_large_for_an_integer_column_is_quarantined(row, field, number):
    lines = list(SURVEY["lines"])
    fields = lines[row].split(",")
    fields[field] = number  # year, age, isced_level or a yes/no item
    lines[row] = ",".join(fields)
    run = ingest_corrupted(SURVEY, "".join(f"{line}\n" for line in lines).encode())
    try:
        assert answered_without_loss(run)
        [outcome] = [o for o in run.result.outcomes if o.source == "survey"]
        assert outcome.rows_quarantined >= 1
    finally:
        run.con.close()
