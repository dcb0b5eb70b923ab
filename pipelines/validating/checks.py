"""Validation: type, check and relate staged rows; load the good ones, quarantine the rest.

Pandera's built-in checks are compiled to DuckDB SQL predicates (one query per check, run where
the data lives, so large tables are never pulled into pandas) and every failure keeps its source
file, row number, column, rule and raw value. Checks have a severity: an ``error`` quarantines
the row, a ``warning`` keeps it and flags it; a declared waiver accepts a known failure and
reports it as waived. Nothing is dropped: for every source, rows read = rows accepted + rows
quarantined, counted independently and checked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import duckdb
import pandas as pd
import pandera.polars as pa

from indicators.sql import quote_ident
from pipelines.config import ValidationSettings, Waiver
from pipelines.problems import Problem, Text
from pipelines.validating.contracts import DEFAULT_CONTRACTS, LINEAGE_COLUMNS, Contracts
from pipelines.validating.messages import (
    AMBIGUOUS_DECIMAL,
    EXCEL_BOOLEAN,
    EXCEL_ERROR,
    NOT_FINITE,
    PARSE_OTHER,
    PARSE_RULES,
    REQUIRED,
    TYPE_RULES,
    VALUE,
    describe_check,
    project_years_rule,
    unique_rule,
)

DEFAULT_SETTINGS = ValidationSettings()
ORIGINAL_PREFIX = "_orig_"  # staging keeps the file's text of each column
NUMBER_PREFIX = "_num_"  # the typing pass: a column's text read as a number, once
WHY_PREFIX = "_why_"  # staging says why a number's text cannot be read ('decimal_comma')
# A sheet's staging says what a cell held instead of a value: 'boolean' (TRUE/FALSE) or 'error'
# (#DIV/0!, #N/A …); its tables' rules then refuse such cells in every column.
CELL_PREFIX = "_cell_"
# A number as staging leaves it ('1234.5', '-3', '1e5'): nothing else is cast (DuckDB would
# read '1_000' as 1000).
NUMBER = "[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?"
NOT_FINITE_WORDS = "[+-]?(nan|inf|infinity)"
YEAR_COLUMN = "year"
DUCKDB_TYPES = {"String": "VARCHAR", "Int64": "BIGINT", "Float64": "DOUBLE"}
NUMERIC = {"Int64", "Float64"}
TERRITORY_COLUMNS = ("territory_code", "residence_code", "member_code")

FAILURES_DDL = """
CREATE TABLE IF NOT EXISTS validation_failures (
    contract_table VARCHAR, source VARCHAR, file VARCHAR, row_number BIGINT, "column" VARCHAR,
    file_column VARCHAR, check_id VARCHAR, severity VARCHAR, value VARCHAR,
    rule STRUCT(en VARCHAR, fr VARCHAR), territory_code VARCHAR, outcome VARCHAR, waiver VARCHAR)
"""
QUARANTINE_DDL = """
CREATE TABLE IF NOT EXISTS quarantine (
    contract_table VARCHAR, source VARCHAR, file VARCHAR, row_number BIGINT, "column" VARCHAR,
    file_column VARCHAR, check_id VARCHAR, value VARCHAR, rule STRUCT(en VARCHAR, fr VARCHAR),
    record VARCHAR)
"""
RESULTS_DDL = """
CREATE TABLE IF NOT EXISTS validation_results (
    contract_table VARCHAR, check_id VARCHAR, "column" VARCHAR, severity VARCHAR,
    rule STRUCT(en VARCHAR, fr VARCHAR), rows_checked BIGINT, rows_failed BIGINT,
    rows_waived BIGINT, examples VARCHAR)
"""


@dataclass(frozen=True)
class StagedSource:
    """A staged source waiting for validation."""

    name: str
    file: str
    table: str
    staging: str
    rejects: str | None = None
    file_columns: dict[str, str] = field(default_factory=dict)
    raw: str | None = None


@dataclass(frozen=True)
class SourceOutcome:
    """Row accounting of one source after validation."""

    source: str
    file: str
    table: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    rows_flagged: int = 0
    rows_waived: int = 0

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.rows_accepted + self.rows_quarantined

    @property
    def rejected_share(self) -> float:
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0


@dataclass(frozen=True)
class Rule:
    """One executable check: ``failing`` is SQL over ``_typed t``, true for a failing row."""

    check_id: str
    table: str
    column: str
    severity: str
    en: str
    fr: str
    failing: str
    value: str
    final: bool = False
    single_row: bool = True  # judged on the row alone, in the typing pass
    params: dict[str, object] = field(default_factory=dict)  # the ``$name`` in ``failing``


class Binder:
    """Values of checks (bounds, allowed values, patterns) as named parameters ``$v0``, ``$v1``
    …: the SQL holds their names, DuckDB receives the values."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def __call__(self, value: object) -> str:
        name = f"v{len(self.values)}"
        self.values[name] = list(value) if isinstance(value, list | tuple) else value
        return f"${name}"

    def since(self, names: set[str]) -> dict[str, object]:
        """The values bound since the names in ``names`` were."""
        return {k: v for k, v in self.values.items() if k not in names}


