"""``lci audit``: re-verify the bundles, years later, without trusting the run that made them.

A manifest can be rewritten along with the file it hashes, so nothing rests on the manifest
alone: it is signed, and every published number that can be derived again is derived again.

**The public bundle alone** (``<out>/public``, or a copy of it):

1. *signature*: ``manifest.sig`` is a valid Ed25519 signature of ``manifest.json``, by the
   publisher's key when the auditor gives it (``public_key`` or ``fingerprint``), else by the
   key shipped in the bundle, whose fingerprint is shown to be compared with the publisher's;
2. *hash*: every file listed has its SHA-256, nothing was added, and the files every bundle
   holds are there whatever the manifest says;
3. *input*: every input file still has its SHA-256 (when the project folder is at hand:
   ``project_dir``, else the one ``run.json`` names; without either, not checked);
4. *published*: the indicator changes are recomputed from ``indicator_values``, the
   learning-city index (scores and ranks) from the same values, the survey design from the
   project file, and the report, its domain tables, the CSV and the workbook are re-rendered
   from them and compared byte for byte (the writers are deterministic); the validation
   summary agrees with the manifest's row counts.

**With the restricted bundle** (``<out>/restricted``, or ``restricted=``), also:

5. *schema*: every validated table passes its Pandera schema again (its Polars backend, data
   checks included), failures recorded as waived accepted in their number only;
6. *indicators* and *sql*: the indicators are recomputed from the validated tables and
   compared with the published values, each ``<year>/sql/<ID>.sql`` with the SQL the
   recomputation ran;
7. *accounting*: ``quarantine.csv`` holds, per source, the rows the manifest says were
   quarantined, and per check the rows the summary says failed; the validated tables hold the
   rows accepted; rows read = accepted + quarantined; the full validation report is there and
   agrees with the public summary; the public reference tables are the validated ones; the
   restricted manifest names the public manifest's SHA-256.

The report is re-rendered by a ``render`` function given by the caller (the command line
passes the report writers): this layer does not import ``reports``. Without it, the report
check is a failure, never silently skipped.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import duckdb
import pandera.polars as pa
import polars as pl
import yaml
from pandera.config import ValidationDepth, config_context

from indicators import (
    Catalogue,
    CompositeError,
    compute_indicator_values,
    compute_learning_city_index,
    load_catalogue,
)
from indicators.catalogue import CatalogueError
from indicators.catalogue.project import read_project_catalogue
from indicators.compute.calibration import CalibrationRules
from indicators.compute.options import ComputeOptions, ReliabilityRules
from indicators.compute.publication import (
    SIGNIFICANT_DIGITS_SQL,
    compute_changes,
)
from indicators.learning_index import Screening
from indicators.sql import quote_ident
from indicators.survey.recorded import DESIGN_TABLE, record_design, responses_design
from pipelines.config import (
    CalibrationSettings,
    IndexSettings,
    project_contracts,
    project_reliability,
)
from pipelines.ingest import file_sha256
from pipelines.publishing.bundle import (
    MANIFEST,
    PUBLIC,
    PUBLISHED,
    QUARANTINE,
    REFERENCE,
    REFERENCE_TABLES,
    REPORT_HTML,
    REPORT_JSON,
    RESTRICTED,
    RUN_INFO,
    SQL_FOLDER,
    SUMMARY,
)
from pipelines.publishing.publication import Publication
from pipelines.publishing.signing import (
    PUBLIC_KEY,
    SIGNATURE,
    SigningError,
    fingerprint,
    load_public_key,
    verify_file,
)
from pipelines.validating.contracts import LOAD_ORDER, Contracts

COMPARED = ("value", "numerator", "denominator", "se", "ci_low", "ci_high")
RELATIVE_TOLERANCE = 1e-9
PANDERA_CHECK_IDS = {"not_nullable": "required", "multiple_fields_uniqueness": "unique"}
SHOWN_MISMATCHES = 50
BUNDLE_UNLISTED = {MANIFEST, SIGNATURE}  # at a bundle's top: all else a manifest lists
STEPS = {"signature": "Signatures", "hash": "Bundle files", "input": "Input files",
         "published": "Published values re-derived", "schema": "Validated tables",
         "indicators": "Indicators recomputed", "sql": "SQL of each indicator",
         "accounting": "Row accounting and validation report"}

Render = Callable[[duckdb.DuckDBPyConnection, Catalogue, int, str, Path, Publication],
                  list[Path]]
"""``render(con, catalogue, year, lang, year_dir, publication)`` writes the publication of
``year`` (report, tables, profiles, PDFs, exports) into ``year_dir`` from ``con`` and returns
the paths (``pipelines.publishing.publication.write_publication``)."""


@dataclass(frozen=True)
class Finding:
    """One verified fact; ``ok`` False names a mismatch."""

    step: str
    subject: str
    ok: bool
    detail: str


class AuditError(Exception):
    """The folder is not a bundle that can be audited (no readable manifest)."""


@dataclass(frozen=True)
class Bundle:
    """One bundle: its folder, the name findings give it, and its manifest."""

    path: Path
    name: str
    manifest: dict

    def subject(self, relative: str) -> str:
        return f"{self.name}/{relative}"


@dataclass(frozen=True)
class Bundles:
    public: Bundle
    restricted: Bundle | None
    top: Path | None  # the output folder holding run.json, when at hand


def locate(out_dir: Path, restricted: Path | None = None) -> Bundles:
    """The public bundle (and the restricted one, when present or given) of ``out_dir``,
    which is an output folder of ``lci run`` or a public bundle on its own."""
    if (out_dir / PUBLIC / MANIFEST).is_file():
        public_dir, top = out_dir / PUBLIC, out_dir
        if restricted is None and (out_dir / RESTRICTED).is_dir():
            restricted = out_dir / RESTRICTED
    else:
        public_dir = out_dir
        top = out_dir.parent if (out_dir.parent / RUN_INFO).is_file() else None
    public = _bundle(public_dir, PUBLIC)
    return Bundles(public, _bundle(restricted, RESTRICTED) if restricted else None, top)


def _bundle(folder: Path, kind: str) -> Bundle:
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise AuditError(f"{path}: not a readable LCI manifest ({error})") from None
    if not isinstance(manifest, dict) or not manifest.get("lci_manifest"):
        raise AuditError(f"{path}: not an LCI manifest")
    if manifest.get("bundle") != kind:
        found = manifest.get("bundle") or "a bundle of an LCI version before public and "\
                                          "restricted bundles"
        raise AuditError(f"{path}: expected the {kind} bundle, found {found}"
                         + (" (give the output folder, or the public bundle with "
                            "--restricted)" if found == RESTRICTED else ""))
    name = folder.name if folder.name in (PUBLIC, RESTRICTED) else folder.name or kind
    return Bundle(folder, name, manifest)


def audit(out_dir: Path, project_dir: Path | None = None, *, restricted: Path | None = None,
          public_key: Path | None = None, key_fingerprint: str | None = None,
          render: Render | None = None) -> list[Finding]:
    """Every finding of the steps above, in order (the restricted steps when it is present)."""
    bundles = locate(out_dir, restricted)
    public, private = bundles.public, bundles.restricted
    trusted = _trusted_fingerprint(public_key, key_fingerprint)
    catalogue, problem = _catalogue(public)
    findings = _check_signature(public, trusted)
    if problem is not None:
        findings.append(problem)
    if private is not None:
        findings += _check_signature(private, trusted)
        findings += _same_key(public, private)
    findings += _check_outputs(public, _required_public(public.manifest))
    if private is not None:
        findings += _check_outputs(private, _required_restricted())
    findings += _check_inputs(public, bundles.top, project_dir)
    findings += _rederive(public, catalogue, render)
    if private is None:
        return findings
    waived = _waived_counts(private)
    contracts = _contracts(public)
    findings += [_revalidate(private, table, waived, contracts) for table in LOAD_ORDER]
    findings += _recompute(public, private, catalogue)
    findings += _accounting(public, private)
    return findings


def shipped_fingerprint(out_dir: Path) -> str | None:
    """The fingerprint of the key shipped in the public bundle of ``out_dir`` (None if none)."""
    try:
        folder = locate(out_dir).public.path
        return fingerprint(load_public_key(folder / PUBLIC_KEY))
    except (AuditError, SigningError):
        return None


# --- signatures ---------------------------------------------------------------------------

def _trusted_fingerprint(public_key: Path | None, key_fingerprint: str | None) -> str | None:
    """The fingerprint of the key the auditor got from the publisher, if any."""
    if public_key is not None:
        try:
            return fingerprint(load_public_key(public_key))
        except SigningError as error:
            raise AuditError(str(error)) from None
    if key_fingerprint is not None:
        cleaned = re.sub(r"[\s:]", "", key_fingerprint).lower()
        if not re.fullmatch(r"[0-9a-f]{64}", cleaned):
            raise AuditError(f"{key_fingerprint!r} is not a fingerprint (64 hexadecimal digits)")
        return cleaned
    return None


def _check_signature(bundle: Bundle, trusted: str | None) -> list[Finding]:
    subject = bundle.subject(MANIFEST)
    try:
        key = load_public_key(bundle.path / PUBLIC_KEY)
    except SigningError as error:
        return [Finding("signature", bundle.subject(PUBLIC_KEY), False, str(error))]
    shipped = fingerprint(key)
    findings = []
    declared = (bundle.manifest.get("signing_key") or {}).get("fingerprint")
    if declared != shipped:
        findings.append(Finding("signature", subject, False,
                                f"names the key {declared}, the bundle ships {shipped}"))
    if trusted is not None and shipped != trusted:
        findings.append(Finding("signature", bundle.subject(PUBLIC_KEY), False,
                                f"not the publisher's key: fingerprint {shipped}, expected "
                                f"{trusted}"))
        return findings  # whatever it signed, it is not the publisher's signature
    if not verify_file(bundle.path / MANIFEST, bundle.path / SIGNATURE, key):
        findings.append(Finding("signature", subject, False,
                                f"{SIGNATURE} is not a valid signature of {MANIFEST} by the key "
                                f"{shipped}: the manifest was changed after signing"))
    elif trusted is not None:
        findings.append(Finding("signature", subject, True,
                                f"signed by the publisher's key {shipped}"))
    else:
        findings.append(Finding("signature", subject, True,
                                f"valid for the key shipped in the bundle, fingerprint "
                                f"{shipped}: compare it with the publisher's (or audit with "
                                f"--public-key or --fingerprint)"))
    return findings


def _same_key(public: Bundle, restricted: Bundle) -> list[Finding]:
    keys = [(b.manifest.get("signing_key") or {}).get("fingerprint") for b in (public, restricted)]
    findings = []
    if keys[0] != keys[1]:
        findings.append(Finding("signature", restricted.subject(MANIFEST), False,
                                f"signed by {keys[1]}, the public bundle by {keys[0]}"))
    expected = restricted.manifest.get("public_manifest_sha256")
    actual = file_sha256(public.path / MANIFEST)
    findings.append(Finding("signature", restricted.subject(MANIFEST), expected == actual,
                            "names the public manifest's SHA-256" if expected == actual else
                            f"names the public manifest {str(expected)[:12]}…, which is "
                            f"{actual[:12]}…: the two bundles are not of the same run"))
    return findings


# --- files --------------------------------------------------------------------------------

def _required_public(manifest: dict) -> list[str]:
    year = manifest.get("year")
    return [PUBLIC_KEY, SUMMARY, "published/indicator_values.parquet",
            "published/indicator_changes.parquet", f"{year}/report.html",
            f"{year}/indicators.csv", f"{year}/indicators.xlsx", f"{year}/indicators.sdmx.csv",
            f"project/{manifest.get('project_file')}"]


def _required_restricted() -> list[str]:
    return [PUBLIC_KEY, QUARANTINE, REPORT_HTML, REPORT_JSON,
            *(f"validated/{t}.parquet" for t in LOAD_ORDER)]


def _check_outputs(bundle: Bundle, required: list[str]) -> list[Finding]:
    findings = []
    outputs = bundle.manifest.get("outputs", [])
    listed = {entry["file"] for entry in outputs}
    for name in required:
        if name not in listed or not (bundle.path / name).is_file():
            findings.append(Finding("hash", bundle.subject(name), False,
                                    "file is missing: every bundle holds it"
                                    if not (bundle.path / name).is_file()
                                    else "file is not in the manifest: every bundle lists it"))
    for entry in outputs:
        path = bundle.path / entry["file"]
        link = _symlink_on(bundle.path, entry["file"])
        if link is not None:
            findings.append(Finding("hash", bundle.subject(entry["file"]), False,
                                    f"{link} is a symbolic link: not followed"))
            continue
        if not path.is_file():
            findings.append(Finding("hash", bundle.subject(entry["file"]), False,
                                    "file is missing"))
            continue
        actual = file_sha256(path)
        findings.append(Finding("hash", bundle.subject(entry["file"]), actual == entry["sha256"],
                                "SHA-256 matches" if actual == entry["sha256"] else
                                f"SHA-256 is {actual[:12]}…, manifest says "
                                f"{entry['sha256'][:12]}…"))
    return findings + _unlisted(bundle, listed)


def _unlisted(bundle: Bundle, listed: set[str]) -> list[Finding]:
    """Whatever the bundle holds that its manifest does not list: a file (only the manifest
    and its signature go unlisted, at the top of the bundle; the top-level names of the output
    folder, such as the warehouse, are not exempt inside it), a symbolic link (never
    followed) or a folder holding no listed file."""
    holding = {parent.as_posix() for name in listed for parent in PurePosixPath(name).parents}
    findings = []
    for name, kind in _entries(bundle.path):
        if kind == "link":
            if name not in listed:  # a listed one is named by the hash check
                findings.append(Finding("hash", bundle.subject(name), False,
                                        "symbolic link (not followed) is not in the "
                                        "manifest"))
        elif kind == "folder":
            if name not in holding:
                findings.append(Finding("hash", bundle.subject(f"{name}/"), False,
                                        "folder is not in the manifest: it holds no listed "
                                        "file"))
        elif kind == "unreadable":
            findings.append(Finding("hash", bundle.subject(f"{name}/"), False,
                                    "folder cannot be read: its files cannot be checked "
                                    "against the manifest"))
        elif name not in listed and name not in BUNDLE_UNLISTED:
            findings.append(Finding("hash", bundle.subject(name), False,
                                    "file is not in the manifest"))
    return findings


def _entries(root: Path) -> list[tuple[str, str]]:
    """Every entry under ``root`` (its path relative to it, and "file", "folder", "link" or
    "unreadable"), sorted; symbolic links are listed, never followed."""
    found = []
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as scan:
                entries = list(scan)
        except OSError:
            found.append((folder.relative_to(root).as_posix(), "unreadable"))
            continue
        for entry in entries:
            path = Path(entry.path)
            name = path.relative_to(root).as_posix()
            if entry.is_symlink():
                found.append((name, "link"))
            elif entry.is_dir(follow_symlinks=False):
                found.append((name, "folder"))
                pending.append(path)
            else:
                found.append((name, "file"))
    return sorted(found)


def _symlink_on(root: Path, name: str) -> str | None:
    """The first part of ``root/name`` (``name`` itself or a folder on its way) that is a
    symbolic link, relative to ``root``; None when there is none."""
    parts = PurePosixPath(name).parts
    for n in range(1, len(parts) + 1):
        if (root.joinpath(*parts[:n])).is_symlink():
            return "/".join(parts[:n])
    return None


def _check_inputs(public: Bundle, top: Path | None, project_dir: Path | None) -> list[Finding]:
    if project_dir is None:
        try:
            info = json.loads(((top or public.path.parent) / RUN_INFO).read_text(
                encoding="utf-8"))
            project_dir = Path(info["project_root"])
        except (OSError, ValueError, KeyError, TypeError):
            return []  # no project folder at hand (e.g. a public bundle alone): not checked
    findings = []
    for entry in public.manifest.get("inputs", []):
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


# --- the public bundle: what its own values give ------------------------------------------

def _rederive(public: Bundle, catalogue: Catalogue, render: Render | None) -> list[Finding]:
    """Changes, index, report and exports derived again from the published values."""
    manifest = public.manifest
    year, lang = int(manifest["year"]), str(manifest["language"])
    values = public.path / "published" / "indicator_values.parquet"
    if not values.is_file():
        return [Finding("published", public.subject("published/indicator_values.parquet"),
                        False, "file is missing: nothing can be re-derived")]
    findings = [Finding("published", public.subject(SUMMARY), *_summary_agrees(public))]
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE indicator_values AS SELECT * FROM read_parquet(?)",
                    [str(values)])
        # The report and the profiles show them.
        for table in ("territory_levels", "territory_members", "indicator_availability",
                      "indicator_gaps", "reliability_rules"):
            path = public.path / "published" / f"{table}.parquet"
            if path.is_file():
                con.execute(f"CREATE TABLE {quote_ident(table)} AS SELECT * FROM read_parquet(?)",
                            [str(path)])
        for table in REFERENCE_TABLES:
            path = public.path / REFERENCE / f"{table}.parquet"
            if path.is_file():
                con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet(?)", [str(path)])
        findings += _rederive_changes(con, public, catalogue)
        findings += _rederive_design(con, public)
        findings += _rederive_index(con, public, catalogue, year)
        findings += _rerender(con, public, catalogue, year, lang, render)
    except duckdb.Error as error:
        findings.append(Finding("published", public.subject("published"), False,
                                f"cannot be read: {str(error).splitlines()[0]}"))
    finally:
        con.close()
    return findings


def _summary_agrees(public: Bundle) -> tuple[bool, str]:
    """The validation summary's row counts are the manifest's, and add up."""
    try:
        summary = json.loads((public.path / SUMMARY).read_text(encoding="utf-8"))
        sources = {s["source"]: s for s in summary["sources"]}
    except (OSError, ValueError, KeyError, TypeError):
        return False, "missing or unreadable"
    inputs = {i["source"]: i for i in public.manifest.get("inputs", [])}
    if set(sources) != set(inputs):
        return False, f"sources {sorted(sources)}, manifest says {sorted(inputs)}"
    for name, source in sorted(sources.items()):
        counts = ("rows_read", "rows_accepted", "rows_quarantined")
        if any(source[c] != inputs[name][c] for c in counts):
            return False, (f"{name}: rows read, accepted, quarantined "
                           f"{[source[c] for c in counts]}, manifest says "
                           f"{[inputs[name][c] for c in counts]}")
        if source["rows_read"] != source["rows_accepted"] + source["rows_quarantined"]:
            return False, f"{name}: rows read ≠ rows accepted + rows quarantined"
    return True, "row counts are the manifest's and add up"


def _rederive_changes(con: duckdb.DuckDBPyConnection, public: Bundle,
                      catalogue: Catalogue) -> list[Finding]:
    name = "published/indicator_changes.parquet"
    path = public.path / name
    if not path.is_file():
        return [Finding("published", public.subject(name), False, "file is missing")]
    con.execute(SIGNIFICANT_DIGITS_SQL)
    con.execute("CREATE OR REPLACE TEMP TABLE _indicator_meta "
                "(indicator_id VARCHAR, ordinal INTEGER)")
    con.executemany("INSERT INTO _indicator_meta VALUES (?, ?)",
                    [(i.id, n) for n, i in enumerate(catalogue)])
    # The survey cells' covariance and degrees of freedom rest on the microdata: taken as
    # published, while change, standard error and significance are derived again from them.
    con.execute("CREATE OR REPLACE TEMP TABLE _change_terms AS SELECT indicator_id, "
                "territory_code, territory_level, breakdown, year, previous_year, covariance, "
                "df_change AS df FROM read_parquet($path) WHERE df_change IS NOT NULL",
                {"path": str(path)})
    compute_changes(con)
    mismatches = _differences(con, "indicator_changes", path,
                              ("indicator_id", "territory_level", "territory_code", "breakdown",
                               "year"),
                              ("previous_year", "change", "se_change", "significant",
                               "covariance", "df_change"))
    return _verdict("published", public.subject(name), mismatches,
                    "the changes between years recomputed from indicator_values")


def _rederive_design(con: duckdb.DuckDBPyConnection, public: Bundle) -> list[Finding]:
    """The recorded survey design is the one the project file gives (its single-PSU rule)."""
    name = f"published/{DESIGN_TABLE}.parquet"
    path = public.path / name
    if not path.is_file():
        return []  # a run before designs were recorded; a removed file fails its hash
    record_design(con, responses_design(_lonely_psu(public)))
    mismatches = _differences(con, DESIGN_TABLE, path, PUBLISHED[DESIGN_TABLE],
                              ("weights", "strata", "psu", "strata_within", "lonely_psu"))
    return _verdict("published", public.subject(name), mismatches,
                    "the survey design the project file gives")


def _rederive_index(con: duckdb.DuckDBPyConnection, public: Bundle, catalogue: Catalogue,
                    year: int) -> list[Finding]:
    published = {t: public.path / "published" / f"{t}.parquet"
                 for t in ("composite_scores", "composite_ranks")}
    settings = _index_settings(public)
    try:
        compute_learning_city_index(
            con, catalogue, year, draws=settings.draws,
            screening=Screening(min_unit_share=settings.min_indicator_share_per_unit,
                                min_domain_share=settings.min_indicator_share_per_domain))
    except CompositeError as error:
        present = [t for t, p in published.items() if p.is_file()]
        return [Finding("published", public.subject(f"published/{t}.parquet"), False,
                        f"published, but the values give no index: {error}") for t in present]
    findings = []
    keys = {"composite_scores": PUBLISHED["composite_scores"],
            "composite_ranks": PUBLISHED["composite_ranks"]}
    columns = {"composite_scores": ("level", "score", "imputed"),
               "composite_ranks": ("rank", "median_rank", "rank_p05", "rank_p95")}
    for table, path in published.items():
        subject = public.subject(f"published/{table}.parquet")
        if not path.is_file():
            findings.append(Finding("published", subject, False,
                                    "file is missing, but the values give an index"))
            continue
        mismatches = _differences(con, table, path, keys[table], columns[table])
        findings += _verdict("published", subject, mismatches,
                             "the learning-city index recomputed from indicator_values")
    return findings


def _index_settings(public: Bundle) -> IndexSettings:
    """The index's screening and draws, from the project file kept in the bundle."""
    path = public.path / "project" / str(public.manifest.get("project_file"))
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return IndexSettings.model_validate(raw.get("index") or {})
    except (OSError, ValueError, AttributeError):
        return IndexSettings()


