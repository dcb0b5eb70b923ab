"""Write the corpus of bad inputs: one folder per case, holding the file exactly as an office
sends it and ``case.yaml`` (the source declaration and the answer LCI must give).

The files are committed; run this again only to change the corpus:

    .venv/bin/python tests/bad_inputs/make_corpus.py

Every case is read against the reference tables of ``tests/small_project.py`` (communes 01053
and 2A004, year 2024; codebook measures ``library_active_borrowers`` and ``schools_total``).
"""

from __future__ import annotations

import io
import shutil
import zipfile
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import xlsxwriter

HERE = Path(__file__).resolve().parent

# --- files as offices write them -------------------------------------------------------------

ADMIN_HEADER = "code_commune;annee;indicateur;valeur;source"
ADMIN_ROWS = (
    "01053;2024;library_active_borrowers;5 432,5;Médiathèque É. Zola",
    "2A004;2024;library_active_borrowers;7000;Bibliothèque",
    "01053;2024;schools_total;12;Rectorat",
)


def french_csv(*lines: str, encoding: str = "cp1252", newline: str = "\r\n") -> bytes:
    """A CSV as French office software exports it: ';', decimal comma, CRLF, Windows-1252."""
    return "".join(f"{line}{newline}" for line in lines).encode(encoding)


SURVEY_HEADER = (
    "respondent_id,year,territory_code,stratum,psu,weight,sex,age,age_group,isced_level,"
    "labour_status,formal_12m,nonformal_12m,guided_ojt_12m,informal_12m,digital_basic,"
    "volunteering_12m,library_12m,env_learning_12m,workshop_12m,intends_to_train,unmet_demand"
)
ITEMS = "1,0,0,1,1,0,1,0,0,1,0"


def respondent(rid: str, stratum: str, psu: str, weight: str = "120.5", age: str = "34",
               items: str = ITEMS, commune: str | None = None) -> str:
    commune = commune or ("01053" if stratum == "S1" else "2A004")
    return f"{rid},2024,{commune},{stratum},{psu},{weight},F,{age},25-34,3,employed,{items}"


def survey_rows(**changes: str) -> list[str]:
    """Eight respondents: strata S1 (01053) and S2 (2A004), two PSUs each, two people per PSU.
    ``changes`` replaces the line of a respondent, e.g. ``R04=respondent(...)``."""
    design = [("R01", "S1", "P1"), ("R02", "S1", "P1"), ("R03", "S1", "P2"), ("R04", "S1", "P2"),
              ("R05", "S2", "P3"), ("R06", "S2", "P3"), ("R07", "S2", "P4"), ("R08", "S2", "P4")]
    return [changes.get(rid, respondent(rid, stratum, psu)) for rid, stratum, psu in design]


def survey_csv(*rows: str) -> bytes:
    return "".join(f"{line}\n" for line in (SURVEY_HEADER, *rows)).encode("utf-8")


POPULATION_HEADER = ["CODGEO", "ANNEE", "SEXE", "TRANCHE_AGE", "POP"]
POPULATION_ROWS = [["01053", 2024, 1, "25-34", 2100], ["01053", 2024, 2, "25-34", 2200],
                   ["2A004", 2024, 1, "25-34", 1500], ["2A004", 2024, 2, "25-34", 1650]]


def workbook(rows: list[list[object]], sheet: str = "Population",
             title: str | None = "Population municipale — estimations 2024") -> bytes:
    """An Excel file as INSEE-style exports look: a title on row 1, the header on row 3."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    book.set_properties({"created": datetime(2024, 1, 1)})  # same bytes on every run
    worksheet = book.add_worksheet(sheet)
    first = 0
    if title:
        worksheet.write_string(0, 0, title)
        first = 2
    for r, row in enumerate(rows, start=first):
        for c, value in enumerate(row):
            if isinstance(value, str):
                worksheet.write_string(r, c, value)
            elif value is not None:
                worksheet.write_number(r, c, value)
    book.close()
    return buffer.getvalue()


def population_parquet() -> bytes:
    """A Parquet export from a statistics tool: commune codes stored as integers."""
    table = pa.table({
        "CODGEO": pa.array([1053, 1053, 1053], type=pa.int64()),
        "ANNEE": pa.array([2024, 2024, 2024], type=pa.int32()),
        "SEXE": pa.array([1, 2, 3], type=pa.int8()),
        "TRANCHE_AGE": ["25-34", "25-34", "25-34"],
        "POP": pa.array([2100.0, None, 95.5], type=pa.float64()),
    })
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


# --- source declarations, as in a project file -----------------------------------------------

ADMIN_SOURCE = """\
source:
  name: admin
  path: admin.csv
  format: csv
  table: admin_measures
  options: {options}
  columns: {{territory_code: code_commune, year: annee, measure_id: indicateur, value: valeur,
            source: source}}
"""
FRENCH = '{delimiter: ";", decimal: ",", encoding: cp1252}'
SURVEY_SOURCE = """\
source:
  name: survey
  path: survey.csv
  format: csv
  table: survey_responses"""
POPULATION_SOURCE = """\
source:
  name: population
  path: {path}
  format: {format}
  table: population
  options: {options}
  columns: {{territory_code: CODGEO, year: ANNEE, sex: SEXE, age_group: TRANCHE_AGE,
            population: POP}}
  recode: {{sex: {{"1": M, "2": F}}}}
