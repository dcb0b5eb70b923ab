"""Readers: bring each declared source into a DuckDB staging view, as text, row numbers kept.

Offices send what their software exports: CSV in UTF-8 (with or without BOM) or Windows-1252,
separated by ``;``, ``,`` or tabs, with decimal commas; Excel sheets with a title above the
header; Parquet. Whatever the configuration leaves empty is detected, and every reader says
what it found or fixed in a :class:`ReadReport`.

No name or value from a file or a project file becomes SQL text. A file's columns are held
under positional names (``c1``, ``c2`` …) and the header is kept apart, so a column named
``x" AS VARCHAR) …``, ``_row``, ``[red]`` or nothing at all is a name like any other; every
identifier we write goes through :func:`indicators.sql.quote_ident`; paths, delimiters and
codes are bound parameters, or rows of small tables (declared missing codes and recodes)
that the staging view joins, since a view cannot hold parameters.

Rows are counted against the file itself, not the parser: for a CSV, its physical lines after
the header (empty lines aside) are counted in one pass over its bytes, and every such line is
either a staged row or a quarantined one — a stray quote that swallows the following lines is
a quarantined row for each line it swallowed, with its line number and the rule.

Staging renames (the source's column mapping), normalises text to Unicode NFC, recodes declared
values, turns declared missing-value codes into empty cells, restores the leading zero that
spreadsheets strip from commune codes and reads numbers under the declared (or detected)
decimal mark only; typing and checking happen in ``validating`` so that a bad value becomes a
quarantined row with its reason, never a crash. ``_row`` is the row number a spreadsheet user
sees (the header is row ``header_row``, the first data row the next).
"""

from __future__ import annotations

import csv
import difflib
import posixpath
import shutil
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import duckdb
import numpy as np
import pyarrow as pa
from pandera.polars import DataFrameSchema
from python_calamine import CalamineWorkbook

from indicators.sql import quote_ident
from pipelines.config import ProjectConfig, Source
from pipelines.problems import Problem, Text
from pipelines.reading.encodings import (
    EncodingError,
    Lines,
    binary_kind,
    detect_delimiter,
    detect_encoding,
    scan_lines,
    transcode_to_utf8,
)
from pipelines.validating.checks import CELL_PREFIX, ORIGINAL_PREFIX, WHY_PREFIX
from pipelines.validating.contracts import COMMUNE_CODE
from pipelines.warehouse import scratch_folder

NUMERIC_TYPES = {"Float64", "Int64"}
# Our own patterns, written into staging views (never a value from a file or project file).
SEPARATORS = "[ \\x{00A0}\\x{202F}]"  # space, no-break space, narrow no-break space
COMMA_NUMBER = "[+-]?[0-9]+(,[0-9]+)?([eE][+-]?[0-9]+)?"
COMMA_GROUPED = f"[+-]?[0-9]{{1,3}}({SEPARATORS}[0-9]{{3}})+(,[0-9]+)?"
DOT_GROUPED_COMMA = "[+-]?[0-9]{1,3}([.][0-9]{3})+(,[0-9]+)?"
POINT_GROUPED = f"[+-]?[0-9]{{1,3}}({SEPARATORS}[0-9]{{3}})+([.][0-9]+)?"
NUMBER_LIKE = "[+-]?[0-9., \\x{00A0}\\x{202F}]*[0-9][0-9., \\x{00A0}\\x{202F}]*"
COMMA_DECIMAL = "-?[0-9][0-9 \\x{00A0}\\x{202F}]*,[0-9]+"  # detection: '12,5', '5 432,5'
POINT_DECIMAL = "-?[0-9]+[.][0-9]+"
FOUR_DIGITS = "[0-9]{4}"
NOT_FOUND_HINT = ("check the source's path in the project file (relative to the file's folder)",
                  "vérifiez le chemin de la source dans le fichier de projet (relatif à son "
                  "dossier)")
NESTED = ("[]", "STRUCT(", "MAP(", "UNION(")


def _constant(sql_text: str) -> str:
    """One of our own patterns as an SQL string; it never holds a quote."""
    assert "'" not in sql_text, sql_text
    return f"'{sql_text}'"


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
    rows_in_file: int | None = None  # counted apart from the parser (CSV lines, sheet rows …)
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
    """A staged source: its staging view, its parser rejects (if any) and its read report;
    ``helpers`` are the tables the view reads besides ``raw`` (dropped with it)."""

    staging: str
    rejects: str | None
    report: ReadReport
    raw: str
    helpers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Raw:
    """What a reader leaves: ``table`` with ``_row`` and the file's columns as ``c1``, ``c2`` …
    (only those it holds, by their position in ``header``), and the rejected lines. A sheet's
    table also has ``x1``, ``x2`` … (``cells``): what a cell held instead of a value
    ('boolean' for TRUE/FALSE, 'error' for an Excel error such as #DIV/0!), NULL otherwise."""

    table: str
    header: list[str]
    rejects: str | None = None
    cells: bool = False

    def column(self, name: str) -> str | None:
        """The internal column holding the file's column ``name``."""
        return f"c{self.header.index(name) + 1}" if name in self.header else None

    def cell(self, name: str) -> str | None:
        """The internal column saying what a sheet's cell of column ``name`` held."""
        return f"x{self.header.index(name) + 1}" if self.cells and name in self.header \
            else None


Reader = Callable[[duckdb.DuckDBPyConnection, Path, Source, ReadReport, Path, DataFrameSchema],
                  Raw]