def _literal(value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return repr(value)


def _between(c: str, s: dict, bind: Binder) -> str:
    low = ">=" if s.get("include_min", True) else ">"
    high = "<=" if s.get("include_max", True) else "<"
    return f"{c} {low} {bind(s['min_value'])} AND {c} {high} {bind(s['max_value'])}"


def _length(c: str, s: dict, bind: Binder) -> str:
    if s.get("exact_value") is not None:
        return f"length({c}) = {bind(int(s['exact_value']))}"
    parts = [f"length({c}) >= {bind(int(s['min_value']))}" if s.get("min_value") is not None
             else "TRUE",
             f"length({c}) <= {bind(int(s['max_value']))}" if s.get("max_value") is not None
             else "TRUE"]
    return " AND ".join(parts)


# One SQL predicate per Pandera built-in check: true when the (non-null) value passes. Values
# are bound parameters.
CHECK_SQL: dict[str, Callable[[str, dict, Binder], str]] = {
    "greater_than": lambda c, s, b: f"{c} > {b(s['min_value'])}",
    "greater_than_or_equal_to": lambda c, s, b: f"{c} >= {b(s['min_value'])}",
    "less_than": lambda c, s, b: f"{c} < {b(s['max_value'])}",
    "less_than_or_equal_to": lambda c, s, b: f"{c} <= {b(s['max_value'])}",
    "equal_to": lambda c, s, b: f"{c} = {b(s['value'])}",
    "not_equal_to": lambda c, s, b: f"{c} <> {b(s['value'])}",
    "in_range": _between,
    "isin": lambda c, s, b: f"list_contains({b(s['allowed_values'])}, {c})",
    "notin": lambda c, s, b: f"NOT list_contains({b(s['forbidden_values'])}, {c})",
    "str_matches": lambda c, s, b: f"regexp_matches({c}, {b('^(?:' + s['pattern'] + ')')})",
    "str_length": _length,
}


def check_predicate(column: str, check: pa.Check, bind: Binder | None = None) -> str:
    """The SQL that a valid value of ``column`` satisfies, its values bound by ``bind``;
    unknown checks are an error."""
    try:
        compile_check = CHECK_SQL[check.name]
    except KeyError:
        raise ValueError(f"check {check.name!r} on column {column!r} has no SQL form; "
                         f"supported: {sorted(CHECK_SQL)}") from None
    return compile_check(quote_ident(column), check.statistics, bind or Binder())


def number_expression(column: str, dtype: str = "Float64") -> str:
    """The staged text of ``column`` read as a double when it is written as a number ('1_000'
    is not: DuckDB would read it as 1000); NULL otherwise. The typing pass reads each number
    once and derives the typed value from it. A whole-number column's text is first tried as
    the integer it prints as ('2023', '-4'), which is written as a number, without the
    regular expression; its double is the one the text reads as."""
    name = quote_ident(column)
    number = f"WHEN regexp_full_match({name}, '{NUMBER}') THEN TRY_CAST({name} AS DOUBLE)"
    if dtype == "Int64":
        whole = f"TRY_CAST({name} AS BIGINT)"
        number = f"WHEN CAST({whole} AS VARCHAR) = {name} THEN CAST({whole} AS DOUBLE) {number}"
    return f"CASE {number} END"


def typed_from_number(number: str, dtype: str) -> str:
    """The contract value of a number read by :func:`number_expression` (SQL ``number``):
    finite (NaN, infinities and overflows such as 1e400 are not numbers of any table), and
    whole for a whole-number column (DuckDB would round '12.5')."""
    if dtype == "Int64":
        return (f"CASE WHEN isfinite({number}) AND {number} = round({number}) "
                f"AND abs({number}) < 9.2e18 THEN CAST({number} AS BIGINT) END")
    return f"CASE WHEN isfinite({number}) THEN {number} END"


def typed_expression(column: str, dtype: str) -> str:
    """Cast staged text to the contract type; NULL when it does not convert (see
    :func:`number_expression` and :func:`typed_from_number` for numbers)."""
    if dtype not in NUMERIC:
        return f"TRY_CAST({quote_ident(column)} AS {DUCKDB_TYPES[dtype]})"
    return typed_from_number(f"({number_expression(column, dtype)})", dtype)


def not_finite(raw: str) -> str:
    """SQL true when the text ``raw`` is NaN, an infinity or a number too large for a double."""
    return (f"(regexp_full_match({raw}, '{NOT_FINITE_WORDS}', 'i') OR "
            f"(regexp_full_match({raw}, '{NUMBER}') AND NOT isfinite(TRY_CAST({raw} AS DOUBLE))))")


def rules_for(table: str, settings: ValidationSettings,
              years: Sequence[int] = (), cells: bool = False,
              contracts: Contracts = DEFAULT_CONTRACTS) -> list[Rule]:
    """Every check of a contract table, from its Pandera schema and its relations; with
    ``years``, rows of a year the project does not declare fail too; with ``cells`` (a source
    is a sheet), TRUE/FALSE and Excel error cells fail in every column. ``contracts`` are the
    project's (its territory levels, population detail and survey items)."""
    schema = contracts.schemas[table]
    rules = []
    bind = Binder()
    for column, spec in schema.columns.items():
        dtype = str(spec.dtype)
        raw, shown = quote_ident(f"_raw_{column}"), quote_ident(f"_shown_{column}")
        why = quote_ident(f"{WHY_PREFIX}{column}")
        typed = quote_ident(column)
        cell = quote_ident(f"{CELL_PREFIX}{column}")
        if cells:
            rules.append(Rule(f"{table}.{column}.excel_boolean", table, column, "error",
                              *EXCEL_BOOLEAN, f"{cell} = 'boolean'", shown))
            rules.append(Rule(f"{table}.{column}.excel_error", table, column, "error",
                              *EXCEL_ERROR, f"{cell} = 'error'", shown))
        if dtype in NUMERIC:
            # A value that is not finite has no typed value either: testing that first keeps
            # the text tests to the few rows that did not convert.
            rules.append(Rule(f"{table}.{column}.type", table, column, "error",
                              *TYPE_RULES[dtype],
                              f"{typed} IS NULL AND {raw} IS NOT NULL AND {why} IS NULL "
                              f"AND NOT {not_finite(raw)}", shown))
            rules.append(Rule(f"{table}.{column}.finite", table, column, "error", *NOT_FINITE,
                              f"{typed} IS NULL AND {raw} IS NOT NULL AND {not_finite(raw)}",
                              shown))
            rules.append(Rule(f"{table}.{column}.decimal_comma", table, column, "error",
                              *AMBIGUOUS_DECIMAL, f"{why} = 'decimal_comma'", shown))
        else:
            rules.append(Rule(f"{table}.{column}.type", table, column, "error",
                              *TYPE_RULES[dtype], f"{raw} IS NOT NULL AND {typed} IS NULL",
                              shown))
        if column == YEAR_COLUMN and dtype == "Int64" and years:
            declared = sorted({int(y) for y in years})
            before = set(bind.values)
            listed = bind(declared)
            rules.append(Rule(f"{table}.{column}.project_years", table, column, "error",
                              *project_years_rule(declared),
                              f"{typed} IS NOT NULL AND NOT list_contains({listed}, {typed})",
                              shown, params=bind.since(before)))
        if not spec.nullable:
            rules.append(Rule(f"{table}.{column}.required", table, column, "error", *REQUIRED,
                              f"{raw} IS NULL" + (f" AND {cell} IS NULL" if cells else ""),
                              shown))
        for check in spec.checks:
            before = set(bind.values)
            predicate = check_predicate(column, check, bind)
            rules.append(Rule(
                f"{table}.{column}.{check.name}", table, column,
                "warning" if check.raise_warning else "error", *describe_check(check),
                f"{typed} IS NOT NULL AND NOT ({predicate})", shown,
                params=bind.since(before)))
    for row_rule in contracts.row_rules:
        if row_rule.table == table:
            rules.append(Rule(row_rule.check_id, table, row_rule.column, "error", row_rule.en,
                              row_rule.fr, row_rule.failing,
                              quote_ident(f"_shown_{row_rule.column}"),
                              params=dict(row_rule.parameters)))
    if schema.unique:
        key = ", ".join(quote_ident(c) for c in schema.unique)
        shown = " || ' | ' || ".join(f"coalesce(CAST({quote_ident(c)} AS VARCHAR), '')"
                                     for c in schema.unique)
        rules.append(Rule(f"{table}.unique", table, ",".join(schema.unique), "error",
                          *unique_rule(list(schema.unique)),
                          f"({key}) IN (SELECT ({key}) FROM _typed GROUP BY {key} "
                          f"HAVING count(*) > 1)", shown, single_row=False))
    for relation in contracts.relations(settings.population_tolerance, settings.lonely_psu):
        if relation.table == table:
            rules.append(Rule(relation.check_id, table, relation.column, relation.severity,
                              relation.en, relation.fr,
                              f'"{relation.column}" IS NOT NULL AND NOT ({relation.sql})',
                              f'"_shown_{relation.column}"', relation.final, single_row=False,
                              params=dict(relation.parameters)))
    return rules


class WaiverError(Exception):
    """A waiver that names no check of its table, or matches no failing row: its source stops,
    since a waiver accepting nothing is a mistake in the project file (a typo, a stale row)."""

    def __init__(self, source: str, file: str, message: Text, code: str) -> None:
        super().__init__(message.en)
        self.source = source
        self.file = file
        self.problem = Problem(f"source.{code}", "error", message, source=source, file=file,
                               field="waivers")


@dataclass(frozen=True)
class Validation:
    """What validating a table gives: each source's row accounting, and the sources stopped by
    a waiver that accepts nothing."""

    outcomes: list[SourceOutcome]
    waiver_errors: list[WaiverError] = field(default_factory=list)


def _describe_waiver(waiver: Waiver) -> tuple[str, str]:
    rows = f", rows {list(waiver.rows)}" if waiver.rows else ""
    territory = f", territory {waiver.territory}" if waiver.territory else ""
    en = f"the waiver of check '{waiver.check}'{rows}{territory} ({waiver.owner}: {waiver.reason})"
    fr = (f"la dérogation au contrôle '{waiver.check}'{rows.replace('rows', 'lignes')}"
          f"{territory.replace('territory', 'territoire')} ({waiver.owner} : {waiver.reason})")
    return en, fr


def check_ids(table: str, settings: ValidationSettings = DEFAULT_SETTINGS,
              years: Sequence[int] = (), cells: bool = True,
              contracts: Contracts = DEFAULT_CONTRACTS) -> list[str]:
    """Every check id of a table, as a waiver names them."""
    return [r.check_id for r in rules_for(table, settings, years, cells, contracts)] + [
        f"{table}.parse"]


def validate_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    sources: Sequence[StagedSource],
    settings: ValidationSettings = DEFAULT_SETTINGS,
    waivers: Sequence[Waiver] = (),
    years: Sequence[int] = (),
    contracts: Contracts = DEFAULT_CONTRACTS,
) -> list[SourceOutcome]:
    """Validate every staged source of one contract table and load the accepted rows; a
    waiver accepting nothing raises :class:`WaiverError` (see :func:`validate_sources`)."""
    validation = validate_sources(con, table, sources, settings, waivers, years, contracts)
    if validation.waiver_errors:
        raise validation.waiver_errors[0]
    return validation.outcomes