def _rerender(con: duckdb.DuckDBPyConnection, public: Bundle, catalogue: Catalogue, year: int,
              lang: str, render: Render | None) -> list[Finding]:
    """The report, its tables and the exports, rendered again and compared byte for byte."""
    year_dir = public.path / str(year)
    if render is None:
        return [Finding("published", public.subject(f"{year}/report.html"), False,
                        "not re-rendered: the audit was given no report writer")]
    _validation_tables(con, public)
    publication = Publication.from_project_file(
        public.path / "project" / str(public.manifest.get("project_file")))
    with tempfile.TemporaryDirectory(prefix="lci-audit-") as scratch:
        again = Path(scratch) / str(year)
        try:
            written = render(con, catalogue, year, lang, again, publication)
        except Exception as error:  # noqa: BLE001 — any failure to render is a finding
            return [Finding("published", public.subject(f"{year}/report.html"), False,
                            f"cannot be re-rendered from the published values: {error}")]
        findings = []
        names = sorted(p.relative_to(again).as_posix() for p in written)
        for name in names:
            subject = public.subject(f"{year}/{name}")
            ours, theirs = again / name, year_dir / name
            if not theirs.is_file():
                findings.append(Finding("published", subject, False, "file is missing"))
            elif ours.read_bytes() != theirs.read_bytes():
                findings.append(Finding("published", subject, False,
                                        "differs from the one re-rendered from the published "
                                        f"values{_first_difference(ours, theirs)}"))
            else:
                findings.append(Finding("published", subject, True,
                                        "identical to the one re-rendered from the published "
                                        "values"))
        rendered = set(names)
        for path in sorted(p for p in year_dir.rglob("*") if p.is_file()):
            name = path.relative_to(year_dir).as_posix()
            if name not in rendered and not name.startswith(f"{SQL_FOLDER}/"):
                findings.append(Finding("published", public.subject(f"{year}/{name}"), False,
                                        "not a file the published values give"))
    return findings