@contextmanager
def working_folder(con: duckdb.DuckDBPyConnection) -> Iterator[Path]:
    """Where a reader may write working copies: the run's scratch folder (created if need be),
    or a private temporary folder for a connection without one (removed afterwards)."""
    scratch = scratch_folder(con)
    if scratch is not None:
        scratch.mkdir(parents=True, exist_ok=True)
        yield scratch
        return
    folder = Path(tempfile.mkdtemp(prefix="lci-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def stage_source(con: duckdb.DuckDBPyConnection, config: ProjectConfig, source: Source,
                 display_name: str) -> Staged:
    """Create the staging view ``stg_<source>`` holding the source's rows as text."""
    path = config.path_of(source)
    if not path.is_file():
        raise SourceError(source.name, path, ("file not found", "fichier introuvable"),
                          "not_found", hint=NOT_FOUND_HINT)
    if path.stat().st_size == 0:
        raise SourceError(source.name, path, ("the file is empty", "le fichier est vide"),
                          "empty")
    schema = config.contracts.schemas[source.table]
    check_mapping(source, path, schema)
    report = ReadReport(source.name, display_name, source.format,
                        header_row=source.options.header_row)
    with working_folder(con) as folder:
        raw = READERS[source.format](con, path, source, report, folder, schema)
    try:
        report.rows = _count(con, raw.table)
        if report.rows + report.parse_rejects == 0:
            raise SourceError(source.name, path, ("the file has a header but no data rows",
                                                  "le fichier a un en-tête mais aucune ligne de "
                                                  "données"), "no_data_rows")
        if report.rows_in_file is not None and \
                report.rows + report.parse_rejects != report.rows_in_file:
            raise SourceError(source.name, path, (
                f"the file has {report.rows_in_file:,} rows of data but "
                f"{report.rows + report.parse_rejects:,} were read: LCI cannot say which are "
                f"missing",
                f"le fichier a {report.rows_in_file:,} lignes de données mais "
                f"{report.rows + report.parse_rejects:,} ont été lues : LCI ne peut dire "
                f"lesquelles manquent"), "row_count")
        staging, helpers = _stage(con, raw, path, source, report, schema)
    except duckdb.Error as error:  # e.g. a corrupt Parquet page, met when its rows are read
        drop_relation(con, raw.table)
        if raw.rejects:
            drop_relation(con, raw.rejects)
        reason = _first_line(error)
        raise SourceError(source.name, path, (f"cannot be read to the end: {reason}",
                                              f"illisible jusqu'au bout : {reason}"),
                          "unreadable") from None
    except SourceError:
        drop_relation(con, raw.table)
        if raw.rejects:
            drop_relation(con, raw.rejects)
        raise
    return Staged(staging, raw.rejects, report, raw.table, helpers)


def check_mapping(source: Source, path: Path, schema: DataFrameSchema) -> None:
    """Every contract column the source names (mapping, recodes, missing codes) exists in its
    table (``schema``, the project's contract); a typo is one error naming the source, the file
    and the column. Only an optional column may be mapped to nothing."""
    required = sorted(c for c, f in source.columns.items()
                      if f is None and c in schema.columns and not schema.columns[c].nullable)
    if required:
        raise SourceError(source.name, path, (
            f"columns maps {required} to nothing, but table '{source.table}' needs "
            f"{'it' if len(required) == 1 else 'them'}: name the file's column",
            f"columns n'associe rien à {required}, dont la table '{source.table}' a besoin : "
            f"nommez la colonne du fichier"), "mapping_incomplete", column=", ".join(required))
    contract = list(schema.columns)
    for field_name, named in (("columns", source.columns), ("recode", source.recode),
                              ("missing_codes", {k for k in source.missing_codes if k != "*"})):
        unknown = [c for c in named if c not in schema.columns]
        if not unknown:
            continue
        guesses = {c: difflib.get_close_matches(c, contract, n=1) for c in unknown}
        hint = "; ".join(f"'{c}': did you mean '{g[0]}'?" for c, g in guesses.items() if g)
        en = (f"{field_name} names column(s) {unknown} that table '{source.table}' does not "
              f"have; its columns are {contract}")
        fr = (f"{field_name} nomme la ou les colonnes {unknown} que la table '{source.table}' "
              f"n'a pas ; ses colonnes sont {contract}")
        raise SourceError(source.name, path, (en + (f" ({hint})" if hint else ""),
                                              fr + (f" ({hint.replace('did you mean', 'vouliez-vous dire')})" if hint else "")),  # noqa: E501
                          "unknown_contract_column", column=", ".join(unknown))


def _not_this_format(source: Source, path: Path, expected: tuple[str, str], code: str,
                     kind: tuple[str, str]) -> SourceError:
    en, fr = kind
    advice = ("", "")
    if "Excel workbook" in en:
        advice = (": declare format: xlsx", " : déclarez format: xlsx")
    elif "Parquet" in en:
        advice = (": declare format: parquet", " : déclarez format: parquet")
    reader = {"not_text": ("CSV", "CSV"), "not_xlsx": ("Excel", "Excel"),
              "not_parquet": ("Parquet", "Parquet")}[code]
    return SourceError(source.name, path, (
        f"cannot be read as {reader[0]}: this is {en}, not {expected[0]}{advice[0]}",
        f"illisible en {reader[1]} : ce fichier est {fr}, pas {expected[1]}{advice[1]}"), code)


# --- CSV ------------------------------------------------------------------------------------------


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path, source: Source,
              report: ReadReport, folder: Path, schema: DataFrameSchema) -> Raw:
    options = source.options
    kind = binary_kind(path)
    if kind is not None:
        raise _not_this_format(source, path, ("a CSV text file", "un fichier texte CSV"),
                               "not_text", kind)
    readable = path
    try:
        try:
            encoding, note = detect_encoding(path, options.encoding)
            readable = transcode_to_utf8(path, encoding, folder)
        except EncodingError as error:
            raise SourceError(source.name, path, (str(error), error.french),
                              "encoding") from None
        report.encoding = encoding
        if note:
            report.note("encoding_detected", note)
        lines = scan_lines(path)  # the file as sent (a transcoded copy has LF only)
        if readable != path:
            original, lines = lines, scan_lines(readable)
        else:
            original = lines
        if original.mixed:
            report.note("mixed_line_endings", (
                f"mixed line endings ({original.crlf:,} CRLF, {original.lf:,} LF, "
                f"{original.cr:,} CR): each read as the end of a line",
                f"fins de ligne mélangées ({original.crlf:,} CRLF, {original.lf:,} LF, "
                f"{original.cr:,} CR) : chacune lue comme une fin de ligne"))
        if lines.mixed:
            copy = transcode_to_utf8(readable, "utf-8-sig", folder, normalise_newlines=True)
            if readable != path:
                readable.unlink()
            readable = copy
            lines = scan_lines(readable)
        delimiter = options.delimiter or detect_delimiter(readable, options.header_row)
        report.delimiter = delimiter
        header = _csv_header(readable, delimiter, options.header_row, source.name, path)
        names = [f"c{n}" for n in range(1, len(header) + 1)]
        try:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _parsed AS SELECT row_number() OVER () AS _k, * "
                "FROM read_csv(?, all_varchar = true, header = true, delim = ?, quote = '\"', "
                "escape = '\"', skip = ?, store_rejects = true, rejects_table = '_rejects', "
                "rejects_scan = '_reject_scans', auto_detect = false, columns = ?)",
                [str(readable), delimiter, options.header_row - 1,
                 dict.fromkeys(names, "VARCHAR")])
        except duckdb.Error as error:
            reason = _first_line(error)
            raise SourceError(source.name, path, (f"cannot be read as CSV: {reason}",
                                                  f"illisible en CSV : {reason}"),
                              "unreadable_csv") from None
        raw = Raw(quote_ident(f"raw_{source.name}"), header,
                  quote_ident(f"rej_{source.name}"))
        _number_csv_rows(con, raw, lines, readable, options.header_row, report)
    finally:
        for table in ("_parsed", "_rejects", "_reject_scans"):
            con.execute(f"DROP TABLE IF EXISTS {quote_ident(table)}")
        if readable != path:
            readable.unlink(missing_ok=True)
    return raw


