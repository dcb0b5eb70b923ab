"""The records behind one published cell, and the proof that they reproduce it.

Every contract table keeps each record's ``source_file`` and ``source_row``; each kind of
indicator declares which records feed a cell and what each adds to the numerator and the
denominator. Summing those parts must give the published numerator, denominator and n.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from indicators.catalogue.definitions import Catalogue
from indicators.compute.plan import Statement
from indicators.compute.registry import kind_module
from indicators.territories import TerritoryReferenceError, resolve_territory

TOLERANCE = 1e-9  # published numbers are rounded to 12 significant digits


class TraceError(ValueError):
    """The cell asked for does not exist; the message says what does."""


@dataclass(frozen=True)
class Trace:
    """One cell, its records, their sums and the published numbers they must reproduce."""

    indicator_id: str
    territory: str
    level: str
    year: int
    breakdown: str
    statement: Statement
    records: pa.Table
    numerator: float | None
    denominator: float | None
    n: int
    published: dict[str, object]

    @property
    def checks(self) -> list[tuple[str, object, object, bool]]:
        """(what, from the records, published, equal) for numerator, denominator and n."""
        rows = []
        for name, found in (("numerator", self.numerator), ("denominator", self.denominator)):
            shown = self.published[name]
            rows.append((name, found, shown, _same(found, shown)))
        if self.published["n_unweighted"] is not None:
            rows.append(("n", self.n, self.published["n_unweighted"],
                         self.n == self.published["n_unweighted"]))
        return rows

    @property
    def reproduces(self) -> bool:
        """True when every published part is given back by the records (a withheld part,
        as in a suppressed cell, cannot be compared and is said so by ``withheld``)."""
        return all(ok for _, _, shown, ok in self.checks if shown is not None)

    @property
    def withheld(self) -> bool:
        return self.published["numerator"] is None or self.published["denominator"] is None


def _same(found: object, shown: object) -> bool:
    if shown is None:
        return False
    if found is None:
        return False
    return math.isclose(float(found), float(shown), rel_tol=TOLERANCE, abs_tol=1e-9)


def parse_breakdown(text: str | None) -> tuple[str, str] | None:
    """``sex=F`` → ("sex", "F"); None or ``total`` for the whole population."""
    if text is None or text == "total":
        return None
    column, sep, value = text.partition("=")
    if not sep or not column or not value:
        raise TraceError(f"breakdown {text!r}: write it as column=value, e.g. sex=F")
    return column.strip(), value.strip()


def trace_cell(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, indicator_id: str,
               territory: str, year: int, breakdown: str | None = None) -> Trace:
    """List the records behind one cell of ``indicator_values`` and sum their parts.

    ``territory`` is its code, or ``LEVEL:CODE`` when levels share the code.
    """
    indicator = next((i for i in catalogue if i.id == indicator_id), None)
    if indicator is None:
        raise TraceError(f"no indicator {indicator_id!r} in the catalogue "
                         f"(lci indicators lists them)")
    try:
        level, territory = resolve_territory(con, territory)
    except TerritoryReferenceError as error:
        raise TraceError(str(error)) from None
    parsed = parse_breakdown(breakdown)
    label = "total" if parsed is None else f"{parsed[0]}={parsed[1]}"
    found = con.execute(
        "SELECT value, numerator, denominator, n_unweighted, status, status_reason "
        "FROM indicator_values WHERE indicator_id = ? AND territory_code = ? "
        "AND territory_level = ? AND year = ? AND breakdown = ?",
        [indicator_id, territory, level, year, label]).fetchall()
    if not found:
        cells = con.execute(
            "SELECT DISTINCT breakdown FROM indicator_values WHERE indicator_id = ? "
            "AND territory_code = ? AND territory_level = ? AND year = ? ORDER BY 1",
            [indicator_id, territory, level, year]).fetchall()
        hint = (f"its breakdowns there: {', '.join(c[0] for c in cells)}" if cells else
                "no value of it for that territory and year")
        raise TraceError(f"{indicator_id} has no published cell for territory {territory!r}, "
                         f"{year}, {label}: {hint}")
    published = dict(zip(("value", "numerator", "denominator", "n_unweighted", "status",
                          "status_reason"), found[0], strict=True))
    statement = kind_module(indicator).records(indicator, territory, level, year, parsed)
    params = dict(statement.parameters)
    records = con.sql(statement.sql, params=params).to_arrow_table()
    numerator, denominator, n = con.execute(
        f"SELECT sum(numerator_part), sum(denominator_part), count_if(counted) "
        f"FROM ({statement.sql})", params).fetchall()[0]
    return Trace(indicator_id, territory, level, year, label, statement, records, numerator,
                 denominator, int(n), published)
