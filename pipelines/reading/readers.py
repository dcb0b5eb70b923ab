"""Readers: bring each declared source into a DuckDB staging table, as text, row numbers kept.

Offices send what their software exports: CSV in UTF-8 (with or without BOM) or Windows-1252,
separated by ``;``, ``,`` or tabs, with decimal commas; Excel sheets with a title above the
header; Parquet. Whatever the configuration leaves empty is detected, and every reader says
what it found or fixed in a :class:`ReadReport`.

Staging only renames (the source's column mapping), recodes declared values, turns declared
missing-value codes into empty cells, restores the leading zero that spreadsheets strip from
commune codes and normalises decimal commas; typing and checking happen in ``validation.py`` so
that a bad value becomes a quarantined row with its reason, never a crash. ``_row`` is the row
number a spreadsheet user sees (the header is row ``header_row``, the first data row the next).
Lines that the CSV parser cannot split into the right number of fields are kept in
``rej_<source>`` with their line number, for the quarantine.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
from python_calamine import CalamineWorkbook

from pipelines.config import ProjectConfig, Source
from pipelines.problems import Problem, Text
from pipelines.reading.encodings import (
    EncodingError,
    detect_delimiter,
    detect_encoding,
    transcode_to_utf8,
)
from pipelines.validating.checks import ORIGINAL_PREFIX
from pipelines.validating.contracts import COMMUNE_CODE, SCHEMAS

NUMERIC_TYPES = {"Float64", "Int64"}
ROW_IN_FILE = "_row (in file)"  # a file column named like the internal row number
COMMA_DECIMAL = r"^\s*-?[0-9][0-9 \x{00A0}\x{202F}]*,[0-9]+\s*$"
NOT_FOUND_HINT = ("check the source's path in the project file (relative to the file's folder)",
                  "vérifiez le chemin de la source dans le fichier de projet (relatif à son "
                  "dossier)")


class SourceError(Exception):
    """A whole-file problem (missing file or column, unreadable content): the source stops.

    ``problem`` says it as data (code, file, row or column when they apply, the message in
    English and French); the exception's text is the English message.
    """

    def __init__(self, source: str, path: Path, message: tuple[str, str], code: str, *,
                 row: int | None = None, column: str | None = None,
                 hint: tuple[str, str] | None = None) -> None:
        text = Text(*message)
        super().__init__(f"{path.name} (source '{source}'): {text.en}")
        self.source = source
        self.path = path
        self.problem = Problem(f"source.{code}", "error", text, source=source, file=str(path),
                               row=row, column=column, hint=hint)

    @property
    def message(self) -> str:
        return self.problem.message.en


@dataclass
class ReadReport:
    """What a reader found and did, so that a user can check it against the file."""

    source: str
    file: str
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None
    sheet: str | None = None
    header_row: int = 1
    rows: int = 0
    parse_rejects: int = 0
    problems: list[Problem] = field(default_factory=list)
    leading_rows: list[list[str | None]] = field(default_factory=list, repr=False)

    def note(self, code: str, message: tuple[str, str], *, row: int | None = None,
             column: str | None = None, value: str | None = None) -> None:
        """Record what was detected or fixed, as a problem of severity 'note'."""
        self.problems.append(Problem(f"read.{code}", "note", Text(*message), source=self.source,
                                     file=self.file, row=row, column=column, value=value))

    @property
    def notes(self) -> list[str]:
        """The notes in English, one line each."""
        return [p.message.en for p in self.problems]


@dataclass(frozen=True)
class Staged:
    """A staged source: its staging table, its parser rejects (if any) and its read report."""

    staging: str
    rejects: str | None
    report: ReadReport
    raw: str


Reader = Callable[[duckdb.DuckDBPyConnection, Path, Source, ReadReport], tuple[str, str | None]]


def stage_source(con: duckdb.DuckDBPyConnection, config: ProjectConfig, source: Source,
                 display_name: str) -> Staged:
    """Create ``stg_<source>`` holding the source's rows as text."""
    path = config.path_of(source)
    if not path.is_file():
        raise SourceError(source.name, path, ("file not found", "fichier introuvable"),
                          "not_found", hint=NOT_FOUND_HINT)
    if path.stat().st_size == 0:
        raise SourceError(source.name, path, ("the file is empty", "le fichier est vide"),
                          "empty")
    report = ReadReport(source.name, display_name, source.format,
                        header_row=source.options.header_row)
    raw, rejects = READERS[source.format](con, path, source, report)
    report.rows = con.execute(f"SELECT count(*) FROM {raw}").fetchall()[0][0]
    if report.rows + report.parse_rejects == 0:
        drop_relation(con, raw)
        raise SourceError(source.name, path, ("the file has a header but no data rows",
                                              "le fichier a un en-tête mais aucune ligne de "
                                              "données"), "no_data_rows")
    try:
        return Staged(_stage(con, raw, path, source, report), rejects, report, raw)
    except SourceError:
        drop_relation(con, raw)
        raise


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path, source: Source,
              report: ReadReport) -> tuple[str, str | None]:
    options = source.options
    try:
        encoding, note = detect_encoding(path, options.encoding)
        readable = transcode_to_utf8(path, encoding)
    except EncodingError as error:
        raise SourceError(source.name, path, (str(error), error.french),
                          "encoding") from None
    report.encoding = encoding
    if note:
        report.note("encoding_detected", note)
    try:
        delimiter = options.delimiter or detect_delimiter(readable, options.header_row)
        report.delimiter = delimiter
        header = _csv_header(readable, delimiter, options.header_row, source.name, path)
        blanks = _blank_lines(readable, options.header_row)
        name, rejects = f"raw_{source.name}", f"rej_{source.name}"
        columns = "{" + ", ".join(f"'{_escape(n)}': 'VARCHAR'" for n in header) + "}"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _parsed AS SELECT row_number() OVER () AS _k, * "
            f"FROM read_csv(?, all_varchar = true, header = true, delim = ?, quote = '\"', "
            f"skip = {options.header_row - 1}, store_rejects = true, "
            f"rejects_table = '_rejects', rejects_scan = '_reject_scans', "
            f"auto_detect = false, columns = {columns})",
            [str(readable), delimiter],
        )
    except duckdb.Error as error:
        reason = _first_line(error)
        raise SourceError(source.name, path, (f"cannot be read as CSV: {reason}",
                                              f"illisible en CSV : {reason}"),
                          "unreadable_csv") from None
    finally:
        if readable != path:
            readable.unlink()
    _number_csv_rows(con, name, rejects, options.header_row, blanks)
    report.parse_rejects = con.execute(f"SELECT count(*) FROM {rejects}").fetchall()[0][0]
    if blanks:
        report.note("empty_lines", (f"{len(blanks):,} empty line(s) skipped",
                                    f"{len(blanks):,} ligne(s) vide(s) ignorée(s)"),
                    row=blanks[0])
    return name, rejects