def _csv_header(path: Path, delimiter: str, header_row: int, source: str,
                original: Path) -> list[str]:
    """The header's column names (kept apart from SQL: the file's columns are read under
    positional names); a header that cannot be one stops the source with a message saying
    why."""
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
    _refuse_repeated(names, header_row, source, original, csv_hint=True)
    return names


def _refuse_repeated(names: list[str], header_row: int, source: str, path: Path, *,
                     csv_hint: bool = False) -> None:
    repeated = sorted({n for n in names if names.count(n) > 1})
    if not repeated:
        return
    question = (": is it really the header, and is the delimiter right?",
                " : est-ce bien l'en-tête, et le séparateur est-il le bon ?") if csv_hint \
        else ("", "")
    raise SourceError(source, path, (
        f"the header ({'line' if csv_hint else 'row'} {header_row}) repeats column(s) "
        f"{repeated}{question[0]}",
        f"l'en-tête (ligne {header_row}) répète la ou les colonnes {repeated}{question[1]}"),
        "header_repeated", row=header_row, column=", ".join(repeated))


def _number_csv_rows(con: duckdb.DuckDBPyConnection, raw: Raw, lines: Lines, readable: Path,
                     header_row: int, report: ReadReport) -> None:
    """Give parsed records their line numbers, and account for every line of data.

    The file's data lines (after the header, empty lines aside) are counted from its bytes.
    Each is a parsed record on one line, or part of a rejected record, or part of a record
    whose quoted value runs over several lines: such a record is quarantined line by line,
    since a contract value never holds a line break and a stray quote is what usually makes
    one. DuckDB numbers a rejected record by records and empty lines (a record over several
    lines counts one), so the walk below turns its numbers into the file's, jumping from one
    such event to the next (runs of ordinary lines are numbered at once).
    """
    count = lines.count
    usable = np.ones(count + 2, dtype=bool)  # by line number; index 0 unused
    usable[: header_row + 1] = False
    usable[count + 1:] = False
    usable[lines.blank()] = False
    report.rows_in_file = int(usable.sum())
    blanks = [int(b) for b in lines.blank() if b > header_row]
    brk = chr(13) if lines.cr and not (lines.lf or lines.crlf) else chr(10)
    rejects = []
    for line, column, error_type, text in con.execute(
            "SELECT DISTINCT ON (line) line, column_name, CAST(error_type AS VARCHAR), csv_line "
            "FROM _rejects ORDER BY line").fetchall():
        text = (text or "").strip("\r\n")
        rejects.append((int(line), text.count(brk) + 1, _header_name(raw.header, column),
                        error_type, [t.strip("\r\n") for t in text.split(brk)]))
    parsed = _count(con, "_parsed")
    names = [quote_ident(f"c{n}") for n in range(1, len(raw.header) + 1)]
    code = 13 if brk == chr(13) else 10
    splits = " OR ".join(f"contains({c}, chr({code}))" for c in names)
    counts = ", ".join(f"coalesce(length({c}) - length(replace({c}, chr({code}), '')), 0)"
                       for c in names)
    flags = ", ".join(f"coalesce(contains({c}, chr({code})), false)" for c in names)
    multi = con.execute(f"SELECT _k, list_sum([{counts}]), list_position([{flags}], true) "
                        f"FROM _parsed WHERE {splits} ORDER BY _k").fetchall() \
        if lines.quotes else []  # no quote, no value over several lines
    starts = np.zeros(parsed, dtype=np.int64)
    keep = np.ones(parsed, dtype=bool)
    rejected: list[tuple] = []
    end = count + 1
    p = logical = header_row + 1  # the file's line, and DuckDB's number for it
    k = 1  # the next parsed record
    bi = ri = mi = 0
    consistent = True
    while consistent:
        while bi < len(blanks) and blanks[bi] < p:
            bi += 1
        next_blank = blanks[bi] if bi < len(blanks) else end
        next_reject = rejects[ri][0] + (p - logical) if ri < len(rejects) else end
        next_multi = p + (multi[mi][0] - k) if mi < len(multi) else end
        target = min(next_blank, next_reject, next_multi, end)
        run = target - p
        if run < 0 or k - 1 + run > parsed:
            consistent = False
            break
        starts[k - 1:k - 1 + run] = np.arange(p, target)
        k, logical, p = k + run, logical + run, target
        if p >= end:
            break
        if p == next_blank:
            consistent = p not in (next_reject, next_multi)
            p, logical, bi = p + 1, logical + 1, bi + 1
        elif p == next_reject:
            _, span, column, error_type, text = rejects[ri]
            if span == 1:
                rejected.append((p, column, error_type, text[0], None, None))
            else:
                rejected += _spanning(p, p + span - 1, column, usable, text)
            p, logical, ri = p + span, logical + 1, ri + 1
        else:
            _, breaks, column = multi[mi]
            last = p + int(breaks)
            starts[k - 1], keep[k - 1] = p, False
            rejected += _spanning(p, last, raw.header[column - 1], usable,
                                  lines.text(readable, p, min(last, count)))
            p, logical, k, mi = last + 1, logical + 1, k + 1, mi + 1
    if not (consistent and k - 1 == parsed and ri == len(rejects) and mi == len(multi)
            and p == end):
        raise SourceError(report.source, Path(report.file), (
            f"the file has {report.rows_in_file:,} lines of data but the CSV reader does not "
            f"account for each of them (a stray quote or line break?)",
            f"le fichier a {report.rows_in_file:,} lignes de données mais le lecteur CSV ne "
            f"rend pas compte de chacune (un guillemet ou un saut de ligne égaré ?)"),
            "row_count")
    if parsed and keep.all() and int(starts[-1] - starts[0]) == parsed - 1:
        # One line per record, none skipped between them: the line is the record's rank.
        con.execute(f"CREATE OR REPLACE TEMP TABLE {raw.table} AS SELECT "
                    f"_k + {int(starts[0]) - 1} AS _row, * EXCLUDE (_k) FROM _parsed")
    else:
        lines_of = pa.table({"_k": pa.array(np.arange(1, parsed + 1)[keep]),
                             "_row": pa.array(starts[keep])})
        con.register("_lines_frame", lines_of)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {raw.table} AS SELECT l._row, "
                    f"p.* EXCLUDE (_k) FROM _parsed p JOIN _lines_frame l USING (_k)")
        con.unregister("_lines_frame")
    rows = sorted(rejected)
    frame = pa.table({
        "_row": pa.array([r[0] for r in rows], pa.int64()),
        "column": pa.array([r[1] for r in rows], pa.string()),
        "error_type": pa.array([r[2] for r in rows], pa.string()),
        "value": pa.array([r[3] for r in rows], pa.string()),
        "rule_en": pa.array([r[4] for r in rows], pa.string()),
        "rule_fr": pa.array([r[5] for r in rows], pa.string())})
    con.register("_rejects_frame", frame)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {raw.rejects} AS SELECT * FROM _rejects_frame")
    con.unregister("_rejects_frame")
    report.parse_rejects = len(rows)
    if blanks:
        report.note("empty_lines", (f"{len(blanks):,} empty line(s) skipped",
                                    f"{len(blanks):,} ligne(s) vide(s) ignorée(s)"),
                    row=blanks[0])


