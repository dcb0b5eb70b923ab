"""``lci explain`` and ``lci trace``: the SQL behind an indicator, the records behind a cell.

Text from files, data and settings (paths, names, values, messages) is printed literally, never
read as rich markup: through :func:`rich.markup.escape` or as :class:`rich.text.Text`.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    import duckdb

    from indicators import Catalogue

WAREHOUSE = "warehouse.duckdb"
console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

OutOption = Annotated[Path, typer.Option("--out", "-o",
                                         help="Output folder of a run (holds the warehouse).")]
ConfigOption = Annotated[Path | None, typer.Option(
    "--config", "-c", help="Project file, used when the output folder holds no run "
                           "(default: the bundled sample project).")]


def _fail(message: str, code: int = 2) -> typer.Exit:
    errors.print(f"[red]Error:[/red] {escape(message)}", markup=True, soft_wrap=True)
    return typer.Exit(code)


def _catalogue(out: Path, config_path: Path | None = None) -> Catalogue:
    """The project's catalogue (its own indicators and changes): from ``--config`` when given,
    else from the project file the run in ``out`` kept, else the built-in one."""
    from indicators import CatalogueError, load_catalogue
    from indicators.catalogue.project import read_project_catalogue
    from pipelines.config import ConfigError, load_config
    from pipelines.run import effective_catalogue

    try:
        if config_path is not None:
            return effective_catalogue(load_config(config_path))
        kept = _kept_project_file(out)
        return read_project_catalogue(kept) if kept is not None else load_catalogue()
    except ConfigError as error:
        raise _fail(f"configuration: {error}") from None
    except CatalogueError as error:
        raise _fail(f"indicator catalogue: {error}") from None


def _kept_project_file(out: Path) -> Path | None:
    """The project file a run kept in its public bundle (the manifest names it)."""
    import json

    try:
        manifest = json.loads((out / "public" / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = manifest.get("project_file") if isinstance(manifest, dict) else None
    path = out / "public" / "project" / str(name)
    return path if name and path.is_file() else None


def _warehouse(out: Path) -> duckdb.DuckDBPyConnection | None:
    """The run's warehouse, read-only and without access to anything else on the machine."""
    import duckdb

    path = out / WAREHOUSE
    if not path.is_file():
        return None
    try:
        return duckdb.connect(str(path), read_only=True,
                              config={"enable_external_access": False})
    except duckdb.Error as error:
        raise _fail(f"{path}: not a readable LCI warehouse ({error})") from None


def _indicator_ids(catalogue: Catalogue) -> str:
    return ", ".join(i.id for i in catalogue)


def explain_command(
    indicator: Annotated[str, typer.Argument(help="Indicator id, e.g. LL01.")],
    out: OutOption = Path("output"),
    config: ConfigOption = None,
) -> None:
    """Print the SQL behind an indicator, with the definition it came from.

    Taken from the run in --out when there is one (the statement that produced its published
    numbers); otherwise planned afresh on the project's data.
    """
    catalogue = _catalogue(out, config)
    chosen = next((i for i in catalogue if i.id == indicator.upper()), None)
    if chosen is None:
        raise _fail(f"no indicator {indicator!r} in the catalogue; "
                    f"known: {_indicator_ids(catalogue)}")
    con = _warehouse(out)
    if con is not None:
        found = con.execute("SELECT sql FROM indicator_sql WHERE indicator_id = ?",
                            [chosen.id]).fetchall()
        con.close()
        if found:
            errors.print(f"-- from the run in {out}", highlight=False, markup=False)
            typer.echo(found[0][0], nl=False)
            return
    typer.echo(_plan_afresh(chosen.id, config, catalogue), nl=False)


def _plan_afresh(indicator_id: str, config_path: Path | None, catalogue: Catalogue) -> str:
    """The plan on the project's data, read and validated in memory (nothing is written)."""
    import duckdb

    from indicators.compute.registry import plan_indicator
    from indicators.territories import build_membership
    from pipelines.config import ConfigError, bundled_sample_config, load_config
    from pipelines.ingest import ingest

    try:
        config = load_config(config_path or bundled_sample_config())
    except ConfigError as error:
        raise _fail(f"configuration: {error}") from None
    errors.print(f"-- planned on the data of {config.file or 'the project'} (no run found)",
                 markup=False)
    con = duckdb.connect()
    ingest(con, config)
    build_membership(con, config.territory_model)
    indicator = next(i for i in catalogue if i.id == indicator_id)
    return plan_indicator(con, indicator, config.validation.lonely_psu).script()


