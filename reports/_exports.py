"""Machine-readable exports of ``indicator_values``: a CSV for scripts, an XLSX for people.

Both are deterministic: rows sorted on the table's key, floats written with a fixed format,
and the workbook stamped with a fixed creation date, so an unchanged warehouse gives unchanged
bytes (and unchanged hashes in the run manifest).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

import duckdb
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from indicators import Catalogue, Indicator
from indicators.sql import quote_ident
from reports._i18n import text

FLOAT_DECIMALS = 6
"""CSV floats: fixed-point, at most six decimals, trailing zeros dropped (``45.3``, ``0.0125``)."""

WORKBOOK_DATE = datetime(2000, 1, 1)
"""Creation date stamped in the workbook, in place of the clock, so its bytes do not change."""

VALUE_COLUMNS: tuple[str, ...] = (
    "territory_code", "territory_level", "territory_name", "year", "breakdown", "value",
    "numerator", "denominator", "se", "ci_low", "ci_high", "n_unweighted", "status",
    "status_reason",
)
CSV_COLUMNS: tuple[str, ...] = ("indicator_id", "domain", "label_en", "unit_en", *VALUE_COLUMNS)
_FLOATS = {"value", "numerator", "denominator", "se", "ci_low", "ci_high"}
_SORT = "indicator_id, territory_level, territory_code, year, breakdown"
FETCH_ROWS = 20_000
"""Rows an export takes from DuckDB at a time: its memory, whatever the table's length."""
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting so is a formula to a spreadsheet: the CSV prefixes it with ``'``."""

_README_COLUMNS: tuple[tuple[str, str], ...] = (
    ("indicator_id", "Indicator identifier (see the definitions below)."),
    ("territory_code", "The territory's code at its level (in France: INSEE code of the "
                       "commune, SIREN of the EPCI, département or région code), or the code "
                       "of a custom group. Levels may share a code: a territory is its level "
                       "and its code together."),
    ("territory_level", "The territory's level, as the project declares them (in France: "
                        "COM, EPCI, DEP, REG), or GROUP."),
    ("year", "Reference year."),
    ("breakdown", "'total', or a subgroup such as 'sex=F'."),
    ("value", "The indicator, in its unit; empty when not published."),
    ("numerator / denominator", "The two sums the value is computed from."),
    ("se, ci_low, ci_high", "Survey indicators: standard error and 95% confidence interval."),
    ("n_unweighted", "Survey indicators: number of respondents."),
    ("status", "ok, low_reliability (interpret with caution), suppressed (not published) or "
               "missing."),
    ("status_reason", "Why a value is flagged, suppressed or missing."),
)