def validate_sources(
    con: duckdb.DuckDBPyConnection,
    table: str,
    sources: Sequence[StagedSource],
    settings: ValidationSettings = DEFAULT_SETTINGS,
    waivers: Sequence[Waiver] = (),
    years: Sequence[int] = (),
    contracts: Contracts = DEFAULT_CONTRACTS,
) -> Validation:
    """Validate every staged source of one contract table and load the accepted rows.

    A source with a waiver that names no check of the table, or that matches no failing row,
    is not loaded: its error says which waiver and lists the checks that exist.
    """
    schema = contracts.schemas[table]
    for ddl in (FAILURES_DDL, QUARANTINE_DDL, RESULTS_DDL):
        con.execute(ddl)
    _create_contract_table(con, table, schema)
    cells = _sheet_cells(con, schema, sources)
    rules = rules_for(table, settings, years, cells, contracts)
    known = [r.check_id for r in rules] + [f"{table}.parse"]
    errors = []
    for waiver in waivers:
        if waiver.check not in known and any(s.name == waiver.source for s in sources):
            source = next(s for s in sources if s.name == waiver.source)
            en, fr = _describe_waiver(waiver)
            errors.append(WaiverError(source.name, source.file, Text(
                f"{en} names no check of table '{table}'; its checks are {known}",
                f"{fr} ne nomme aucun contrôle de la table '{table}' ; ses contrôles sont "
                f"{known}"), "waiver_unknown_check"))
    stopped = {e.source for e in errors}
    sources = [s for s in sources if s.name not in stopped]
    waivers = [w for w in waivers if w.source not in stopped]
    if not sources:
        return Validation([], errors)
    _register_sources(con, sources)
    _type_and_flag(con, schema, sources, [r for r in rules if r.single_row], cells)
    matched = _collect_failures(con, table, rules, sources, waivers, schema)
    for waiver, count in zip(waivers, matched, strict=True):
        if count == 0:
            source = next(s for s in sources if s.name == waiver.source)
            en, fr = _describe_waiver(waiver)
            errors.append(WaiverError(source.name, source.file, Text(
                f"{en} matches no failing row of the file: remove it, or correct its check or "
                f"rows",
                f"{fr} ne correspond à aucune ligne en échec du fichier : supprimez-la, ou "
                f"corrigez son contrôle ou ses lignes"), "waiver_unmatched"))
    unmatched = sorted({e.source for e in errors} - stopped)
    if unmatched:
        con.execute("DELETE FROM _typed WHERE list_contains(?, _source)", [unmatched])
        con.execute("DELETE FROM _failures WHERE list_contains(?, source)", [unmatched])
        sources = [s for s in sources if s.name not in unmatched]
    if not sources:
        return Validation([], errors)
    _show_values(con, schema, sources)
    con.execute("INSERT INTO validation_failures SELECT * FROM _failures ORDER BY ALL")
    _quarantine(con, schema)
    _record_results(con, table, rules, sources)
    outcomes = [_outcome(con, table, s, accepted) for s, accepted in
                zip(sources, _load_accepted(con, table, schema, sources), strict=True)]
    con.execute("DROP TABLE IF EXISTS _source_files")
    return Validation(outcomes, errors)