def _first_difference(ours: Path, theirs: Path) -> str:
    try:
        a = ours.read_text(encoding="utf-8").splitlines()
        b = theirs.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        return ""
    for n, (x, y) in enumerate(zip(a, b, strict=False), start=1):
        if x != y:
            start = next((i for i, (c, d) in enumerate(zip(x, y, strict=False)) if c != d),
                         min(len(x), len(y)))
            return (f" (line {n}: published {y[max(0, start - 20):start + 40]!r}, "
                    f"re-rendered {x[max(0, start - 20):start + 40]!r})")
    return f" ({len(b)} lines published, {len(a)} re-rendered)"


def _validation_tables(con: duckdb.DuckDBPyConnection, public: Bundle) -> None:
    """What the report's data-quality section reads, rebuilt from the summary's counts."""
    try:
        summary = json.loads((public.path / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # the report is then rendered without that section, and differs
    con.execute("CREATE OR REPLACE TABLE run_sources (source VARCHAR, rows_read BIGINT, "
                "rows_quarantined BIGINT, rows_flagged BIGINT)")
    sources = [(s["source"], s["rows_read"], s["rows_quarantined"], s["rows_flagged"])
               for s in summary.get("sources", [])]
    if sources:
        con.executemany("INSERT INTO run_sources VALUES (?, ?, ?, ?)", sources)
    con.execute("CREATE OR REPLACE TABLE validation_failures (source VARCHAR, row_number "
                "BIGINT, check_id VARCHAR, waiver VARCHAR, outcome VARCHAR)")
    waived = [(n, w["check_id"], w["waiver"]) for w in summary.get("waived", [])
              for n in range(int(w["rows"]))]
    if waived:
        con.executemany("INSERT INTO validation_failures VALUES ('', ?, ?, ?, 'waived')",
                        waived)


# --- with the restricted bundle -----------------------------------------------------------

def _waived_counts(restricted: Bundle) -> dict[str, int]:
    """Failures accepted by a waiver during the run, per check id."""
    path = restricted.path / REPORT_JSON
    try:
        facts = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except ValueError:
        facts = {}
    return {c["check_id"]: c["rows_waived"] for c in facts.get("checks", []) if c["rows_waived"]}


def _revalidate(restricted: Bundle, table: str, waived: dict[str, int],
                contracts: Contracts) -> Finding:
    name = f"validated/{table}.parquet"
    path = restricted.path / name
    subject = restricted.subject(name)
    if not path.is_file():
        return Finding("schema", subject, False, "file is missing")
    expected_rows = next((e["rows"] for e in restricted.manifest.get("outputs", [])
                          if e["file"] == name), None)
    frame = pl.scan_parquet(path)
    rows = frame.select(pl.len()).collect().item()
    if expected_rows is not None and rows != expected_rows:
        return Finding("schema", subject, False, f"{rows} rows, manifest says {expected_rows}")
    schema = contracts.schemas[table]
    with config_context(validation_depth=ValidationDepth.SCHEMA_AND_DATA):
        try:
            schema.validate(frame, lazy=True)
            failures: dict[str, int] = {}
        except pa.errors.SchemaErrors as error:
            failures = _failure_counts(table, schema, error.failure_cases)
    unexpected = {c: n for c, n in failures.items() if waived.get(c, 0) != n}
    if unexpected:
        listed = ", ".join(f"{c} ({n} rows)" for c, n in sorted(unexpected.items()))
        return Finding("schema", subject, False, f"fails {listed}")
    accepted = f", {sum(failures.values())} waived failure(s) as recorded" if failures else ""
    return Finding("schema", subject, True, f"{rows:,} rows pass the Pandera schema{accepted}")


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


def _recompute(public: Bundle, restricted: Bundle, catalogue: Catalogue) -> list[Finding]:
    findings = [Finding("indicators", "catalogue",
                        catalogue.sha256 == public.manifest.get("catalogue_sha256"),
                        "same indicator definitions" if catalogue.sha256 ==
                        public.manifest.get("catalogue_sha256") else
                        "the catalogue changed since the run")]
    published = public.path / "published" / "indicator_values.parquet"
    if not published.is_file():
        return [*findings, Finding("indicators", public.subject("published/indicator_values"
                                                                ".parquet"), False,
                                   "file is missing")]
    con = duckdb.connect()
    try:
        for table in LOAD_ORDER:
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet(?)",
                        [str(restricted.path / "validated" / f"{table}.parquet")])
        contracts = _contracts(public)
        compute_indicator_values(con, catalogue, territory_model=contracts.territory_model,
                                 options=ComputeOptions(
                                     lonely_psu=_lonely_psu(public),
                                     age_bands=contracts.age_bands,
                                     population_sex=contracts.sex,
                                     reliability=_reliability(public),
                                     panel=_panel_psus(public),
                                     calibration=_calibration(public)))
        mismatches = _compare(con, published)
        findings += _check_sql(con, public, public.path / str(public.manifest["year"]) /
                               SQL_FOLDER)
        sources = _tables_read(con)
    except duckdb.Error as error:
        return [*findings, Finding("indicators", "recomputation", False,
                                   str(error).splitlines()[0])]
    finally:
        con.close()
    if mismatches:
        return [*findings, *(Finding("indicators", subject, False,
                                     f"{detail}, from {_names(restricted, sources, subject)}")
                             for subject, detail in mismatches[:SHOWN_MISMATCHES])]
    return [*findings, Finding("indicators", public.subject("published/indicator_values.parquet"),
                               True, "recomputed from the validated tables: the published "
                                     "values")]


def _tables_read(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """The validated tables each indicator's SQL reads."""
    return {indicator_id: [t for t in LOAD_ORDER
                           if re.search(rf"\b(FROM|JOIN)\s+{t}\b", sql, re.IGNORECASE)]
            for indicator_id, sql in con.execute(
                "SELECT indicator_id, sql FROM indicator_sql").fetchall()}


def _names(restricted: Bundle, sources: dict[str, list[str]], subject: str) -> str:
    tables = sources.get(subject.split("/")[0]) or list(LOAD_ORDER)
    return ", ".join(restricted.subject(f"validated/{t}.parquet") for t in tables)


def _check_sql(con: duckdb.DuckDBPyConnection, public: Bundle, sql_dir: Path) -> list[Finding]:
    """Each published SQL file is the statement the recomputation ran, byte for byte."""
    findings = []
    expected = dict(con.execute("SELECT indicator_id, sql FROM indicator_sql").fetchall())
    for indicator_id, script in sorted(expected.items()):
        name = public.subject(f"{sql_dir.parent.name}/{SQL_FOLDER}/{indicator_id}.sql")
        path = sql_dir / f"{indicator_id}.sql"
        if not path.is_file():
            findings.append(Finding("sql", name, False, "file is missing"))
        elif path.read_text(encoding="utf-8") != script:
            findings.append(Finding("sql", name, False,
                                    "differs from the SQL the recomputation ran"))
        else:
            findings.append(Finding("sql", name, True, "the SQL the recomputation ran"))
    known = {f"{i}.sql" for i in expected}
    findings += [Finding("sql", public.subject(f"{sql_dir.parent.name}/{SQL_FOLDER}/{p.name}"),
                         False, "no indicator of the catalogue has this SQL")
                 for p in sorted(sql_dir.glob("*.sql")) if p.name not in known]
    return findings


def _contracts(public: Bundle) -> Contracts:
    """The run's contract tables (territory levels, population detail, survey items), from
    the project file kept in the bundle; the defaults when it declares none."""
    raw = _project_yaml(public)
    return project_contracts(raw if isinstance(raw, dict) else {})


def _project_yaml(public: Bundle) -> object:
    """The project file kept in the bundle (the manifest names it), parsed; {} without it."""
    path = public.path / "project" / str(public.manifest.get("project_file"))
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, ValueError):
        return {}


def _catalogue(public: Bundle) -> tuple[Catalogue, Finding | None]:
    """The run's indicator definitions: the project's catalogue, rebuilt from the project file
    (and the indicator files it names) kept in the bundle; the built-in one without them."""
    path = public.path / "project" / str(public.manifest.get("project_file"))
    if not path.is_file():
        return load_catalogue(), None
    columns = _contracts(public).schemas["survey_responses"].columns
    try:
        return read_project_catalogue(path, survey_columns=columns), None
    except CatalogueError as error:
        return load_catalogue(), Finding("indicators", public.subject(f"project/{path.name}"),
                                         False, f"its indicator definitions cannot be read: "
                                                f"{error}")


def _reliability(public: Bundle) -> ReliabilityRules:
    """The run's reliability rules, from the project file kept in the bundle."""
    raw = _project_yaml(public)
    rules = project_reliability(raw if isinstance(raw, dict) else {})
    return ReliabilityRules(min_df=rules.min_df, min_effective_n=rules.min_effective_n,
                            max_interval_width=rules.max_interval_width,
                            symmetric_cv=rules.symmetric_cv,
                            max_item_nonresponse=rules.max_item_nonresponse)


def _calibration(public: Bundle) -> CalibrationRules | None:
    """The run's calibration of the survey weights, from the project file in the bundle."""
    raw = _project_yaml(public)
    section = raw.get("calibration") if isinstance(raw, dict) else None
    return CalibrationSettings.model_validate(section).rules() if section else None


def _lonely_psu(public: Bundle) -> str:
    """The run's rule for single-PSU strata, from the project file kept in the bundle."""
    raw = _project_yaml(public)
    settings = raw.get("validation") if isinstance(raw, dict) else None
    return (settings if isinstance(settings, dict) else {}).get("lonely_psu", "fail")


def _panel_psus(public: Bundle) -> bool:
    """Whether the run took PSU codes as the same PSUs every year, from the project file."""
    raw = _project_yaml(public)
    settings = raw.get("validation") if isinstance(raw, dict) else None
    return (settings if isinstance(settings, dict) else {}).get("panel_psus", True) is not False


def _accounting(public: Bundle, restricted: Bundle) -> list[Finding]:
    """Quarantine, validated rows, validation report and summary tell one story."""
    findings = []
    inputs = {i["source"]: i for i in public.manifest.get("inputs", [])}
    try:
        summary = json.loads((public.path / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        summary = {"sources": [], "checks": [], "waived": []}
    for name, entry in sorted(inputs.items()):
        if entry["rows_read"] != entry["rows_accepted"] + entry["rows_quarantined"]:
            findings.append(Finding("accounting", public.subject(MANIFEST), False,
                                    f"{name}: {entry['rows_read']} rows read ≠ "
                                    f"{entry['rows_accepted']} accepted + "
                                    f"{entry['rows_quarantined']} quarantined"))
    findings += _check_quarantine(restricted, inputs, summary)
    findings += _check_validated_rows(restricted, inputs)
    findings += _check_report(restricted, summary)
    for table in REFERENCE_TABLES:
        ours = public.path / REFERENCE / f"{table}.parquet"
        theirs = restricted.path / "validated" / f"{table}.parquet"
        if ours.is_file() and theirs.is_file():
            same = file_sha256(ours) == file_sha256(theirs)
            findings.append(Finding("accounting", public.subject(f"{REFERENCE}/{table}.parquet"),
                                    same, "the validated table" if same else
                                    f"differs from {restricted.subject(f'validated/{table}')}"
                                    f".parquet"))
    return findings


def _check_quarantine(restricted: Bundle, inputs: dict[str, dict],
                      summary: dict) -> list[Finding]:
    subject = restricted.subject(QUARANTINE)
    try:
        with (restricted.path / QUARANTINE).open(encoding="utf-8", newline="") as handle:
            lines = list(csv.DictReader(handle))
        rows_by_source: dict[str, set[tuple[str, str]]] = {}
        lines_by_check: dict[str, int] = {}
        for line in lines:
            rows_by_source.setdefault(line["source"], set()).add((line["file"], line["row"]))
            lines_by_check[line["check_id"]] = lines_by_check.get(line["check_id"], 0) + 1
    except (OSError, KeyError, csv.Error, UnicodeDecodeError) as error:
        return [Finding("accounting", subject, False, f"cannot be read ({error})")]
    problems = []
    for name, entry in sorted(inputs.items()):
        found = len(rows_by_source.get(name, ()))
        if found != entry["rows_quarantined"]:
            problems.append(f"{name}: {found} row(s), the manifest says "
                            f"{entry['rows_quarantined']} quarantined")
    problems += [f"{name}: rows of a source the manifest does not name"
                 for name in sorted(set(rows_by_source) - set(inputs))]
    for check in summary.get("checks", []):
        if check["severity"] == "error":
            found = lines_by_check.get(check["check_id"], 0)
            if found != check["rows_failed"]:
                problems.append(f"{check['check_id']}: {found} row(s), the validation summary "
                                f"says {check['rows_failed']} failed")
    known = {c["check_id"] for c in summary.get("checks", []) if c["severity"] == "error"}
    problems += [f"{c}: not a failing check of the validation summary"
                 for c in sorted(set(lines_by_check) - known)]
    if problems:
        return [Finding("accounting", subject, False, p) for p in problems]
    return [Finding("accounting", subject, True,
                    f"{len(lines)} line(s): the rows quarantined, per source and per check")]


def _check_validated_rows(restricted: Bundle, inputs: dict[str, dict]) -> list[Finding]:
    accepted: dict[str, int] = {}
    for entry in inputs.values():
        accepted[entry["table"]] = accepted.get(entry["table"], 0) + entry["rows_accepted"]
    findings = []
    for table in LOAD_ORDER:
        path = restricted.path / "validated" / f"{table}.parquet"
        if not path.is_file():
            continue  # named by the file checks
        rows = pl.scan_parquet(path).select(pl.len()).collect().item()
        expected = accepted.get(table, 0)
        findings.append(Finding("accounting", restricted.subject(f"validated/{table}.parquet"),
                                rows == expected, f"{rows:,} rows: the rows accepted"
                                if rows == expected else
                                f"{rows:,} rows, the sources' rows accepted are {expected:,}"))
    return findings


def _check_report(restricted: Bundle, summary: dict) -> list[Finding]:
    """The full validation report is there and says what the public summary says."""
    subject = restricted.subject(REPORT_JSON)
    try:
        facts = json.loads((restricted.path / REPORT_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [Finding("accounting", subject, False, "missing or unreadable")]
    findings = []
    if facts.get("sources") != summary.get("sources"):
        findings.append(Finding("accounting", subject, False,
                                "its sources differ from the public validation summary's"))
    checks = [{k: c.get(k) for k in s} for c, s in
              zip(facts.get("checks", []), summary.get("checks", []), strict=False)]
    if len(facts.get("checks", [])) != len(summary.get("checks", [])) or \
            checks != summary.get("checks"):
        findings.append(Finding("accounting", subject, False,
                                "its checks differ from the public validation summary's"))
    waived: dict[tuple[str, str], set] = {}
    for w in facts.get("waived", []):
        waived.setdefault((w["check_id"], w["waiver"]), set()).add((w["source"], w["row_number"]))
    if sorted((c, w, len(r)) for (c, w), r in waived.items()) != sorted(
            (w["check_id"], w["waiver"], w["rows"]) for w in summary.get("waived", [])):
        findings.append(Finding("accounting", subject, False,
                                "its waived rows differ from the public validation summary's"))
    if not findings:
        findings.append(Finding("accounting", subject, True,
                                "agrees with the public validation summary"))
    html_subject = restricted.subject(REPORT_HTML)
    try:
        html = (restricted.path / REPORT_HTML).read_text(encoding="utf-8")
    except OSError:
        return [*findings, Finding("accounting", html_subject, False, "file is missing")]
    absent = [c["check_id"] for c in summary.get("checks", []) if c["check_id"] not in html]
    findings.append(Finding("accounting", html_subject, not absent,
                            "names every check of the summary" if not absent else
                            f"does not name {', '.join(absent[:3])}"))
    return findings


# --- comparisons --------------------------------------------------------------------------

def _differences(con: duckdb.DuckDBPyConnection, table: str, published: Path,
                 key: Sequence[str], columns: Sequence[str],
                 where: str = "TRUE") -> list[tuple[str, str]]:
    """Rows of ``table`` (recomputed) and of the Parquet file (published) that differ."""
    rows = con.execute(f"""
        SELECT {', '.join(f'coalesce(a.{k}, b.{k})' for k in key)},
               a.{key[0]} IS NULL, b.{key[0]} IS NULL,
               {', '.join(f'a.{c}, b.{c}' for c in columns)}
        FROM (SELECT * FROM read_parquet(?) WHERE {where}) a
        FULL JOIN (SELECT * FROM {table} WHERE {where}) b USING ({', '.join(key)})
        ORDER BY ALL""", [str(published)]).fetchall()
    return _mismatches(rows, len(key), columns)


def _mismatches(rows: list[tuple], n_key: int, columns: Sequence[str]) -> list[tuple[str, str]]:
    mismatches = []
    for row in rows:
        subject = "/".join(str(v) for v in row[:n_key])
        only_recomputed, only_published = row[n_key], row[n_key + 1]
        if only_recomputed or only_published:
            mismatches.append((subject, "only in the recomputation" if only_recomputed
                               else "published but not recomputed"))
            continue
        pairs = row[n_key + 2:]
        for n, column in enumerate(columns):
            old, new = pairs[2 * n], pairs[2 * n + 1]
            if not _same(old, new):
                mismatches.append((subject, f"{column}: published {old}, recomputed {new}"))
    return mismatches


def _verdict(step: str, subject: str, mismatches: list[tuple[str, str]],
             what: str) -> list[Finding]:
    if not mismatches:
        return [Finding(step, subject, True, f"identical to {what}")]
    shown = "; ".join(f"{k}: {d}" for k, d in mismatches[:3])
    more = f" and {len(mismatches) - 3} more" if len(mismatches) > 3 else ""
    return [Finding(step, subject, False, f"differs from {what}: {shown}{more}")]


def _compare(con: duckdb.DuckDBPyConnection, published: Path) -> list[tuple[str, str]]:
    """The values, and the design terms of their changes and gaps (which rest on the
    microdata, so that only this recomputation checks them)."""
    found = _differences(con, "indicator_values", published,
                         ("indicator_id", "territory_level", "territory_code", "year",
                          "breakdown"),
                         (*COMPARED, "n_unweighted", "status"))
    changes = published.with_name("indicator_changes.parquet")
    if changes.is_file():
        found += _differences(con, "indicator_changes", changes,
                              ("indicator_id", "territory_level", "territory_code", "year",
                               "breakdown"), ("covariance", "df_change", "significant"))
    gaps = published.with_name("indicator_gaps.parquet")
    if gaps.is_file():
        found += _differences(con, "indicator_gaps", gaps,
                              ("indicator_id", "territory_level", "territory_code",
                               "reference_level", "reference_code", "year", "breakdown"),
                              ("gap", "se_gap", "covariance", "df_gap", "significant"))
    return found


def _same(old: object, new: object) -> bool:
    if old is None or new is None:
        return old is None and new is None
    if isinstance(old, float) and isinstance(new, float):
        if math.isnan(old) and math.isnan(new):
            return True
        return math.isclose(old, new, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-12)
    return old == new