"""


def admin(options: str = FRENCH) -> str:
    return ADMIN_SOURCE.format(options=options).rstrip()


def population(path: str = "population.xlsx", options: str = "{header_row: 3}",
               format: str = "xlsx") -> str:
    return POPULATION_SOURCE.format(path=path, options=options, format=format).rstrip()


# --- the cases: folder -> (files, case.yaml) ---------------------------------------------------

CASES: dict[str, tuple[dict[str, bytes], str]] = {}


def case(name: str, files: dict[str, bytes], text: str) -> None:
    CASES[name] = (files, text)


case("truncated_csv", {"survey.csv": survey_csv(*survey_rows())[
        : -len(",25-34,3,employed,1,0,0,1,1,0,1,0,0,1,0\n")]}, f"""\
# The transfer stopped mid-line: the cut line is quarantined, the lines before it load.
{SURVEY_SOURCE}
expect:
  rows_read: 8
  rows_accepted: 7
  rows_quarantined: 1
  failures:
    - {{row: 9, column: age_group, check: survey_responses.parse,
       value: "R08,2024,2A004,S2,P4,120.5,F,34", rule_en: fewer fields than the header}}
""")

case("crlf_rejected_line_value", {"admin.csv": french_csv(ADMIN_HEADER, *ADMIN_ROWS[:2])
                                  + b"01053;2024;schools_tot"}, f"""\
# The same cut in a Windows (CRLF) file: the quarantined value is the line as written.
{admin()}
expect:
  rows_read: 3
  rows_accepted: 2
  rows_quarantined: 1
  failures:
    - {{row: 4, column: valeur, check: admin_measures.parse, value: "01053;2024;schools_tot",
       rule_en: fewer fields than the header}}
""")

case("wrong_encoding_declared_utf8", {"admin.csv": french_csv(ADMIN_HEADER, *ADMIN_ROWS)}, f"""\
# A Windows-1252 file declared UTF-8: the source stops and the message says what to set.
{admin('{delimiter: ";", decimal: ",", encoding: utf-8}')}
expect:
  source_error: "line 2); the file is probably in Windows-1252: set 'encoding: cp1252'"
""")

case("wrong_encoding_detected", {"admin.csv": french_csv(ADMIN_HEADER, *ADMIN_ROWS)}, f"""\
# A Windows-1252 file with the encoding left to detection: read correctly, and the read
# report says which encoding was used.
{admin('{delimiter: ";", decimal: ","}')}
expect:
  rows_read: 3
  rows_accepted: 3
  rows_quarantined: 0
  notes: ["encoding detected: Windows-1252"]
  loaded:
    - {{territory_code: "01053", value: 5432.5, source: Médiathèque É. Zola}}
""")

case("wrong_delimiter", {"admin.csv": b"code_commune,annee,indicateur,valeur,source\r\n"
                         b"01053,2024,schools_total,12,Rectorat\r\n"}, f"""\
# A comma-separated export declared with ';': the header reads as one column, and the
# message asks about the delimiter.
{admin('{delimiter: ";"}')}
expect:
  source_error: "the header looks like one column: is the delimiter right?"
""")

case("duplicated_keys", {"survey.csv": survey_csv(*survey_rows(), respondent("R03", "S1", "P2"))},
     f"""\
# The same respondent twice in a year: both copies are quarantined (which one is right is the
# office's call), every other respondent loads.
{SURVEY_SOURCE}
expect:
  rows_read: 9
  rows_accepted: 7
  rows_quarantined: 2
  failures:
    - {{row: 4, column: "year,respondent_id", check: survey_responses.unique,
       value: "2024 | R03", rule_en: must be unique}}
    - {{row: 10, column: "year,respondent_id", check: survey_responses.unique,
       value: "2024 | R03", rule_en: must be unique}}
""")

case("unknown_territory", {"admin.csv": french_csv(
        ADMIN_HEADER, *ADMIN_ROWS[:2], "01999;2024;schools_total;3;Rectorat")}, f"""\
# A well-formed commune code that is not in the territories table.
{admin()}
expect:
  rows_read: 3
  rows_accepted: 2
  rows_quarantined: 1
  failures:
    - {{row: 4, column: code_commune, check: admin_measures.territory_code.known_commune,
       value: "01999", rule_en: must be a commune of the territories table}}
""")

case("negative_counts", {"commuting.csv": (
        b"ANNEE,COMMUNE,DCLT,QUALIF,IPONDI\n"
        b"2024,01053,01053,managerial,120.5\n"
        b"2024,01053,2A004,other,3\n"
        b"2024,2A004,99999,intermediate,-4.2\n")}, """\
# Commuting flows (MOBPRO model): a negative number of workers is quarantined; a flow to
# 99999 (outside the study area) is valid.
source:
  name: commuting
  path: commuting.csv
  format: csv
  table: commuting
  columns: {year: ANNEE, residence_code: COMMUNE, workplace_code: DCLT, qualification: QUALIF,
            workers: IPONDI}
expect:
  rows_read: 3
  rows_accepted: 2
  rows_quarantined: 1
  failures:
    - {row: 4, column: IPONDI, check: commuting.workers.greater_than_or_equal_to,
       value: "-4.2", rule_en: must be at least 0}
""")

case("text_in_number_column", {"admin.csv": french_csv(
        ADMIN_HEADER, *ADMIN_ROWS[:2], "01053;2024;schools_total;douze;Rectorat")}, f"""\
# A number written in words.
{admin()}
expect:
  rows_read: 3
  rows_accepted: 2
  rows_quarantined: 1
  failures:
    - {{row: 4, column: valeur, check: admin_measures.value.type, value: douze,
       rule_en: must be a number}}
""")

case("empty_file", {"admin.csv": b""}, f"""\
# Zero bytes: the source stops with one message.
{admin()}
expect:
  source_error: "the file is empty"