def write_exports(con: duckdb.DuckDBPyConnection, catalogue: Catalogue,
                  out_dir: Path) -> list[Path]:
    """Write ``indicators.csv`` and ``indicators.xlsx`` covering every row of indicator_values."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _check_known(con, catalogue)
    return [write_csv(con, catalogue, out_dir / "indicators.csv"),
            write_xlsx(con, catalogue, out_dir / "indicators.xlsx")]


def format_float(value: float | None) -> str:
    """Fixed-point text for a float: ``45.3``, ``0.001235``, ``12``; empty for NULL."""
    if value is None:
        return ""
    formatted = f"{value:.{FLOAT_DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if formatted in ("-0", "") else formatted


def write_csv(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, path: Path) -> Path:
    """All rows, sorted, UTF-8, comma-separated, with each indicator's English label and unit.

    Every cell's text is made in DuckDB (floats as :func:`format_float` writes them, text
    under :func:`neutralise_formula`'s rule), so that two million rows cost seconds; Python's
    CSV writer only quotes and joins them, batch by batch, into a file replaced in one step."""
    query, params = _csv_query(con, catalogue)
    cursor = con.execute(query, params)
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(_LineFeeds(out), lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        while batch := cursor.fetchmany(FETCH_ROWS):
            writer.writerows(batch)
    os.replace(partial, path)
    return path


_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                  "USMALLINT", "UINTEGER", "UBIGINT"}


def _csv_query(con: duckdb.DuckDBPyConnection, catalogue: Catalogue
               ) -> tuple[str, dict[str, object]]:
    """The SELECT giving each CSV row as its cells' text, in key order; identifiers quoted,
    values bound. The catalogue's labels join as a relation of bound lists."""
    types = dict(con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = 'indicator_values' AND table_schema = current_schema()").fetchall())
    starts = {f"start{n}": start for n, start in enumerate(FORMULA_STARTS)}

    def guarded(expression: str) -> str:
        """neutralise_formula in SQL: a leading quote before a formula's first character."""
        risky = " OR ".join(f"starts_with({expression}, ${name})" for name in starts)
        return (f"CASE WHEN {risky} THEN $quote || {expression} "
                f"ELSE coalesce({expression}, '') END")

    def cell(name: str) -> str:
        column = f"v.{quote_ident(name)}"
        if name in _FLOATS:  # format_float in SQL (printf rounds as Python's format does)
            trimmed = f"rtrim(rtrim(printf($float_format, {column}), '0'), '.')"
            return (f"CASE WHEN {column} IS NULL THEN '' WHEN {trimmed} = '-0' THEN '0' "
                    f"ELSE {trimmed} END")
        kind = types.get(name, "VARCHAR")
        if kind == "VARCHAR":
            return guarded(column)
        if kind in _INTEGER_TYPES:
            return f"coalesce(CAST({column} AS VARCHAR), '')"
        raise TypeError(f"indicator_values.{name} is {kind}: the CSV writes no such column")

    cells = [guarded("v.indicator_id"), guarded("m.domain"), guarded("m.label_en"),
             guarded("m.unit_en"), *(cell(name) for name in VALUE_COLUMNS)]
    order = ", ".join(f"v.{quote_ident(c.strip())}" for c in _SORT.split(","))
    query = (
        "WITH m AS (SELECT unnest($ids) AS indicator_id, unnest($domains) AS domain, "
        "unnest($labels) AS label_en, unnest($units) AS unit_en) "
        f"SELECT {', '.join(cells)} FROM indicator_values v JOIN m USING (indicator_id) "
        f"ORDER BY {order}")
    params: dict[str, object] = {
        "ids": [i.id for i in catalogue], "domains": [i.domain for i in catalogue],
        "labels": [i.label.en for i in catalogue], "units": [i.unit.en for i in catalogue],
        "float_format": f"%.{FLOAT_DECIMALS}f", "quote": "'", **starts}
    return query, params


class _LineFeeds:
    """Rows end with LF, yet a value holding a lone CR is quoted as one holding LF is (the
    writer quotes the characters of its line terminator): a CR would otherwise start a new row
    in a spreadsheet, and that row's first cell could be a formula."""

    def __init__(self, buffer: io.TextIOBase) -> None:
        self.buffer = buffer

    def write(self, line: str) -> int:
        return self.buffer.write(line.removesuffix("\r\n") + "\n")


def neutralise_formula(text: str) -> str:
    """A text cell a spreadsheet would run as a formula (``=HYPERLINK(…)``, ``@SUM(…)``,
    ``+1``) prefixed with a single quote, as OWASP advises against CSV injection; numbers are
    never passed here."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


SHEET_ROWS = 1_048_576
"""Rows a worksheet holds (Excel's limit, header included): a longer domain continues on
further sheets, "ECO (2)", "ECO (3)" …, each with the header, and the Read me says so."""


def _sheet_plan(con: duckdb.DuckDBPyConnection, catalogue: Catalogue
                ) -> list[tuple[str, tuple[Indicator, ...], int, int]]:
    """(sheet name, indicators, first row, rows) of each domain sheet, rows counted in DuckDB."""
    counts = dict(con.execute("SELECT indicator_id, count(*) FROM indicator_values "
                              "GROUP BY ALL").fetchall())
    per_sheet = SHEET_ROWS - 1
    plan = []
    for domain in catalogue.domains:
        indicators = catalogue.in_domain(domain.code)
        if not indicators:
            continue
        total = sum(counts.get(i.id, 0) for i in indicators)
        parts = max(1, -(-total // per_sheet))
        for part in range(parts):
            name = domain.code if part == 0 else f"{domain.code} ({part + 1})"
            rows = min(per_sheet, total - part * per_sheet)
            plan.append((name, indicators, part * per_sheet, max(rows, 0)))
    return plan


def write_xlsx(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, path: Path) -> Path:
    """A 'Read me' sheet with the definitions, then one sheet per domain (continued on more
    sheets when a domain has more rows than a sheet holds).

    Written in xlsxwriter's ``constant_memory`` mode: each row goes to disk as it is written
    (rows come in order from DuckDB, sheet after sheet), so memory stays flat at two million
    rows; the workbook is then replaced in one step."""
    partial = path.with_name(f".{path.name}.partial")
    workbook = xlsxwriter.Workbook(str(partial), {
        "constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
        "strings_to_urls": False})
    workbook.set_properties({"title": "Learning city indicators", "created": WORKBOOK_DATE})
    bold = workbook.add_format({"bold": True, "bg_color": "#E8F1EA", "border": 1,
                                "text_wrap": True, "valign": "top"})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    plan = _sheet_plan(con, catalogue)
    continued = [name for name, _, first, _ in plan if first]
    _readme_sheet(workbook.add_worksheet("Read me"), catalogue, bold, wrap, continued)
    for name, indicators, first, rows in plan:
        _domain_sheet(workbook, workbook.add_worksheet(name), con, indicators, bold,
                      first, rows)
    workbook.close()
    os.replace(partial, path)
    return path


def _readme_sheet(sheet: Worksheet, catalogue: Catalogue, bold: Format, wrap: Format,
                  continued: Sequence[str] = ()) -> None:
    sheet.write(0, 0, "Learning city indicators: all published values", bold)
    sheet.write(1, 0, "One sheet per action domain; one row per indicator, territory, year and "
                      "breakdown. Empty values are not published (see status).")
    row = 3
    if continued:
        sheet.write(2, 0, f"A sheet holds {SHEET_ROWS - 1:,} rows of data: the sheets "
                          f"{', '.join(continued)} continue the domain before them, in the same "
                          f"order. indicators.csv and the Parquet files hold every row in one "
                          f"table.")
        row = 4
    sheet.write_row(row, 0, ("Column", "Meaning"), bold)
    for name, meaning in _README_COLUMNS:
        row += 1
        sheet.write_row(row, 0, (name, meaning), wrap)
    row += 2
    header = ("indicator_id", "domain", "label_en", "label_fr", "definition_en", "unit_en",
              "direction", "source_en", "kflc", "reference", "target", "decimals")
    sheet.write_row(row, 0, header, bold)
    for indicator in catalogue:
        row += 1
        sheet.write_row(row, 0, _definition_row(indicator), wrap)
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, 1, 60)
    sheet.set_column(2, 11, 28)


def _definition_row(indicator: Indicator) -> tuple:
    target = (f"{indicator.target.value:g} ({indicator.target.source})"
              if indicator.target else "")
    return (indicator.id, indicator.domain, indicator.label.en, indicator.label.fr,
            indicator.description.en, indicator.unit.en,
            text(f"direction.{indicator.direction}", "en"), indicator.source.en,
            ", ".join(indicator.kflc), indicator.reference or "", target, indicator.decimals)


def _domain_sheet(workbook: Workbook, sheet: Worksheet, con: duckdb.DuckDBPyConnection,
                  indicators: Sequence[Indicator], bold: Format, first: int = 0,
                  rows: int | None = None) -> None:
    """Rows ``first`` … ``first + rows`` of one domain, in key order; numbers stay numbers,
    shown with each indicator's decimals."""
    header = ("indicator_id", "label_en", "unit_en", *VALUE_COLUMNS)
    sheet.write_row(0, 0, header, bold)
    formats = {d: workbook.add_format({"num_format": "0" if d == 0 else "0." + "0" * d})
               for d in {i.decimals for i in indicators}}
    meta = {i.id: (i.label.en, i.unit.en, formats[i.decimals]) for i in indicators}
    numbers = {n for n, name in enumerate(VALUE_COLUMNS, start=3)
               if name in ("value", "ci_low", "ci_high")}
    write, write_number = sheet.write, sheet.write_number
    row = 0
    for values in _value_rows(con, list(meta), first, rows):
        row += 1
        indicator_id = values[0]
        label, unit, number_format = meta[indicator_id]
        write(row, 0, indicator_id)
        write(row, 1, label)
        write(row, 2, unit)
        for col, cell in enumerate(values[1:], start=3):
            if cell is None:
                continue
            if col in numbers:
                write_number(row, col, cell, number_format)
            else:
                write(row, col, cell)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(row, 1), len(header) - 1)
    sheet.set_column(0, 0, 12)
    sheet.set_column(1, 2, 34)
    sheet.set_column(3, len(header) - 1, 14)


def _value_rows(con: duckdb.DuckDBPyConnection, indicator_ids: list[str], first: int = 0,
                rows: int | None = None) -> Iterable[tuple]:
    """Rows of ``indicator_values`` for these indicators, in key order, streamed in batches
    (``rows`` of them from the ``first``, when given)."""
    cursor = con.execute(
        f"SELECT indicator_id, {', '.join(VALUE_COLUMNS)} FROM indicator_values "
        f"WHERE list_contains($ids, indicator_id) ORDER BY {_SORT} "
        f"LIMIT $rows OFFSET $first",
        {"ids": indicator_ids, "rows": rows, "first": first},
    )
    while batch := cursor.fetchmany(FETCH_ROWS):
        yield from batch


def _check_known(con: duckdb.DuckDBPyConnection, catalogue: Catalogue) -> None:
    """Rows of an indicator the catalogue does not define would export without a label."""
    ids = [row[0] for row in con.execute(
        "SELECT DISTINCT indicator_id FROM indicator_values ORDER BY 1").fetchall()]
    unknown = sorted(set(ids) - {i.id for i in catalogue})
    if unknown:
        raise ValueError(f"indicator_values holds indicators missing from the catalogue: "
                         f"{unknown}")