def _sheet_cells(con: duckdb.DuckDBPyConnection, schema: pa.DataFrameSchema,
                 sources: Sequence[StagedSource]) -> bool:
    """Whether a source's staging says what its cells held (a sheet's does)."""
    wanted = {f"{CELL_PREFIX}{c}" for c in schema.columns}
    return any(wanted & {r[0] for r in con.execute(f"DESCRIBE {_relation(s.staging)}").fetchall()}
               for s in sources)


def _register_sources(con: duckdb.DuckDBPyConnection, sources: Sequence[StagedSource]) -> None:
    """The sources' names and files as rows (``n`` = position), so that no name or path is
    written into SQL."""
    con.execute("CREATE OR REPLACE TEMP TABLE _source_files "
                "(n INTEGER, source VARCHAR, file VARCHAR)")
    con.executemany("INSERT INTO _source_files VALUES (?, ?, ?)",
                    [[n, s.name, s.file] for n, s in enumerate(sources)])


def _load_accepted(con: duckdb.DuckDBPyConnection, table: str, schema: pa.DataFrameSchema,
                   sources: Sequence[StagedSource]) -> list[int]:
    """Turn ``_typed`` into the contract table: delete the quarantined rows and the working
    columns, then rename it; the typed rows are not written a second time."""
    con.execute("DROP VIEW IF EXISTS _kept")
    con.execute("DELETE FROM _typed t WHERE EXISTS (SELECT 1 FROM _failures f WHERE "
                "f.source = t._source AND f.row_number = t._row AND f.outcome = 'quarantined')")
    counts = dict(con.execute("SELECT _source, count(*) FROM _typed GROUP BY _source").fetchall())
    for column in ("_source", *(["_territory"] if _stored_territory(schema) else []), "_fails"):
        con.execute(f"ALTER TABLE _typed DROP COLUMN {column}")
    # Row lineage: every record keeps its file and the row a spreadsheet user sees there.
    con.execute(f"ALTER TABLE _typed RENAME COLUMN _file TO {LINEAGE_COLUMNS[0]}")
    con.execute(f"ALTER TABLE _typed RENAME COLUMN _row TO {LINEAGE_COLUMNS[1]}")
    con.execute(f"DROP TABLE {quote_ident(table)}")
    con.execute(f"ALTER TABLE _typed RENAME TO {quote_ident(table)}")
    loaded = con.execute(f"SELECT count(*) FROM {quote_ident(table)}").fetchall()[0][0]
    accepted = [counts.get(s.name, 0) for s in sources]
    if loaded != sum(accepted):  # a bug, never a silent loss
        raise AssertionError(f"{table}: {loaded} rows loaded, {sum(accepted)} accepted")
    return accepted