def _csv_header(path: Path, delimiter: str, header_row: int, source: str,
                original: Path) -> list[str]:
    """The header's column names, declared as text so DuckDB guesses neither types nor
    names; a header that cannot be one stops the source with a message saying why."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for _ in range(header_row - 1):
            handle.readline()
        line = handle.readline().rstrip("\r\n")
    if not line.strip():
        raise SourceError(source, original, (
            f"line {header_row}, where the header should be, is empty (set header_row to the "
            f"header's line)",
            f"la ligne {header_row}, où devrait être l'en-tête, est vide (indiquez dans "
            f"header_row la ligne de l'en-tête)"), "header_empty", row=header_row)
    if line.count('"') % 2:
        raise SourceError(source, original, (
            f"the header (line {header_row}) has an unclosed quote",
            f"l'en-tête (ligne {header_row}) a un guillemet non fermé"), "header_quote",
            row=header_row)
    names = [h.strip() or f"column_{n + 1}" for n, h in
             enumerate(next(csv.reader([line], delimiter=delimiter)))]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise SourceError(source, original, (
            f"the header (line {header_row}) repeats column(s) {repeated}: is it really the "
            f"header, and is the delimiter right?",
            f"l'en-tête (ligne {header_row}) répète la ou les colonnes {repeated} : est-ce bien "
            f"l'en-tête, et le séparateur est-il le bon ?"), "header_repeated", row=header_row,
            column=", ".join(repeated))
    return [ROW_IN_FILE if n == "_row" else n for n in names]


def _blank_lines(path: Path, header_row: int) -> list[int]:
    """Line numbers of the empty lines after the header, which DuckDB's reader skips."""
    blanks = []
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if number > header_row and line in (b"\n", b"\r\n", b"\r"):
                blanks.append(number)
    return blanks


