"""The annual run as an ordered list of named stages sharing one signature.

ingest (sources → validated warehouse) → indicators (catalogue → ``indicator_values``) →
report (comparison tables, annual report, exports) → bundle (validated Parquet, validation
report, manifest). Everything is written into a fresh folder beside the output folder and
swapped into place at the end, so a failed or interrupted run leaves the previous outputs
intact; the failed run's folder is kept as ``<out>.failed`` for diagnosis.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

import duckdb

from indicators import (
    Catalogue,
    CompositeError,
    compute_indicator_values,
    compute_learning_city_index,
    load_catalogue,
)
from pipelines.config import ProjectConfig
from pipelines.ingest import IngestResult, ingest
from pipelines.publishing.bundle import (
    MANIFEST,
    PUBLIC,
    QUARANTINE,
    RESTRICTED,
    UNHASHED,
    VALIDATION,
    copy_project_file,
    new_run,
    record_history,
    write_public_manifest,
    write_published,
    write_restricted_manifest,
    write_run_info,
    write_sql,
    write_validated,
)
from pipelines.publishing.signing import SigningError, SigningKey, resolve_signing_key
from reports import write_exports, write_report, write_validation_report
from reports._validation import write_validation_summary

Language = Literal["en", "fr"]
WAREHOUSE_NAME = "warehouse.duckdb"


class RunFailed(Exception):
    """The run stopped for a reason the user must act on; previous outputs are untouched."""


@dataclass
class RunContext:
    """What the stages share: inputs, the open warehouse and what they produced."""

    config: ProjectConfig
    catalogue: Catalogue
    con: duckdb.DuckDBPyConnection
    out_dir: Path
    year: int
    lang: Language
    final_dir: Path
    ingest: IngestResult | None = None
    indicator_rows: int = 0
    written: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    signing_key: SigningKey | None = None  # the key the bundles were signed with

    @property
    def public_dir(self) -> Path:
        return self.out_dir / PUBLIC

    @property
    def restricted_dir(self) -> Path:
        return self.out_dir / RESTRICTED


def stage_validate(ctx: RunContext) -> None:
    """Ingest and validate every source; write the quarantine and the full validation report
    (restricted: they hold rows and values) and the validation summary (public: counts)."""
    ctx.ingest = ingest(ctx.con, ctx.config)
    ctx.restricted_dir.mkdir(parents=True, exist_ok=True)
    quarantine = ctx.restricted_dir / QUARANTINE
    rule = "rule.fr" if ctx.lang == "fr" else "rule.en"
    # Written through the relation API: the output path is never part of the SQL.
    ctx.con.sql(
        f"SELECT file, row_number AS row, file_column AS \"column\", value, {rule} AS rule, "
        f"check_id, source, contract_table, record FROM quarantine "
        f"ORDER BY source, row_number, file_column, check_id").write_csv(str(quarantine),
                                                                          header=True)
    ctx.written.append(quarantine)
    ctx.written.extend(write_validation_report(ctx.con, ctx.restricted_dir / VALIDATION,
                                               ctx.lang))
    ctx.written.extend(write_validation_summary(ctx.con, ctx.public_dir / VALIDATION, ctx.lang))


def stage_ingest(ctx: RunContext) -> None:
    """Validation, and the run stops when a source rejects too large a share of its rows."""
    stage_validate(ctx)
    assert ctx.ingest is not None
    too_many = ctx.ingest.over_threshold
    if too_many:
        lines = [f"{o.source}: {o.rows_quarantined:,} of {o.rows_read:,} rows rejected "
                 f"({o.rejected_share:.1%} > {ctx.ingest.max_rejected_share[o.source]:.1%})"
                 for o in too_many]
        raise RunFailed("too many rejected rows:\n  " + "\n  ".join(lines))


def stage_indicators(ctx: RunContext) -> None:
    """Every indicator for every territory and year, then the learning-city index."""
    ctx.indicator_rows = compute_indicator_values(ctx.con, ctx.catalogue,
                                                  ctx.config.validation.lonely_psu)
    try:
        compute_learning_city_index(ctx.con, ctx.catalogue, ctx.year)
    except CompositeError as error:  # e.g. too few communes or indicators: said, not hidden
        ctx.notes.append(f"learning-city index not computed: {error}")


def stage_report(ctx: RunContext) -> None:
    """The annual report, its domain tables and the exports, in ``public/<year>/``."""
    year_dir = ctx.public_dir / str(ctx.year)
    title = ctx.config.report.title.get(ctx.lang)
    files = write_report(ctx.con, ctx.catalogue, ctx.year, ctx.lang, year_dir,
                         territories=ctx.config.report.territories or None, title=title)
    ctx.written.extend(files.all)
    ctx.written.extend(write_exports(ctx.con, ctx.catalogue, year_dir))


def stage_bundle(ctx: RunContext, signing_key: SigningKey | None = None) -> None:
    """The two bundles, each with its signed manifest: ``public/`` (published values,
    reference tables, SQL, project file) and ``restricted/`` (validated Parquet).

    ``signing_key`` defaults to ``--signing-key``'s fallbacks: ``$LCI_SIGNING_KEY``, else the
    per-user key (created on first use, and said so in the notes).
    """
    if signing_key is None:
        try:
            signing_key = resolve_signing_key()
        except SigningError as error:
            raise RunFailed(str(error)) from None
        if signing_key.created:
            ctx.notes.append(f"created a signing key at {signing_key.path} (fingerprint "
                             f"{signing_key.fingerprint}): keep it, and give auditors the "
                             f"fingerprint")
    ctx.signing_key = signing_key
    run_id, run_at = new_run()
    ctx.written.extend(write_published(ctx.con, ctx.public_dir))
    ctx.written.extend(write_sql(ctx.con, ctx.public_dir / str(ctx.year)))
    if ctx.config.file is not None:
        ctx.written.append(copy_project_file(ctx.config.file, ctx.public_dir))
    ctx.written.extend(write_validated(ctx.con, ctx.restricted_dir))
    record_history(ctx.con, ctx.final_dir / WAREHOUSE_NAME, run_id, run_at)
    ctx.written.append(write_run_info(ctx.out_dir, run_id, run_at, ctx.config.root))
    public = write_public_manifest(ctx.con, ctx.public_dir, signing_key,
                                   catalogue_sha256=ctx.catalogue.sha256,
                                   config_file=ctx.config.file or Path("lci.yaml"),
                                   year=ctx.year, lang=ctx.lang)
    ctx.written.extend(public)
    ctx.written.extend(write_restricted_manifest(ctx.con, ctx.restricted_dir, signing_key,
                                                 public_manifest=public[1], year=ctx.year,
                                                 lang=ctx.lang))


Stage = Callable[[RunContext], None]
STAGES: tuple[tuple[str, Stage], ...] = (
    ("ingest", stage_ingest),
    ("indicators", stage_indicators),
    ("report", stage_report),
    ("bundle", stage_bundle),
)
VALIDATION_STAGES: tuple[tuple[str, Stage], ...] = (("ingest", stage_validate),)


def check_waivers(config: ProjectConfig, today: date) -> None:
    """An expired waiver fails the run: accepted exceptions must be reviewed, not forgotten."""
    expired = config.expired_waivers(today)
    if expired:
        lines = [f"{w.source} / {w.check} (owner {w.owner}) expired on {w.expires}: {w.reason}"
                 for w in expired]
        raise RunFailed("expired waiver(s) — renew or remove them:\n  " + "\n  ".join(lines))


def run(
    config: ProjectConfig,
    out_dir: Path,
    *,
    year: int | None = None,
    lang: Language = "en",
    stages: tuple[tuple[str, Stage], ...] = STAGES,
    on_stage: Callable[[str], None] = lambda name: None,
    today: date | None = None,
) -> RunContext:
    """Run the given stages (by default all) and return what they produced."""
    year = year or config.latest_year
    if year not in config.years:
        raise ValueError(f"year {year} is not one of the project's years {list(config.years)}")
    check_waivers(config, today or date.today())
    out_dir = out_dir.resolve()
    _refuse_foreign_folder(out_dir, config.root)
    building = out_dir.with_name(f".{out_dir.name}.building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    try:
        con = _connect(building / WAREHOUSE_NAME, config)
    except RunFailed:
        shutil.rmtree(building, ignore_errors=True)  # made just above, by this run
        raise
    ctx = RunContext(config, load_catalogue(), con, building, year, lang, final_dir=out_dir)
    try:
        for name, stage in stages:
            on_stage(name)
            stage(ctx)
    except BaseException:
        con.close()
        failed = out_dir.with_name(f"{out_dir.name}.failed")
        shutil.rmtree(failed, ignore_errors=True)
        os.replace(building, failed)
        raise
    con.close()
    _swap_into_place(building, out_dir)
    ctx.written = [out_dir / p.relative_to(building) for p in
                   [building / WAREHOUSE_NAME, *ctx.written]]
    ctx.out_dir = out_dir
    return ctx


def _connect(path: Path, config: ProjectConfig) -> duckdb.DuckDBPyConnection:
    """The warehouse, with the project's resources given as DuckDB settings (never as SQL)."""
    settings: dict[str, str | int] = {}
    if config.database.memory_limit:
        settings["memory_limit"] = config.database.memory_limit
    if config.database.threads:
        settings["threads"] = config.database.threads
    try:
        return duckdb.connect(str(path), config=settings)
    except duckdb.Error as error:
        raise RunFailed(f"{config.file or 'project file'}: database settings "
                        f"{settings} refused by DuckDB: {str(error).splitlines()[0]}") from None


