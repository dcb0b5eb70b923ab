"""The auditor's bundle, written by every run.

- ``validated/<table>.parquet``: every contract table as loaded (sorted, so bytes are stable);
- ``published/indicator_values.parquet`` and ``indicator_changes.parquet``: the numbers
  published, at full precision;
- ``validation/report.html`` and ``report.json``: what was checked, passed, failed, waived;
- ``project/``: the project file as declared;
- ``manifest.json``: SHA-256 of every input and output file, row counts, versions of LCI,
  Python, DuckDB and Pandera, and the hash of the indicator catalogue.

The run id and time go to ``run.json``, outside what is hashed, so that two runs on the same
inputs produce byte-identical bundles. The warehouse file (``warehouse.duckdb``) is a working
database, not part of the bundle: DuckDB files are not byte-reproducible.
"""

from __future__ import annotations

import json
import platform
import shutil
import uuid
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import duckdb

from indicators.sql import quote_ident
from pipelines.ingest import file_sha256
from pipelines.validating.contracts import LOAD_ORDER, SCHEMAS

MANIFEST = "manifest.json"
RUN_INFO = "run.json"
SQL_FOLDER = "sql"  # under <year>/: the SQL behind each published indicator
UNHASHED = {MANIFEST, RUN_INFO, "warehouse.duckdb", "warehouse.duckdb.wal"}
PUBLISHED = {  # table: the columns its rows are ordered by
    "indicator_values": ("indicator_id", "territory_code", "year", "breakdown"),
    "indicator_changes": ("indicator_id", "territory_code", "year", "breakdown"),
    "composite_scores": ("year", "node", "territory_code"),
    "composite_ranks": ("year", "territory_code"),
}
HISTORY_DDL = """
CREATE TABLE IF NOT EXISTS validation_history (
    run_id VARCHAR, run_at TIMESTAMP, contract_table VARCHAR, check_id VARCHAR,
    severity VARCHAR, rows_checked BIGINT, rows_failed BIGINT, rows_waived BIGINT)
"""


def versions() -> dict[str, str]:
    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "unknown"

    return {"lci": version("lci"), "python": platform.python_version(),
            "duckdb": duckdb.__version__, "pandera": version("pandera")}


def write_tables(con: duckdb.DuckDBPyConnection, out_dir: Path) -> list[Path]:
    """Validated contract tables and published values as Parquet, rows in key order."""
    written = []
    existing = _existing_tables(con)
    for folder, tables in (("validated", {t: _key(t) for t in LOAD_ORDER}),
                           ("published", PUBLISHED)):
        (out_dir / folder).mkdir(parents=True, exist_ok=True)
        for table, order in tables.items():
            if table not in existing:  # e.g. no learning-city index for a tiny project
                continue
            path = out_dir / folder / f"{table}.parquet"
            # Identifiers quoted, the path given as a value: neither is pasted into SQL.
            ordered = ", ".join(quote_ident(c) for c in order)
            con.sql(f"SELECT * FROM {quote_ident(table)} ORDER BY {ordered}").write_parquet(
                str(path), compression="zstd")
            written.append(path)
    return written


def _existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def _key(table: str) -> tuple[str, ...]:
    schema = SCHEMAS[table]
    return tuple(schema.unique or schema.columns)


def record_history(con: duckdb.DuckDBPyConnection, previous: Path | None, run_id: str,
                   run_at: datetime) -> None:
    """Keep every run's check results in the warehouse, carried over from the previous one."""
    con.execute(HISTORY_DDL)
    if previous is not None and previous.is_file():
        con.execute(f"ATTACH '{previous}' AS previous_run (READ_ONLY)")
        try:
            known = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = "
                                "'previous_run' AND table_name = 'validation_history'"
                                ).fetchall()[0][0]
            if known:
                con.execute("INSERT INTO validation_history "
                            "SELECT * FROM previous_run.validation_history")
        finally:
            con.execute("DETACH previous_run")
    con.execute("INSERT INTO validation_history SELECT ?, ?, contract_table, check_id, severity, "
                "rows_checked, rows_failed, rows_waived FROM validation_results",
                [run_id, run_at.replace(tzinfo=None)])


def write_sql(con: duckdb.DuckDBPyConnection, year_dir: Path) -> list[Path]:
    """The SQL behind each published indicator, one file each: ``<year>/sql/<ID>.sql``."""
    sql_dir = year_dir / SQL_FOLDER
    sql_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for indicator_id, script in con.execute(
            "SELECT indicator_id, sql FROM indicator_sql ORDER BY indicator_id").fetchall():
        path = sql_dir / f"{indicator_id}.sql"
        path.write_text(script, encoding="utf-8")
        written.append(path)
    return written


def write_manifest(con: duckdb.DuckDBPyConnection, out_dir: Path, *, catalogue_sha256: str,
                   config_file: Path, year: int, lang: str) -> Path:
    """Hash every file of the bundle and every input; record row counts and versions."""
    inputs = [
        {"source": source, "file": file, "sha256": sha, "table": table, "rows_read": read,
         "rows_accepted": accepted, "rows_quarantined": quarantined, "error": error}
        for source, file, sha, table, read, accepted, quarantined, error in con.execute(
            "SELECT source, file, sha256, contract_table, rows_read, rows_accepted, "
            "rows_quarantined, error FROM run_sources ORDER BY source").fetchall()
    ]
    existing = _existing_tables(con)
    rows = {f"{folder}/{table}.parquet": count for folder, tables in
            (("validated", LOAD_ORDER), ("published", tuple(PUBLISHED)))
            for table in tables if table in existing
            for count in [con.execute(f"SELECT count(*) FROM {quote_ident(table)}")
                          .fetchall()[0][0]]}
    outputs = [
        {"file": path.relative_to(out_dir).as_posix(), "sha256": file_sha256(path),
         "rows": rows.get(path.relative_to(out_dir).as_posix())}
        for path in sorted(p for p in out_dir.rglob("*") if p.is_file()
                           and p.relative_to(out_dir).as_posix() not in UNHASHED)
    ]
    manifest = {
        "lci_manifest": 1,
        "year": year,
        "language": lang,
        "versions": versions(),
        "catalogue_sha256": catalogue_sha256,
        "project_file": config_file.name,
        "inputs": inputs,
        "outputs": outputs,
    }
    path = out_dir / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def write_run_info(out_dir: Path, run_id: str, run_at: datetime, project_root: Path) -> Path:
    """The only per-run facts (id, time, where the inputs were): kept out of the manifest."""
    path = out_dir / RUN_INFO
    path.write_text(json.dumps({"run_id": run_id, "run_at": run_at.isoformat(),
                                "project_root": str(project_root)}, indent=2) + "\n",
                    encoding="utf-8")
    return path


def new_run() -> tuple[str, datetime]:
    return uuid.uuid4().hex, datetime.now(UTC)


def copy_project_file(config_file: Path, out_dir: Path) -> Path:
    target = out_dir / "project" / config_file.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(config_file, target)
    return target
