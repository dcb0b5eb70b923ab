"""Ingest: read every declared source, validate it against its contract, fill the warehouse.

Reference tables go first (the others are checked against them). A source with a whole-file
problem stops with one message and feeds nothing; its contract table is still created, empty,
so that everything downstream knows the table and reports the gap.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.config import ProjectConfig
from pipelines.contracts import LOAD_ORDER
from pipelines.readers import SourceError, stage_source
from pipelines.validation import SourceOutcome, StagedSource, validate_table

SOURCES_DDL = """
CREATE OR REPLACE TABLE run_sources (
    source VARCHAR, file VARCHAR, sha256 VARCHAR, contract_table VARCHAR, rows_read BIGINT,
    rows_accepted BIGINT, rows_quarantined BIGINT, error VARCHAR)
"""


@dataclass(frozen=True)
class IngestResult:
    """What ingestion did, source by source."""

    outcomes: tuple[SourceOutcome, ...]
    errors: tuple[SourceError, ...]

    @property
    def rows_quarantined(self) -> int:
        return sum(o.rows_quarantined for o in self.outcomes)

    @property
    def clean(self) -> bool:
        return not self.errors and self.rows_quarantined == 0


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def ingest(con: duckdb.DuckDBPyConnection, config: ProjectConfig) -> IngestResult:
    """Stage, validate and load every source; record row accounting in ``run_sources``."""
    con.execute(SOURCES_DDL)
    con.execute("DROP TABLE IF EXISTS quarantine")
    con.execute("DROP TABLE IF EXISTS validation_results")
    outcomes: list[SourceOutcome] = []
    errors: list[SourceError] = []
    for table in LOAD_ORDER:
        staged = []
        for source in (s for s in config.sources if s.table == table):
            path = config.path_of(source)
            try:
                staged.append(StagedSource(source.name, _display(path, config.root), table,
                                           stage_source(con, config, source)))
            except SourceError as error:
                errors.append(error)
                sha = file_sha256(path) if path.is_file() else None
                con.execute("INSERT INTO run_sources VALUES (?, ?, ?, ?, 0, 0, 0, ?)",
                            [source.name, _display(path, config.root), sha, table, error.message])
        for outcome in validate_table(con, table, staged):
            outcomes.append(outcome)
            path = config.path_of(next(s for s in config.sources if s.name == outcome.source))
            con.execute(
                "INSERT INTO run_sources VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                [outcome.source, outcome.file, file_sha256(path), table, outcome.rows_read,
                 outcome.rows_accepted, outcome.rows_quarantined],
            )
        for s in staged:
            con.execute(f"DROP TABLE {s.staging}")
    return IngestResult(tuple(outcomes), tuple(errors))


def _display(path: Path, root: Path) -> str:
    """Paths as the project names them (relative to its configuration file) when possible."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
