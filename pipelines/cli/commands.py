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
from pipelines.cli.survey import survey_command
from reports import Lang as Language  # pipelines.run.Language, without importing the run

if TYPE_CHECKING:
    import duckdb
    from rich.progress import TaskID

    from indicators import Catalogue, Indicator
    from pipelines.config import ProjectConfig
    from pipelines.ingest import IngestResult
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
    typer.Option("--config", "-c", help="Project file (default: the bundled sample project)."),
]
ValidateFormat = Literal["table", "json"]
OutOption = Annotated[Path, typer.Option("--out", "-o", help="Output folder.")]
STAGE_LABELS = {"ingest": "Reading and validating sources",
                "indicators": "Computing indicators",
                "report": "Writing tables, report and exports",
                "bundle": "Writing the public and restricted bundles (Parquet, signed "
                           "manifests)"}


def _load(config_path: Path | None) -> ProjectConfig:
    from pipelines.config import ConfigError, bundled_sample_config, load_config

    try:
        return load_config(config_path or bundled_sample_config())
    except ConfigError as error:
        errors.print(f"[red]Configuration error:[/red] {escape(str(error))}")
        raise typer.Exit(2) from None


def _signing_key(path: Path | None) -> SigningKey:
    """The publisher's key (``--signing-key``, ``$LCI_SIGNING_KEY`` or the per-user key)."""
    from pipelines.publishing.signing import SigningError, resolve_signing_key

    try:
        key = resolve_signing_key(path)
    except SigningError as error:
        errors.print(f"[red]Signing key:[/red] {escape(str(error))}")
        raise typer.Exit(2) from None
    if key.created:
        errors.print(escape(f"Created your signing key at {key.path} (readable by you only): "
                            f"every run signs its bundles with it. Keep it, back it up, and "
                            f"give auditors its fingerprint {key.fingerprint}, or its public "
                            f"key {key.path.with_suffix('.pub')}."))
    return key


def _signed_stages(key: SigningKey) -> tuple[tuple[str, Stage], ...]:
    from functools import partial

    from pipelines.run import STAGES, stage_bundle

    return tuple((name, partial(stage_bundle, signing_key=key) if stage is stage_bundle
                  else stage) for name, stage in STAGES)


PROGRESS_LABELS = {"ingest": "sources loaded", "indicators": "indicators computed",
                   "index": "index runs (Monte Carlo)"}


@contextlib.contextmanager
def _progress_bars(shown: Console) -> Iterator[Callable[[str, int, int, str], None] | None]:
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
                  TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                  TextColumn("{task.fields[what]}"), console=shown, transient=True) as bars:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int, what: str) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(PROGRESS_LABELS.get(stage, stage), total=total,
                                             what="")
            bars.update(tasks[stage], completed=done, total=total, what=escape(what))

        yield update


def _run_or_exit(config: ProjectConfig, out: Path, *, announce: Console | None = None,
                 **options) -> RunContext:
    """The run, its expected failures as one message; stages are announced on ``announce``."""
    from indicators import CatalogueError
    from pipelines.run import RunFailed, run

    shown = announce or console
    try:
        with _progress_bars(shown) as on_progress:
            return run(config, out, on_stage=lambda name: shown.print(
                f"[bold cyan]▸[/bold cyan] {STAGE_LABELS.get(name, name)}…"),
                on_progress=on_progress, **options)
    except RunFailed as error:
        said = error.french if options.get("lang") == "fr" and error.french else str(error)
        label = "Échec de l'exécution" if options.get("lang") == "fr" else "Run failed"
        errors.print(f"[red]{label}:[/red] {escape(said)}")
        from pipelines.publishing.output_folder import failed_folder

        failed = failed_folder(out.resolve()) if out.resolve().name else None  # not for "/"
        if failed is not None and failed.exists():
            errors.print(f"Previous outputs in {out} are untouched; this run's files are in "
                         f"{failed}", markup=False)
        raise typer.Exit(1) from None
    except (ValueError, CatalogueError) as error:
        errors.print(f"[red]Error:[/red] {escape(str(error))}")
        raise typer.Exit(2) from None