""")

case("header_only", {"admin.csv": french_csv(ADMIN_HEADER)}, f"""\
# The header and nothing else.
{admin()}
expect:
  source_error: "the file has a header but no data rows"
""")

case("missing_column", {"admin.csv": french_csv(
        "code_commune;annee;indicateur;source", "01053;2024;schools_total;Rectorat")}, f"""\
# The value column is missing: the message names it and lists the columns the file has.
{admin()}
expect:
  source_error: "missing column(s) 'valeur'; the file has ['code_commune', 'annee', \\
    'indicateur', 'source']"
""")

case("extra_columns", {"admin.csv": french_csv(
        f"{ADMIN_HEADER};commentaire;saisi_par",
        *(f"{row};;M. Dupont" for row in ADMIN_ROWS))}, f"""\
# Columns the mapping does not name are ignored, and the read report lists them.
{admin()}
expect:
  rows_read: 3
  rows_accepted: 3
  rows_quarantined: 0
  notes: ["ignored column(s) not in the mapping: ['commentaire', 'saisi_par']"]
""")

case("excel_title_row_wrong_header_row",
     {"population.xlsx": workbook([POPULATION_HEADER, *POPULATION_ROWS])}, f"""\
# A title above the header and header_row left at 1: the message points at the right row.
{population(options="{sheet: Population}")}
expect:
  source_error: "the expected header is on row 3: set header_row: 3"
""")

case("excel_title_row_declared",
     {"population.xlsx": workbook([POPULATION_HEADER, POPULATION_ROWS[0],
                                   ["01053", 2024, 2, "25-34", -5], *POPULATION_ROWS[2:]])},
     f"""\
# The same layout with header_row: 3 declared: rows are numbered as the spreadsheet shows
# them (title on 1, header on 3, first data row on 4).
{population()}
expect:
  rows_read: 4
  rows_accepted: 3
  rows_quarantined: 1
  failures:
    - {{row: 5, column: POP, check: population.population.greater_than_or_equal_to,
       value: "-5", rule_en: must be at least 0}}
""")

case("excel_missing_sheet", {"population.xlsx": workbook([POPULATION_HEADER, *POPULATION_ROWS])},
     f"""\
# The configuration names a sheet the workbook does not have: the message lists the sheets.
{population(options='{sheet: Population 2024, header_row: 3}')}
expect:
  source_error: "no sheet named 'Population 2024'; the workbook has ['Population']"
""")

case("corrupt_xlsx",
     {"population.xlsx": workbook([POPULATION_HEADER, *POPULATION_ROWS])[:3000]}, f"""\
# A workbook cut short in transfer (not a valid zip archive any more).
{population()}
expect:
  source_error: "cannot be read as Excel"
""")

case("excel_duplicated_header",
     {"population.xlsx": workbook([[*POPULATION_HEADER, "POP"],
                                   *([*row, 99999] for row in POPULATION_ROWS)])}, f"""\
# Two columns named POP (say, two vintages): which one feeds the table is not the reader's
# guess to make; the source must stop and name the column.
{population()}
expect:
  source_error: "POP"
""")

case("csv_duplicated_header", {"population.csv": (
        b"CODGEO;ANNEE;SEXE;TRANCHE_AGE;POP;POP\n01053;2024;1;25-34;2100;99999\n")},
     f"""\
# Two columns named POP in a CSV: the source stops and the message names the column.
{population(path="population.csv", format="csv", options='{delimiter: ";"}')}
expect:
  source_error: "POP"
""")

case("survey_weight_zero", {"survey.csv": survey_csv(
        *survey_rows(R04=respondent("R04", "S1", "P2", weight="0")))}, f"""\
# A sampling weight of zero is not a respondent of the population: quarantined.
{SURVEY_SOURCE}
expect:
  rows_read: 8
  rows_accepted: 7
  rows_quarantined: 1
  failures:
    - {{row: 5, column: weight, check: survey_responses.weight.greater_than, value: "0",
       rule_en: must be greater than 0}}
""")

case("survey_stratum_one_psu", {"survey.csv": survey_csv(
        *survey_rows(), respondent("R09", "S3", "P5", commune="01053"),
        respondent("R10", "S3", "P5", commune="01053"))}, f"""\
# Stratum S3 has a single PSU: its variance cannot be estimated, so with the default
# validation.lonely_psu: fail its respondents are quarantined.
{SURVEY_SOURCE}
expect:
  rows_read: 10
  rows_accepted: 8
  rows_quarantined: 2
  failures:
    - {{row: 10, column: psu, check: survey_responses.psu.two_per_stratum, value: P5,
       rule_en: its stratum must have at least two PSUs}}
    - {{row: 11, column: psu, check: survey_responses.psu.two_per_stratum, value: P5,
       rule_en: its stratum must have at least two PSUs}}
""")

case("survey_lonely_psu_after_quarantine", {"survey.csv": survey_csv(
        *survey_rows()[:2], respondent("R03", "S1", "P2", weight="0"), *survey_rows()[4:])},
     f"""\
# Stratum S1 has PSUs P1 (R01, R02) and P2 (R03 only, weight 0). Once R03 is quarantined the
# loaded table holds a stratum with one PSU, which the two-PSU rule exists to prevent.
{SURVEY_SOURCE}
expect:
  rows_read: 7
  rows_accepted: 4
  rows_quarantined: 3
  failures:
    - {{row: 2, column: psu, check: survey_responses.psu.two_per_stratum, value: P1}}
    - {{row: 3, column: psu, check: survey_responses.psu.two_per_stratum, value: P1}}
    - {{row: 4, column: weight, check: survey_responses.weight.greater_than, value: "0"}}
