"""Validation: type, check and relate staged rows; load the good ones, quarantine the rest.

Pandera's built-in checks are compiled to DuckDB SQL predicates (one query per check, run where
the data lives) so that every failure keeps its source file, row number, column, rule and raw
value. Nothing is dropped: for every source, rows read = rows accepted + rows quarantined.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import duckdb
import pandera.polars as pa

from pipelines.contracts import RELATIONS, SCHEMAS

DUCKDB_TYPES = {"String": "VARCHAR", "Int64": "BIGINT", "Float64": "DOUBLE"}
TYPE_NAMES = {"String": "text", "Int64": "a whole number", "Float64": "a number"}

QUARANTINE_DDL = """
CREATE TABLE IF NOT EXISTS quarantine (
    source VARCHAR, file VARCHAR, row_number BIGINT, "column" VARCHAR, rule VARCHAR,
    value VARCHAR, contract_table VARCHAR)
"""
CHECK_RESULTS_DDL = """
CREATE TABLE IF NOT EXISTS validation_results (
    contract_table VARCHAR, "column" VARCHAR, rule VARCHAR, rows_checked BIGINT,
    rows_failed BIGINT)
"""


@dataclass(frozen=True)
class StagedSource:
    """A staged source waiting for validation."""

    name: str
    file: str
    table: str
    staging: str


@dataclass(frozen=True)
class SourceOutcome:
    """Row accounting of one source after validation."""

    source: str
    file: str
    table: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.rows_accepted + self.rows_quarantined


def _literal(value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return repr(value)


def _between(c: str, s: dict) -> str:
    low = ">=" if s.get("include_min", True) else ">"
    high = "<=" if s.get("include_max", True) else "<"
    return f"{c} {low} {_literal(s['min_value'])} AND {c} {high} {_literal(s['max_value'])}"


def _length(c: str, s: dict) -> str:
    if s.get("exact_value") is not None:
        return f"length({c}) = {s['exact_value']}"
    parts = [f"length({c}) >= {s['min_value']}" if s.get("min_value") is not None else "TRUE",
             f"length({c}) <= {s['max_value']}" if s.get("max_value") is not None else "TRUE"]
    return " AND ".join(parts)


# One SQL predicate per Pandera built-in check: true when the (non-null) value passes.
CHECK_SQL: dict[str, Callable[[str, dict], str]] = {
    "greater_than": lambda c, s: f"{c} > {_literal(s['min_value'])}",
    "greater_than_or_equal_to": lambda c, s: f"{c} >= {_literal(s['min_value'])}",
    "less_than": lambda c, s: f"{c} < {_literal(s['max_value'])}",
    "less_than_or_equal_to": lambda c, s: f"{c} <= {_literal(s['max_value'])}",
    "equal_to": lambda c, s: f"{c} = {_literal(s['value'])}",
    "not_equal_to": lambda c, s: f"{c} <> {_literal(s['value'])}",
    "in_range": _between,
    "isin": lambda c, s: f"{c} IN ({', '.join(_literal(v) for v in s['allowed_values'])})",
    "notin": lambda c, s: f"{c} NOT IN ({', '.join(_literal(v) for v in s['forbidden_values'])})",
    "str_matches": lambda c, s: f"regexp_matches({c}, {_literal('^(?:' + s['pattern'] + ')')})",
    "str_length": _length,
}


def check_predicate(column: str, check: pa.Check) -> str:
    """The SQL that a valid value of ``column`` satisfies; unknown checks are an error."""
    try:
        compile_check = CHECK_SQL[check.name]
    except KeyError:
        raise ValueError(f"check {check.name!r} on column {column!r} has no SQL form; "
                         f"supported: {sorted(CHECK_SQL)}") from None
    return compile_check(f'"{column}"', check.statistics)


def typed_expression(column: str, dtype: str) -> str:
    """Cast staged text to the contract type; NULL when it does not convert (whole numbers
    must be whole: DuckDB would round '12.5' to 13)."""
    if dtype == "Int64":
        number = f'TRY_CAST("{column}" AS DOUBLE)'
        return f"CASE WHEN {number} = round({number}) THEN CAST({number} AS BIGINT) END"
    return f'TRY_CAST("{column}" AS {DUCKDB_TYPES[dtype]})'


def validate_table(
    con: duckdb.DuckDBPyConnection, table: str, sources: Sequence[StagedSource]
) -> list[SourceOutcome]:
    """Validate every staged source of one contract table and load the accepted rows."""
    schema = SCHEMAS[table]
    con.execute(QUARANTINE_DDL)
    con.execute(CHECK_RESULTS_DDL)
    _create_contract_table(con, table, schema)
    if not sources:
        return []
    _union_staged(con, table, schema, sources)
    failures = _failure_queries(table, schema)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _failures AS {' UNION ALL '.join(q for _, _, q in failures)}"
    )
    _record_results(con, table, failures)
    con.execute(f"""
        INSERT INTO quarantine
        SELECT f._source, f._file, f._row, f."column", f.rule, f.value, '{table}'
        FROM _failures f ORDER BY f._source, f._row, f."column", f.rule""")
    columns = ", ".join(f'"{c}"' for c in schema.columns)
    inserted = con.execute(f"""
        INSERT INTO {table}
        SELECT {columns} FROM _typed t
        WHERE NOT EXISTS (SELECT 1 FROM _failures f WHERE f._source = t._source AND f._row = t._row)
        ORDER BY t._source, t._row""").fetchall()[0][0]
    outcomes = [_outcome(con, table, s) for s in sources]
    if inserted != sum(o.rows_accepted for o in outcomes):  # a bug, never a silent loss
        raise AssertionError(f"{table}: {inserted} rows loaded, accounting says {outcomes}")
    return outcomes


def _create_contract_table(con: duckdb.DuckDBPyConnection, table: str,
                           schema: pa.DataFrameSchema) -> None:
    columns = ", ".join(f'"{c}" {DUCKDB_TYPES[str(spec.dtype)]}'
                        for c, spec in schema.columns.items())
    con.execute(f"CREATE OR REPLACE TABLE {table} ({columns})")


def _union_staged(con: duckdb.DuckDBPyConnection, table: str, schema: pa.DataFrameSchema,
                  sources: Sequence[StagedSource]) -> None:
    """One typed relation over all sources of the table, keeping raw text beside typed values."""
    parts = []
    for s in sources:
        raw = ", ".join(f'"{c}" AS "_raw_{c}"' for c in schema.columns)
        typed = ", ".join(f"{typed_expression(c, str(spec.dtype))} AS \"{c}\""
                          for c, spec in schema.columns.items())
        parts.append(f"SELECT {_literal(s.name)} AS _source, {_literal(s.file)} AS _file, _row, "
                     f"{raw}, {typed} FROM {s.staging}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _typed AS {' UNION ALL '.join(parts)}")


def _failure_queries(table: str, schema: pa.DataFrameSchema) -> list[tuple[str, str, str]]:
    """(column, rule, query) for every check; each query lists the failing rows."""
    queries = []

    def failing(column: str, rule: str, condition: str, value: str | None = None) -> None:
        shown = value or f'"_raw_{column}"'
        queries.append((column, rule, f"SELECT _source, _file, _row, {_literal(column)} AS "
                        f"\"column\", {_literal(rule)} AS rule, {shown} AS value "
                        f"FROM _typed t WHERE {condition}"))

    for column, spec in schema.columns.items():
        dtype = str(spec.dtype)
        failing(column, f"type: must be {TYPE_NAMES[dtype]}",
                f'"_raw_{column}" IS NOT NULL AND "{column}" IS NULL')
        if not spec.nullable:
            failing(column, "required: must not be empty", f'"_raw_{column}" IS NULL')
        for check in spec.checks:
            failing(column, str(check.error),
                    f'"{column}" IS NOT NULL AND NOT ({check_predicate(column, check)})')
    if schema.unique:
        key = ", ".join(f'"{c}"' for c in schema.unique)
        failing(",".join(schema.unique), f"unique key ({', '.join(schema.unique)})",
                f"({key}) IN (SELECT ({key}) FROM _typed GROUP BY {key} HAVING count(*) > 1)",
                value=" || '|' || ".join(f'coalesce(CAST("{c}" AS VARCHAR), \'\')'
                                         for c in schema.unique))
    for relation in (r for r in RELATIONS if r.table == table):
        failing(relation.column, relation.rule,
                f'"{relation.column}" IS NOT NULL AND NOT ({relation.sql})')
    return queries


def _record_results(con: duckdb.DuckDBPyConnection, table: str,
                    failures: list[tuple[str, str, str]]) -> None:
    checked = con.execute("SELECT count(*) FROM _typed").fetchall()[0][0]
    counts = dict(con.execute(
        'SELECT "column" || chr(0) || rule, count(DISTINCT (_source, _row)) FROM _failures '
        "GROUP BY ALL").fetchall())
    for column, rule, _ in failures:
        con.execute("INSERT INTO validation_results VALUES (?, ?, ?, ?, ?)",
                    [table, column, rule, checked, counts.get(f"{column}\0{rule}", 0)])


def _outcome(con: duckdb.DuckDBPyConnection, table: str, source: StagedSource) -> SourceOutcome:
    """Count rows three independent ways: as staged, as quarantined and as accepted."""
    read = con.execute(f"SELECT count(*) FROM {source.staging}").fetchall()[0][0]
    quarantined = con.execute(
        "SELECT count(DISTINCT _row) FROM _failures WHERE _source = ?", [source.name]
    ).fetchall()[0][0]
    accepted = con.execute(
        "SELECT count(*) FROM _typed t WHERE _source = ? AND NOT EXISTS (SELECT 1 FROM _failures f "
        "WHERE f._source = t._source AND f._row = t._row)", [source.name]
    ).fetchall()[0][0]
    outcome = SourceOutcome(source.name, source.file, table, read, accepted, quarantined)
    if not outcome.balanced:  # a bug, never a silent loss
        raise AssertionError(f"row accounting does not balance for {source.name}: {outcome}")
    return outcome