def _header_name(header: list[str], column: str | None) -> str | None:
    """The file's name of DuckDB's column ``c<n>``."""
    if column and column.startswith("c") and column[1:].isdigit():
        n = int(column[1:])
        if 1 <= n <= len(header):
            return header[n - 1]
    return column


def _spanning(first: int, last: int, column: str | None, usable: np.ndarray,
              text: list[str]) -> list[tuple]:
    """Quarantine rows for a record running from line ``first`` to ``last``: one per line of
    data in it, each saying where the quoted value opens and how far it runs."""
    span = last - first + 1
    where = f" in column '{column}'" if column else ""
    where_fr = f" dans la colonne « {column} »" if column else ""
    rows = [(first, column, "UNCLOSED QUOTE", text[0] if text else None,
             f"unclosed quote: this value{where} runs over {span} lines (lines {first}–{last}); "
             f"a value must not hold a line break — close the quote or remove it",
             f"guillemet non fermé : cette valeur{where_fr} s'étend sur {span} lignes (lignes "
             f"{first} à {last}) ; une valeur ne doit pas contenir de saut de ligne — fermez "
             f"ou supprimez le guillemet")]
    inside = np.flatnonzero(usable[first + 1:last + 1]) + first + 1
    for line in inside:
        offset = int(line) - first
        rows.append((int(line), column, "UNCLOSED QUOTE",
                     text[offset] if offset < len(text) else None,
                     f"this line is inside a value opened by a quote on line {first}{where}, "
                     f"which runs to line {last}",
                     f"cette ligne est à l'intérieur d'une valeur ouverte par un guillemet à la "
                     f"ligne {first}{where_fr}, qui court jusqu'à la ligne {last}"))
    return rows


# --- Excel ----------------------------------------------------------------------------------------


