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

from pipelines.config import ValidationSettings, Waiver
from pipelines.validating.contracts import LINEAGE_COLUMNS, SCHEMAS, relations
from pipelines.validating.messages import (
    PARSE_OTHER,
    PARSE_RULES,
    REQUIRED,
    TYPE_RULES,
    describe_check,
    unique_rule,
)

DEFAULT_SETTINGS = ValidationSettings()
ORIGINAL_PREFIX = "_orig_"  # staging keeps the file's text of a column it transformed
DUCKDB_TYPES = {"String": "VARCHAR", "Int64": "BIGINT", "Float64": "DOUBLE"}
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
        return (f"CASE WHEN isfinite({number}) AND {number} = round({number}) "
                f"AND abs({number}) < 9.2e18 THEN CAST({number} AS BIGINT) END")
    return f'TRY_CAST("{column}" AS {DUCKDB_TYPES[dtype]})'


def rules_for(table: str, settings: ValidationSettings) -> list[Rule]:
    """Every check of a contract table, from its Pandera schema and its relations."""
    schema = SCHEMAS[table]
    rules = []
    for column, spec in schema.columns.items():
        dtype = str(spec.dtype)
        raw, shown = f'"_raw_{column}"', f'"_shown_{column}"'
        rules.append(Rule(f"{table}.{column}.type", table, column, "error", *TYPE_RULES[dtype],
                          f'{raw} IS NOT NULL AND "{column}" IS NULL', shown))
        if not spec.nullable:
            rules.append(Rule(f"{table}.{column}.required", table, column, "error", *REQUIRED,
                              f"{raw} IS NULL", shown))
        for check in spec.checks:
            rules.append(Rule(
                f"{table}.{column}.{check.name}", table, column,
                "warning" if check.raise_warning else "error", *describe_check(check),
                f'"{column}" IS NOT NULL AND NOT ({check_predicate(column, check)})', shown))
    if schema.unique:
        key = ", ".join(f'"{c}"' for c in schema.unique)
        shown = " || ' | ' || ".join(f'coalesce(CAST("{c}" AS VARCHAR), \'\')'
                                     for c in schema.unique)
        rules.append(Rule(f"{table}.unique", table, ",".join(schema.unique), "error",
                          *unique_rule(list(schema.unique)),
                          f"({key}) IN (SELECT ({key}) FROM _typed GROUP BY {key} "
                          f"HAVING count(*) > 1)", shown, single_row=False))
    for relation in relations(settings.population_tolerance, settings.lonely_psu):
        if relation.table == table:
            rules.append(Rule(relation.check_id, table, relation.column, relation.severity,
                              relation.en, relation.fr,
                              f'"{relation.column}" IS NOT NULL AND NOT ({relation.sql})',
                              f'"_shown_{relation.column}"', relation.final, single_row=False))
    return rules


def validate_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    sources: Sequence[StagedSource],
    settings: ValidationSettings = DEFAULT_SETTINGS,
    waivers: Sequence[Waiver] = (),
) -> list[SourceOutcome]:
    """Validate every staged source of one contract table and load the accepted rows."""
    schema = SCHEMAS[table]
    for ddl in (FAILURES_DDL, QUARANTINE_DDL, RESULTS_DDL):
        con.execute(ddl)
    _create_contract_table(con, table, schema)
    if not sources:
        return []
    rules = rules_for(table, settings)
    _type_and_flag(con, schema, sources, [r for r in rules if r.single_row])
    _collect_failures(con, table, rules, sources, waivers)
    _show_values(con, schema, sources)
    con.execute("INSERT INTO validation_failures SELECT * FROM _failures ORDER BY ALL")
    _quarantine(con, schema)
    _record_results(con, table, rules, sources)
    return [_outcome(con, table, s, accepted) for s, accepted in
            zip(sources, _load_accepted(con, table, sources), strict=True)]


def _load_accepted(con: duckdb.DuckDBPyConnection, table: str,
                   sources: Sequence[StagedSource]) -> list[int]:
    """Turn ``_typed`` into the contract table: delete the quarantined rows and the working
    columns, then rename it; the typed rows are not written a second time."""
    con.execute("DROP VIEW IF EXISTS _kept")
    con.execute("DELETE FROM _typed t WHERE EXISTS (SELECT 1 FROM _failures f WHERE "
                "f.source = t._source AND f.row_number = t._row AND f.outcome = 'quarantined')")
    counts = dict(con.execute("SELECT _source, count(*) FROM _typed GROUP BY _source").fetchall())
    for column in ("_source", "_territory", "_fails"):
        con.execute(f"ALTER TABLE _typed DROP COLUMN {column}")
    # Row lineage: every record keeps its file and the row a spreadsheet user sees there.
    con.execute(f"ALTER TABLE _typed RENAME COLUMN _file TO {LINEAGE_COLUMNS[0]}")
    con.execute(f"ALTER TABLE _typed RENAME COLUMN _row TO {LINEAGE_COLUMNS[1]}")
    con.execute(f"DROP TABLE {table}")
    con.execute(f"ALTER TABLE _typed RENAME TO {table}")
    loaded = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    accepted = [counts.get(s.name, 0) for s in sources]
    if loaded != sum(accepted):  # a bug, never a silent loss
        raise AssertionError(f"{table}: {loaded} rows loaded, {sum(accepted)} accepted")
    return accepted


