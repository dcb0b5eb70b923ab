"""The ``lci`` command: the whole annual run, validation alone, and the catalogue.

Users are city analysts, not programmers: every expected failure (a bad configuration, an
unreadable file, an unknown year) ends with one plain message and a non-zero exit status, never a
traceback.

The command line starts at once: each command imports what it needs when it runs (the run
brings DuckDB, pandas, pandera and great-tables; the catalogue pydantic and YAML), so that
``lci --help`` loads none of them.

Text from files and settings (paths, source names, column names, messages) is printed
literally, never read as rich markup: through :func:`rich.markup.escape`, ``markup=False`` or
:class:`rich.text.Text`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from pipelines.cli.composite import composite_command
from pipelines.cli.explain import explain_command, trace_command
from pipelines.cli.profile import profile_command
from pipelines.cli.survey import survey_command
from reports import Lang as Language  # pipelines.run.Language, without importing the run
from reports._i18n import format_count, format_percent, say, typeset

if TYPE_CHECKING:
    import duckdb
    from rich.progress import TaskID

    from indicators import Catalogue, Indicator
    from pipelines.config import ProjectConfig
    from pipelines.ingest import IngestResult
    from pipelines.publishing.publication import Publication
    from pipelines.publishing.signing import SigningKey
    from pipelines.run import RunContext, Stage

app = typer.Typer(
    name="lci",
    help="Learning City Indicators: from survey and administrative data to audited "
         "learning-city indicators and comparison tables.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Project file (default: lci.yaml in the current folder, "
                                         "else the bundled sample project)."),
]
ValidateFormat = Literal["table", "json"]
OutOption = Annotated[Path, typer.Option("--out", "-o", help="Output folder.")]
LangOption = Annotated[Language, typer.Option(help="Language of what is printed: en or fr.")]


def _load(config_path: Path | None, lang: Language = "en") -> ProjectConfig:
    from pipelines.config import ConfigError, default_config, load_config

    try:
        return load_config(config_path or default_config())
    except ConfigError as error:
        errors.print(f"[red]{escape(say('config_error', lang))}[/red] "
                     f"{escape(_config_message(error, lang))}")
        raise typer.Exit(2) from None


def _config_message(error: Exception, lang: Language) -> str:
    """A configuration error in ``lang``: in French, each of its problems said again from
    their French message, with the file, line and field."""
    problems = getattr(error, "problems", ())
    if lang != "fr" or not problems:
        return str(error)
    lines = [say("config.invalid", lang, file=problems[0].file or "")]
    for p in problems:
        where = ", ".join(part for part in (say("config.line", lang, row=p.row) if p.row
                                            else "", p.field or "") if part)
        value = say("config.value", lang, value=p.value) if p.value is not None else ""
        lines.append("  - " + (f"{where}\u00a0: " if where else "") + p.message.in_(lang)
                     + value)
    return "\n".join(lines)


def _signing_key(path: Path | None, lang: Language = "en") -> SigningKey:
    """The publisher's key (``--signing-key``, ``$LCI_SIGNING_KEY`` or the per-user key)."""
    from pipelines.publishing.signing import SigningError, resolve_signing_key

    try:
        key = resolve_signing_key(path)
    except SigningError as error:
        errors.print(f"[red]{escape(say('signing_key_error', lang))}[/red] "
                     f"{escape(str(error))}")
        raise typer.Exit(2) from None
    if key.created:
        errors.print(Text(say("key_created", lang, path=key.path, fingerprint=key.fingerprint,
                              public=key.path.with_suffix(".pub"))))
    return key


def _signed_stages(key: SigningKey) -> tuple[tuple[str, Stage], ...]:
    from functools import partial

    from pipelines.run import STAGES, stage_bundle

    return tuple((name, partial(stage_bundle, signing_key=key) if stage is stage_bundle
                  else stage) for name, stage in STAGES)


PROGRESS_STAGES = ("ingest", "indicators", "index")