""")

case("leading_zero_lost", {"admin.csv": french_csv(
        ADMIN_HEADER, "1053;2024;library_active_borrowers;5 432,5;Médiathèque É. Zola",
        ADMIN_ROWS[1], "1053;2024;schools_total;12;Rectorat")}, f"""\
# A spreadsheet turned 01053 into 1053: the zero is restored and the read report says so.
{admin()}
expect:
  rows_read: 3
  rows_accepted: 3
  rows_quarantined: 0
  notes: ["restored the leading zero of 2 code(s) in 'code_commune' (e.g. 1053 → 01053)"]
  loaded:
    - {{territory_code: "01053", measure_id: schools_total, value: 12.0}}
""")

case("utf8_bom", {"admin.csv": b"\xef\xbb\xbf" + french_csv(ADMIN_HEADER, *ADMIN_ROWS,
                                                             encoding="utf-8")}, f"""\
# Excel's "CSV UTF-8": a byte-order mark before the first header.
{admin('{delimiter: ";", decimal: ","}')}
expect:
  rows_read: 3
  rows_accepted: 3
  rows_quarantined: 0
  notes: ["encoding detected: UTF-8 with byte-order mark"]
  loaded:
    - {{territory_code: "01053", value: 5432.5, source: Médiathèque É. Zola}}
""")

case("decimal_comma_detected", {"admin.csv": french_csv(
        ADMIN_HEADER, *ADMIN_ROWS[:2], "2A004;2024;schools_total;8,0;Rectorat",
        encoding="utf-8")}, f"""\
# No decimal declared: numbers such as '5 432,5' reveal a decimal comma.
{admin('{delimiter: ";"}')}
expect:
  rows_read: 3
  rows_accepted: 3
  rows_quarantined: 0
  notes: ["decimal comma detected (2 values)"]
  loaded:
    - {{territory_code: "01053", value: 5432.5}}
    - {{territory_code: "2A004", measure_id: schools_total, value: 8.0}}
""")

MISSING_ANSWERS = survey_csv(*survey_rows(
    R02=respondent("R02", "S1", "P1", items="9,0,0,1,1,0,1,0,0,1,0"),
    R06=respondent("R06", "S2", "P3", items="1,0,0,1,9,0,1,0,0,1,0")))

case("declared_missing_codes", {"survey.csv": MISSING_ANSWERS}, f"""\
# The codebook says 9 = no answer for these items: read as empty, and the report counts them.
{SURVEY_SOURCE}
  missing_codes: {{formal_12m: ["9"], digital_basic: ["9"]}}
expect:
  rows_read: 8
  rows_accepted: 8
  rows_quarantined: 0
  notes: ["1 declared missing-value code(s) in 'formal_12m' read as no answer",
          "1 declared missing-value code(s) in 'digital_basic' read as no answer"]
  loaded:
    - {{respondent_id: R02, formal_12m: null, digital_basic: 1}}
    - {{respondent_id: R06, formal_12m: 1, digital_basic: null}}
""")

case("undeclared_missing_code", {"survey.csv": MISSING_ANSWERS}, f"""\
# The same file without the codebook's missing codes: 9 is not an answer to a yes/no item.
{SURVEY_SOURCE}
expect:
  rows_read: 8
  rows_accepted: 6
  rows_quarantined: 2
  failures:
    - {{row: 3, column: formal_12m, check: survey_responses.formal_12m.isin, value: "9",
       rule_en: "must be one of: 0, 1"}}
    - {{row: 7, column: digital_basic, check: survey_responses.digital_basic.isin, value: "9",
       rule_en: "must be one of: 0, 1"}}
""")

case("whole_number_with_decimals", {"survey.csv": survey_csv(*survey_rows(
        R02=respondent("R02", "S1", "P1", age="34.5"),
        R03=respondent("R03", "S1", "P2", age="35.0")))}, f"""\
# Ages are whole numbers: 35.0 is one (loaded as 35), 34.5 is not (never rounded).
{SURVEY_SOURCE}
expect:
  rows_read: 8
  rows_accepted: 7
  rows_quarantined: 1
  failures:
    - {{row: 3, column: age, check: survey_responses.age.type, value: "34.5",
       rule_en: must be a whole number}}
  loaded:
    - {{respondent_id: R03, age: 35}}
""")

case("integer_too_large", {"survey.csv": survey_csv(*survey_rows(
        R05=respondent("R05", "S2", "P3", age="612345678901234567890")))}, f"""\
# A telephone number pasted into the age column: a whole number too large for any integer.
{SURVEY_SOURCE}
expect:
  rows_read: 8
  rows_accepted: 7
  rows_quarantined: 1
  failures:
    - {{row: 6, column: age, value: "612345678901234567890"}}
""")

case("year_out_of_range", {"admin.csv": french_csv(
        ADMIN_HEADER, ADMIN_ROWS[0], "2A004;224;library_active_borrowers;7000;Bibliothèque",
        "01053;2204;schools_total;12;Rectorat")}, f"""\
# Years are checked against 1990-2100: a dropped digit and swapped digits are caught.
{admin()}
expect:
  rows_read: 3
  rows_accepted: 1
  rows_quarantined: 2
  failures:
    - {{row: 3, column: annee, check: admin_measures.year.in_range, value: "224",
       rule_en: must be between 1990 and 2100}}
    - {{row: 4, column: annee, check: admin_measures.year.in_range, value: "2204",
       rule_en: must be between 1990 and 2100}}
    - {{row: 3, column: annee, check: admin_measures.year.project_years, value: "224",
       rule_en: "year 224 is not one of the project's years [2024]"}}
    - {{row: 4, column: annee, check: admin_measures.year.project_years, value: "2204",
       rule_en: "year 2204 is not one of the project's years [2024]"}}
