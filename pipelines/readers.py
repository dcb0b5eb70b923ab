"""Readers: bring each declared source into a DuckDB staging table, as text, row numbers kept.

Staging only renames (the source's column mapping), recodes declared values and normalises
decimal commas; typing and checking happen in ``validation.py`` so that a bad value becomes a
quarantined row with its reason, never a crash. ``_row`` is the row number a spreadsheet user
sees in the file (the header is row ``header_row``, the first data row the next one).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
from python_calamine import CalamineWorkbook

from pipelines.config import ProjectConfig, Source
from pipelines.contracts import SCHEMAS

Reader = Callable[[duckdb.DuckDBPyConnection, Path, Source], str]
NATIVE_ENCODINGS = {"utf-8", "utf8", "utf-8-sig"}


class SourceError(Exception):
    """A whole-file problem (missing file or column, unreadable content): the source stops."""

    def __init__(self, source: str, path: Path, message: str) -> None:
        super().__init__(f"{path.name} (source '{source}'): {message}")
        self.source = source
        self.path = path
        self.message = message


def stage_source(con: duckdb.DuckDBPyConnection, config: ProjectConfig, source: Source) -> str:
    """Create ``stg_<source>`` holding the source's rows as text; return its name."""
    path = config.path_of(source)
    if not path.is_file():
        raise SourceError(source.name, path, "file not found")
    raw_relation = READERS[source.format](con, path, source)
    return _stage(con, raw_relation, path, source)


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path, source: Source) -> str:
    options = source.options
    readable = _as_utf8(path, options.encoding, source.name)
    delimiter = f", delim = '{options.delimiter}'" if options.delimiter else ""
    skip = f", skip = {options.header_row - 1}" if options.header_row > 1 else ""
    name = f"raw_{source.name}"
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS "
            f"SELECT row_number() OVER () + {options.header_row} AS _row, * "
            f"FROM read_csv(?, all_varchar = true, header = true{delimiter}{skip})",
            [str(readable)],
        )
    except duckdb.Error as error:
        message = f"cannot be read as CSV: {_first_line(error)}"
        raise SourceError(source.name, path, message) from None
    finally:
        if readable != path:
            readable.unlink()
    return name


def _as_utf8(path: Path, encoding: str, source: str) -> Path:
    """DuckDB reads UTF-8 only (without extensions): other encodings are transcoded first."""
    if encoding.lower() in NATIVE_ENCODINGS:
        return path
    with tempfile.NamedTemporaryFile(prefix="lci-", suffix=".csv", delete=False) as handle:
        target = Path(handle.name)
    try:
        with open(path, encoding=encoding, newline="") as src, open(
            target, "w", encoding="utf-8", newline=""
        ) as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
    except (UnicodeDecodeError, LookupError) as error:
        target.unlink()
        raise SourceError(source, path, f"not readable as {encoding}: {error}") from None
    return target


def _read_xlsx(con: duckdb.DuckDBPyConnection, path: Path, source: Source) -> str:
    options = source.options
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet_name = options.sheet or workbook.sheet_names[0]
        if sheet_name not in workbook.sheet_names:
            raise SourceError(source.name, path, f"no sheet named '{sheet_name}'; sheets: "
                              f"{workbook.sheet_names}")
        rows = workbook.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
    except SourceError:
        raise
    except Exception as error:  # calamine raises several kinds for unreadable workbooks
        raise SourceError(source.name, path, f"cannot be read as Excel: {error}") from None
    header_index = options.header_row - 1
    if len(rows) <= header_index:
        raise SourceError(source.name, path,
                          f"sheet '{sheet_name}' has no row {options.header_row}")
    header = [_cell_text(cell) or f"column_{n + 1}" for n, cell in enumerate(rows[header_index])]
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
    return name


def _cell_text(cell: object) -> str | None:
    """Excel cells as text: whole numbers without '.0', empty cells as missing."""
    if cell is None or cell == "":
        return None
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def _read_parquet(con: duckdb.DuckDBPyConnection, path: Path, source: Source) -> str:
    name = f"raw_{source.name}"
    try:
        columns = [row[0] for row in con.execute(
            "SELECT name FROM parquet_schema(?) WHERE num_children IS NULL", [str(path)]
        ).fetchall()]
        as_text = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in columns)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT file_row_number + 1 AS _row, "
            f"{as_text} FROM read_parquet(?, file_row_number = true)",
            [str(path)],
        )
    except duckdb.Error as error:
        raise SourceError(source.name, path, f"cannot be read as Parquet: {_first_line(error)}") \
            from None
    return name


READERS: dict[str, Reader] = {"csv": _read_csv, "xlsx": _read_xlsx, "parquet": _read_parquet}


def _stage(con: duckdb.DuckDBPyConnection, raw: str, path: Path, source: Source) -> str:
    """Rename to contract columns, recode declared values, normalise decimal commas."""
    available = [row[0] for row in con.execute(f"DESCRIBE {raw}").fetchall()]
    schema = SCHEMAS[source.table]
    mapping = source.columns or {c: c for c in schema.columns}
    missing_contract = sorted(set(schema.columns) - set(mapping))
    if missing_contract:
        raise SourceError(source.name, path, f"no mapping for contract column(s) "
                          f"{missing_contract} of table '{source.table}'")
    missing = [f"'{mapping[c]}'" for c in schema.columns if mapping[c] not in available]
    if missing:
        shown = [c for c in available if c != "_row"]
        raise SourceError(source.name, path, f"missing column(s) {', '.join(missing)}; "
                          f"the file has {shown}")
    selects = ["_row"]
    for column, spec in schema.columns.items():
        value = f"NULLIF(TRIM(\"{mapping[column]}\"), '')"
        if column in source.recode:
            pairs = ", ".join(f"{_quote(k)}: {_quote(v)}" for k, v in source.recode[column].items())
            value = f"COALESCE(MAP {{{pairs}}}[{value}], {value})"
        if source.options.decimal == "," and str(spec.dtype) in {"Float64", "Int64"}:
            value = (f"REPLACE(REGEXP_REPLACE({value}, '[\\s\\x{{00A0}}\\x{{202F}}]', '', 'g'), "
                     f"',', '.')")
        selects.append(f"{value} AS {column}")
    name = f"stg_{source.name}"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {', '.join(selects)} FROM {raw}")
    con.execute(f"DROP TABLE {raw}")
    return name


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