def _create_contract_table(con: duckdb.DuckDBPyConnection, table: str,
                           schema: pa.DataFrameSchema) -> None:
    columns = ", ".join([*(f'"{c}" {DUCKDB_TYPES[str(spec.dtype)]}'
                           for c, spec in schema.columns.items()),
                         f"{LINEAGE_COLUMNS[0]} VARCHAR", f"{LINEAGE_COLUMNS[1]} BIGINT"])
    con.execute(f"CREATE OR REPLACE TABLE {table} ({columns})")


def _staged_union(con: duckdb.DuckDBPyConnection, schema: pa.DataFrameSchema,
                  sources: Sequence[StagedSource], typed: bool = True) -> str:
    """SQL over all sources of the table: raw text, text as written in the file (``_shown``)
    and, when ``typed``, the values cast to the contract's types."""
    parts = []
    territory = next((c for c in TERRITORY_COLUMNS if c in schema.columns), None)
    for s in sources:
        staged = {r[0] for r in con.execute(f"DESCRIBE {s.staging}").fetchall()}
        columns = [f'"{c}" AS "_raw_{c}"' for c in schema.columns]
        columns += [f'"{ORIGINAL_PREFIX}{c}" AS "_shown_{c}"' if f"{ORIGINAL_PREFIX}{c}" in staged
                    else f'"{c}" AS "_shown_{c}"' for c in schema.columns]
        if typed:
            columns += [f"{typed_expression(c, str(spec.dtype))} AS \"{c}\""
                        for c, spec in schema.columns.items()]
        where = f'"{territory}"' if territory else "NULL"
        parts.append(f"SELECT {_literal(s.name)} AS _source, {_literal(s.file)} AS _file, _row, "
                     f"{where} AS _territory, {', '.join(columns)} FROM {s.staging}")
    return " UNION ALL ".join(parts)


def _type_and_flag(con: duckdb.DuckDBPyConnection, schema: pa.DataFrameSchema,
                   sources: Sequence[StagedSource], rules: list[Rule]) -> None:
    """One pass over the staged rows: cast them to the contract's types and note, per row,
    which single-row rules fail (``_fails``, NULL for a clean row). ``_typed`` keeps only the
    typed values, compact enough for the relational checks and the load that follow."""
    flags = ", ".join(f"CASE WHEN {r.failing} THEN {n} END" for n, r in enumerate(rules))
    typed = ", ".join(f'"{c}"' for c in schema.columns)
    con.execute(f"""
        CREATE OR REPLACE TABLE _typed AS
        SELECT _source, _territory, {typed}, _file, _row,
               nullif(list_distinct([{flags}]), []) AS _fails  -- list_distinct drops NULLs
        FROM ({_staged_union(con, schema, sources)})""")
    frame = pd.DataFrame([(n, r.check_id, r.column, r.severity, r.en, r.fr)
                          for n, r in enumerate(rules)],
                         columns=["rule_index", "check_id", "column", "severity", "rule_en",
                                  "rule_fr"])
    con.register("_rule_index_frame", frame)
    con.execute("CREATE OR REPLACE TEMP TABLE _rule_index AS SELECT * FROM _rule_index_frame")
    con.unregister("_rule_index_frame")