def _create_contract_table(con: duckdb.DuckDBPyConnection, table: str,
                           schema: pa.DataFrameSchema) -> None:
    columns = ", ".join([*(f"{quote_ident(c)} {DUCKDB_TYPES[str(spec.dtype)]}"
                           for c, spec in schema.columns.items()),
                         f"{LINEAGE_COLUMNS[0]} VARCHAR", f"{LINEAGE_COLUMNS[1]} BIGINT"])
    con.execute(f"CREATE OR REPLACE TABLE {quote_ident(table)} ({columns})")


def _staged_union(con: duckdb.DuckDBPyConnection, schema: pa.DataFrameSchema,
                  sources: Sequence[StagedSource], typed: bool = True,
                  cells: bool = False) -> str:
    """SQL over all sources of the table: raw text, text as written in the file (``_shown``),
    with ``cells`` what a sheet's cell held instead of a value, and, when ``typed``, the values
    cast to the contract's types."""
    parts = []
    territory = _territory_column(schema)
    q = quote_ident
    for n, s in enumerate(sources):
        staged = {r[0] for r in con.execute(f"DESCRIBE {_relation(s.staging)}").fetchall()}
        columns = [f"{q(c)} AS {q('_raw_' + c)}" for c in schema.columns]
        columns += [f"{q(ORIGINAL_PREFIX + c)} AS {q('_shown_' + c)}"
                    if f"{ORIGINAL_PREFIX}{c}" in staged
                    else f"{q(c)} AS {q('_shown_' + c)}" for c in schema.columns]
        columns += [f"{q(WHY_PREFIX + c)} AS {q(WHY_PREFIX + c)}" if f"{WHY_PREFIX}{c}" in staged
                    else f"CAST(NULL AS VARCHAR) AS {q(WHY_PREFIX + c)}"
                    for c, spec in schema.columns.items() if str(spec.dtype) in NUMERIC]
        if cells:
            columns += [f"{q(CELL_PREFIX + c)} AS {q(CELL_PREFIX + c)}"
                        if f"{CELL_PREFIX}{c}" in staged
                        else f"CAST(NULL AS VARCHAR) AS {q(CELL_PREFIX + c)}"
                        for c in schema.columns]
        if typed:  # numbers as read (``_num_``), typed by the caller
            columns += [f"{number_expression(c, str(spec.dtype))} AS {q(NUMBER_PREFIX + c)}"
                        if str(spec.dtype) in NUMERIC
                        else f"{typed_expression(c, str(spec.dtype))} AS {q(c)}"
                        for c, spec in schema.columns.items()]
        where = q(territory) if territory else "NULL"
        parts.append(f"SELECT _lci_source AS _source, _lci_file AS _file, _row, "
                     f"{where} AS _territory, {', '.join(columns)} FROM {_relation(s.staging)} "
                     f"CROSS JOIN (SELECT source AS _lci_source, file AS _lci_file "
                     f"FROM _source_files WHERE n = {int(n)})")
    return " UNION ALL ".join(parts)