def _number_csv_rows(con: duckdb.DuckDBPyConnection, name: str, rejects: str,
                     header_row: int, blanks: list[int]) -> None:
    """Give parsed rows their file line numbers: the data lines neither empty nor rejected
    by the parser, in order (one line per record; a quoted field spanning lines shifts it)."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {rejects} AS
        SELECT DISTINCT ON (line) line::BIGINT AS _row, column_name AS "column",
               CAST(error_type AS VARCHAR) AS error_type,
               trim(csv_line, chr(13) || chr(10)) AS value
        FROM _rejects ORDER BY line""")
    con.execute("CREATE OR REPLACE TEMP TABLE _skipped (line BIGINT)")
    if blanks:
        con.executemany("INSERT INTO _skipped VALUES (?)", [[b] for b in blanks])
    con.execute(f"INSERT INTO _skipped SELECT _row FROM {rejects}")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {name} AS
        WITH lines AS (
            SELECT line AS _row, row_number() OVER (ORDER BY line) AS _k
            FROM range({header_row + 1},
                       {header_row + 1} + (SELECT count(*) FROM _parsed)
                       + (SELECT count(*) FROM _skipped)) r(line)
            WHERE line NOT IN (SELECT line FROM _skipped))
        SELECT l._row, p.* EXCLUDE (_k) FROM _parsed p JOIN lines l USING (_k) ORDER BY _row""")
    for table in ("_parsed", "_skipped", "_rejects", "_reject_scans"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _read_xlsx(con: duckdb.DuckDBPyConnection, path: Path, source: Source,
               report: ReadReport) -> tuple[str, str | None]:
    options = source.options
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet_name = options.sheet or workbook.sheet_names[0]
        if sheet_name not in workbook.sheet_names:
            raise SourceError(source.name, path, (
                f"no sheet named '{sheet_name}'; the workbook has {workbook.sheet_names}",
                f"aucune feuille nommée '{sheet_name}' ; le classeur a {workbook.sheet_names}"),
                "sheet_not_found")
        rows = workbook.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
    except SourceError:
        raise
    except Exception as error:  # calamine raises several kinds for unreadable workbooks
        raise SourceError(source.name, path, (f"cannot be read as Excel: {error}",
                                              f"illisible en Excel : {error}"),
                          "unreadable_xlsx") from None
    report.sheet = sheet_name
    header_index = options.header_row - 1
    if len(rows) <= header_index:
        raise SourceError(source.name, path, (
            f"sheet '{sheet_name}' has no row {options.header_row}",
            f"la feuille '{sheet_name}' n'a pas de ligne {options.header_row}"),
            "header_missing", row=options.header_row)
    header = [_cell_text(cell) or f"column_{n + 1}" for n, cell in enumerate(rows[header_index])]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise SourceError(source.name, path, (
            f"the header (row {options.header_row}) repeats column(s) {repeated}",
            f"l'en-tête (ligne {options.header_row}) répète la ou les colonnes {repeated}"),
            "header_repeated", row=options.header_row, column=", ".join(repeated))
    header = [ROW_IN_FILE if h == "_row" else h for h in header]
    body = rows[header_index + 1:]
    while body and all(_cell_text(cell) is None for cell in body[-1]):
        body.pop()
    columns = {"_row": pa.array(range(options.header_row + 1, options.header_row + 1 + len(body)),
                                type=pa.int64())}
    for n, column in enumerate(header):
        columns[column] = pa.array(
            [_cell_text(row[n]) if n < len(row) else None for row in body], type=pa.string()
        )
    name = f"raw_{source.name}"
    con.register(f"{name}_arrow", pa.table(columns))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
    con.unregister(f"{name}_arrow")
    report.leading_rows = [[_cell_text(c) for c in row] for row in rows[:12]]
    return name, None


def _cell_text(cell: object) -> str | None:
    """Excel cells as text: whole numbers without '.0', empty cells as missing."""
    if cell is None or cell == "":
        return None
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def _read_parquet(con: duckdb.DuckDBPyConnection, path: Path, source: Source,
                  report: ReadReport) -> tuple[str, str | None]:
    name = f"raw_{source.name}"
    try:
        columns = [row[0] for row in con.execute(
            "SELECT name FROM parquet_schema(?) WHERE num_children IS NULL", [str(path)]
        ).fetchall()]
        as_text = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in columns)
        # A view: Parquet is columnar and cheap to re-read; 20 million rows are not copied.
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT file_row_number + 1 AS _row, "
            f"{as_text} FROM read_parquet('{_escape(str(path))}', file_row_number = true)"
        )
    except duckdb.Error as error:
        reason = _first_line(error)
        raise SourceError(source.name, path, (f"cannot be read as Parquet: {reason}",
                                              f"illisible en Parquet : {reason}"),
                          "unreadable_parquet") from None
    return name, None


READERS: dict[str, Reader] = {"csv": _read_csv, "xlsx": _read_xlsx, "parquet": _read_parquet}


def _stage(con: duckdb.DuckDBPyConnection, raw: str, path: Path, source: Source,
           report: ReadReport) -> str:
    """Rename to contract columns, recode declared values, normalise decimal commas."""
    available = [row[0] for row in con.execute(f"DESCRIBE {raw}").fetchall()]
    schema = SCHEMAS[source.table]
    mapping = source.columns or {c: c for c in schema.columns}
    missing_contract = sorted(set(schema.columns) - set(mapping))
    if missing_contract:
        raise SourceError(source.name, path, (
            f"no mapping for contract column(s) {missing_contract} of table '{source.table}'",
            f"aucune correspondance pour la ou les colonnes {missing_contract} de la table "
            f"'{source.table}'"), "mapping_incomplete")
    missing = [mapping[c] for c in schema.columns if mapping[c] not in available]
    if missing:
        raise SourceError(source.name, path, _missing_columns_message(missing, available, report),
                          "missing_column", row=report.header_row, column=", ".join(missing))
    ignored = ["_row" if c == ROW_IN_FILE else c for c in available
               if c != "_row" and c not in mapping.values()]
    if ignored:
        report.note("ignored_columns", (f"ignored column(s) not in the mapping: {ignored}",
                                        f"colonne(s) hors correspondance ignorée(s) : {ignored}"),
                    column=", ".join(ignored))
    decimal = source.options.decimal or _detect_decimal(con, raw, schema, mapping, report)
    report.decimal = decimal
    selects = ["_row"]
    for column, spec in schema.columns.items():
        value = f"NULLIF(TRIM(\"{mapping[column]}\"), '')"
        original = value
        codes = source.missing_codes.get(column, source.missing_codes.get("*", []))
        if codes and column not in _keys(schema):
            value = f"CASE WHEN {value} IN ({', '.join(_quote(c) for c in codes)}) THEN NULL " \
                    f"ELSE {value} END"
        if column in source.recode:
            pairs = ", ".join(f"{_quote(k)}: {_quote(v)}" for k, v in source.recode[column].items())
            value = f"COALESCE(MAP {{{pairs}}}[{value}], {value})"
        if decimal == "," and str(spec.dtype) in NUMERIC_TYPES:
            value = (f"REPLACE(REGEXP_REPLACE({value}, '[\\s\\x{{00A0}}\\x{{202F}}]', '', 'g'), "
                     f"',', '.')")
        if _is_commune_code(spec):
            value = f"CASE WHEN regexp_full_match({value}, '[0-9]{{4}}') THEN '0' || {value} " \
                    f"ELSE {value} END"
        selects.append(f"{value} AS {column}")
        if value != original:  # keep the file's text, to show it as written
            selects.append(f'{original} AS "{ORIGINAL_PREFIX}{column}"')
    name = f"stg_{source.name}"
    # A view: the rows are renamed and normalised as each validation query reads them.
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {', '.join(selects)} FROM {raw}")
    _note_fixes(con, raw, schema, mapping, source, report)
    return name


def drop_relation(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop a staging table or view, whichever it is."""
    kinds = con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = ?",
                        [name]).fetchall()
    for (kind,) in kinds:
        con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} IF EXISTS {name}")