def trace_command(
    indicator: Annotated[str, typer.Argument(help="Indicator id, e.g. LL01.")],
    territory: Annotated[str, typer.Argument(
        help="Territory code, e.g. 34172; LEVEL:CODE when levels share a code, e.g. REG:11.")],
    year: Annotated[int, typer.Argument(help="Year of the published value.")],
    breakdown: Annotated[str | None, typer.Option(
        help="A breakdown cell, e.g. sex=F (default: the whole population).")] = None,
    out: OutOption = Path("output"),
    limit: Annotated[int, typer.Option(help="Records to print (all go to --csv).")] = 20,
    csv_file: Annotated[Path | None, typer.Option(
        "--csv", help="Write every record behind the cell to this CSV file.")] = None,
) -> None:
    """List the records behind one published cell and check they reproduce it.

    Exit status 0 when the records give back the published numerator, denominator and n.
    """
    import duckdb

    from indicators.compute.trace import TraceError, trace_cell

    catalogue = _catalogue(out)
    con = _warehouse(out)
    if con is None:
        raise _fail(f"no run in {out} (no {WAREHOUSE}): run 'lci run --out {out}' first, "
                    f"or give the output folder with --out")
    try:
        trace = trace_cell(con, catalogue, indicator.upper(), territory, year, breakdown)
        name = con.execute("SELECT any_value(territory_name) FROM territory_members "
                           "WHERE territory_code = ? AND territory_level = ?",
                           [trace.territory, trace.level]).fetchall()[0][0]
    except TraceError as error:
        raise _fail(str(error)) from None
    except duckdb.Error as error:  # e.g. a warehouse written before records kept their rows
        raise _fail(f"{out / WAREHOUSE} cannot be traced ({str(error).splitlines()[0]}); "
                    f"run 'lci run --out {out}' again") from None
    finally:
        con.close()
    published = trace.published
    status = ", ".join(s for s in (published["status"], published["status_reason"]) if s)
    console.print(f"[bold]{escape(trace.indicator_id)}[/bold] · "
                  + escape(f"{trace.level}:{trace.territory} {name or ''} · {year} · "
                           f"{trace.breakdown} — published value "
                           f"{_number(published['value'])} ({status})"))
    _print_records(trace.records, limit)
    if csv_file is not None:
        _write_csv(trace.records, csv_file)
        console.print(f"All {trace.records.num_rows} records written to {csv_file}",
                      markup=False)
    checks = Table(title="Do the records reproduce the published cell?", title_justify="left")
    for column in ("", "from the records", "published", ""):
        checks.add_column(column)
    for what, found, shown, ok in trace.checks:
        mark = "[green]✓[/green]" if ok else ("withheld" if shown is None else "[red]✗[/red]")
        checks.add_row(Text(what), Text(_number(found)), Text(_number(shown)), mark)
    console.print(checks)
    if trace.withheld:
        console.print("The published cell withholds its parts (suppressed): the records are "
                      "listed, there is nothing published to compare them with.")
    elif not trace.reproduces:
        errors.print("[red bold]The records do not reproduce the published cell.[/red bold]")
        raise typer.Exit(1)
    else:
        console.print("[green]✓[/green] The records reproduce the published numerator, "
                      "denominator and n.")


def _number(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".")
    return str(value)  # row numbers and counts as written, no thousands separator


def _print_records(records, limit: int) -> None:
    table = Table(title=f"{records.num_rows} records (first {min(limit, records.num_rows)})",
                  title_justify="left")
    for name in records.column_names:
        table.add_column(Text(name), overflow="fold")
    for row in records.slice(0, limit).to_pylist():
        table.add_row(*(Text(_number(v)) for v in row.values()))
    console.print(table)


def _write_csv(records, path: Path) -> None:
    try:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(records.column_names)
            for row in records.to_pylist():
                writer.writerow(["" if v is None else v for v in row.values()])
    except OSError as error:
        raise _fail(f"cannot write {path}: {error.strerror}") from None