""")

case("parquet_file", {"population.parquet": population_parquet()}, f"""\
# Parquet with commune codes stored as integers: zeros restored, an empty count and an
# unknown sex code quarantined; rows numbered from 1 (the first record).
{population(path="population.parquet", format="parquet", options="{}")}
expect:
  rows_read: 3
  rows_accepted: 1
  rows_quarantined: 2
  failures:
    - {{row: 2, column: POP, check: population.population.required, value: null,
       rule_en: must not be empty}}
    - {{row: 3, column: SEXE, check: population.sex.isin, value: "3",
       rule_en: "must be one of: F, M"}}
  notes: ["restored the leading zero of 3 code(s) in 'CODGEO'"]
""")

case("unquoted_delimiter_in_value", {"admin.csv": french_csv(
        ADMIN_HEADER, ADMIN_ROWS[0], "2A004;2024;library_active_borrowers;7000;Bibliothèque; "
        "annexe", ADMIN_ROWS[2], newline="\n")}, f"""\
# A ';' inside an unquoted value splits the line into one field too many.
{admin()}
expect:
  rows_read: 3
  rows_accepted: 2
  rows_quarantined: 1
  failures:
    - {{row: 3, check: admin_measures.parse,
       value: "2A004;2024;library_active_borrowers;7000;Bibliothèque; annexe",
       rule_en: more fields than the header}}
""")

case("csv_title_row", {"admin.csv": french_csv(
        "Indicateurs communaux 2024 — Ville de Bourg-en-Bresse", ADMIN_HEADER, *ADMIN_ROWS[:2],
        "01053;2024;schools_total;-3;Rectorat")}, f"""\
# A title line above the header, declared with header_row: 2: rows keep their line numbers.
{admin('{delimiter: ";", decimal: ",", encoding: cp1252, header_row: 2}')}
expect:
  rows_read: 3
  rows_accepted: 2
  rows_quarantined: 1
  failures:
    - {{row: 5, column: valeur, check: admin_measures.value.greater_than_or_equal_to,
       value: "-3", rule_en: must be at least 0}}
    - {{row: 5, column: valeur, check: admin_measures.value.codebook_range, value: "-3",
       rule_en: "within the codebook's range"}}
""")

case("blank_line_shifts_row_numbers", {"admin.csv": french_csv(
        ADMIN_HEADER, ADMIN_ROWS[0], "", ADMIN_ROWS[1],
        "01053;2024;schools_total;douze;Rectorat")}, f"""\
# A blank line in the middle (line 3): the bad value is on line 5 of the file, and a
# spreadsheet shows it on row 5.
{admin()}
expect:
  rows_read: 3
  rows_accepted: 2
  rows_quarantined: 1
  failures:
    - {{row: 5, column: valeur, check: admin_measures.value.type, value: douze,
       rule_en: must be a number}}
""")

case("decimal_comma_raw_value", {"admin.csv": french_csv(
        ADMIN_HEADER, ADMIN_ROWS[0], "2A004;2024;library_active_borrowers;-1,5;Bibliothèque",
        "01053;2024;schools_total;1.234,5;Rectorat")}, f"""\
# A French file with a negative value and a dotted thousands separator: the quarantine must
# show the values as they are written in the file, so that they can be found there; '1.234,5'
# is ambiguous when '.' is not declared as the thousands separator.
{admin()}
expect:
  rows_read: 3
  rows_accepted: 1
  rows_quarantined: 2
  failures:
    - {{row: 3, column: valeur, check: admin_measures.value.greater_than_or_equal_to,
       value: "-1,5"}}
    - {{row: 3, column: valeur, check: admin_measures.value.codebook_range, value: "-1,5"}}
    - {{row: 4, column: valeur, check: admin_measures.value.decimal_comma, value: "1.234,5",
       rule_en: ambiguous number under decimal comma}}
""")

case("duplicated_keys_renamed_columns", {"admin.csv": french_csv(
        ADMIN_HEADER, *ADMIN_ROWS, "01053;2024;schools_total;13;Rectorat")}, f"""\
# The same commune, year and measure twice in a file whose columns have their own names: the
# failure must name the file's columns, not the contract's.
{admin()}
expect:
  rows_read: 4
  rows_accepted: 2
  rows_quarantined: 2
  failures:
    - {{row: 4, column: "code_commune,annee,indicateur", check: admin_measures.unique}}
    - {{row: 5, column: "code_commune,annee,indicateur", check: admin_measures.unique}}
""")


case("extra_column_named_row", {"admin.csv": french_csv(
        f"_row;{ADMIN_HEADER}", *(f"{n};{row}" for n, row in enumerate(ADMIN_ROWS, start=1)))},
     f"""\
# An export tool added its own row id in a column named '_row': an extra column like any
# other, ignored with a note.
{admin()}
expect:
  rows_read: 3
  rows_accepted: 3
  rows_quarantined: 0
  notes: ["ignored column(s) not in the mapping: ['_row']"]
""")

case("excel_extra_column_named_row", {"population.xlsx": workbook(
        [[*POPULATION_HEADER, "_row"], POPULATION_ROWS[0] + ["r1"],
         ["01053", 2024, 2, "25-34", -5, "r2"], *([*row, "r"] for row in POPULATION_ROWS[2:])])},
     f"""\