def _collect_failures(con: duckdb.DuckDBPyConnection, table: str, rules: list[Rule],
                      sources: Sequence[StagedSource], waivers: Sequence[Waiver]) -> None:
    """``_failures``: one row per failing row and check, parser rejects included.

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
    first = [_flagged_rows(table)]
    first += [_failing_rows(table, r, "_typed", r.failing) for r in rules
              if not r.single_row and not r.final]
    first += [_parse_failures(table, s) for s in sources if s.rejects]
    con.execute(f"CREATE OR REPLACE TEMP TABLE _failures AS {_judged(first)}")
    _apply_waivers(con, waivers)
    final = [_failing_rows(table, r, "_kept", r.failing) for r in rules if r.final]
    if final:
        con.execute("CREATE OR REPLACE TEMP VIEW _kept AS SELECT * FROM _typed t WHERE NOT "
                    "EXISTS (SELECT 1 FROM _failures f WHERE f.source = t._source AND "
                    "f.row_number = t._row AND f.outcome = 'quarantined')")
        con.execute(f"INSERT INTO _failures {_judged(final)}")
        _apply_waivers(con, waivers)
    con.unregister("_file_columns_frame")


def _flagged_rows(table: str) -> str:
    """The rows whose typing pass noted failing single-row rules, one row per rule (the value
    as written in the file is filled in later)."""
    return (f"SELECT {_literal(table)}, _source, _file, _row, r.column, NULL, r.check_id, "
            f"r.severity, NULL, {{'en': r.rule_en, 'fr': r.rule_fr}}, _territory "
            f"FROM (SELECT _source, _file, "
            f"_row, _territory, unnest(_fails) AS rule_index FROM _typed "
            f"WHERE _fails IS NOT NULL) JOIN _rule_index r USING (rule_index)")


def _failing_rows(table: str, rule: Rule, relation: str, condition: str) -> str:
    """Rows failing a relational rule; a value written in the file is filled in later."""
    value = "NULL" if "_shown_" in rule.value else f"CAST({rule.value} AS VARCHAR)"
    return (f"SELECT {_literal(table)}, _source, _file, _row, {_literal(rule.column)}, NULL, "
            f"{_literal(rule.check_id)}, {_literal(rule.severity)}, {value}, "
            f"{{'en': {_literal(rule.en)}, 'fr': {_literal(rule.fr)}}}, _territory "
            f"FROM {relation} t WHERE {condition}")


def _parse_failures(table: str, source: StagedSource) -> str:
    """Lines the CSV parser rejected, with the reason in words."""
    cases_en = " ".join(f"WHEN {_literal(k)} THEN {_literal(v[0])}"
                        for k, v in PARSE_RULES.items())
    cases_fr = " ".join(f"WHEN {_literal(k)} THEN {_literal(v[1])}"
                        for k, v in PARSE_RULES.items())
    return (f"SELECT {_literal(table)}, {_literal(source.name)}, {_literal(source.file)}, _row, "
            f"'(whole line)', coalesce(\"column\", '(whole line)'), "
            f"{_literal(table + '.parse')}, 'error', value, "
            f"{{'en': CASE error_type {cases_en} ELSE {_literal(PARSE_OTHER[0])} END, "
            f"'fr': CASE error_type {cases_fr} ELSE {_literal(PARSE_OTHER[1])} END}}, NULL "
            f"FROM {source.rejects}")


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


def _apply_waivers(con: duckdb.DuckDBPyConnection, waivers: Sequence[Waiver]) -> None:
    """Mark failures accepted by a waiver: they are reported as waived, the row is kept."""
    for number, waiver in enumerate(waivers, start=1):
        conditions = ["source = ?", "check_id = ?"]
        params: list[object] = [waiver.source, waiver.check]
        if waiver.rows:
            conditions.append(f"row_number IN ({', '.join(str(r) for r in waiver.rows)})")
        if waiver.territory:
            conditions.append("territory_code = ?")
            params.append(waiver.territory)
        label = f"waiver {number}: {waiver.reason} ({waiver.owner}, until {waiver.expires})"
        con.execute(f"UPDATE _failures SET outcome = 'waived', waiver = ? "
                    f"WHERE {' AND '.join(conditions)}", [label, *params])


def _show_values(con: duckdb.DuckDBPyConnection, schema: pa.DataFrameSchema,
                 sources: Sequence[StagedSource]) -> None:
    """Fetch, for the failing rows only, the text as written in the file: the value of the
    failing column and the whole record (one more pass over the staged rows, filtered)."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _shown AS
        SELECT * FROM ({_staged_union(con, schema, sources, typed=False)}) s
        WHERE (s._source, s._row) IN (SELECT (source, row_number) FROM _failures)""")
    cases = " ".join(f"WHEN {_literal(c)} THEN s.\"_shown_{c}\"" for c in schema.columns)
    con.execute(f"""
        UPDATE _failures f SET value = CASE f."column" {cases} END
        FROM _shown s WHERE f.value IS NULL AND s._source = f.source AND s._row = f.row_number""")


def _quarantine(con: duckdb.DuckDBPyConnection, schema: pa.DataFrameSchema) -> None:
    """Quarantined rows keep their reasons and their whole record as written, as JSON text."""
    record = "to_json(struct_pack(" + ", ".join(
        f'"{c}" := s."_shown_{c}"' for c in schema.columns) + "))"
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
                    [table, rule.check_id, rule.column, rule.severity, rule.en, rule.fr,
                     checked, failed, waived, examples])


def _outcome(con: duckdb.DuckDBPyConnection, table: str, source: StagedSource,
             accepted: int) -> SourceOutcome:
    """Three independent counts: rows staged (plus parser rejects), rows quarantined and rows
    loaded into the contract table; they must balance."""
    read = con.execute(f"SELECT count(*) FROM {source.staging}").fetchall()[0][0]
    if source.rejects:
        read += con.execute(f"SELECT count(*) FROM {source.rejects}").fetchall()[0][0]
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