def _relation(name: str) -> str:
    """A staging relation's name as SQL: quoted, unless the reader quoted it already (a
    caller's ``schema.table`` is quoted part by part)."""
    if name.startswith('"') and name.endswith('"'):
        return name
    return ".".join(quote_ident(part) for part in name.split("."))


def _type_and_flag(con: duckdb.DuckDBPyConnection, schema: pa.DataFrameSchema,
                   sources: Sequence[StagedSource], rules: list[Rule],
                   cells: bool = False) -> None:
    """One pass over the staged rows: read each number once, cast the rows to the contract's
    types and note, per row, which single-row rules fail (``_fails``, NULL for a clean row).
    The list of failing rules is built only for a row that fails one: nearly every row is
    clean. ``_typed`` keeps only the typed values, compact enough for the relational checks
    and the load that follow."""
    q = quote_ident
    flags = ", ".join(f"CASE WHEN {r.failing} THEN {n} END" for n, r in enumerate(rules))
    failing = " OR ".join(f"({r.failing})" for r in rules) or "FALSE"
    typed = ", ".join(q(c) for c in schema.columns)
    numbers = ", ".join(f"{typed_from_number(q(NUMBER_PREFIX + c), str(spec.dtype))} AS {q(c)}"
                        for c, spec in schema.columns.items() if str(spec.dtype) in NUMERIC)
    params = {k: v for r in rules for k, v in r.params.items()}
    con.execute(f"""
        CREATE OR REPLACE TABLE _typed AS
        SELECT _source, {_stored_territory(schema)}{typed}, _file, _row,
               CASE WHEN {failing}
                    THEN nullif(list_distinct([{flags}]), []) END AS _fails  -- drops NULLs
        FROM (SELECT *{', ' + numbers if numbers else ''}
              FROM ({_staged_union(con, schema, sources, cells=cells)}))""", params or None)
    frame = pd.DataFrame([(n, r.check_id, r.column, r.severity, r.en, r.fr)
                          for n, r in enumerate(rules)],
                         columns=["rule_index", "check_id", "column", "severity", "rule_en",
                                  "rule_fr"])
    con.register("_rule_index_frame", frame)
    con.execute("CREATE OR REPLACE TEMP TABLE _rule_index AS SELECT * FROM _rule_index_frame")
    con.unregister("_rule_index_frame")


def _stored_territory(schema: pa.DataFrameSchema) -> str:
    """``_territory`` in ``_typed``'s columns, unless the territory column is text: its typed
    value is then the staged text itself, not written twice."""
    territory = _territory_column(schema)
    return "" if territory is None or str(schema.columns[territory].dtype) == "String" \
        else "_territory, "


def _territory_of(schema: pa.DataFrameSchema) -> str:
    """A row's territory code in ``_typed`` or ``_kept`` (``t``), as SQL."""
    territory = _territory_column(schema)
    if territory is None:
        return "CAST(NULL AS VARCHAR)"
    return f"t.{quote_ident(territory)}" if not _stored_territory(schema) else "t._territory"


def _territory_column(schema: pa.DataFrameSchema) -> str | None:
    return next((c for c in TERRITORY_COLUMNS if c in schema.columns), None)


def _collect_failures(con: duckdb.DuckDBPyConnection, table: str, rules: list[Rule],
                      sources: Sequence[StagedSource], waivers: Sequence[Waiver],
                      schema: pa.DataFrameSchema) -> list[int]:
    """``_failures``: one row per failing row and check, parser rejects included; returns how
    many failures each waiver accepts.

    Final rules (e.g. two PSUs per stratum) are judged last, on the rows that every other
    check keeps: a stratum must not be left with one PSU by the quarantine itself.
    """
    rows = [(source.name, column, name) for source in sources
            for column, name in source.file_columns.items()]
    for rule in (r for r in rules if "," in r.column):  # a key: the file's names, joined
        rows += [(source.name, rule.column,
                  ",".join(source.file_columns.get(c, c) for c in rule.column.split(",")))
                 for source in sources]
    mapping = pd.DataFrame(rows or [("", "", "")], columns=["source", "column", "file_column"])
    con.register("_file_columns_frame", mapping)
    territory = _territory_of(schema)
    first = [_flagged_rows(table, territory)]
    first += [_failing_rows(table, r, "_typed", r.failing, territory) for r in rules
              if not r.single_row and not r.final]
    first += [_parse_failures(table, n, s) for n, s in enumerate(sources) if s.rejects]
    con.execute(f"CREATE OR REPLACE TEMP TABLE _failures AS {_judged(first)}",
                _parameters(rules, lambda r: not r.single_row and not r.final))
    matched = _apply_waivers(con, waivers)
    final = [_failing_rows(table, r, "_kept", r.failing, territory) for r in rules if r.final]
    if final:
        con.execute("CREATE OR REPLACE TEMP VIEW _kept AS SELECT * FROM _typed t WHERE NOT "
                    "EXISTS (SELECT 1 FROM _failures f WHERE f.source = t._source AND "
                    "f.row_number = t._row AND f.outcome = 'quarantined')")
        con.execute(f"INSERT INTO _failures {_judged(final)}",
                    _parameters(rules, lambda r: r.final))
        matched = [a + b for a, b in zip(matched, _apply_waivers(con, waivers), strict=True)]
    con.unregister("_file_columns_frame")
    return matched