@contextlib.contextmanager
def _progress_bars(shown: Console, lang: Language = "en"
                   ) -> Iterator[Callable[[str, int, int, str], None] | None]:
    """Bars with counts, elapsed time and time left for the long stages, on a terminal only:
    a log or a pipe gets the stage lines alone."""
    if not shown.is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TextColumn(say("progress.left", lang)),
                  TimeRemainingColumn(),
                  TextColumn("{task.fields[what]}"), console=shown, transient=True) as bars:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int, what: str) -> None:
            if stage not in tasks:
                label = say(f"progress.{stage}", lang) if stage in PROGRESS_STAGES else stage
                tasks[stage] = bars.add_task(escape(label), total=total, what="")
            bars.update(tasks[stage], completed=done, total=total, what=escape(what))

        yield update


def _run_or_exit(config: ProjectConfig, out: Path, *, announce: Console | None = None,
                 **options) -> RunContext:
    """The run, its expected failures as one message; stages are announced on ``announce``."""
    from indicators import CatalogueError
    from pipelines.run import RunFailed, run

    shown = announce or console
    lang: Language = options.get("lang", "en")
    try:
        with _progress_bars(shown, lang) as on_progress:
            return run(config, out, on_stage=lambda name: shown.print(
                f"[bold cyan]▸[/bold cyan] {escape(_stage_label(name, lang))}…"),
                on_progress=on_progress, **options)
    except RunFailed as error:
        said = error.french if lang == "fr" and error.french else str(error)
        errors.print(f"[red]{escape(say('run_failed', lang))}[/red] {escape(said)}")
        from pipelines.publishing.output_folder import failed_folder

        failed = failed_folder(out.resolve()) if out.resolve().name else None  # not for "/"
        if failed is not None and failed.exists():
            errors.print(say("untouched", lang, out=out, failed=failed), markup=False)
        raise typer.Exit(1) from None
    except (ValueError, CatalogueError) as error:
        errors.print(f"[red]{escape(say('error', lang))}[/red] {escape(str(error))}")
        raise typer.Exit(2) from None


def _stage_label(name: str, lang: Language) -> str:
    return say(f"stage.{name}", lang) if name in ("ingest", "indicators", "report", "bundle") \
        else name


def _print_ingest(result: IngestResult, lang: Language = "en") -> None:
    """Rows read, accepted, quarantined and flagged per source; what each reader noted, with
    the first value concerned; the sources that could not be read."""
    from reports._validation import note_example

    table = Table(title=say("sources.title", lang), title_justify="left")
    for column in ("source", "file"):
        table.add_column(say(f"sources.{column}", lang), overflow="fold")
    for column in ("read", "accepted", "quarantined", "flagged"):
        table.add_column(say(f"sources.{column}", lang), justify="right", no_wrap=True)
    for o in result.outcomes:
        style = "yellow" if o.rows_quarantined else ""
        table.add_row(Text(o.source), Text(Path(o.file).name),
                      *(format_count(n, lang) for n in (o.rows_read, o.rows_accepted,
                                                        o.rows_quarantined, o.rows_flagged)),
                      style=style)
    console.print(table)
    colon = "\u00a0: " if lang == "fr" else ": "
    for report in result.reports:
        problems = getattr(report, "problems", None)
        kind = str(getattr(report, "format", "csv"))
        notes = [(typeset(p.message.in_(lang), lang), note_example(p.as_dict(), lang, kind))
                 for p in problems] \
            if problems is not None else [(str(n), "") for n in report.notes]
        for note, example in notes:
            console.print(Text.assemble((f"  {report.file}{colon}", "dim"),
                                        note + (f" — {example}" if example else "")))
    for error in result.errors:
        problem = getattr(error, "problem", None)
        message = say("source_error", lang, file=Path(error.path).name, source=error.source,
                      message=problem.message.in_(lang)) \
            if problem is not None and lang == "fr" else str(error)
        errors.print(f"[red]{escape(say('source_not_loaded', lang))}[/red] {escape(message)}")


