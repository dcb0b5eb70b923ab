"""``lci audit``: re-verify a published bundle, years later, without trusting the run that made it.

1. every file listed in ``manifest.json`` exists with the same SHA-256, and nothing was added;
2. every input file still has the SHA-256 recorded (when the project folder is at hand);
3. every validated table is re-validated against its Pandera schema by Pandera itself (its
   Polars backend, data checks included — a LazyFrame is otherwise checked for schema only),
   independently of the SQL compilation used during the run; failures recorded as waived in
   the validation report are accepted, no more and no fewer;
4. the indicators are recomputed from the validated tables and compared with the published
   values, and each ``<year>/sql/<ID>.sql`` is compared, byte for byte, with the SQL the
   recomputation ran.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandera.polars as pa
import polars as pl
import yaml
from pandera.config import ValidationDepth, config_context

from indicators import compute_indicator_values, load_catalogue
from pipelines.ingest import file_sha256
from pipelines.publishing.bundle import MANIFEST, RUN_INFO, SQL_FOLDER, UNHASHED
from pipelines.validating.contracts import LOAD_ORDER, SCHEMAS

COMPARED = ("value", "numerator", "denominator", "se", "ci_low", "ci_high")
RELATIVE_TOLERANCE = 1e-9
PANDERA_CHECK_IDS = {"not_nullable": "required", "multiple_fields_uniqueness": "unique"}


@dataclass(frozen=True)
class Finding:
    """One verified fact; ``ok`` False names a mismatch."""

    step: str
    subject: str
    ok: bool
    detail: str


class AuditError(Exception):
    """The folder is not a bundle that can be audited (no readable manifest)."""


def audit(out_dir: Path, project_dir: Path | None = None) -> list[Finding]:
    """Every finding of the four steps above, in order."""
    manifest_path = out_dir / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise AuditError(f"{manifest_path}: not a readable LCI manifest ({error})") from None
    findings = _check_outputs(out_dir, manifest)
    findings += _check_inputs(out_dir, manifest, project_dir)
    waived = _waived_counts(out_dir)
    findings += [_revalidate(out_dir, table, manifest, waived) for table in LOAD_ORDER]
    findings += _recompute(out_dir, manifest)
    return findings


def _check_outputs(out_dir: Path, manifest: dict) -> list[Finding]:
    findings = []
    listed = {entry["file"] for entry in manifest["outputs"]}
    for entry in manifest["outputs"]:
        path = out_dir / entry["file"]
        if not path.is_file():
            findings.append(Finding("hash", entry["file"], False, "file is missing"))
            continue
        actual = file_sha256(path)
        findings.append(Finding("hash", entry["file"], actual == entry["sha256"],
                                "SHA-256 matches" if actual == entry["sha256"] else
                                f"SHA-256 is {actual[:12]}…, manifest says "
                                f"{entry['sha256'][:12]}…"))
    for path in sorted(p for p in out_dir.rglob("*") if p.is_file()):
        name = path.relative_to(out_dir).as_posix()
        if name not in listed and name not in UNHASHED:
            findings.append(Finding("hash", name, False, "file is not in the manifest"))
    return findings


def _check_inputs(out_dir: Path, manifest: dict, project_dir: Path | None) -> list[Finding]:
    if project_dir is None:
        try:
            info = json.loads((out_dir / RUN_INFO).read_text(encoding="utf-8"))
            project_dir = Path(info["project_root"])
        except (OSError, ValueError, KeyError):
            return [Finding("input", "(project folder)", False,
                            "run.json is missing: give the project folder with --project")]
    findings = []
    for entry in manifest["inputs"]:
        path = project_dir / entry["file"]
        if not path.is_file():
            findings.append(Finding("input", entry["file"], False,
                                    f"not found under {project_dir} (use --project)"))
            continue
        actual = file_sha256(path)
        findings.append(Finding("input", entry["file"], actual == entry["sha256"],
                                "SHA-256 matches" if actual == entry["sha256"] else
                                "the file changed since the run"))
    return findings


def _waived_counts(out_dir: Path) -> dict[str, int]:
    """Failures accepted by a waiver during the run, per check id."""
    path = out_dir / "validation" / "report.json"
    facts = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return {c["check_id"]: c["rows_waived"] for c in facts.get("checks", []) if c["rows_waived"]}


def _revalidate(out_dir: Path, table: str, manifest: dict, waived: dict[str, int]) -> Finding:
    name = f"validated/{table}.parquet"
    path = out_dir / name
    if not path.is_file():
        return Finding("schema", name, False, "file is missing")
    expected_rows = next((e["rows"] for e in manifest["outputs"] if e["file"] == name), None)
    frame = pl.scan_parquet(path)
    rows = frame.select(pl.len()).collect().item()
    if expected_rows is not None and rows != expected_rows:
        return Finding("schema", name, False, f"{rows} rows, manifest says {expected_rows}")
    schema = SCHEMAS[table]
    with config_context(validation_depth=ValidationDepth.SCHEMA_AND_DATA):
        try:
            schema.validate(frame, lazy=True)
            failures: dict[str, int] = {}
        except pa.errors.SchemaErrors as error:
            failures = _failure_counts(table, schema, error.failure_cases)
    unexpected = {c: n for c, n in failures.items() if waived.get(c, 0) != n}
    if unexpected:
        listed = ", ".join(f"{c} ({n} rows)" for c, n in sorted(unexpected.items()))
        return Finding("schema", name, False, f"fails {listed}")
    accepted = f", {sum(failures.values())} waived failure(s) as recorded" if failures else ""
    return Finding("schema", name, True, f"{rows:,} rows pass the Pandera schema{accepted}")


def _failure_counts(table: str, schema: pa.DataFrameSchema, cases: pl.DataFrame) -> dict[str, int]:
    """Pandera's failure cases, counted per check id as the run names them."""
    names = {(column, str(check.error)): check.name
             for column, spec in schema.columns.items() for check in spec.checks}
    counts: dict[str, int] = {}
    for column, check, n in cases.group_by(["column", "check"]).len().iter_rows():
        if check in PANDERA_CHECK_IDS:
            suffix = PANDERA_CHECK_IDS[check]
            check_id = f"{table}.unique" if suffix == "unique" else f"{table}.{column}.{suffix}"
        elif check.startswith("dtype("):
            check_id = f"{table}.{column}.type"
        else:
            check_id = f"{table}.{column}.{names.get((column, check), check)}"
        counts[check_id] = counts.get(check_id, 0) + n
    return counts


