"""Problems as data: everything a user is told about their inputs, in one shape.

A source that cannot be read, what a reader noticed or fixed, a row failing a check and a
configuration that cannot be used are all a :class:`Problem`: a stable dotted ``code``
(``source.not_found``, ``read.decimal_comma``, ``check.admin_measures.value.in_range``,
``config.extra_field``), a severity, where it is (file, row, column, or the configuration
field), the value as written, and the message and hint in English and French together.

The warehouse keeps them in the table ``problems`` (one row per problem), from which the
validation report takes its messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NamedTuple

if TYPE_CHECKING:  # the project file is read before any database is opened
    import duckdb

Severity = Literal["error", "warning", "note"]


class Text(NamedTuple):
    """A message in English and French."""

    en: str
    fr: str

    def in_(self, lang: str) -> str:
        return self.fr if lang == "fr" else self.en

    def as_dict(self) -> dict[str, str]:
        return {"en": self.en, "fr": self.fr}


@dataclass(frozen=True)
class Problem:
    """One thing a user is told about their inputs, with where it is and what was written."""

    code: str
    severity: Severity
    message: Text
    source: str | None = None
    file: str | None = None
    row: int | None = None
    column: str | None = None
    field: str | None = None
    value: str | None = None
    hint: Text | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", Text(*self.message))
        if self.hint is not None:
            object.__setattr__(self, "hint", Text(*self.hint))

    def as_dict(self, lang: str | None = None) -> dict:
        """JSON-ready: message and hint in both languages, or in ``lang`` alone."""
        def text(t: Text | None) -> dict[str, str] | str | None:
            if t is None:
                return None
            return t.in_(lang) if lang else t.as_dict()

        return {"code": self.code, "severity": self.severity, "source": self.source,
                "file": self.file, "row": self.row, "column": self.column, "field": self.field,
                "value": self.value, "message": text(self.message), "hint": text(self.hint)}


PROBLEMS_DDL = """
CREATE OR REPLACE TABLE problems (
    code VARCHAR, severity VARCHAR, source VARCHAR, file VARCHAR, "row" BIGINT,
    "column" VARCHAR, field VARCHAR, value VARCHAR, message STRUCT(en VARCHAR, fr VARCHAR),
    hint STRUCT(en VARCHAR, fr VARCHAR))
"""

# Failing checks, one problem per failing row and check, straight from the failure table.
CHECK_PROBLEMS_SQL = """
INSERT INTO problems
SELECT 'check.' || check_id, severity, source, file, row_number, file_column, NULL, value,
       rule, NULL
FROM validation_failures ORDER BY source, row_number, file_column, check_id
"""


def record_problems(con: duckdb.DuckDBPyConnection, problems: Iterable[Problem]) -> None:
    """Append problems to the warehouse table ``problems``."""
    import pyarrow as pa  # here: the module is imported by commands that never record

    rows = [{"code": p.code, "severity": p.severity, "source": p.source, "file": p.file,
             "row": p.row, "column": p.column, "field": p.field, "value": p.value,
             "message": p.message.as_dict(), "hint": p.hint.as_dict() if p.hint else None}
            for p in problems]
    if rows:  # one Arrow table, not one INSERT per problem: a file may have thousands
        text = pa.struct([("en", pa.string()), ("fr", pa.string())])
        table = pa.Table.from_pylist(rows, schema=pa.schema([
            ("code", pa.string()), ("severity", pa.string()), ("source", pa.string()),
            ("file", pa.string()), ("row", pa.int64()), ("column", pa.string()),
            ("field", pa.string()), ("value", pa.string()), ("message", text),
            ("hint", text)]))
        con.from_arrow(table).insert_into("problems")