def _print_quarantine(ctx: RunContext, lang: Language) -> bool:
    """A warning that ends the output when rows were set aside or a source was not loaded:
    how many, from which sources, and where the quarantine file is. True when one was said."""
    from pipelines.publishing.bundle import QUARANTINE

    assert ctx.ingest is not None
    said = False
    if ctx.ingest.errors:
        names = ", ".join(dict.fromkeys(e.source for e in ctx.ingest.errors))
        console.print(Text("⚠ " + say("sources_not_loaded", lang, n=len(ctx.ingest.errors),
                                      sources=names), style="bold red"))
        said = True
    if ctx.ingest.rows_quarantined:
        sources = ", ".join(say("quarantined_source", lang, source=o.source,
                                rows=format_count(o.rows_quarantined, lang))
                            for o in ctx.ingest.outcomes if o.rows_quarantined)
        console.print(Text("⚠ " + say("quarantined", lang,
                                      rows=format_count(ctx.ingest.rows_quarantined, lang),
                                      sources=sources,
                                      path=ctx.restricted_dir / QUARANTINE),
                           style="bold yellow"), soft_wrap=True)
        said = True
    return said


@app.command("run")
def run_command(
    config: ConfigOption = None,
    year: Annotated[int | None, typer.Option(help="Report year (default: latest).")] = None,
    lang: Annotated[Language, typer.Option(help="Report language: en or fr.")] = "en",
    out: OutOption = Path("output"),
    signing_key: Annotated[Path | None, typer.Option(
        "--signing-key", help="Private key (PEM) signing the manifests (default: "
                              "$LCI_SIGNING_KEY, else your key in ~/.config/lci, created once)."
    )] = None,
) -> None:
    """Run everything: ingest and validate sources, compute indicators, write the report.

    Writes OUT/public (what is published) and OUT/restricted (respondent-level data, for
    auditors only), each with a signed manifest.
    """
    from pipelines.publishing.bundle import PUBLIC, RESTRICTED
    from pipelines.run import said

    project = _load(config, lang)
    key = _signing_key(signing_key, lang)
    ctx = _run_or_exit(project, out, year=year, lang=lang, stages=_signed_stages(key))
    assert ctx.ingest is not None
    _print_ingest(ctx.ingest, lang)
    console.print(Text.assemble(("✓ ", "green"), say(
        "values_computed", lang, values=format_count(ctx.indicator_rows, lang),
        indicators=format_count(len(ctx.catalogue), lang))))
    _print_availability(ctx.availability, lang)
    for note in ctx.notes:
        console.print(Text.assemble((say("note", lang), "yellow"), " ",
                                    typeset(said(note, lang), lang)))
    console.print(say("written", lang), markup=False)
    for path in ctx.written:
        console.print(f"  {path}", markup=False)
    report = out / PUBLIC / str(ctx.year) / "report.html"
    console.print(Text.assemble((say("report", lang), "bold"), f" {report.resolve()}"))
    console.print(Text.assemble((say("publish", lang), "bold"), f" {(out / PUBLIC).resolve()}  ",
                                (say("restricted", lang), "bold"),
                                f" {(out / RESTRICTED).resolve()}"))
    origin = say(f"origin.{key.origin}", lang) if key.origin in (
        "per-user key", "LCI_SIGNING_KEY", "--signing-key") else key.origin
    colon = "\u00a0: " if lang == "fr" else ": "
    console.print(Text.assemble((say("signed", lang), "bold"),
                                f" {key.fingerprint} ({origin}{colon}{key.path})"))
    _print_quarantine(ctx, lang)
    if ctx.ingest.errors:
        raise typer.Exit(1)


def _plural_fr(count: int) -> str:
    """French's plural mark: 0 and 1 take the singular ("1 calculé", "2 calculés")."""
    return "s" if count > 1 else ""


