"""Deterministic writers: same rows in, same bytes out."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import xlsxwriter

# Fixed document date written into xlsx properties (keeps the bytes stable).
XLSX_DATE = datetime(2025, 1, 15, 9, 0, 0, tzinfo=UTC)


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    line_terminator: str = "\n",
) -> Path:
    """Write a CSV with minimal quoting. Values must already be strings or ints."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=line_terminator)
    writer.writerow(header)
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def french_number(value: float, decimals: int) -> str:
    """1234.5 -> '1234,5' (decimal comma, no thousands separator)."""
    if decimals == 0:
        return str(int(round(value)))
    return f"{value:.{decimals}f}".replace(".", ",")


def write_population_xlsx(
    path: Path, title: str, header: Sequence[str], rows: Iterable[tuple[str, int, str, str, int]]
) -> Path:
    """INSEE-like export: title on row 1, empty row 2, header on row 3, data from row 4.
    Code columns (CODGEO, SEXE, TRANCHE_AGE) are written as text, ANNEE and POP as numbers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path), {"in_memory": True})
    workbook.set_properties({"title": title, "author": "LCI sample data", "created": XLSX_DATE})
    bold = workbook.add_format({"bold": True})
    text = workbook.add_format({"num_format": "@"})
    sheet = workbook.add_worksheet("Population")
    sheet.write_string(0, 0, title, bold)
    for col, name in enumerate(header):
        sheet.write_string(2, col, name, bold)
    row_index = 3
    for codgeo, annee, sexe, tranche, pop in rows:
        sheet.write_string(row_index, 0, codgeo, text)
        sheet.write_number(row_index, 1, annee)
        sheet.write_string(row_index, 2, sexe, text)
        sheet.write_string(row_index, 3, tranche, text)
        sheet.write_number(row_index, 4, pop)
        row_index += 1
    sheet.set_column(0, 0, 10, text)
    sheet.set_column(1, 4, 12)
    sheet.freeze_panes(3, 0)
    workbook.close()
    return path


def write_parquet(path: Path, table: pa.Table) -> Path:
    """Single row group, zstd, fixed schema: stable bytes for a given pyarrow version."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        table,
        path,
        compression="zstd",
        row_group_size=table.num_rows,
        write_statistics=True,
        use_dictionary=True,
    )
    return path