def _print_ingest(result: IngestResult) -> None:
    table = Table(title="Sources", title_justify="left")
    for column in ("source", "file"):
        table.add_column(column, overflow="fold")
    for column in ("read", "accepted", "quarantined", "flagged"):
        table.add_column(column, justify="right", no_wrap=True)
    for o in result.outcomes:
        style = "yellow" if o.rows_quarantined else ""
        table.add_row(Text(o.source), Text(Path(o.file).name), f"{o.rows_read:,}",
                      f"{o.rows_accepted:,}", f"{o.rows_quarantined:,}", f"{o.rows_flagged:,}",
                      style=style)
    console.print(table)
    for report in result.reports:
        for note in report.notes:
            console.print(f"  [dim]{escape(str(report.file))}:[/dim] {escape(str(note))}")
    for error in result.errors:
        errors.print(f"[red]Source not loaded:[/red] {escape(str(error))}")


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

    project = _load(config)
    key = _signing_key(signing_key)
    ctx = _run_or_exit(project, out, year=year, lang=lang, stages=_signed_stages(key))
    assert ctx.ingest is not None
    _print_ingest(ctx.ingest)
    console.print(f"[green]✓[/green] {ctx.indicator_rows:,} indicator values for "
                  f"{len(ctx.catalogue)} indicators")
    _print_availability(ctx.availability)
    for note in ctx.notes:
        console.print(f"[yellow]Note:[/yellow] {escape(str(note))}")
    console.print("Written:")
    for path in ctx.written:
        console.print(f"  {path}", markup=False)
    report = out / PUBLIC / str(ctx.year) / "report.html"
    console.print(f"[bold]Report:[/bold] {escape(str(report.resolve()))}")
    console.print(f"[bold]Publish:[/bold] {escape(str((out / PUBLIC).resolve()))}  "
                  f"[bold]Restricted, auditors only:[/bold] "
                  f"{escape(str((out / RESTRICTED).resolve()))}")
    console.print(f"[bold]Signed by key[/bold] {key.fingerprint} "
                  f"({escape(key.origin)}: {escape(str(key.path))})")
    if ctx.ingest.errors:
        raise typer.Exit(1)


def _print_availability(rows: list[tuple[str, str, bool, str | None]]) -> None:
    """One table: which indicators were computed, which were not, and why."""
    missing = [r for r in rows if not r[2]]
    if not missing:
        return
    table = Table(title=Text(f"Indicators: {len(rows) - len(missing)} computed, "
                             f"{len(missing)} not computed"), title_justify="left")
    table.add_column("indicator", no_wrap=True)
    table.add_column("label", overflow="fold")
    table.add_column("why not computed", overflow="fold")
    for indicator_id, label, _, reason in missing:
        table.add_row(Text(indicator_id), Text(label), Text(reason or ""))
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

    project = _load(config)
    from pipelines.publishing.bundle import QUARANTINE, REPORT_HTML, REPORT_JSON, SUMMARY

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
    _print_ingest(ctx.ingest)
    console.print(f"Validation report: {ctx.restricted_dir / REPORT_HTML} (restricted); "
                  f"summary: {ctx.public_dir / SUMMARY}", markup=False)
    for o in ctx.ingest.over_threshold:
        errors.print(Text(f"{o.source}: {o.rejected_share:.1%} of rows rejected, above the "
                          f"{ctx.ingest.max_rejected_share[o.source]:.1%} allowed",
                          style="red"))
    if ctx.ingest.clean:
        console.print("[green]✓ All rows passed validation.[/green]")
        return
    console.print(f"[yellow]{ctx.ingest.rows_quarantined:,} row(s) quarantined[/yellow]; "
                  f"reasons in {escape(str(ctx.restricted_dir / QUARANTINE))}")
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
                   year_dir: Path, territories, title: str | None,
                   rows_per_level: int | None = None) -> list[Path]:
    """The report, its tables and the exports of ``year`` written as ``lci run`` writes them
    (the report writers ``lci audit`` re-renders the published files with)."""
    from reports import write_exports, write_report

    shown = {} if rows_per_level is None else {"rows_per_level": rows_per_level}
    files = write_report(con, catalogue, year, lang, year_dir, territories=territories,
                         title=title, **shown)
    return [*files.all, *write_exports(con, catalogue, year_dir)]


