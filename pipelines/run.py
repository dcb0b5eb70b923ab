"""The annual run as an ordered list of named stages sharing one signature.

ingest (sources → validated warehouse) → indicators (catalogue → ``indicator_values``) →
report (comparison tables, annual report, exports) → bundle (the public bundle: what is
published, signed; the restricted bundle: validated microdata, quarantine, full validation
report, signed). Everything is written into a marked folder beside the output folder and
swapped into place at the end (``publishing.output_folder``), so a failed or interrupted run
leaves the previous outputs intact; the failed run's folder is kept as ``<out>.failed``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

import duckdb

from indicators import (
    Catalogue,
    CatalogueError,
    CompositeError,
    compute_indicator_values,
    compute_learning_city_index,
)
from indicators.catalogue.project import check_measures, project_catalogue
from indicators.compute.options import ComputeOptions, ReliabilityRules
from indicators.learning_index import IndexNotBuilt, Screening
from indicators.survey.calibration import CalibrationError
from indicators.survey.recorded import record_design, responses_design
from indicators.territories import FRENCH_LEVELS, split_reference
from pipelines.calibration_messages import in_french as calibration_in_french
from pipelines.config import (
    CalibrationSettings,
    ConfigError,
    ProjectConfig,
    ReliabilitySettings,
)
from pipelines.ingest import IngestResult, ingest
from pipelines.publishing.bundle import (
    PUBLIC,
    QUARANTINE,
    RESTRICTED,
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
from pipelines.publishing.output_folder import (
    OutputFolderError,
    check_contents,
    check_location,
    keep_failed,
    output_lock,
    recover,
    remove_output,
    start_building,
    swap_into_place,
)
from pipelines.publishing.publication import Publication, write_publication
from pipelines.publishing.signing import SigningError, SigningKey, resolve_signing_key
from pipelines.validating.contracts import Contracts
from pipelines.warehouse import SCRATCH, WarehouseError, connect
from reports import write_validation_report
from reports._composite import index_not_built_sentence
from reports._validation import write_validation_summary

Language = Literal["en", "fr"]
WAREHOUSE_NAME = "warehouse.duckdb"


class RunFailed(Exception):
    """The run stopped for a reason the user must act on; previous outputs are untouched.

    ``french`` says the same in French where the message has been written in both languages.
    """

    def __init__(self, message: str, french: str | None = None) -> None:
        super().__init__(message)
        self.french = french


class Note(str):
    """A note of the run: the English text (the string itself), with its French in
    ``french``, so that code and tests reading notes as text keep working."""

    french: str

    def __new__(cls, english: str, french: str) -> Note:
        note = super().__new__(cls, english)
        note.french = french
        return note

    def in_(self, lang: str) -> str:
        return self.french if lang == "fr" else str(self)


def said(note: str, lang: str) -> str:
    """A note in ``lang`` when it was written in both languages, else as it is."""
    return note.in_(lang) if isinstance(note, Note) else str(note)


Progress = Callable[[str, int, int, str], None]
"""``(stage, done, total, what)``: how far a long stage is (sources loaded, indicators
computed, the index's Monte Carlo runs)."""


def _no_progress(stage: str, done: int, total: int, what: str) -> None:
    """Progress is shown only when someone asked for it."""


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
    previous_warehouse: Path | None = None  # the last run's, when DuckDB can open it
    ingest: IngestResult | None = None
    indicator_rows: int = 0
    availability: list[tuple[str, str, bool, str | None]] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    signing_key: SigningKey | None = None  # the key the bundles were signed with
    on_progress: Progress = _no_progress

    @property
    def public_dir(self) -> Path:
        return self.out_dir / PUBLIC

    @property
    def restricted_dir(self) -> Path:
        return self.out_dir / RESTRICTED


def stage_validate(ctx: RunContext) -> None:
    """Ingest and validate every source; write the quarantine and the full validation report
    (restricted: they hold rows and values) and the validation summary (public: counts)."""
    ctx.ingest = ingest(ctx.con, ctx.config,
                        lambda done, total, what: ctx.on_progress("ingest", done, total, what))
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
    sources = source_facts(ctx)
    ctx.written.extend(write_validation_report(ctx.con, ctx.restricted_dir / VALIDATION,
                                               ctx.lang, sources=sources))
    ctx.written.extend(write_validation_summary(ctx.con, ctx.public_dir / VALIDATION, ctx.lang,
                                                sources=sources))
    check_indicator_measures(ctx)


def source_facts(ctx: RunContext) -> dict[str, dict[str, object]]:
    """What the validation report needs of each source besides the warehouse: its format (what
    its row numbers count), the share of rejected rows it may have before it is refused, and
    its recodes by the file's column name (the codes the file itself may hold)."""
    assert ctx.ingest is not None
    return {s.name: {"format": s.format,
                     "max_rejected_share": ctx.ingest.max_rejected_share.get(s.name),
                     "recode": {str(s.columns.get(column) or column): dict(codes)
                                for column, codes in s.recode.items()}}
            for s in ctx.config.sources}


def _main_reason(con: duckdb.DuckDBPyConnection, source: str, lang: str) -> str:
    """The rule most rejected rows of a source broke, with its first row: the reason is said
    where the run stops, not only in the quarantine file."""
    found = con.execute(
        "SELECT check_id, count(DISTINCT row_number), min(row_number), any_value(rule), "
        "arg_min(file_column, row_number), arg_min(value, row_number) FROM quarantine "
        "WHERE source = ? GROUP BY check_id ORDER BY 2 DESC, 1 LIMIT 1", [source]).fetchall()
    if not found:
        return ""
    _, rows, first, rule, column, value = found[0]
    shown = f"'{value}'" if value is not None else ("(vide)" if lang == "fr" else "(empty)")
    if lang == "fr":
        return (f"\n    surtout ({rows:,} ligne{'s' if rows > 1 else ''}) : {rule['fr']} — "
                f"p. ex. ligne {first}, colonne « {column} » : {shown}")
    return (f"\n    mostly ({rows:,} row{'s' if rows > 1 else ''}): {rule['en']} — "
            f"e.g. row {first}, column '{column}': {shown}")


LEVELS_HINT = ("not French communes? Declare your territory levels and their code formats "
               "(territory_levels) in the project file",
               "vos territoires ne sont pas des communes françaises ? Déclarez leurs niveaux et "
               "formats de code (territory_levels) dans le fichier de projet")


def _codes_refused(con: duckdb.DuckDBPyConnection, sources: list[str]) -> bool:
    """Whether these sources' rows were refused for their codes' format or territory."""
    return bool(con.execute(
        "SELECT count(*) FROM quarantine WHERE list_contains(?, source) AND ("
        "suffix(check_id, '.str_matches') OR suffix(check_id, '.level_format') OR "
        "suffix(check_id, '.known_commune') OR check_id = 'territories.level.isin')",
        [sources]).fetchall()[0][0])


def stage_ingest(ctx: RunContext) -> None:
    """Validation, and the run stops when a source rejects too large a share of its rows."""
    stage_validate(ctx)
    assert ctx.ingest is not None
    too_many = ctx.ingest.over_threshold
    if too_many:
        lines = [f"{o.source}: {o.rows_quarantined:,} of {o.rows_read:,} rows rejected "
                 f"({o.rejected_share:.1%} > {ctx.ingest.max_rejected_share[o.source]:.1%})"
                 + _main_reason(ctx.con, o.source, "en") for o in too_many]
        french = [f"{o.source} : {o.rows_quarantined:,} lignes rejetées sur {o.rows_read:,} "
                  f"({o.rejected_share:.1%} > {ctx.ingest.max_rejected_share[o.source]:.1%})"
                  + _main_reason(ctx.con, o.source, "fr") for o in too_many]
        if ctx.config.territory_model == FRENCH_LEVELS and _codes_refused(
                ctx.con, [o.source for o in too_many]):  # the newcomer from another country
            lines.append(LEVELS_HINT[0])
            french.append(LEVELS_HINT[1])
        raise RunFailed("too many rejected rows:\n  " + "\n  ".join(lines),
                        "trop de lignes rejetées :\n  " + "\n  ".join(french))
    check_report_territories(ctx)


def compute_options(lonely_psu: str, contracts: Contracts,
                    reliability: ReliabilitySettings | None = None,
                    calibration: CalibrationSettings | None = None,
                    panel: bool = True) -> ComputeOptions:
    """The project's settings a computation needs: the single-PSU rule, what its
    population table gives (age bands, sex split), its reliability rules, whether its PSU
    codes name the same PSUs every year and whether the survey weights are calibrated (the
    same function for the run and the audit, so that both judge cells alike)."""
    rules = reliability or ReliabilitySettings()
    return ComputeOptions(lonely_psu=lonely_psu, age_bands=contracts.age_bands, panel=panel,
                          population_sex=contracts.sex,
                          calibration=calibration.rules() if calibration else None,
                          reliability=ReliabilityRules(
                              min_df=rules.min_df, min_effective_n=rules.min_effective_n,
                              max_interval_width=rules.max_interval_width,
                              symmetric_cv=rules.symmetric_cv,
                              max_item_nonresponse=rules.max_item_nonresponse))


def check_report_territories(ctx: RunContext) -> None:
    """Every territory the report is asked to show or highlight exists, and names one: said
    before anything is computed, as an error in the project file. A code that two levels share
    (a région and a département) is written ``LEVEL:CODE``."""
    wanted = [(f"report.territories[{n}]", r) for n, r in enumerate(ctx.config.report.territories)]
    wanted += [(f"report.highlight[{n}]", r) for n, r in enumerate(ctx.config.report.highlight)]
    if not wanted:
        return
    known: dict[str, list[str]] = {}
    for level, code in ctx.con.execute(
            "SELECT level, territory_code FROM territories UNION "
            "SELECT 'GROUP', group_code FROM territory_groups ORDER BY 1, 2").fetchall():
        known.setdefault(code, []).append(level)
    unknown, ambiguous = [], []
    for field_name, reference in wanted:
        level, code = split_reference(reference)
        levels = known.get(code, [])
        if level is not None and level not in levels or not levels:
            unknown.append(f"{field_name} = {reference!r}")
        elif level is None and len(levels) > 1:
            options = " or ".join(f"{lv}:{code}" for lv in levels)
            ambiguous.append((f"{field_name} = {reference!r}", options))
    where = ctx.config.file or "project file"
    if unknown:
        fields = ", ".join(unknown)
        count = sum(len(v) for v in known.values())
        raise RunFailed(
            f"{where}: {fields}: no territory or group has this code (at this level) in the "
            f"territories and territory groups tables ({count:,} territories); correct the "
            f"code or remove it",
            f"{where} : {fields} : aucun territoire ni groupe n'a ce code (à ce niveau) dans "
            f"les tables des territoires et des groupes ({count:,} territoires) ; corrigez ou "
            f"retirez le code")
    if ambiguous:
        en = "; ".join(f"{f}: several levels have this code, write {o}" for f, o in ambiguous)
        fr = "; ".join(f"{f} : plusieurs niveaux ont ce code, écrivez {o.replace(' or ', ' ou ')}"
                       for f, o in ambiguous)
        raise RunFailed(f"{where}: {en}", f"{where} : {fr}")


def stage_indicators(ctx: RunContext) -> None:
    """Every indicator for every territory and year, then the learning-city index; the
    survey design of the published cells is recorded (``survey_design``) for ``design_for``."""
    record_design(ctx.con, responses_design(ctx.config.validation.lonely_psu))
    try:
        ctx.indicator_rows = compute_indicator_values(
            ctx.con, ctx.catalogue, territory_model=ctx.config.territory_model,
            options=compute_options(ctx.config.validation.lonely_psu, ctx.config.contracts,
                                    ctx.config.reliability, ctx.config.calibration,
                                    ctx.config.validation.panel_psus),
            progress=lambda done, total, what: ctx.on_progress("indicators", done, total, what))
    except CalibrationError as error:  # the project's calibration section cannot be met
        where = ctx.config.file or "project file"
        french = calibration_in_french(str(error))
        raise RunFailed(f"{where}: calibration: {error}",
                        f"{where} : calage : {french}" if french else None) from None
    ctx.availability = explain_availability(ctx)
    with_values = ctx.con.execute("SELECT count(DISTINCT indicator_id) FROM indicator_values "
                                  "WHERE year = ? AND value IS NOT NULL", [ctx.year]).fetchone()
    if not with_values[0]:
        ctx.notes.append(Note(
            f"no indicator could be computed for {ctx.year} from the project's data; the "
            f"report lists each indicator with the reason",
            f"aucun indicateur n'a pu être calculé pour {ctx.year} à partir des données du "
            f"projet ; le rapport donne la raison pour chaque indicateur"))
    settings = ctx.config.index
    try:
        compute_learning_city_index(
            ctx.con, ctx.catalogue, ctx.year, draws=settings.draws,
            screening=Screening(min_unit_share=settings.min_indicator_share_per_unit,
                                min_domain_share=settings.min_indicator_share_per_domain),
            progress=lambda done, total: ctx.on_progress("index", done, total, ""))
    except IndexNotBuilt as error:  # too little data to compare: said in plain words
        french = index_not_built_sentence(ctx.con, ctx.year, "fr")  # the report's words
        ctx.notes.append(Note(f"learning-city index not built: {error}", french or
                              f"indice de la ville apprenante non construit : {error}"))
    except CompositeError as error:  # any other reason the engine gives: said, not hidden
        ctx.notes.append(Note(f"learning-city index not computed: {error}",
                              f"indice de la ville apprenante non calculé : {error}"))


def explain_availability(ctx: RunContext) -> list[tuple[str, str, bool, str | None]]:
    """(indicator, label, computed, why not) for every indicator in use, the reason said in
    the project's terms: a table no source feeds, or whose sources gave no valid row."""
    fed: dict[str, int] = {}
    for source in ctx.config.sources:
        fed.setdefault(source.table, 0)
    for table, accepted in ctx.con.execute(
            "SELECT contract_table, sum(rows_accepted) FROM run_sources GROUP BY ALL").fetchall():
        fed[table] = int(accepted or 0)
    rows: list[tuple[str, str, bool, str | None]] = []
    for indicator_id, computed, reason, reason_fr, needs in ctx.con.execute(
            "SELECT indicator_id, computed, reason, reason_fr, needs "
            "FROM indicator_availability ORDER BY ordinal").fetchall():
        why: str | None = Note(reason, reason_fr or reason) if reason else None
        if not computed and reason and reason.startswith("no rows in"):
            en, fr = [], []
            for need in needs:
                tables = need.split(" or ")
                if any(fed.get(t) for t in tables):
                    continue
                need_fr = need.replace(" or ", " ou ")
                if not any(t in fed for t in tables):
                    en.append(f"needs {need} — no source declared")
                    fr.append(f"il faut {need_fr} — aucune source déclarée")
                else:
                    en.append(f"needs {need} — its sources gave no valid row")
                    fr.append(f"il faut {need_fr} — ses sources n'ont donné aucune ligne valide")
            if en:
                why = Note("; ".join(en), " ; ".join(fr))
        label = ctx.catalogue.get(indicator_id).label(ctx.lang)
        rows.append((indicator_id, label, bool(computed), why))
    return rows


def stage_report(ctx: RunContext) -> None:
    """The year's publication in ``public/<year>/``: the annual report and its domain tables,
    the territory profiles, their PDFs and the exports."""
    def warn(english: str, french: str) -> None:
        ctx.notes.append(french if ctx.lang == "fr" else english)

    ctx.written.extend(write_publication(ctx.con, ctx.catalogue, ctx.year, ctx.lang,
                                         ctx.public_dir / str(ctx.year),
                                         Publication.of(ctx.config), warn))


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
            ctx.notes.append(Note(
                f"created a signing key at {signing_key.path} (fingerprint "
                f"{signing_key.fingerprint}): keep it, and give auditors the fingerprint",
                f"clé de signature créée dans {signing_key.path} (empreinte "
                f"{signing_key.fingerprint}) : gardez-la, et donnez l'empreinte aux auditeurs"))
    ctx.signing_key = signing_key
    run_id, run_at = new_run()
    ctx.written.extend(write_published(ctx.con, ctx.public_dir))
    ctx.written.extend(write_sql(ctx.con, ctx.public_dir / str(ctx.year)))
    if ctx.config.file is not None:
        ctx.written.extend(copy_project_file(ctx.config.file, ctx.public_dir,
                                             tuple(ctx.config.indicators.files)))
    ctx.written.extend(write_validated(ctx.con, ctx.restricted_dir))
    record_history(ctx.con, ctx.previous_warehouse, run_id, run_at)
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
        french = [f"{w.source} / {w.check} (responsable {w.owner}) expirée le {w.expires} : "
                  f"{w.reason}" for w in expired]
        raise RunFailed("expired waiver(s) — renew or remove them:\n  " + "\n  ".join(lines),
                        "dérogation(s) expirée(s) — renouvelez-les ou retirez-les :\n  "
                        + "\n  ".join(french))


def run(
    config: ProjectConfig,
    out_dir: Path,
    *,
    year: int | None = None,
    lang: Language = "en",
    stages: tuple[tuple[str, Stage], ...] = STAGES,
    on_stage: Callable[[str], None] = lambda name: None,
    on_progress: Progress | None = None,
    today: date | None = None,
) -> RunContext:
    """Run the given stages (by default all) and return what they produced.

    The output folder is held for the run, checked (see ``output_folder``), filled in a
    folder beside it and swapped into place at the end; faults of the machine (a full disk, a
    read-only folder, a damaged file) end as a :class:`RunFailed` saying what to do.
    """
    year = year or config.latest_year
    if year not in config.years:
        raise ValueError(f"year {year} is not one of the project's years {list(config.years)}")
    check_waivers(config, today or date.today())
    out_dir = Path(os.path.abspath(out_dir.expanduser()))
    try:
        out_dir = out_dir.resolve()
        check_location(out_dir, config.root, _data_folders(config))
        with output_lock(out_dir):
            notes = recover(out_dir, _project(config))
            check_contents(out_dir, _project(config))
            ctx = _run_into(config, out_dir, year, lang, stages, on_stage, on_progress)
    except OutputFolderError as error:
        raise RunFailed(str(error), error.french) from None
    except ConfigError as error:  # e.g. a source's link changed meanwhile
        raise RunFailed(str(error)) from None
    except OSError as error:
        raise RunFailed(machine_fault(error), machine_fault(error, "fr")) from None
    except (duckdb.IOException, duckdb.PermissionException,
            duckdb.OutOfMemoryException) as error:
        raise RunFailed(f"the database could not go on: {_first_line(error)}",
                        f"la base de données n'a pas pu continuer : {_first_line(error)}"
                        ) from None
    ctx.notes[:0] = [Note(*note) for note in notes]
    return ctx


def _run_into(config: ProjectConfig, out_dir: Path, year: int, lang: Language,
              stages: tuple[tuple[str, Stage], ...],
              on_stage: Callable[[str], None],
              on_progress: Progress | None = None) -> RunContext:
    """The stages, in a marked folder beside the output, then the swap (under the lock)."""
    catalogue = effective_catalogue(config)  # a definition error stops the run before it starts
    run_id = uuid.uuid4().hex
    building = start_building(out_dir, _project(config), run_id)
    previous = _readable_previous_warehouse(out_dir)
    try:
        con = _connect(building / WAREHOUSE_NAME, config,
                       readable=[] if previous is None else _with_log(previous),
                       writable=[building])
    except RunFailed:
        remove_output(building)  # made just above, by this run
        raise
    ctx = RunContext(config, catalogue, con, building, year, lang, final_dir=out_dir,
                     previous_warehouse=previous)
    if on_progress is not None:
        ctx.on_progress = on_progress
    if previous is None and (out_dir / WAREHOUSE_NAME).exists():
        ctx.notes.append(Note(
            f"the previous warehouse {out_dir / WAREHOUSE_NAME} cannot be read: the "
            f"validation history starts afresh",
            f"l'entrepôt précédent {out_dir / WAREHOUSE_NAME} ne peut pas être lu : "
            f"l'historique de validation repart de zéro"))
    try:
        for name, stage in stages:
            on_stage(name)
            stage(ctx)
        con.close()
        shutil.rmtree(building / SCRATCH, ignore_errors=True)  # working copies of inputs
    except BaseException:
        con.close()
        with contextlib.suppress(OSError, OutputFolderError):
            keep_failed(building, out_dir, _project(config), run_id)
        raise
    swap_into_place(building, out_dir, _project(config), run_id)
    ctx.written = [out_dir / p.relative_to(building) for p in
                   [building / WAREHOUSE_NAME, *ctx.written]]
    ctx.out_dir = out_dir
    return ctx


def effective_catalogue(config: ProjectConfig) -> Catalogue:
    """The indicators the project uses: the built-in catalogue with its choices, changes and
    own definitions (``indicators:``), each checked; the one place survey columns are given."""
    return project_catalogue(config.indicators, root=config.root, project_file=config.file,
                             survey_columns=config.contracts.schemas["survey_responses"].columns)


def check_indicator_measures(ctx: RunContext) -> None:
    """The measures the indicators read against the validated codebook, before any is
    computed: the project's own must be in it (else the run stops, naming file, indicator and
    field); what is missing or unused otherwise is said in the notes."""
    codebook_sources = {s.name for s in ctx.config.sources if s.table == "admin_codebook"}
    if ctx.ingest is not None and any(getattr(e, "source", None) in codebook_sources
                                      for e in ctx.ingest.errors):
        return  # the codebook did not load: said with the source, not as every measure missing
    try:
        measures = [m for (m,) in ctx.con.execute(
            "SELECT measure_id FROM admin_codebook").fetchall()]
    except duckdb.CatalogException:  # no codebook table at all: no measure is declared
        measures = []
    try:
        ctx.notes.extend(_measure_note(note) for note in
                         check_measures(ctx.catalogue, measures, root=ctx.config.root))
    except CatalogueError as error:
        raise RunFailed(str(error)) from None


# The notes of ``check_measures``, said again in French (any other note is kept as it is).
_MEASURE_NOTES = (
    (re.compile(r"^the codebook declares measures no indicator in use reads: (.*) \(an "
                r"indicator of your own can read them: indicators: define\)$", re.S),
     "le dictionnaire des mesures déclare des mesures qu'aucun indicateur utilisé ne lit : {} "
     "(un indicateur propre au projet peut les lire : indicators: define)"),
    (re.compile(r"^built-in indicators read measures the codebook does not declare, so they "
                r"have no values: (.*); leave them out \(indicators: drop\) or add the "
                r"measures to the codebook$", re.S),
     "des indicateurs intégrés lisent des mesures que le dictionnaire ne déclare pas, et n'ont "
     "donc pas de valeur : {} ; retirez-les (indicators: drop) ou ajoutez les mesures au "
     "dictionnaire"),
)


def _measure_note(note: str) -> str:
    """A note about the codebook's measures, with its French when its wording is known."""
    for pattern, french in _MEASURE_NOTES:
        found = pattern.match(note)
        if found:
            return Note(note, french.format(found.group(1)))
    return note


def _project(config: ProjectConfig) -> str:
    """What an output's marker names as its project: the project file (or its folder)."""
    return str((config.file or config.root).resolve())


def _data_folders(config: ProjectConfig) -> tuple[Path, ...]:
    """Folders holding the project's source files (other than the project folder itself)."""
    root = config.root.resolve()
    folders = {config.path_of(s).resolve().parent for s in config.sources}
    return tuple(sorted(f for f in folders if f != root))


def _readable_previous_warehouse(out_dir: Path) -> Path | None:
    """The previous run's warehouse, when DuckDB can open it (its history is carried over)."""
    path = out_dir / WAREHOUSE_NAME
    if not path.is_file():
        return None
    try:
        connect(path, read_only=True, readable=_with_log(path)).close()
    except WarehouseError:
        return None
    return path


def _with_log(warehouse: Path) -> list[Path]:
    """A DuckDB file and its write-ahead log, which DuckDB looks for when it opens the file."""
    return [warehouse, warehouse.with_name(f"{warehouse.name}.wal")]


MACHINE_FAULTS = {
    errno.ENOSPC: ("the disk is full: free some space and run again",
                   "le disque est plein : libérez de la place et relancez"),
    errno.EACCES: ("permission denied: choose a folder you may write in (--out)",
                   "permission refusée : choisissez un dossier où vous pouvez écrire (--out)"),
    errno.EPERM: ("permission denied: choose a folder you may write in (--out)",
                  "permission refusée : choisissez un dossier où vous pouvez écrire (--out)"),
    errno.EROFS: ("the file system is read-only: choose another output folder (--out)",
                  "le système de fichiers est en lecture seule : choisissez un autre dossier "
                  "de sortie (--out)"),
}


def machine_fault(error: OSError, lang: str = "en") -> str:
    """A fault of the machine as one sentence saying where and what to do."""
    where = (f"{error.filename} : " if lang == "fr" else f"{error.filename}: ") \
        if error.filename else ""
    if error.errno in MACHINE_FAULTS:
        return where + MACHINE_FAULTS[error.errno][1 if lang == "fr" else 0]
    return f"{where}{error.strerror or error}"


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _connect(path: Path, config: ProjectConfig, *, readable: list[Path] | None = None,
             writable: list[Path] | None = None) -> duckdb.DuckDBPyConnection:
    """The warehouse, with the project's resources given as DuckDB settings (never as SQL);
    it may read the project's sources (and ``readable``) and write in ``writable`` only."""
    settings: dict[str, str | int] = {}
    if config.database.memory_limit:
        settings["memory_limit"] = config.database.memory_limit
    if config.database.threads:
        settings["threads"] = config.database.threads
    sources = [config.path_of(s).resolve() for s in config.sources]
    try:
        return connect(path, settings=settings,
                       readable=[p for p in sources if p.exists()] + (readable or []),
                       writable=writable or [path.parent])
    except WarehouseError as error:
        raise RunFailed(f"{config.file or 'project file'}: database settings "
                        f"{settings} refused by DuckDB: {error}") from None