def _read_xlsx(con: duckdb.DuckDBPyConnection, path: Path, source: Source,
               report: ReadReport, folder: Path, schema: DataFrameSchema) -> Raw:
    options = source.options
    with open(path, "rb") as handle:
        head = handle.read(8)
    if not head.startswith((b"PK", b"\xd0\xcf\x11\xe0")):
        kind = binary_kind(path) or ("a text file (CSV?)", "un fichier texte (CSV ?)")
        if "CSV" in kind[0]:
            kind = ("a text file", "un fichier texte")
        raise _not_this_format(source, path, ("an Excel workbook", "un classeur Excel"),
                               "not_xlsx", kind)
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet_name = options.sheet or workbook.sheet_names[0]
        if sheet_name not in workbook.sheet_names:
            raise SourceError(source.name, path, (
                f"no sheet named '{sheet_name}'; the workbook has {workbook.sheet_names}",
                f"aucune feuille nommée '{sheet_name}' ; le classeur a {workbook.sheet_names}"),
                "sheet_not_found")
        rows = workbook.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
        # calamine reads an error cell (#DIV/0!, #N/A …) as an empty one: find them apart.
        for (i, j), error in _error_cells(path, sheet_name).items():
            if i < len(rows) and j < len(rows[i]):
                rows[i][j] = ExcelError(error)
    except SourceError:
        raise
    except Exception as error:  # calamine raises several kinds for unreadable workbooks
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SourceError(source.name, path, (f"cannot be read as Excel: {reason}",
                                              f"illisible en Excel : {reason}"),
                          "unreadable_xlsx") from None
    report.sheet = sheet_name
    header_index = options.header_row - 1
    if len(rows) <= header_index:
        raise SourceError(source.name, path, (
            f"sheet '{sheet_name}' has no row {options.header_row}",
            f"la feuille '{sheet_name}' n'a pas de ligne {options.header_row}"),
            "header_missing", row=options.header_row)
    decimal = options.decimal or "."
    header = [_cell_text(cell, ".") or f"column_{n + 1}"
              for n, cell in enumerate(rows[header_index])]
    _refuse_repeated(header, options.header_row, source.name, path)
    numbers = range(options.header_row + 1, options.header_row + 1 + len(rows) - header_index - 1)
    body = [(number, row) for number, row in zip(numbers, rows[header_index + 1:], strict=True)
            if any(_cell_text(cell, decimal) is not None for cell in row)]
    kept = {n for n, _ in body}
    empty = [n for n in numbers if n not in kept and n < max(kept, default=0)]
    if empty:
        report.note("empty_rows", (f"{len(empty):,} empty row(s) skipped",
                                   f"{len(empty):,} ligne(s) vide(s) ignorée(s)"), row=empty[0])
    report.rows_in_file = len(body)
    columns = {"_row": pa.array([n for n, _ in body], type=pa.int64())}
    for n in range(len(header)):
        columns[f"c{n + 1}"] = pa.array(
            [_cell_text(row[n], decimal) if n < len(row) else None for _, row in body],
            type=pa.string())
    for n in range(len(header)):
        columns[f"x{n + 1}"] = pa.array(
            [_cell_kind(row[n]) if n < len(row) else None for _, row in body],
            type=pa.string())
    name = quote_ident(f"raw_{source.name}")
    con.register("_sheet_frame", pa.table(columns))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _sheet_frame")
    con.unregister("_sheet_frame")
    report.leading_rows = [[_cell_text(c, ".") for c in row] for row in rows[:12]]
    return Raw(name, header, cells=True)


class ExcelError(str):
    """An Excel error cell (``#DIV/0!``, ``#N/A`` …), as the text Excel shows."""


def _cell_kind(cell: object) -> str | None:
    """What a cell holds instead of a value: 'boolean' (TRUE/FALSE, never 1/0 or a code) or
    'error' (an Excel error); None for a value or an empty cell."""
    if isinstance(cell, bool):
        return "boolean"
    if isinstance(cell, ExcelError):
        return "error"
    return None


def _cell_text(cell: object, decimal: str = ".") -> str | None:
    """Excel cells as text: whole numbers without '.0', other numbers with the source's decimal
    mark (a numeric cell is a number, whatever the locale), empty cells as missing; TRUE/FALSE
    and error cells as Excel shows them (staging refuses them, see :func:`_cell_kind`)."""
    if cell is None or cell == "":
        return None
    if isinstance(cell, bool):  # a bool is an int: never read it as 1 or 0
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, float):
        if cell.is_integer() and abs(cell) < 1e16:
            return str(int(cell))
        text = repr(cell)
        return text.replace(".", ",") if decimal == "," else text
    return str(cell)


