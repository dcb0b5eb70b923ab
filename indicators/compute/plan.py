"""A computation declared before it runs: the indicator, its SQL statements and their parameters.

The same plan is run (``run``) and written out for auditors (``script``: ``lci explain`` and
``output/public/<year>/sql/<ID>.sql``), so the SQL a reader sees is the SQL that produced the
number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import duckdb
import yaml

from indicators.catalogue.definitions import Indicator


@dataclass(frozen=True)
class Statement:
    """One SQL statement of a plan; values reach DuckDB as the named ``parameters``."""

    purpose: str
    sql: str
    parameters: Mapping[str, object] = field(default_factory=dict)

    def run(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute(self.sql, dict(self.parameters) or None)


@dataclass(frozen=True)
class IndicatorPlan:
    """Everything needed to compute, and to read, one indicator of the catalogue."""

    indicator: Indicator
    statements: tuple[Statement, ...]
    publication: Statement | None = None  # the publication rules, shared by every indicator
    # why the project's data cannot give it, in English and French (then no statements)
    unavailable: tuple[str, str] | None = None

    def script(self, header: Mapping[str, str] = {}) -> str:  # noqa: B006 (never mutated)
        """The plan as one readable SQL file: definition in comments, then each statement."""
        ind = self.indicator
        lines = [_comment(f"{ind.id} — {ind.label.en}"), _comment(ind.label.fr)]
        if ind.defined_in:
            lines.append(_comment(f"defined in the catalogue file {ind.defined_in}"))
        lines += [_comment(f"{key}: {value}") for key, value in header.items()]
        definition = yaml.safe_dump({"computation": ind.computation.model_dump(mode="json")},
                                    allow_unicode=True, sort_keys=False)
        lines += ["--", "-- definition:"] + [f"--   {line}" for line in definition.splitlines()]
        if ind.breakdowns:
            lines.append(f"--   breakdowns: {', '.join(ind.breakdowns)}")
        lines.append(f"--   publication: min_n {ind.min_n}, reliable_n {ind.reliable_n}, "
                     f"max_cv {ind.max_cv}")
        if self.unavailable:
            lines += ["--", _comment(f"not computed: {self.unavailable[0]}")]
        statements = [*self.statements, *([self.publication] if self.publication else [])]
        for n, statement in enumerate(statements, start=1):
            lines += ["", _comment(f"{n}. {statement.purpose}")]
            if statement.parameters:
                shown = ", ".join(f"${k} = {_literal(v)}" for k, v in statement.parameters.items())
                lines.append(_comment(f"parameters: {shown}"))
            lines.append(statement.sql.strip() + ";")
        return "\n".join(lines) + "\n"


def _comment(text: str) -> str:
    """``text`` as SQL comment lines: a line break in a condition cannot end the comment."""
    return "\n".join(f"-- {line}" for line in text.splitlines() or [""])


def _literal(value: object) -> str:
    """How a parameter reads in SQL (for the reader; the value itself is bound, not pasted)."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return "NULL" if value is None else repr(value)