def _print_availability(rows: list[tuple[str, str, bool, str | None]],
                        lang: Language = "en") -> None:
    """One table: which indicators were computed, which were not, and why."""
    from pipelines.run import said

    missing = [r for r in rows if not r[2]]
    if not missing:
        return
    computed = len(rows) - len(missing)
    table = Table(title=Text(say("availability.title", lang, computed=computed,
                                 missing=len(missing), computed_s=_plural_fr(computed),
                                 missing_s=_plural_fr(len(missing)))),
                  title_justify="left")
    table.add_column(say("availability.indicator", lang), no_wrap=True)
    table.add_column(say("availability.label", lang), overflow="fold")
    table.add_column(say("availability.why", lang), overflow="fold")
    for indicator_id, label, _, reason in missing:
        table.add_row(Text(indicator_id), Text(label),
                      Text(typeset(said(reason or "", lang), lang)))
    console.print(table)


@app.command("validate")
def validate_command(
    config: ConfigOption = None,
    out: OutOption = Path("output"),
    lang: Annotated[Language, typer.Option(help="Language of the messages: en or fr.")] = "en",
    output_format: Annotated[ValidateFormat, typer.Option(
        "--format", help="table (for people) or json (every problem, for machines)")] = "table",
) -> None:
    """Ingest and validate the sources only. Exit status 1 when any row was rejected."""
    from pipelines.run import VALIDATION_STAGES

    project = _load(config, lang)
    from pipelines.publishing.bundle import REPORT_HTML, REPORT_JSON, SUMMARY

    ctx = _run_or_exit(project, out, stages=VALIDATION_STAGES, lang=lang,
                       announce=errors if output_format == "json" else None)
    assert ctx.ingest is not None
    if output_format == "json":
        facts = json.loads((ctx.restricted_dir / REPORT_JSON).read_text(encoding="utf-8"))
        # Plain print: JSON for machines, never touched by the console's markup or wrapping.
        print(json.dumps({"clean": ctx.ingest.clean, "sources": facts.get("sources", []),
                          "problems": facts.get("problems", [])}, indent=2, ensure_ascii=False))
        if not ctx.ingest.clean:
            raise typer.Exit(1)
        return
    _print_ingest(ctx.ingest, lang)
    console.print(say("validation_report", lang, report=ctx.restricted_dir / REPORT_HTML,
                      summary=(ctx.public_dir / SUMMARY).with_name("summary.html")),
                  markup=False)
    for o in ctx.ingest.over_threshold:
        errors.print(Text(say("over_threshold", lang, source=o.source,
                              share=format_percent(round(o.rejected_share, 3), lang),
                              allowed=format_percent(ctx.ingest.max_rejected_share[o.source],
                                                     lang)), style="red"))
    if ctx.ingest.clean:
        console.print(Text("✓ " + say("all_passed", lang), style="green"))
        return
    _print_quarantine(ctx, lang)
    raise typer.Exit(1)


@app.command("init")
def init_command(
    folder: Annotated[Path, typer.Argument(help="The project folder to start (created if "
                                               "need be).")],
    files: Annotated[list[Path] | None, typer.Argument(
        help="Your data files (CSV, Excel, Parquet) or folders holding them: each is "
             "proposed as a source.")] = None,
    lang: Annotated[Language, typer.Option(help="Language of the messages: en or fr.")] = "en",
) -> None:
    """Start a project: a commented project file and codebooks to fill in, with a source
    proposed for each file given (format, encoding, delimiter, header row and column mapping
    detected; every guess marked '# guessed — check'). Never overwrites a file."""
    from pipelines.project_init import InitError, start_project, summary

    try:
        result = start_project(folder, files or [])
    except InitError as error:
        label = "lci init : impossible" if lang == "fr" else "lci init cannot start"
        errors.print(Text(f"{label}: {error.text.in_(lang)}", style="red"), soft_wrap=True)
        raise typer.Exit(2) from None
    for line in summary(result):
        # printed literally (names may hold [brackets] or :colons:), paths never cut by wrapping
        console.print(Text(line.in_(lang)), soft_wrap=True)