def _error_cells(path: Path, sheet: str) -> dict[tuple[int, int], str]:
    """The error cells of an .xlsx sheet, by (row, column) counted from 0 as calamine's rows
    are, with the error's text: calamine reads them as empty cells. Read from the sheet's XML
    (cells ``t="e"``), only when its bytes hold one; another kind of workbook gives none."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return {}
    with archive:
        part = _sheet_part(archive, sheet)
        if part is None or not _holds_error(archive, part):
            return {}
        found: dict[tuple[int, int], str] = {}
        row, col, kind, value = -1, -1, None, None
        with archive.open(part) as handle:
            for event, element in ElementTree.iterparse(handle, events=("start", "end")):
                tag = element.tag.rsplit("}", 1)[-1]
                if event == "start":
                    if tag == "row":
                        number = element.get("r")
                        row = int(number) - 1 if number and number.isdigit() else row + 1
                        col = -1
                    elif tag == "c":
                        where = _cell_position(element.get("r"))
                        if where is not None:
                            row, col = where
                        else:
                            col += 1
                        kind, value = element.get("t"), None
                    continue
                if tag == "v":
                    value = element.text
                elif tag == "c":
                    if kind == "e":
                        found[(row, col)] = (value or "").strip() or "#ERROR"
                    element.clear()
                elif tag == "row":
                    element.clear()
        return found


def _holds_error(archive: zipfile.ZipFile, part: str) -> bool:
    """Whether a sheet's XML holds an error cell's type (a fast scan of its bytes)."""
    tail = b""
    with archive.open(part) as handle:
        while chunk := handle.read(1 << 20):
            text = tail + chunk
            if b't="e"' in text or b"t='e'" in text:
                return True
            tail = text[-8:]
    return False


def _cell_position(reference: str | None) -> tuple[int, int] | None:
    """'B3' as (2, 1)."""
    if not reference:
        return None
    letters = reference.rstrip("0123456789")
    digits = reference[len(letters):]
    if not letters.isalpha() or not digits:
        return None
    col = 0
    for letter in letters.upper():
        col = col * 26 + ord(letter) - ord("A") + 1
    return int(digits) - 1, col - 1


def _sheet_part(archive: zipfile.ZipFile, sheet: str) -> str | None:
    """The archive member holding the sheet named ``sheet``, through the workbook's
    relationships."""
    try:
        root = ElementTree.fromstring(archive.read("_rels/.rels"))
        workbook = next((r.get("Target") for r in root
                         if (r.get("Type") or "").endswith("/officeDocument")), None)
        if not workbook:
            return None
        workbook = workbook.lstrip("/")
        folder, name = posixpath.split(workbook)
        relations = ElementTree.fromstring(
            archive.read(posixpath.join(folder, "_rels", name + ".rels")))
        targets = {r.get("Id"): r.get("Target") for r in relations}
        for element in ElementTree.fromstring(archive.read(workbook)).iter():
            if element.tag.rsplit("}", 1)[-1] == "sheet" and element.get("name") == sheet:
                rid = next((v for k, v in element.attrib.items() if k.endswith("}id")), None)
                target = targets.get(rid)
                if not target:
                    return None
                return target.lstrip("/") if target.startswith("/") \
                    else posixpath.normpath(posixpath.join(folder, target))
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile, OSError):
        return None
    return None


# --- Parquet ------------------------------------------------------------------------------------


def _read_parquet(con: duckdb.DuckDBPyConnection, path: Path, source: Source,
                  report: ReadReport, folder: Path, schema: DataFrameSchema) -> Raw:
    with open(path, "rb") as handle:
        head = handle.read(4)
        handle.seek(max(path.stat().st_size - 4, 0))
        tail = handle.read(4)
    if head != b"PAR1":
        kind = binary_kind(path) or ("a text file", "un fichier texte")
        raise _not_this_format(source, path, ("a Parquet file", "un fichier Parquet"),
                               "not_parquet", kind)
    if tail != b"PAR1":
        raise SourceError(source.name, path, (
            "the file ends before its Parquet footer (cut short in transfer?)",
            "le fichier s'arrête avant la fin Parquet (transfert interrompu ?)"),
            "unreadable_parquet")
    view = f"raw_{source.name}"
    name = quote_ident(view)
    mapping = _mapping(source, schema)
    wanted = set(mapping.values())
    numeric_contract = {mapping[c] for c, spec in schema.columns.items()
                        if str(spec.dtype) in NUMERIC_TYPES and c in mapping}
    try:
        described = con.read_parquet(str(path))
        header, types = list(described.columns), [str(t) for t in described.types]
        report.rows_in_file = int(con.execute(
            "SELECT sum(num_rows) FROM parquet_file_metadata(?)", [str(path)]).fetchall()[0][0])
        numbered = "file_row_number" not in header
        relation = con.read_parquet(str(path), file_row_number=numbered)
        selects = ["file_row_number + 1 AS _row" if numbered
                   else "row_number() OVER () AS _row"]
        nested = []
        for n, (column, kind) in enumerate(zip(header, types, strict=True), start=1):
            if column not in wanted:
                continue
            if any(mark in kind for mark in NESTED):
                nested.append(f"{column} ({kind})")
                continue
            text = f"CAST({quote_ident(column)} AS VARCHAR)"
            if source.options.decimal == "," and column in numeric_contract and \
                    kind.startswith(("DOUBLE", "FLOAT", "DECIMAL")):
                text = f"replace({text}, '.', ',')"
            selects.append(f"{text} AS {quote_ident(f'c{n}')}")
        if nested:
            raise SourceError(source.name, path, (
                f"mapped column(s) {nested} hold lists or structures, not single values",
                f"la ou les colonnes {nested} contiennent des listes ou des structures, pas des "
                f"valeurs simples"), "nested_column", column=", ".join(nested))
        # A view: Parquet is columnar and cheap to re-read; 20 million rows are not copied.
        relation.select(", ".join(selects)).create_view(view, replace=True)
    except duckdb.Error as error:
        reason = _first_line(error)
        raise SourceError(source.name, path, (f"cannot be read as Parquet: {reason}",
                                              f"illisible en Parquet : {reason}"),
                          "unreadable_parquet") from None
    return Raw(name, header)


READERS: dict[str, Reader] = {"csv": _read_csv, "xlsx": _read_xlsx, "parquet": _read_parquet}


# --- staging --------------------------------------------------------------------------------------


def _mapping(source: Source, schema: DataFrameSchema) -> dict[str, str]:
    """Contract column → file column, for the columns the file has (an identity mapping when
    the source maps none; an optional column mapped to nothing is left out)."""
    if not source.columns:
        return {c: c for c in schema.columns}
    return {c: f for c, f in source.columns.items() if f is not None}


def _stage(con: duckdb.DuckDBPyConnection, raw: Raw, path: Path, source: Source,
           report: ReadReport, schema: DataFrameSchema) -> tuple[str, tuple[str, ...]]:
    """Rename to contract columns, normalise, recode, read numbers under the decimal mark.

    An optional column the file does not have (left out of ``columns``, mapped to nothing, or
    absent from a file read without a mapping) is empty in every row."""
    mapping = _mapping(source, schema)
    optional = {c for c, spec in schema.columns.items() if spec.nullable}
    absent = {c for c in optional if c not in mapping or (
        not source.columns and mapping[c] not in raw.header)}
    mapping = {c: f for c, f in mapping.items() if c not in absent}
    missing_contract = sorted(set(schema.columns) - set(mapping) - absent)
    if missing_contract:
        raise SourceError(source.name, path, (
            f"no mapping for contract column(s) {missing_contract} of table '{source.table}'",
            f"aucune correspondance pour la ou les colonnes {missing_contract} de la table "
            f"'{source.table}'"), "mapping_incomplete")
    missing = [mapping[c] for c in schema.columns if c in mapping and
               mapping[c] not in raw.header]
    if missing:
        raise SourceError(source.name, path, _missing_columns_message(missing, raw.header,
                                                                      report),
                          "missing_column", row=report.header_row, column=", ".join(missing))
    ignored = [c for c in raw.header if c not in mapping.values()]
    if ignored:
        report.note("ignored_columns", (f"ignored column(s) not in the mapping: {ignored}",
                                        f"colonne(s) hors correspondance ignorée(s) : {ignored}"),
                    column=", ".join(ignored))
    internal = {c: quote_ident(raw.column(mapping[c]) or "") for c in mapping}
    cells = {c: quote_ident(raw.cell(mapping[c]) or "") for c in mapping} \
        if raw.cells else {}
    decimal = source.options.decimal or _detect_decimal(con, raw, schema, mapping, internal,
                                                        report)
    report.decimal = decimal
    thousands = source.options.thousands
    codes_table = quote_ident(f"_codes_{source.name}")
    recode_table = quote_ident(f"_recode_{source.name}")
    _fill_code_tables(con, source, schema, codes_table, recode_table)
    columns = list(schema.columns)
    base, coded, joins, final = [], [], [], []
    for n, column in enumerate(columns):
        spec = schema.columns[column]
        v, o = quote_ident(f"v{n}"), quote_ident(f"{ORIGINAL_PREFIX}{column}")
        k = quote_ident(f"{CELL_PREFIX}{column}")
        if column in absent:
            base += [f"NULL::VARCHAR AS {v}", f"NULL::VARCHAR AS {o}"]
            if cells:
                base.append(f"NULL::VARCHAR AS {k}")
        else:
            text = f"NULLIF(TRIM(nfc_normalize(r.{internal[column]})), '')"
            if cells:  # a TRUE/FALSE or error cell is no value: only its text is shown
                text = f"CASE WHEN r.{cells[column]} IS NULL THEN {text} END"
            base.append(f"{text} AS {v}")
            base.append(f"NULLIF(TRIM(r.{internal[column]}), '') AS {o}")
            if cells:
                base.append(f"r.{cells[column]} AS {k}")
        value = f"b.{v}"
        if _missing_codes(source, column, schema) and column not in _keys(schema):
            joins.append(f"LEFT JOIN {codes_table} m{n} ON m{n}.col = {n} AND m{n}.code = {value}")
            value = f"CASE WHEN m{n}.code IS NOT NULL THEN NULL ELSE {value} END"
        if column in source.recode:
            joins.append(f"LEFT JOIN {recode_table} k{n} ON k{n}.col = {n} AND "
                         f"k{n}.key = {value}")
            value = f"COALESCE(k{n}.value, {value})"
        coded.append(f"{value} AS {v}")
        coded.append(f"b.{o}")
        if cells:
            coded.append(f"b.{k}")
        value = f"c.{v}"
        name = quote_ident(column)
        if str(spec.dtype) in NUMERIC_TYPES:
            number, why = _number_text(value, decimal, thousands == ".")
            final.append(f"{number} AS {name}")
            if why:
                final.append(f"{why} AS {quote_ident(f'{WHY_PREFIX}{column}')}")
        elif _is_commune_code(spec):
            final.append(f"CASE WHEN regexp_full_match({value}, {_constant(FOUR_DIGITS)}) "
                         f"THEN '0' || {value} ELSE {value} END AS {name}")
        else:
            final.append(f"{value} AS {name}")
        final.append(f"c.{o}")
        if cells:
            final.append(f"c.{k}")
    staging = quote_ident(f"stg_{source.name}")
    # A view: the rows are renamed and normalised as each validation query reads them.
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW {staging} AS
        WITH b AS (SELECT r._row, {', '.join(base)} FROM {raw.table} r),
             c AS (SELECT b._row, {', '.join(coded)} FROM b {' '.join(joins)})
        SELECT c._row, {', '.join(final)} FROM c""")
    _note_fixes(con, raw, schema, internal, mapping, source, codes_table, report, cells)
    return staging, (codes_table, recode_table)