def _recompute(out_dir: Path, manifest: dict) -> list[Finding]:
    catalogue = load_catalogue()
    findings = [Finding("indicators", "catalogue", catalogue.sha256 == manifest["catalogue_sha256"],
                        "same indicator definitions" if catalogue.sha256 ==
                        manifest["catalogue_sha256"] else "the catalogue changed since the run")]
    published = out_dir / "published" / "indicator_values.parquet"
    if not published.is_file():
        return [*findings, Finding("indicators", "published values", False, "file is missing")]
    con = duckdb.connect()
    try:
        for table in LOAD_ORDER:
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet(?)",
                        [str(out_dir / "validated" / f"{table}.parquet")])
        compute_indicator_values(con, catalogue, _lonely_psu(out_dir))
        mismatches = _compare(con, published)
        findings += _check_sql(con, out_dir / str(manifest["year"]) / SQL_FOLDER)
    except duckdb.Error as error:
        return [*findings, Finding("indicators", "recomputation", False, str(error))]
    finally:
        con.close()
    if mismatches:
        return [*findings, *(Finding("indicators", m[0], False, m[1]) for m in mismatches[:50])]
    return [*findings, Finding("indicators", "indicator_values", True,
                               "recomputed values match the published ones")]


def _check_sql(con: duckdb.DuckDBPyConnection, sql_dir: Path) -> list[Finding]:
    """Each published SQL file is the statement the recomputation ran, byte for byte."""
    findings = []
    expected = dict(con.execute("SELECT indicator_id, sql FROM indicator_sql").fetchall())
    for indicator_id, script in sorted(expected.items()):
        name = f"{sql_dir.parent.name}/{SQL_FOLDER}/{indicator_id}.sql"
        path = sql_dir / f"{indicator_id}.sql"
        if not path.is_file():
            findings.append(Finding("sql", name, False, "file is missing"))
        elif path.read_text(encoding="utf-8") != script:
            findings.append(Finding("sql", name, False,
                                    "differs from the SQL the recomputation ran"))
        else:
            findings.append(Finding("sql", name, True, "the SQL the recomputation ran"))
    known = {f"{i}.sql" for i in expected}
    findings += [Finding("sql", f"{sql_dir.parent.name}/{SQL_FOLDER}/{p.name}", False,
                         "no indicator of the catalogue has this SQL")
                 for p in sorted(sql_dir.glob("*.sql")) if p.name not in known]
    return findings


def _lonely_psu(out_dir: Path) -> str:
    """The run's rule for single-PSU strata, from the project file kept in the bundle."""
    for path in sorted((out_dir / "project").glob("*.y*ml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return (raw.get("validation") or {}).get("lonely_psu", "fail")
    return "fail"


def _compare(con: duckdb.DuckDBPyConnection, published: Path) -> list[tuple[str, str]]:
    key = ["indicator_id", "territory_code", "year", "breakdown"]
    columns = [*COMPARED, "n_unweighted", "status"]
    rows = con.execute(f"""
        SELECT {', '.join(f'coalesce(a.{k}, b.{k})' for k in key)},
               a.indicator_id IS NULL, b.indicator_id IS NULL,
               {', '.join(f'a.{c}, b.{c}' for c in columns)}
        FROM read_parquet(?) a FULL JOIN indicator_values b USING ({', '.join(key)})
        ORDER BY ALL""", [str(published)]).fetchall()
    mismatches = []
    for row in rows:
        subject = "/".join(str(v) for v in row[:4])
        only_recomputed, only_published = row[4], row[5]
        if only_recomputed or only_published:
            mismatches.append((subject, "only in the recomputation" if only_recomputed
                               else "published but not recomputed"))
            continue
        pairs = row[6:]
        for n, column in enumerate(columns):
            old, new = pairs[2 * n], pairs[2 * n + 1]
            if not _same(old, new):
                mismatches.append((subject, f"{column}: published {old}, recomputed {new}"))
    return mismatches


def _same(old: object, new: object) -> bool:
    if old is None or new is None:
        return old is None and new is None
    if isinstance(old, float) and isinstance(new, float):
        return math.isclose(old, new, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-12)
    return old == new
