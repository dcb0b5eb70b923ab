"""The ``lci`` command: the whole annual run, validation alone, and the catalogue.

Users are city analysts, not programmers: every expected failure (a bad configuration, an
unreadable file, an unknown year) ends with one plain message and a non-zero exit status, never a
traceback.

The command line starts at once: each command imports what it needs when it runs (the run
brings DuckDB, pandas, pandera and great-tables; the catalogue pydantic and YAML), so that
``lci --help`` loads none of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from pipelines.cli.composite import composite_command
from pipelines.cli.explain import explain_command, trace_command
from pipelines.cli.survey import survey_command
from reports import Lang as Language  # pipelines.run.Language, without importing the run

if TYPE_CHECKING:
    from pipelines.config import ProjectConfig
    from pipelines.ingest import IngestResult
    from pipelines.run import RunContext

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
OutOption = Annotated[Path, typer.Option("--out", "-o", help="Output folder.")]
STAGE_LABELS = {"ingest": "Reading and validating sources",
                "indicators": "Computing indicators",
                "report": "Writing tables, report and exports",
                "bundle": "Writing the auditor's bundle (Parquet, manifest)"}


def _load(config_path: Path | None) -> ProjectConfig:
    from pipelines.config import ConfigError, bundled_sample_config, load_config

    try:
        return load_config(config_path or bundled_sample_config())
    except ConfigError as error:
        errors.print(f"[red]Configuration error:[/red] {error}")
        raise typer.Exit(2) from None


def _announce(name: str) -> None:
    console.print(f"[bold cyan]▸[/bold cyan] {STAGE_LABELS.get(name, name)}…")


def _run_or_exit(config: ProjectConfig, out: Path, **options) -> RunContext:
    from indicators import CatalogueError
    from pipelines.run import RunFailed, run

    try:
        return run(config, out, on_stage=_announce, **options)
    except RunFailed as error:
        errors.print(f"[red]Run failed:[/red] {error}")
        failed = out.resolve().with_name(f"{out.resolve().name}.failed")
        if failed.exists():
            errors.print(f"Previous outputs in {out} are untouched; this run's files are in "
                         f"{failed}")
        raise typer.Exit(1) from None
    except (ValueError, CatalogueError) as error:
        errors.print(f"[red]Error:[/red] {error}")
        raise typer.Exit(2) from None


def _print_ingest(result: IngestResult) -> None:
    table = Table(title="Sources", title_justify="left")
    for column in ("source", "file"):
        table.add_column(column, overflow="fold")
    for column in ("read", "accepted", "quarantined", "flagged"):
        table.add_column(column, justify="right", no_wrap=True)
    for o in result.outcomes:
        style = "yellow" if o.rows_quarantined else ""
        table.add_row(o.source, Path(o.file).name, f"{o.rows_read:,}", f"{o.rows_accepted:,}",
                      f"{o.rows_quarantined:,}", f"{o.rows_flagged:,}", style=style)
    console.print(table)
    for report in result.reports:
        for note in report.notes:
            console.print(f"  [dim]{report.file}:[/dim] {note}")
    for error in result.errors:
        errors.print(f"[red]Source not loaded:[/red] {error}")


@app.command("run")
def run_command(
    config: ConfigOption = None,
    year: Annotated[int | None, typer.Option(help="Report year (default: latest).")] = None,
    lang: Annotated[Language, typer.Option(help="Report language: en or fr.")] = "en",
    out: OutOption = Path("output"),
) -> None:
    """Run everything: ingest and validate sources, compute indicators, write the report."""
    project = _load(config)
    ctx = _run_or_exit(project, out, year=year, lang=lang)
    assert ctx.ingest is not None
    _print_ingest(ctx.ingest)
    console.print(f"[green]✓[/green] {ctx.indicator_rows:,} indicator values for "
                  f"{len(ctx.catalogue)} indicators")
    for note in ctx.notes:
        console.print(f"[yellow]Note:[/yellow] {note}")
    console.print("Written:")
    for path in ctx.written:
        console.print(f"  {path}")
    report = out / str(ctx.year) / "report.html"
    console.print(f"[bold]Report:[/bold] {report.resolve()}")
    if ctx.ingest.errors:
        raise typer.Exit(1)


@app.command("validate")
def validate_command(config: ConfigOption = None, out: OutOption = Path("output")) -> None:
    """Ingest and validate the sources only. Exit status 1 when any row was rejected."""
    from pipelines.run import VALIDATION_STAGES

    project = _load(config)
    ctx = _run_or_exit(project, out, stages=VALIDATION_STAGES)
    assert ctx.ingest is not None
    _print_ingest(ctx.ingest)
    console.print(f"Validation report: {ctx.out_dir / 'validation' / 'report.html'}")
    for o in ctx.ingest.over_threshold:
        errors.print(f"[red]{o.source}: {o.rejected_share:.1%} of rows rejected, above the "
                     f"{ctx.ingest.max_rejected_share[o.source]:.1%} allowed[/red]")
    if ctx.ingest.clean:
        console.print("[green]✓ All rows passed validation.[/green]")
        return
    console.print(f"[yellow]{ctx.ingest.rows_quarantined:,} row(s) quarantined[/yellow]; "
                  f"reasons in {ctx.out_dir / 'quarantine.csv'}")
    raise typer.Exit(1)


app.command("survey")(survey_command)
app.command("composite")(composite_command)
app.command("explain")(explain_command)
app.command("trace")(trace_command)


@app.command("audit")
def audit_command(
    out_dir: Annotated[Path, typer.Argument(help="A folder written by 'lci run'.")],
    project: Annotated[Path | None, typer.Option(
        help="Project folder holding the input files (default: where the run found them)."
    )] = None,
) -> None:
    """Re-verify a bundle: hashes, schemas, and the indicators recomputed from validated data.

    Exit status 0 only when everything matches; 1 otherwise, naming each mismatch.
    """
    from pipelines.publishing.audit import AuditError, audit

    try:
        findings = audit(out_dir, project)
    except AuditError as error:
        errors.print(f"[red]Cannot audit:[/red] {error}")
        raise typer.Exit(2) from None
    steps = {"hash": "Output files", "input": "Input files", "schema": "Validated tables",
             "indicators": "Indicators", "sql": "SQL of each indicator"}
    for step, title in steps.items():
        mine = [f for f in findings if f.step == step]
        bad = [f for f in mine if not f.ok]
        mark = "[green]✓[/green]" if not bad else "[red]✗[/red]"
        console.print(f"{mark} {title}: {len(mine) - len(bad)} of {len(mine)} verified")
        for finding in bad if bad else (mine if step in {"schema", "indicators"} else []):
            console.print(f"    {finding.subject}: {finding.detail}")
    failed = [f for f in findings if not f.ok]
    if failed:
        errors.print(f"[red bold]Audit failed:[/red bold] {len(failed)} mismatch(es).")
        raise typer.Exit(1)
    console.print("[green bold]Audit passed:[/green bold] every published number is backed by "
                  "the validated data and the declared inputs.")


@app.command("indicators")
def indicators_command(
    lang: Annotated[Language, typer.Option(help="Labels in en or fr.")] = "en",
) -> None:
    """List the indicator catalogue by action domain."""
    from indicators import load_catalogue

    catalogue = load_catalogue()
    for domain in catalogue.domains:
        table = Table(title=f"{domain.code} — {domain.label(lang)}", title_justify="left")
        table.add_column("id", no_wrap=True, min_width=5)
        for column in ("indicator", "unit", "direction", "kind"):
            table.add_column(column, overflow="fold")
        for i in catalogue.in_domain(domain.code):
            table.add_row(i.id, i.label(lang), i.unit(lang), i.direction.replace("_", " "),
                          i.kind.replace("_", " "))
        console.print(table)


@app.command("sample-data")
def sample_data_command(
    out: Annotated[Path, typer.Argument(help="Folder to write the sample project into.")] =
    Path("data/sample"),
    seed: Annotated[int, typer.Option(help="Random seed.")] = 2024,
) -> None:
    """Regenerate the bundled sample data (deterministic for a given seed)."""
    from pipelines.sample_data import generate_sample_project

    for path in generate_sample_project(out, seed=seed):
        console.print(f"  {path}")