def _number_text(value: str, decimal: str, dot_thousands: bool) -> tuple[str, str | None]:
    """SQL turning a number as written under the decimal mark into '1234.5' (other text is
    left as it is, for the type check to refuse), and SQL naming why a value is ambiguous."""
    strip = f"regexp_replace({value}, {_constant(SEPARATORS)}, '', 'g')"
    if decimal == ",":
        cases = [f"WHEN regexp_full_match({value}, {_constant(COMMA_NUMBER)}) "
                 f"THEN replace({value}, ',', '.')",
                 f"WHEN regexp_full_match({value}, {_constant(COMMA_GROUPED)}) "
                 f"THEN replace({strip}, ',', '.')"]
        if dot_thousands:
            cases.append(f"WHEN regexp_full_match({value}, {_constant(DOT_GROUPED_COMMA)}) "
                         f"THEN replace(replace({value}, '.', ''), ',', '.')")
        accepted = " OR ".join(f"regexp_full_match({value}, {_constant(p)})" for p in
                               (COMMA_NUMBER, COMMA_GROUPED)
                               + ((DOT_GROUPED_COMMA,) if dot_thousands else ()))
        why = (f"CASE WHEN contains({value}, '.') AND regexp_full_match({value}, "
               f"{_constant(NUMBER_LIKE + '([eE][+-]?[0-9]+)?')}) AND NOT ({accepted}) "
               f"THEN 'decimal_comma' END")
        return f"CASE {' '.join(cases)} ELSE {value} END", why
    return (f"CASE WHEN regexp_full_match({value}, {_constant(POINT_GROUPED)}) THEN {strip} "
            f"ELSE {value} END"), None


def _missing_codes(source: Source, column: str,
                   schema: DataFrameSchema | None = None) -> tuple[str, ...]:
    """Codes meaning 'no answer': the source's, and the survey item's in the project's
    codebook of items (kept in the contract column's metadata)."""
    declared = tuple(source.missing_codes.get(column, source.missing_codes.get("*", ())))
    spec = schema.columns.get(column) if schema is not None else None
    item = tuple((spec.metadata or {}).get("missing_codes", ())) if spec is not None else ()
    return declared + tuple(str(c) for c in item if str(c) not in declared)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text.strip())


