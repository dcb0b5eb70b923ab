"""Ingest: read every declared source, validate it against its contract, fill the warehouse.

Reference tables go first (the others are checked against them). A source with a whole-file
problem stops with one message and feeds nothing; its contract table is still created, empty,
so that everything downstream knows the table and reports the gap.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

from indicators.sql import quote_ident
from pipelines.config import ProjectConfig, Source
from pipelines.problems import CHECK_PROBLEMS_SQL, PROBLEMS_DDL, record_problems
from pipelines.reading.readers import ReadReport, SourceError, drop_relation, stage_source
from pipelines.validating.checks import (
    SourceOutcome,
    StagedSource,
    WaiverError,
    validate_sources,
)
from pipelines.validating.contracts import LOAD_ORDER

SOURCES_DDL = """
CREATE OR REPLACE TABLE run_sources (
    source VARCHAR, file VARCHAR, sha256 VARCHAR, contract_table VARCHAR, rows_read BIGINT,
    rows_accepted BIGINT, rows_quarantined BIGINT, rows_flagged BIGINT, rows_waived BIGINT,
    error VARCHAR)
"""
RESET_TABLES = ("quarantine", "validation_failures", "validation_results")


@dataclass(frozen=True)
class IngestResult:
    """What ingestion did, source by source."""

    outcomes: tuple[SourceOutcome, ...]
    errors: tuple[SourceError, ...]
    reports: tuple[ReadReport, ...]
    max_rejected_share: dict[str, float]

    @property
    def rows_quarantined(self) -> int:
        return sum(o.rows_quarantined for o in self.outcomes)

    @property
    def clean(self) -> bool:
        return not self.errors and self.rows_quarantined == 0

    @property
    def over_threshold(self) -> list[SourceOutcome]:
        """Sources rejecting a larger share of their rows than the configuration allows."""
        return [o for o in self.outcomes if o.rejected_share > self.max_rejected_share[o.source]]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def display_path(path: Path, root: Path) -> str:
    """Paths as the project names them (relative to its configuration file) when possible."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def ingest(con: duckdb.DuckDBPyConnection, config: ProjectConfig,
           progress: Callable[[int, int, str], None] | None = None) -> IngestResult:
    """Stage, validate and load every source; record row accounting in ``run_sources`` and
    what users are told (source errors, read notes, failing checks) in ``problems``;
    ``progress(done, total, source)`` is called as each table's sources are loaded."""
    con.execute(SOURCES_DDL)
    con.execute(PROBLEMS_DDL)
    for table in RESET_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {table}")
    outcomes: list[SourceOutcome] = []
    errors: list[SourceError] = []
    reports: dict[str, ReadReport] = {}
    done = 0
    for table in LOAD_ORDER:
        staged = []
        helpers: dict[str, tuple[str, ...]] = {}
        for source in (s for s in config.sources if s.table == table):
            try:
                staged.append(_stage(con, config, source, reports, helpers))
            except SourceError as error:
                errors.append(error)
                _record_error(con, config, source, error)
        try:
            for source_error in _validate(con, config, table, staged, outcomes, reports):
                errors.append(source_error)
                _record_error(con, config, _source(config, source_error.source), source_error)
        finally:
            con.execute("DROP VIEW IF EXISTS _kept")
            con.execute("DROP TABLE IF EXISTS _typed")
            for s in staged:
                for relation in (s.staging, s.raw, s.rejects, *helpers.get(s.name, ())):
                    if relation:
                        drop_relation(con, relation)
        if progress is not None:
            done += sum(1 for s in config.sources if s.table == table)
            names = [s.name for s in config.sources if s.table == table]
            if names:
                progress(done, len(config.sources), ", ".join(names))
    con.execute(CHECK_PROBLEMS_SQL)
    thresholds = {s.name: (s.max_rejected_share if s.max_rejected_share is not None
                           else config.validation.max_rejected_share) for s in config.sources}
    return IngestResult(tuple(outcomes), tuple(errors), tuple(reports.values()), thresholds)


def _source(config: ProjectConfig, name: str) -> Source:
    return next(s for s in config.sources if s.name == name)