# The same extra '_row' column in a workbook, with a negative count on spreadsheet row 5.
{population()}
expect:
  rows_read: 4
  rows_accepted: 3
  rows_quarantined: 1
  failures:
    - {{row: 5, column: POP, check: population.population.greater_than_or_equal_to,
       value: "-5", rule_en: must be at least 0}}
  notes: ["ignored column(s) not in the mapping: ['_row']"]
""")

case("blank_line_before_header", {"admin.csv": french_csv("", ADMIN_HEADER, *ADMIN_ROWS)},
     f"""\
# An empty first line, the header on line 2 and header_row left at 1: the message must say
# that the header row is empty, not pass on the CSV engine's words.
{admin()}
expect:
  source_error: "header"
""")


case("no_header_row", {"survey.csv": survey_csv(*survey_rows())[len(SURVEY_HEADER) + 1:]}, f"""\
# The header line was left out: the first respondent is taken for the header, whose repeated
# answers cannot be column names — the message says so and asks whether it is the header.
{SURVEY_SOURCE}
expect:
  source_error: "repeats column(s)"
""")

case("quote_in_header", {"admin.csv": french_csv(
        'code_commune;"annee;indicateur;valeur;source', *ADMIN_ROWS)}, f"""\
# A stray quote in the header: the message must point at the quote, not deny the data rows.
{admin()}
expect:
  source_error: "quote"
""")


# --- reading safely and losslessly --------------------------------------------------------------


def zip_of(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


def parquet_of(columns: dict, **options) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer, **options)
    return buffer.getvalue()


POPULATION_COLUMNS = {"CODGEO": ["01053", "01053", "2A004"], "ANNEE": [2024, 2024, 2024],
                      "SEXE": ["1", "2", "1"], "TRANCHE_AGE": ["25-34", "25-34", "25-34"],
                      "POP": [2100.0, 2200.0, 1500.0]}


def corrupt_parquet() -> bytes:
    """A Parquet file whose footer is intact but whose data pages were overwritten."""
    rows = 5000
    data = bytearray(parquet_of({"CODGEO": [f"{n:05d}" for n in range(rows)],
                                 "ANNEE": [2024] * rows, "SEXE": ["1"] * rows,
                                 "TRANCHE_AGE": ["25-34"] * rows, "POP": [1.0] * rows},
                                compression="snappy", use_dictionary=False))
    for offset in range(200, min(len(data) - 2000, 30000), 7):
        data[offset] = (data[offset] * 31 + 7) % 256
    return bytes(data)


case("zip_named_csv", {"admin.csv": zip_of("admin.csv", ADMIN_HEADER)}, f"""\
# A ZIP archive saved as admin.csv: named for what it is, not taken for an encoding problem.
{admin()}
expect:
  source_error: "this is a ZIP archive, not a CSV text file"
""")

case("xlsx_named_csv", {"admin.csv": workbook([POPULATION_HEADER, *POPULATION_ROWS])}, f"""\
# An Excel workbook renamed .csv: the message says so and what to declare.
{admin()}
expect:
  source_error: "this is an Excel workbook (xlsx), not a CSV text file: declare format: xlsx"
""")

case("pdf_named_csv", {"admin.csv": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"}, f"""\
# A PDF export saved as .csv.
{admin()}
expect:
  source_error: "this is a PDF document, not a CSV text file"
""")

case("text_named_parquet", {"population.parquet": b"CODGEO;ANNEE\n01053;2024\n"}, f"""\
# A CSV renamed .parquet.
{population(path="population.parquet", format="parquet", options="{}")}
expect:
  source_error: "this is a text file, not a Parquet file"
""")

case("truncated_parquet", {"population.parquet": parquet_of(POPULATION_COLUMNS)[:-30]}, f"""\
# A Parquet file cut short in transfer: its footer (the schema and row count) is missing.
{population(path="population.parquet", format="parquet", options="{}")}
expect:
  source_error: "the file ends before its Parquet footer"
""")

case("corrupt_parquet_page", {"population.parquet": corrupt_parquet()}, f"""\
# A Parquet file whose pages were damaged: one message naming the file, no traceback.
{population(path="population.parquet", format="parquet", options="{}")}
expect:
  source_error: "cannot be read"
""")

case("stray_quote_swallows_lines", {"admin.csv": french_csv(
        ADMIN_HEADER, ADMIN_ROWS[0],
        '2A004;2024;library_active_borrowers;7000;"Bibliothèque annexe',
        ADMIN_ROWS[2], "2A004;2024;schools_total;9;Rectorat",
        "01053;2024;schools_total;3\";Rectorat", "2A004;2024;schools_total;4;Rectorat")}, f"""\