app.command("survey")(survey_command)
app.command("composite")(composite_command)
app.command("explain")(explain_command)
app.command("trace")(trace_command)
app.command("profile")(profile_command)


@app.command("audit")
def audit_command(
    out_dir: Annotated[Path, typer.Argument(
        help="A folder written by 'lci run' (holding public/ and restricted/), or a public "
             "bundle on its own.")],
    project: Annotated[Path | None, typer.Option(
        help="Project folder holding the input files (default: where the run found them)."
    )] = None,
    restricted: Annotated[Path | None, typer.Option(
        help="The restricted bundle (default: OUT_DIR/restricted when present)."
    )] = None,
    public_key: Annotated[Path | None, typer.Option(
        "--public-key", help="The publisher's public key (PEM), obtained from the publisher."
    )] = None,
    fingerprint: Annotated[str | None, typer.Option(
        "--fingerprint", help="The publisher's key fingerprint (64 hex digits)."
    )] = None,
) -> None:
    """Re-verify the bundles: signatures, hashes, every published number derived again.

    The public bundle alone: its changes, index, report and exports are re-derived from its
    values. With the restricted bundle: the indicators are recomputed from the validated
    tables, and quarantine, row counts and validation report are checked against each other.
    Exit status 0 only when everything matches; 1 otherwise, naming each mismatch.
    """
    from pipelines.publishing.audit import STEPS, AuditError, audit, locate, shipped_fingerprint

    try:
        bundles = locate(out_dir, restricted)
        findings = audit(out_dir, project, restricted=restricted, public_key=public_key,
                         key_fingerprint=fingerprint, render=render_reports)
    except AuditError as error:
        errors.print(f"[red]Cannot audit:[/red] {escape(str(error))}")
        raise typer.Exit(2) from None
    console.print(f"Public bundle: {bundles.public.path}", markup=False)
    console.print(f"Restricted bundle: {bundles.restricted.path}" if bundles.restricted else
                  "Restricted bundle: not given (the public bundle alone is audited; "
                  "--restricted PATH adds the recomputation from validated data)", markup=False)
    shown = {"signature", "published", "indicators"}  # their passing findings too
    for step, title in STEPS.items():
        mine = [f for f in findings if f.step == step]
        if not mine:
            if step == "input":
                console.print("– Input files: not checked (no run.json beside the bundle: "
                              "give the project folder with --project)")
            continue
        bad = [f for f in mine if not f.ok]
        mark = "[green]✓[/green]" if not bad else "[red]✗[/red]"
        console.print(f"{mark} {title}: {len(mine) - len(bad)} of {len(mine)} verified")
        for finding in bad if bad else (mine if step in shown else []):
            console.print(Text(f"    {finding.subject}: {finding.detail}"))
    key = shipped_fingerprint(out_dir)
    trust = ("the publisher's key you gave" if public_key or fingerprint else
             "compare it with the one the publisher gave you")
    console.print(f"Signing key fingerprint: {key or '(none)'} ({trust})", markup=False)
    failed = [f for f in findings if not f.ok]
    if failed:
        errors.print(f"[red bold]Audit failed:[/red bold] {len(failed)} mismatch(es).")
        raise typer.Exit(1)
    console.print("[green bold]Audit passed:[/green bold] every published number is backed by "
                  + ("the validated data and the declared inputs." if bundles.restricted else
                     "the published values it can be derived from."))


def render_reports(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, year: int, lang: str,
                   year_dir: Path, publication: Publication) -> list[Path]:
    """The publication of ``year`` written as ``lci run`` writes it (the writer ``lci audit``
    re-renders the published files with)."""
    from pipelines.publishing.publication import write_publication

    return write_publication(con, catalogue, year, lang, year_dir, publication)