def _validate(con: duckdb.DuckDBPyConnection, config: ProjectConfig, table: str,
              staged: list[StagedSource], outcomes: list[SourceOutcome],
              reports: dict[str, ReadReport]) -> list[SourceError]:
    """Validate a table's staged sources. A source that DuckDB cannot read to the end (a
    corrupt Parquet page shows only when its rows are read) stops with a message naming its
    file, and the others are validated without it; so does a source whose waiver accepts
    nothing."""
    errors: list[SourceError] = []
    remaining = list(staged)
    while True:
        waivers = [w for w in config.waivers if any(s.name == w.source for s in remaining)]
        try:
            validation = validate_sources(con, table, remaining, config.validation, waivers,
                                          config.years, config.contracts)
            break
        except duckdb.Error as error:
            broken = _unreadable(con, remaining)
            if not broken:  # every file reads: the error is LCI's, not the data's
                raise
            reason = str(error).strip().splitlines()[0] if str(error).strip() else "?"
            for s in broken:
                errors.append(SourceError(s.name, config.path_of(_source(config, s.name)), (
                    f"cannot be read to the end: {reason}",
                    f"illisible jusqu'au bout : {reason}"), "unreadable"))
            remaining = [s for s in remaining if s not in broken]
            for name in ("quarantine", "validation_failures", "validation_results"):
                con.execute(f"DELETE FROM {quote_ident(name)} WHERE contract_table = ?", [table])
            if not remaining:
                validation = validate_sources(con, table, [], config.validation, [],
                                              config.years, config.contracts)
                break
    for waiver_error in validation.waiver_errors:
        errors.append(_from_waiver(config, waiver_error))
    for outcome in validation.outcomes:
        outcomes.append(outcome)
        _record_outcome(con, config, outcome, reports[outcome.source])
    return errors


def _unreadable(con: duckdb.DuckDBPyConnection, staged: list[StagedSource]) -> list[StagedSource]:
    """The sources whose staged rows cannot all be read (every column of every row)."""
    broken = []
    for s in staged:
        relation = s.staging if s.staging.startswith('"') else quote_ident(s.staging)
        try:
            con.execute(f"SELECT count(*) FROM (SELECT DISTINCT * FROM {relation})").fetchall()
        except duckdb.Error:
            broken.append(s)
    return broken


def _from_waiver(config: ProjectConfig, error: WaiverError) -> SourceError:
    source = _source(config, error.source)
    result = SourceError(source.name, config.path_of(source), tuple(error.problem.message),
                         error.problem.code.removeprefix("source."))
    result.problem = replace(result.problem, field=error.problem.field)
    return result


def _stage(con: duckdb.DuckDBPyConnection, config: ProjectConfig, source: Source,
           reports: dict[str, ReadReport],
           helpers: dict[str, tuple[str, ...]]) -> StagedSource:
    path = config.path_of(source)
    staged = stage_source(con, config, source, display_path(path, config.root))
    reports[source.name] = staged.report
    helpers[source.name] = staged.helpers
    file_columns = {c: f for c, f in source.columns.items() if f is not None} or {
        c: c for c in config.contracts.schemas[source.table].columns}
    return StagedSource(source.name, staged.report.file, source.table, staged.staging,
                        staged.rejects, file_columns, staged.raw)


def _record_error(con: duckdb.DuckDBPyConnection, config: ProjectConfig, source: Source,
                  error: SourceError) -> None:
    path = config.path_of(source)
    sha = file_sha256(path) if path.is_file() else None
    file = display_path(path, config.root)
    con.execute("INSERT INTO run_sources VALUES (?, ?, ?, ?, 0, 0, 0, 0, 0, ?)",
                [source.name, file, sha, source.table, error.message])
    record_problems(con, [replace(error.problem, file=file)])


def _record_outcome(con: duckdb.DuckDBPyConnection, config: ProjectConfig,
                    outcome: SourceOutcome, report: ReadReport) -> None:
    source = next(s for s in config.sources if s.name == outcome.source)
    con.execute(
        "INSERT INTO run_sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
        [outcome.source, outcome.file, file_sha256(config.path_of(source)), outcome.table,
         outcome.rows_read, outcome.rows_accepted, outcome.rows_quarantined,
         outcome.rows_flagged, outcome.rows_waived],
    )
    record_problems(con, report.problems)