def _fill_code_tables(con: duckdb.DuckDBPyConnection, source: Source, schema,
                      codes_table: str, recode_table: str) -> None:
    """Declared missing codes and recodes as rows (inserted with parameters), read by the
    staging view through joins: no code becomes SQL text."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {codes_table} (col INTEGER, code VARCHAR)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {recode_table} "
                f"(col INTEGER, key VARCHAR, value VARCHAR)")
    codes, recodes = [], {}
    for n, column in enumerate(schema.columns):
        if column not in _keys(schema):
            codes += sorted({(n, _nfc(c)) for c in _missing_codes(source, column, schema)})
        for key, value in source.recode.get(column, {}).items():
            recodes.setdefault((n, _nfc(key)), unicodedata.normalize("NFC", value))
    if codes:
        con.executemany(f"INSERT INTO {codes_table} VALUES (?, ?)", [list(c) for c in codes])
    if recodes:
        con.executemany(f"INSERT INTO {recode_table} VALUES (?, ?, ?)",
                        [[n, k, v] for (n, k), v in recodes.items()])


def drop_relation(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop a staging table or view, whichever it is (``name`` quoted or not)."""
    bare = name[1:-1].replace('""', '"') if name.startswith('"') else name
    kinds = con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = ?",
                        [bare]).fetchall()
    for (kind,) in kinds:
        con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} IF EXISTS "
                    f"{quote_ident(bare)}")


def _keys(schema) -> set[str]:
    return set(schema.unique or ())


def _is_commune_code(spec) -> bool:
    return any(c.name == "str_matches" and c.statistics.get("pattern", "").startswith(
        COMMUNE_CODE) for c in spec.checks)


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def _detect_decimal(con: duckdb.DuckDBPyConnection, raw: Raw, schema, mapping: dict[str, str],
                    internal: dict[str, str], report: ReadReport) -> str:
    """Decimal comma when numeric columns hold values like '12,5' and none like '12.5'.

    One value like '12.5' settles it, so that query stops at the first; the regular
    expressions only see values holding the mark (a substring test is far cheaper).
    """
    numeric = [c for c, spec in schema.columns.items()
               if str(spec.dtype) in NUMERIC_TYPES and c in internal]
    if not numeric:
        return "."
    text = {c: f"TRIM({internal[c]})" for c in numeric}
    commas = [f"(contains({internal[c]}, ',') AND regexp_full_match({text[c]}, $comma))"
              for c in numeric]
    points = [f"(contains({internal[c]}, '.') AND regexp_full_match({text[c]}, $point))"
              for c in numeric]
    if con.execute(f"SELECT 1 FROM {raw.table} WHERE {' OR '.join(points)} LIMIT 1",
                   {"point": POINT_DECIMAL}).fetchall():
        return "."
    with_comma = con.execute(
        f"SELECT count(*) FROM {raw.table} WHERE {' OR '.join(commas)}",
        {"comma": COMMA_DECIMAL}).fetchall()[0][0]
    if with_comma:
        names = ", ".join(f"CASE WHEN {m} THEN $name{n} END"
                          for n, m in enumerate(commas))
        values = ", ".join(f"CASE WHEN {m} THEN {text[c]} END"
                           for m, c in zip(commas, numeric, strict=True))
        row, column, value = con.execute(
            f"SELECT _row, coalesce({names}), coalesce({values}) FROM {raw.table} "
            f"WHERE coalesce({names}) IS NOT NULL ORDER BY _row LIMIT 1",
            {"comma": COMMA_DECIMAL, **{f"name{n}": mapping[c] for n, c in enumerate(numeric)}},
        ).fetchall()[0]
        report.note("decimal_comma", (f"decimal comma detected ({with_comma:,} values)",
                                      f"virgule décimale détectée ({with_comma:,} valeurs)"),
                    row=row, column=column, value=value)
        return ","
    return "."


def _note_fixes(con: duckdb.DuckDBPyConnection, raw: Raw, schema, internal: dict[str, str],
                mapping: dict[str, str], source: Source, codes_table: str,
                report: ReadReport, cells: dict[str, str]) -> None:
    """Count what staging changed, so the read report can say it (a TRUE/FALSE or error cell
    is not a value staging changed): one pass over the rows for every column."""
    counts, parameters, notes = [], {}, []
    for n, (column, spec) in enumerate(schema.columns.items()):
        if column not in internal:  # an optional column the file does not have
            continue
        original = f"NULLIF(TRIM({internal[column]}), '')"
        if column in cells:
            original = f"CASE WHEN {cells[column]} IS NULL THEN {original} END"
        found = []
        if _is_commune_code(spec) and str(spec.dtype) not in NUMERIC_TYPES:
            parameters["four"] = FOUR_DIGITS  # bound only when used: DuckDB refuses extras
            found.append(("leading_zero", f"length({original}) = 4 AND "
                                          f"regexp_full_match({original}, $four)"))
        if _missing_codes(source, column, schema) and column not in _keys(schema):
            parameters[f"col{n}"] = n
            found.append(("missing_codes", f"{original} IS NOT NULL AND "
                          f"NULLIF(TRIM(nfc_normalize({internal[column]})), '') IN "
                          f"(SELECT code FROM {codes_table} WHERE col = $col{n})"))
        for kind, condition in found:
            counts += [f"count(*) FILTER (WHERE {condition})",
                       f"min(_row) FILTER (WHERE {condition})",
                       f"arg_min({original}, _row) FILTER (WHERE {condition})"]
            notes.append((kind, mapping[column]))
    if not notes:
        return
    totals = con.execute(f"SELECT {', '.join(counts)} FROM {raw.table}",
                         parameters).fetchall()[0]
    for (kind, name), (count, row, value) in zip(
            notes, zip(*[iter(totals)] * 3, strict=True), strict=True):
        if not count:
            continue
        if kind == "leading_zero":
            report.note("leading_zero", (
                f"restored the leading zero of {count:,} code(s) in "
                f"'{name}' (e.g. 1053 → 01053)",
                f"zéro initial rétabli dans {count:,} code(s) de "
                f"'{name}' (p. ex. 1053 → 01053)"), row=row, column=name, value=value)
        else:
            report.note("missing_codes", (
                f"{count:,} declared missing-value code(s) in '{name}' read as no answer",
                f"{count:,} code(s) de valeur manquante déclarés dans '{name}' lus comme "
                f"sans réponse"), row=row, column=name, value=value)


def _missing_columns_message(missing: list[str], available: list[str],
                             report: ReadReport) -> tuple[str, str]:
    shown = list(available)
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


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