@app.command("keygen")
def keygen_command(
    path: Annotated[Path, typer.Argument(help="Where to write the private key (PEM); the "
                                              "public key goes beside it, as .pub.")],
    lang: LangOption = "en",
) -> None:
    """Write a new Ed25519 key pair for signing the bundles (never overwrites a file)."""
    from pipelines.publishing.signing import SigningError, load_private_key, write_key_pair
    from pipelines.publishing.signing import fingerprint as key_fingerprint

    try:
        private, public = write_key_pair(path)
    except SigningError as error:
        errors.print(f"[red]{escape(say('error', lang))}[/red] {escape(str(error))}")
        raise typer.Exit(2) from None
    console.print(say("keygen.private", lang, path=private), markup=False)
    console.print(say("keygen.public", lang, path=public), markup=False)
    console.print(say("keygen.fingerprint", lang,
                      fingerprint=key_fingerprint(load_private_key(private).public_key())),
                  markup=False)
    console.print(say("keygen.use", lang, path=private), markup=False)


@app.command("indicators")
def indicators_command(
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="Project file: list the catalogue it uses, its own indicators "
                               "and changes included (default: the built-in catalogue).")] = None,
    lang: LangOption = "en",
) -> None:
    """List the indicator catalogue by action domain.

    With --config, the catalogue the project's runs use (its indicators section: built-in
    indicators kept, their changes, its own), every definition checked as a run checks it.
    """
    from indicators import CatalogueError, load_catalogue

    project = None
    if config is None:
        catalogue = load_catalogue()
    else:
        from pipelines.run import effective_catalogue

        project = _load(config, lang)
        try:
            catalogue = effective_catalogue(project)
        except CatalogueError as error:
            errors.print(f"[red]{escape(say('catalogue.definitions', lang))}[/red] "
                         f"{escape(str(error))}")
            raise typer.Exit(2) from None
        own = [i for i in catalogue if _origin(i, project, lang)[0] == "own"]
        console.print(Text(say("catalogue.project", lang, project=project.name,
                               n=len(catalogue), own=len(own))))
    from reports._i18n import text

    for domain in catalogue.domains:
        table = Table(title=Text(f"{domain.code} — {domain.label(lang)}"),
                      title_justify="left")
        table.add_column(say("catalogue.id", lang), no_wrap=True, min_width=5)
        for column in ("indicator", "unit", "direction", "kind"):
            table.add_column(say(f"catalogue.{column}", lang), overflow="fold")
        if project is not None:
            table.add_column(say("catalogue.defined_in", lang), overflow="fold")
        for i in catalogue.in_domain(domain.code):
            cells = [i.id, i.label(lang), i.unit(lang), text(f"direction.{i.direction}", lang),
                     say(f"kind.{i.kind}", lang)]
            if project is not None:
                cells.append(_origin(i, project, lang)[1])
            table.add_row(*(Text(t) for t in cells))
        console.print(table)


def _origin(indicator: Indicator, project: ProjectConfig, lang: str) -> tuple[str, str]:
    """Where an indicator of a project's catalogue comes from: ('builtin' or 'own', said)."""
    from indicators.catalogue.project import is_builtin_definition

    shown: Language = "fr" if lang == "fr" else "en"
    if not is_builtin_definition(indicator):
        return "own", say("catalogue.own", shown, file=indicator.defined_in)
    override = project.indicators.override.get(indicator.id)
    if override is None:
        return "builtin", say("catalogue.builtin", shown)
    return "builtin", say("catalogue.changed", shown, changes=", ".join(override.changes()))


@app.command("sample-data")
def sample_data_command(
    out: Annotated[Path, typer.Argument(help="Folder to write the sample project into.")] =
    Path("data/sample"),
    seed: Annotated[int, typer.Option(help="Random seed.")] = 2024,
) -> None:
    """Regenerate the bundled sample data (deterministic for a given seed)."""
    from pipelines.sample_data import generate_sample_project

    for path in generate_sample_project(out, seed=seed):
        console.print(f"  {path}", markup=False)
