"""The two bundles every run writes: one to publish, one for auditors only.

``<out>/public/`` — what is published; it holds no respondent-level record:

- ``<year>/report.html`` (and ``report.pdf``), ``<year>/tables/``, ``<year>/profiles/<code>.html``
  (and ``.pdf``), ``<year>/indicators.csv``, ``indicators.xlsx``, ``indicators.sdmx.csv`` and
  ``<year>/sql/<ID>.sql``: the report, the territory profiles, the exports and the SQL behind
  each indicator;
- ``published/indicator_values.parquet``, ``indicator_changes``, ``composite_scores``,
  ``composite_ranks``: the numbers published, at full precision; ``territory_members``: the
  communes each territory aggregates; ``survey_design``: the design of the survey cells;
- ``reference/territories.parquet``, ``territory_groups.parquet``: the territories the report
  names (no respondent in them), so that the report can be re-rendered from the values;
- ``validation/summary.json`` and ``summary.html``: counts of rows read, accepted, quarantined,
  checked, passed, failed and waived — no row, no value;
- ``project/``: the project file as declared;
- ``manifest.json`` (SHA-256 of every file and input, row counts, versions, the catalogue's
  hash), ``manifest.sig`` (its Ed25519 signature) and ``signing-key.pub``.

``<out>/restricted/`` — the auditor's package, under statistical confidentiality:

- ``validated/<table>.parquet``: every contract table as loaded (sorted, so bytes are stable);
- ``quarantine.csv``: every rejected row with its values and raw record;
- ``validation/report.html`` and ``report.json``: the full validation report, failing values
  included;
- its own ``manifest.json`` (naming the SHA-256 of the public manifest), ``manifest.sig`` and
  ``signing-key.pub``.

The run id and time go to ``<out>/run.json``, outside what is hashed, so that two runs on the
same inputs produce byte-identical bundles. The warehouse file (``<out>/warehouse.duckdb``) is a
working database, not part of either bundle: DuckDB files are not byte-reproducible.
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
from pipelines.publishing.signing import (
    PUBLIC_KEY,
    SIGNATURE,
    SigningKey,
    sign_file,
    write_public_key,
)
from pipelines.validating.contracts import LOAD_ORDER, SCHEMAS

PUBLIC = "public"  # <out>/public: the published bundle
RESTRICTED = "restricted"  # <out>/restricted: the auditor's package
MANIFEST = "manifest.json"
RUN_INFO = "run.json"
OUTPUT_MARKER = ".lci-output.json"  # the output folder's marker (see output_folder)
SQL_FOLDER = "sql"  # under <year>/: the SQL behind each published indicator
QUARANTINE = "quarantine.csv"  # under restricted/
VALIDATION = "validation"  # restricted/validation/report.*, public/validation/summary.*
SUMMARY = f"{VALIDATION}/summary.json"
REPORT_JSON = f"{VALIDATION}/report.json"
REPORT_HTML = f"{VALIDATION}/report.html"
REFERENCE = "reference"  # public/reference/<table>.parquet
REFERENCE_TABLES = ("territories", "territory_groups")  # contract tables without respondents
UNHASHED = {MANIFEST, SIGNATURE, RUN_INFO, OUTPUT_MARKER, "warehouse.duckdb",
            "warehouse.duckdb.wal"}
MANIFEST_VERSION = 2
PUBLISHED = {  # table: the columns its rows are ordered by
    "indicator_values": ("indicator_id", "territory_level", "territory_code", "year",
                         "breakdown"),
    "indicator_changes": ("indicator_id", "territory_level", "territory_code", "year",
                          "breakdown"),
    # Each survey cell against the territories containing it: the profiles' gap tests.
    "indicator_gaps": ("indicator_id", "territory_level", "territory_code", "reference_level",
                       "reference_code", "year", "breakdown"),
    # The reliability rules the run judged survey cells by: the report states them.
    "reliability_rules": ("min_df",),
    "territory_levels": ("ordinal",),
    # Which communes each territory aggregates: what every aggregate value is the sum of.
    "territory_members": ("territory_level", "territory_code", "commune_code", "valid_from"),
    "composite_scores": ("year", "node", "territory_code"),
    "composite_ranks": ("year", "territory_code"),
    # Which indicators the data could give and why not: the report lists them.
    "indicator_availability": ("ordinal",),
    # The survey design the published intervals were computed with (column names, options).
    "survey_design": ("table_name",),
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


def write_validated(con: duckdb.DuckDBPyConnection, restricted_dir: Path) -> list[Path]:
    """Every contract table as ``restricted/validated/<table>.parquet``, rows in key order."""
    return _write_parquet(con, restricted_dir / "validated", {t: _key(t) for t in LOAD_ORDER})


def write_published(con: duckdb.DuckDBPyConnection, public_dir: Path) -> list[Path]:
    """Published values as ``public/published/*.parquet`` and the reference tables as
    ``public/reference/*.parquet``, rows in key order."""
    return [*_write_parquet(con, public_dir / "published", PUBLISHED),
            *_write_parquet(con, public_dir / REFERENCE, {t: _key(t) for t in REFERENCE_TABLES})]


def _write_parquet(con: duckdb.DuckDBPyConnection, folder: Path,
                   tables: dict[str, tuple[str, ...]]) -> list[Path]:
    written = []
    existing = _existing_tables(con)
    folder.mkdir(parents=True, exist_ok=True)
    for table, order in tables.items():
        if table not in existing:  # e.g. no learning-city index for a tiny project
            continue
        path = folder / f"{table}.parquet"
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
        con.execute("ATTACH ? AS previous_run (READ_ONLY)", [str(previous)])  # a value
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


def write_public_manifest(con: duckdb.DuckDBPyConnection, public_dir: Path, key: SigningKey,
                          *, catalogue_sha256: str, config_file: Path, year: int,
                          lang: str) -> list[Path]:
    """The public key, the manifest (every file of ``public/`` and every input hashed, row
    counts, versions) and its signature; returns their paths."""
    inputs = [
        {"source": source, "file": file, "sha256": sha, "table": table, "rows_read": read,
         "rows_accepted": accepted, "rows_quarantined": quarantined, "error": error}
        for source, file, sha, table, read, accepted, quarantined, error in con.execute(
            "SELECT source, file, sha256, contract_table, rows_read, rows_accepted, "
            "rows_quarantined, error FROM run_sources ORDER BY source").fetchall()
    ]
    rows = _row_counts(con, (("published", tuple(PUBLISHED)), (REFERENCE, REFERENCE_TABLES)))
    return _write_signed(public_dir, key, rows, {
        "lci_manifest": MANIFEST_VERSION,
        "bundle": PUBLIC,
        "year": year,
        "language": lang,
        "versions": versions(),
        "catalogue_sha256": catalogue_sha256,
        "project_file": config_file.name,
        "inputs": inputs,
    })


def write_restricted_manifest(con: duckdb.DuckDBPyConnection, restricted_dir: Path,
                              key: SigningKey, *, public_manifest: Path, year: int,
                              lang: str) -> list[Path]:
    """The restricted bundle's public key, manifest (naming the public manifest's SHA-256)
    and signature; returns their paths."""
    rows = _row_counts(con, (("validated", LOAD_ORDER),))
    return _write_signed(restricted_dir, key, rows, {
        "lci_manifest": MANIFEST_VERSION,
        "bundle": RESTRICTED,
        "year": year,
        "language": lang,
        "versions": versions(),
        "public_manifest_sha256": file_sha256(public_manifest),
    })


def _row_counts(con: duckdb.DuckDBPyConnection,
                folders: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, int]:
    existing = _existing_tables(con)
    return {f"{folder}/{table}.parquet": count for folder, tables in folders
            for table in tables if table in existing
            for count in [con.execute(f"SELECT count(*) FROM {quote_ident(table)}")
                          .fetchall()[0][0]]}


def _write_signed(bundle_dir: Path, key: SigningKey, rows: dict[str, int],
                  head: dict) -> list[Path]:
    public_key = write_public_key(bundle_dir, key)
    outputs = [
        {"file": path.relative_to(bundle_dir).as_posix(), "sha256": file_sha256(path),
         "rows": rows.get(path.relative_to(bundle_dir).as_posix())}
        for path in sorted(p for p in bundle_dir.rglob("*") if p.is_file()
                           and p.relative_to(bundle_dir).as_posix() not in UNHASHED)
    ]
    manifest = {**head, "signing_key": {"file": PUBLIC_KEY, "fingerprint": key.fingerprint},
                "outputs": outputs}
    path = bundle_dir / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return [public_key, path, sign_file(path, key)]


def write_run_info(out_dir: Path, run_id: str, run_at: datetime, project_root: Path) -> Path:
    """The only per-run facts (id, time, where the inputs were): kept out of the manifest."""
    path = out_dir / RUN_INFO
    path.write_text(json.dumps({"run_id": run_id, "run_at": run_at.isoformat(),
                                "project_root": str(project_root)}, indent=2) + "\n",
                    encoding="utf-8")
    return path


def new_run() -> tuple[str, datetime]:
    return uuid.uuid4().hex, datetime.now(UTC)


def copy_project_file(config_file: Path, out_dir: Path,
                      indicator_files: tuple[Path, ...] = ()) -> list[Path]:
    """The project file, and the indicator files it names (at the same relative paths, which
    the project's catalogue checked stay inside its folder): what the run's definitions were,
    so that an auditor rebuilds the same catalogue from the bundle."""
    written = []
    for source, relative in ((config_file, Path(config_file.name)),
                             *((config_file.parent / f, Path(f)) for f in indicator_files)):
        target = out_dir / "project" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        written.append(target)
    return written