def _keys(schema) -> set[str]:
    return set(schema.unique or ())


def _is_commune_code(spec) -> bool:
    return any(c.name == "str_matches" and c.statistics.get("pattern", "").startswith(
        COMMUNE_CODE) for c in spec.checks)


def _detect_decimal(con: duckdb.DuckDBPyConnection, raw: str, schema, mapping: dict[str, str],
                    report: ReadReport) -> str:
    """Decimal comma when numeric columns hold values like '12,5' and none like '12.5'."""
    numeric = [mapping[c] for c, spec in schema.columns.items()
               if str(spec.dtype) in NUMERIC_TYPES]
    if not numeric:
        return "."
    commas = " OR ".join(f"regexp_full_match(\"{c}\", '{COMMA_DECIMAL[1:-1]}')" for c in numeric)
    points = " OR ".join(f"regexp_full_match(\"{c}\", '\\s*-?[0-9]+\\.[0-9]+\\s*')"
                         for c in numeric)
    with_comma, with_point = con.execute(
        f"SELECT count(*) FILTER (WHERE {commas}), count(*) FILTER (WHERE {points}) FROM {raw}"
    ).fetchall()[0]
    if with_comma and not with_point:
        matching = [f"regexp_full_match(\"{c}\", '{COMMA_DECIMAL[1:-1]}')" for c in numeric]
        names = ", ".join(f"CASE WHEN {m} THEN {_quote(c)} END" for m, c in zip(
            matching, numeric, strict=True))
        values = ", ".join(f'CASE WHEN {m} THEN "{c}" END' for m, c in zip(
            matching, numeric, strict=True))
        row, column, value = con.execute(
            f"SELECT _row, coalesce({names}), coalesce({values}) FROM {raw} WHERE {commas} "
            f"ORDER BY _row LIMIT 1").fetchall()[0]
        report.note("decimal_comma", (f"decimal comma detected ({with_comma:,} values)",
                                      f"virgule décimale détectée ({with_comma:,} valeurs)"),
                    row=row, column=column, value=value)
        return ","
    return "."