def _flagged_rows(table: str, territory: str) -> str:
    """The rows whose typing pass noted failing single-row rules, one row per rule (the value
    as written in the file is filled in later)."""
    return (f"SELECT {_literal(table)}, _source, _file, _row, r.column, NULL, r.check_id, "
            f"r.severity, NULL, {{'en': r.rule_en, 'fr': r.rule_fr}}, _territory "
            f"FROM (SELECT _source, _file, "
            f"_row, {territory} AS _territory, unnest(_fails) AS rule_index FROM _typed t "
            f"WHERE _fails IS NOT NULL) JOIN _rule_index r USING (rule_index)")


def _parameters(rules: list[Rule], chosen: Callable[[Rule], bool]) -> dict[str, object] | None:
    """The bound values of the chosen relational rules (the same name holds the same value)."""
    values = {k: v for r in rules if chosen(r) for k, v in r.params.items()}
    return values or None


def _failing_rows(table: str, rule: Rule, relation: str, condition: str, territory: str) -> str:
    """Rows failing a relational rule; a value written in the file is filled in later."""
    value = "NULL" if "_shown_" in rule.value else f"CAST({rule.value} AS VARCHAR)"
    return (f"SELECT {_literal(table)}, _source, _file, _row, {_literal(rule.column)}, NULL, "
            f"{_literal(rule.check_id)}, {_literal(rule.severity)}, {value}, "
            f"{{'en': {_literal(rule.en)}, 'fr': {_literal(rule.fr)}}}, {territory} "
            f"FROM {relation} t WHERE {condition}")


def _parse_failures(table: str, n: int, source: StagedSource) -> str:
    """Lines the CSV parser rejected, with the reason in words (the reader's own, when it
    gives one: e.g. how many lines an unclosed quote runs over)."""
    cases_en = " ".join(f"WHEN {_literal(k)} THEN {_literal(v[0])}"
                        for k, v in PARSE_RULES.items())
    cases_fr = " ".join(f"WHEN {_literal(k)} THEN {_literal(v[1])}"
                        for k, v in PARSE_RULES.items())
    assert source.rejects is not None
    return (f"SELECT {_literal(table)}, f._lci_source, f._lci_file, _row, "
            f"'(whole line)', coalesce(r.\"column\", '(whole line)'), "
            f"{_literal(table + '.parse')}, 'error', value, "
            f"{{'en': coalesce(r.rule_en, CASE error_type {cases_en} "
            f"ELSE {_literal(PARSE_OTHER[0])} END), "
            f"'fr': coalesce(r.rule_fr, CASE error_type {cases_fr} "
            f"ELSE {_literal(PARSE_OTHER[1])} END)}}, NULL "
            f"FROM {_relation(source.rejects)} r "
            f"CROSS JOIN (SELECT source AS _lci_source, file AS _lci_file FROM _source_files "
            f"WHERE n = {int(n)}) f")


def _judged(parts: list[str]) -> str:
    """Failures with the file's column name and their outcome by severity."""
    return f"""
        WITH found (contract_table, source, file, row_number, "column", file_column, check_id,
                    severity, value, rule, territory_code) AS (
            {' UNION ALL '.join(parts)})
        SELECT f.contract_table, f.source, f.file, f.row_number, f."column",
               coalesce(f.file_column, m.file_column, f."column") AS file_column, f.check_id,
               f.severity, f.value, f.rule, f.territory_code,
               CASE f.severity WHEN 'error' THEN 'quarantined' ELSE 'flagged' END AS outcome,
               CAST(NULL AS VARCHAR) AS waiver
        FROM found f LEFT JOIN _file_columns_frame m
             ON m.source = f.source AND m."column" = f."column" """


def _apply_waivers(con: duckdb.DuckDBPyConnection, waivers: Sequence[Waiver]) -> list[int]:
    """Mark failures accepted by a waiver: they are reported as waived, the row is kept.
    Returns how many failures each waiver matched."""
    matched = []
    for number, waiver in enumerate(waivers, start=1):
        conditions = ["source = ?", "check_id = ?"]
        params: list[object] = [waiver.source, waiver.check]
        if waiver.rows:
            conditions.append("list_contains(?, row_number)")
            params.append([int(r) for r in waiver.rows])
        if waiver.territory:
            conditions.append("territory_code = ?")
            params.append(waiver.territory)
        label = f"waiver {number}: {waiver.reason} ({waiver.owner}, until {waiver.expires})"
        changed = con.execute(f"UPDATE _failures SET outcome = 'waived', waiver = ? "
                              f"WHERE {' AND '.join(conditions)}", [label, *params]).fetchall()
        matched.append(int(changed[0][0]) if changed else 0)
    return matched