# A value opens with a quote closed four lines further: DuckDB's parser would read the four
# lines as one record. Every line of data is counted from the file and accounted for: each
# line the quote swallowed is quarantined with its number.
{admin()}
expect:
  rows_read: 6
  rows_accepted: 2
  rows_quarantined: 4
  failures:
    - {{row: 3, check: admin_measures.parse, rule_en: "unclosed quote",
       value: "2A004;2024;library_active_borrowers;7000;\\"Bibliothèque annexe"}}
    - {{row: 4, check: admin_measures.parse, rule_en: "inside a value opened by a quote on line 3"}}
    - {{row: 5, check: admin_measures.parse, rule_en: "inside a value opened by a quote on line 3"}}
    - {{row: 6, check: admin_measures.parse, rule_en: "inside a value opened by a quote on line 3"}}
""")

case("unclosed_quote_to_the_end", {"survey.csv": survey_csv(
        *survey_rows()[:3], respondent("R04", "S1", '"P2'), *survey_rows()[4:])}, f"""\
# A quote never closed: every line after it would vanish into one value; each is quarantined.
{SURVEY_SOURCE}
expect:
  rows_read: 8
  rows_accepted: 3
  rows_quarantined: 5
  failures:
    - {{row: 5, check: survey_responses.parse, rule_en: "unclosed quote"}}
    - {{row: 6, check: survey_responses.parse}}
    - {{row: 7, check: survey_responses.parse}}
    - {{row: 8, check: survey_responses.parse}}
    - {{row: 9, check: survey_responses.parse, rule_en: "opened by a quote on line 5"}}
""")

case("crlf_file_with_one_lf_line", {"admin.csv": french_csv(ADMIN_HEADER, *ADMIN_ROWS[:2])
                                    + ADMIN_ROWS[2].encode("cp1252") + b"\n"}, f"""\
# A Windows file whose last line ends in LF alone (pasted from elsewhere): read, and said.
{admin()}
expect:
  rows_read: 3
  rows_accepted: 3
  rows_quarantined: 0
  notes: ["mixed line endings (3 CRLF, 1 LF, 0 CR)"]
""")

case("stray_cr_inside_a_line", {"admin.csv": french_csv(
        ADMIN_HEADER, ADMIN_ROWS[0], "2A004;2024;library_active_borrowers;7000;Biblio\rthèque",
        ADMIN_ROWS[2])}, f"""\
# A lone CR inside a value ends the line there, as editors show it: only that line's second
# half (line 4, one field) is rejected, with its number; the rest of the file loads.
{admin()}
expect:
  rows_read: 4
  rows_accepted: 3
  rows_quarantined: 1
  failures:
    - {{row: 4, check: admin_measures.parse, value: "thèque",
       rule_en: fewer fields than the header}}
""")

case("not_finite_numbers", {"survey.csv": survey_csv(*survey_rows(
        R02=respondent("R02", "S1", "P1", weight="NaN"),
        R03=respondent("R03", "S1", "P2", weight="inf"),
        R05=respondent("R05", "S2", "P3", weight="1e400"),
        R07=respondent("R07", "S2", "P4", weight="-Infinity")))}, f"""\
# NaN compares greater than everything in DuckDB: 'weight > 0' must not let it pass. NaN,
# infinities and overflows are not finite numbers.
{SURVEY_SOURCE}
expect:
  rows_read: 8
  rows_accepted: 4
  rows_quarantined: 4
  failures:
    - {{row: 3, column: weight, check: survey_responses.weight.finite, value: NaN,
       rule_en: not a finite number}}
    - {{row: 4, column: weight, check: survey_responses.weight.finite, value: inf}}
    - {{row: 6, column: weight, check: survey_responses.weight.finite, value: "1e400"}}
    - {{row: 8, column: weight, check: survey_responses.weight.finite, value: "-Infinity"}}
""")

case("dotted_number_under_decimal_comma", {"admin.csv": french_csv(
        ADMIN_HEADER, ADMIN_ROWS[0], "2A004;2024;library_active_borrowers;1.234;Bibliothèque",
        "01053;2024;schools_total;12\u00a0000,0;Rectorat")}, f"""\
# Under a decimal comma, '1.234' is 1234 or 1.234: LCI does not guess. A no-break space is a
# thousands separator.
{admin()}
expect:
  rows_read: 3
  rows_accepted: 1
  rows_quarantined: 2
  failures:
    - {{row: 3, column: valeur, check: admin_measures.value.decimal_comma, value: "1.234",
       rule_en: ambiguous number under decimal comma}}
    - {{row: 4, column: valeur, check: admin_measures.value.codebook_range}}
  loaded:
    - {{territory_code: "01053", value: 5432.5}}
""")

case("comma_under_decimal_point", {"commuting.csv": (
        b"ANNEE,COMMUNE,DCLT,QUALIF,IPONDI\n"
        b"2024,01053,01053,managerial,\"1,5\"\n"
        b"2024,01053,2A004,other,1 200.5\n")}, """\
# With the decimal point declared, '1,5' is a bad value, not 15; '1 200.5' is 1200.5.
source:
  name: commuting
  path: commuting.csv
  format: csv
  table: commuting
  options: {delimiter: ",", decimal: "."}
  columns: {year: ANNEE, residence_code: COMMUNE, workplace_code: DCLT, qualification: QUALIF,
            workers: IPONDI}
expect:
  rows_read: 2
  rows_accepted: 1
  rows_quarantined: 1
  failures:
    - {row: 2, column: IPONDI, check: commuting.workers.type, value: "1,5",
       rule_en: must be a number}
  loaded:
    - {residence_code: "01053", workplace_code: "2A004", workers: 1200.5}
""")

case("year_not_in_project", {"admin.csv": french_csv(
        ADMIN_HEADER, ADMIN_ROWS[0], "2A004;2023;library_active_borrowers;7000;Bibliothèque",
        ADMIN_ROWS[2])}, f"""\
# The project covers 2024 only: a 2023 row is quarantined, not loaded into an unreported year.
{admin()}
expect:
  rows_read: 3
  rows_accepted: 2
  rows_quarantined: 1
  failures:
    - {{row: 3, column: annee, check: admin_measures.year.project_years, value: "2023",
       rule_en: "year 2023 is not one of the project's years [2024]"}}
""")

case("mapping_unknown_contract_column", {"admin.csv": french_csv(ADMIN_HEADER, *ADMIN_ROWS)},
     """\
# A typo in a mapping key ('valeu' for 'value'): one error naming the source and the column.
source:
  name: admin
  path: admin.csv
  format: csv
  table: admin_measures
  options: {delimiter: ";", decimal: ",", encoding: cp1252}
  columns: {territory_code: code_commune, year: annee, measure_id: indicateur, valeu: valeur,
            source: source}
expect:
  source_error: "columns names column(s) ['valeu'] that table 'admin_measures' does not have"
""")

WAIVER = ("project:\n  waivers:\n    - {{source: admin, check: {check}, rows: {rows}, "
          "reason: known gap, owner: M. Dupont, expires: 2099-12-31}}\n")

case("waiver_unknown_check", {"admin.csv": french_csv(
        ADMIN_HEADER, *ADMIN_ROWS[:2], "01053;2024;schools_total;douze;Rectorat")}, f"""\
# A waiver naming a check that does not exist: an error listing the checks that do.
{admin()}
{WAIVER.format(check="admin_measures.value.typ", rows="[4]")}expect:
  source_error: "the waiver of check 'admin_measures.value.typ', rows [4] (M. Dupont: known gap)\\
    \\ names no check of table 'admin_measures'; its checks are ["
""")

case("waiver_matches_no_row", {"admin.csv": french_csv(
        ADMIN_HEADER, *ADMIN_ROWS[:2], "01053;2024;schools_total;douze;Rectorat")}, f"""\
# A waiver for a row that does not fail (row 3 instead of 4): an error, not a silent no-op.
{admin()}
{WAIVER.format(check="admin_measures.value.type", rows="[3]")}expect:
  source_error: "matches no failing row of the file"
""")

HOSTILE = 'x\\" AS VARCHAR) AS y FROM t; COPY (SELECT 1) TO ' + "'/tmp/pwned.csv'; --"  # YAML

case("parquet_hostile_column_name", {"population.parquet": parquet_of({
        "x\" AS VARCHAR) AS y FROM t; COPY (SELECT 1) TO '/tmp/pwned.csv'; --":
        POPULATION_COLUMNS["CODGEO"], "ANNEE": [2024] * 3, "SEXE [code]": ["1", "2", "1"],
        "TRANCHE_AGE": ["25-34"] * 3, "_row": [1.0, 2.0, 3.0], "": ["a", "b", "c"],
        "POP": [2100.0, 2200.0, 1500.0]})}, f"""\
# Column names that would end an SQL statement, square brackets, an empty name and '_row':
# names like any other; nothing is written anywhere.
source:
  name: population
  path: population.parquet
  format: parquet
  table: population
  columns: {{territory_code: "{HOSTILE}", year: ANNEE, sex: "SEXE [code]",
            age_group: TRANCHE_AGE, population: POP}}
  recode: {{sex: {{"1": M, "2": F}}}}
expect:
  rows_read: 3
  rows_accepted: 3
  rows_quarantined: 0
  notes: ["ignored column(s) not in the mapping: ['_row', "]
""")

case("parquet_nested_extra_column", {"population.parquet": parquet_of({
        **POPULATION_COLUMNS, "tags": pa.array([[1], [2, 3], []]),
        "meta": pa.array([{"k": "a"}, {"k": "b"}, {"k": "c"}]),
        "attrs": pa.array([[("a", 1)], [], [("b", 2)]], type=pa.map_(pa.string(), pa.int64()))})},
     f"""\
# Unmapped list, struct and map columns: a valid file, read without them (and said).
{population(path="population.parquet", format="parquet", options="{}")}
expect:
  rows_read: 3
  rows_accepted: 3
  rows_quarantined: 0
  notes: ["ignored column(s) not in the mapping: ['tags', 'meta', 'attrs']"]
""")

NFD = "Me\u0301diathe\u0300que".encode()

case("decomposed_unicode_codes", {"admin.csv": (
        ADMIN_HEADER.encode() + b"\n"
        + b"01053;2024;" + NFD + b";5;" + NFD + b"\n"
        + b"2A004;2024;schools_total;9;Rectorat\n")}, f"""\
# A Mac export in decomposed Unicode (e + combining accent): the text is normalised to NFC, so
# it matches the recode key written in the project file.
{admin('{delimiter: ";"}')}
  recode: {{measure_id: {{"Médiathèque": library_active_borrowers}}}}
expect:
  rows_read: 2
  rows_accepted: 2
  rows_quarantined: 0
  loaded:
    - {{territory_code: "01053", measure_id: library_active_borrowers, source: Médiathèque}}
""")

case("square_brackets_in_column_names", {"admin.csv": french_csv(
        "code_commune [COG];annee;indicateur;valeur [unité];source", *ADMIN_ROWS)}, """\
# Column names with square brackets (units, codes), as spreadsheets export them.
source:
  name: admin
  path: admin.csv
  format: csv
  table: admin_measures
  options: {delimiter: ";", decimal: ",", encoding: cp1252}
  columns: {territory_code: "code_commune [COG]", year: annee, measure_id: indicateur,
            value: "valeur [unité]", source: source}
expect:
  rows_read: 3
  rows_accepted: 3
  rows_quarantined: 0
""")


def main() -> None:
    for folder in HERE.iterdir():
        if folder.is_dir() and (folder / "case.yaml").is_file() and folder.name not in CASES:
            shutil.rmtree(folder)
    for name, (files, text) in CASES.items():
        folder = HERE / name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        for file, content in files.items():
            (folder / file).write_bytes(content)
        (folder / "case.yaml").write_text(text, encoding="utf-8")
    print(f"{len(CASES)} cases written to {HERE}")


if __name__ == "__main__":
    main()