def _note_fixes(con: duckdb.DuckDBPyConnection, raw: str, schema, mapping: dict[str, str],
                source: Source, report: ReadReport) -> None:
    """Count what staging changed, so the read report can say it."""
    for column, spec in schema.columns.items():
        original = f'NULLIF(TRIM("{mapping[column]}"), \'\')'
        if _is_commune_code(spec):
            restored, row, value = con.execute(
                f"SELECT count(*), min(_row), arg_min({original}, _row) FROM {raw} "
                f"WHERE regexp_full_match({original}, '[0-9]{{4}}')").fetchall()[0]
            if restored:
                report.note("leading_zero", (
                    f"restored the leading zero of {restored:,} code(s) in "
                    f"'{mapping[column]}' (e.g. 1053 → 01053)",
                    f"zéro initial rétabli dans {restored:,} code(s) de "
                    f"'{mapping[column]}' (p. ex. 1053 → 01053)"), row=row,
                    column=mapping[column], value=value)
        codes = source.missing_codes.get(column, source.missing_codes.get("*", []))
        if codes and column not in _keys(schema):
            found, row, value = con.execute(
                f"SELECT count(*), min(_row), arg_min({original}, _row) FROM {raw} WHERE "
                f"{original} IN ({', '.join(_quote(c) for c in codes)})").fetchall()[0]
            if found:
                report.note("missing_codes", (
                    f"{found:,} declared missing-value code(s) in "
                    f"'{mapping[column]}' read as no answer",
                    f"{found:,} code(s) de valeur manquante déclarés dans "
                    f"'{mapping[column]}' lus comme sans réponse"), row=row,
                    column=mapping[column], value=value)


def _missing_columns_message(missing: list[str], available: list[str],
                             report: ReadReport) -> tuple[str, str]:
    shown = [c for c in available if c != "_row"]
    names = ", ".join(repr(m) for m in missing)
    english = f"missing column(s) {names}; the file has {shown}"
    french = f"colonne(s) manquante(s) {names} ; le fichier a {shown}"
    if len(shown) == 1 and any(d in shown[0] for d in ";,\t|"):
        english += " — the header looks like one column: is the delimiter right?"
        french += " — l'en-tête semble ne faire qu'une colonne : le séparateur est-il le bon ?"
    for number, row in enumerate(report.leading_rows, start=1):
        if number != report.header_row and set(missing) <= set(row):
            english += f" — the expected header is on row {number}: set header_row: {number}"
            french += (f" — l'en-tête attendu est à la ligne {number} : indiquez "
                       f"header_row: {number}")
            break
    return english, french


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _escape(text: str) -> str:
    return text.replace("'", "''")


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