def _show_values(con: duckdb.DuckDBPyConnection, schema: pa.DataFrameSchema,
                 sources: Sequence[StagedSource]) -> None:
    """Fetch, for the failing rows only, the text as written in the file: the value of the
    failing column and the whole record (one more pass over the staged rows, filtered)."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _shown AS
        SELECT * FROM ({_staged_union(con, schema, sources, typed=False)}) s
        WHERE (s._source, s._row) IN (SELECT (source, row_number) FROM _failures)""")
    cases = " ".join(f"WHEN {_literal(c)} THEN s.{quote_ident('_shown_' + c)}"
                     for c in schema.columns)
    con.execute(f"""
        UPDATE _failures f SET value = CASE f."column" {cases} END
        FROM _shown s WHERE f.value IS NULL AND s._source = f.source AND s._row = f.row_number""")
    # A rule may name the value it refuses ("year 2019 is not one of the project's years").
    con.execute("""
        UPDATE _failures SET rule = {'en': replace(rule.en, $mark, coalesce(value, '')),
                                     'fr': replace(rule.fr, $mark, coalesce(value, ''))}
        WHERE contains(rule.en, $mark) OR contains(rule.fr, $mark)""", {"mark": VALUE})


def _quarantine(con: duckdb.DuckDBPyConnection, schema: pa.DataFrameSchema) -> None:
    """Quarantined rows keep their reasons and their whole record as written, as JSON text."""
    record = "to_json(struct_pack(" + ", ".join(
        f"{quote_ident(c)} := s.{quote_ident(f'_shown_{c}')}" for c in schema.columns) + "))"
    con.execute(f"""
        INSERT INTO quarantine
        SELECT f.contract_table, f.source, f.file, f.row_number, f."column", f.file_column,
               f.check_id, f.value, f.rule,
               coalesce(CAST({record} AS VARCHAR), f.value)
        FROM _failures f LEFT JOIN _shown s ON s._source = f.source AND s._row = f.row_number
        WHERE f.outcome = 'quarantined'
        ORDER BY f.source, f.row_number, f."column", f.check_id""")


def _record_results(con: duckdb.DuckDBPyConnection, table: str, rules: list[Rule],
                    sources: Sequence[StagedSource]) -> None:
    checked = con.execute("SELECT count(*) FROM _typed").fetchall()[0][0]
    stats = {row[0]: row[1:] for row in con.execute("""
        SELECT check_id, count(DISTINCT (source, row_number)) FILTER (WHERE outcome <> 'waived'),
               count(DISTINCT (source, row_number)) FILTER (WHERE outcome = 'waived'),
               string_agg(DISTINCT coalesce(value, '(empty)'), ' · ' ORDER BY
                          coalesce(value, '(empty)')) AS examples
        FROM _failures GROUP BY check_id""").fetchall()}
    parse_rules = [Rule(f"{table}.parse", table, "(whole line)", "error",
                        "each line must split into the header's fields",
                        "chaque ligne doit compter autant de champs que l'en-tête", "", "")]
    for rule in rules + (parse_rules if any(s.rejects for s in sources) else []):
        failed, waived, examples = stats.get(rule.check_id, (0, 0, None))
        if examples and len(examples) > 120:
            examples = examples[:117] + "…"
        con.execute("INSERT INTO validation_results "
                    "VALUES (?, ?, ?, ?, {'en': ?, 'fr': ?}, ?, ?, ?, ?)",
                    [table, rule.check_id, rule.column, rule.severity,
                     rule.en.replace(VALUE, "N"), rule.fr.replace(VALUE, "N"),
                     checked, failed, waived, examples])


def _outcome(con: duckdb.DuckDBPyConnection, table: str, source: StagedSource,
             accepted: int) -> SourceOutcome:
    """Three independent counts: rows staged (plus parser rejects), rows quarantined and rows
    loaded into the contract table; they must balance."""
    read = con.execute(f"SELECT count(*) FROM {_relation(source.staging)}").fetchall()[0][0]
    if source.rejects:
        read += con.execute(
            f"SELECT count(*) FROM {_relation(source.rejects)}").fetchall()[0][0]
    quarantined, flagged, waived = con.execute(
        "SELECT count(DISTINCT row_number) FILTER (WHERE outcome = 'quarantined'), "
        "count(DISTINCT row_number) FILTER (WHERE outcome = 'flagged'), "
        "count(DISTINCT row_number) FILTER (WHERE outcome = 'waived') "
        "FROM _failures WHERE source = ?", [source.name]).fetchall()[0]
    outcome = SourceOutcome(source.name, source.file, table, read, accepted, quarantined,
                            flagged, waived)
    if not outcome.balanced:  # a bug, never a silent loss
        raise AssertionError(f"row accounting does not balance for {source.name}: {outcome}")
    return outcome