def _refuse_foreign_folder(out_dir: Path, project_root: Path | None) -> None:
    """Never replace a folder that holds anything but a previous run's own files.

    A previous run is recognised by its manifest: every file of the folder must be listed
    there (or be one of the run's unhashed files), so no document of the user's is lost.
    """
    if out_dir == Path(out_dir.anchor) or out_dir == Path.home().resolve():
        raise RunFailed(f"{out_dir} cannot be an output folder: choose a folder of its own (--out)")
    if project_root is not None:
        root = project_root.resolve()
        if root == out_dir or root.is_relative_to(out_dir):
            raise RunFailed(f"{out_dir} holds the project itself ({root}): choose an output "
                            f"folder outside it (--out)")
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return
    try:
        manifest = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
        listed = {entry["file"] for entry in manifest["outputs"]} if \
            manifest.get("lci_manifest") else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        listed = None
    if listed is None:
        raise RunFailed(f"{out_dir} is not empty and holds no previous LCI run: choose a new or "
                        f"empty output folder (--out)")
    foreign = sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*")
                     if not p.is_dir() and p.relative_to(out_dir).as_posix() not in listed
                     and p.relative_to(out_dir).as_posix() not in UNHASHED)
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3
                                          else "")
        raise RunFailed(f"{out_dir} holds files that no LCI run wrote ({shown}): move them, or "
                        f"choose another output folder (--out)")


def _swap_into_place(building: Path, out_dir: Path) -> None:
    """Replace the output folder by the finished one; the old one is removed only after."""
    previous = out_dir.with_name(f".{out_dir.name}.previous")
    shutil.rmtree(previous, ignore_errors=True)
    if out_dir.exists():
        os.replace(out_dir, previous)
    os.replace(building, out_dir)
    shutil.rmtree(previous, ignore_errors=True)
    shutil.rmtree(out_dir.with_name(f"{out_dir.name}.failed"), ignore_errors=True)