@app.command("keygen")
def keygen_command(
    path: Annotated[Path, typer.Argument(help="Where to write the private key (PEM); the "
                                              "public key goes beside it, as .pub.")],
) -> None:
    """Write a new Ed25519 key pair for signing the bundles (never overwrites a file)."""
    from pipelines.publishing.signing import SigningError, load_private_key, write_key_pair
    from pipelines.publishing.signing import fingerprint as key_fingerprint

    try:
        private, public = write_key_pair(path)
    except SigningError as error:
        errors.print(f"[red]Error:[/red] {escape(str(error))}")
        raise typer.Exit(2) from None
    console.print(f"Private key: {private} (readable by you only: keep it secret)", markup=False)
    console.print(f"Public key: {public} (give it to auditors)", markup=False)
    console.print(f"Fingerprint: {key_fingerprint(load_private_key(private).public_key())}",
                  markup=False)
    console.print(f"Sign with it: lci run --signing-key {private}, or LCI_SIGNING_KEY={private}",
                  markup=False)


@app.command("indicators")
def indicators_command(
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="Project file: list the catalogue it uses, its own indicators "
                               "and changes included (default: the built-in catalogue).")] = None,
    lang: Annotated[Language, typer.Option(help="Labels in en or fr.")] = "en",
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

        project = _load(config)
        try:
            catalogue = effective_catalogue(project)
        except CatalogueError as error:
            errors.print(f"[red]Indicator definitions:[/red] {escape(str(error))}")
            raise typer.Exit(2) from None
        own = [i for i in catalogue if _origin(i, project, lang)[0] == "own"]
        console.print(Text(f"{project.name}: {len(catalogue)} indicators, {len(own)} of the "
                           f"project's own" if lang == "en" else
                           f"{project.name} : {len(catalogue)} indicateurs, dont {len(own)} "
                           f"propres au projet"))
    for domain in catalogue.domains:
        table = Table(title=Text(f"{domain.code} — {domain.label(lang)}"),
                      title_justify="left")
        table.add_column("id", no_wrap=True, min_width=5)
        for column in ("indicator", "unit", "direction", "kind"):
            table.add_column(column, overflow="fold")
        if project is not None:
            table.add_column("defined in", overflow="fold")
        for i in catalogue.in_domain(domain.code):
            cells = [i.id, i.label(lang), i.unit(lang), i.direction.replace("_", " "),
                     i.kind.replace("_", " ")]
            if project is not None:
                cells.append(_origin(i, project, lang)[1])
            table.add_row(*(Text(t) for t in cells))
        console.print(table)


def _origin(indicator: Indicator, project: ProjectConfig, lang: str) -> tuple[str, str]:
    """Where an indicator of a project's catalogue comes from: ('builtin' or 'own', said)."""
    from indicators.catalogue.project import is_builtin_definition

    fr = lang == "fr"
    if not is_builtin_definition(indicator):
        return "own", f"{'projet' if fr else 'project'}: {indicator.defined_in}"
    override = project.indicators.override.get(indicator.id)
    if override is None:
        return "builtin", "intégré" if fr else "built-in"
    changed = ", ".join(override.changes())
    return "builtin", (f"intégré, modifié : {changed}" if fr else f"built-in, changed: {changed}")


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
