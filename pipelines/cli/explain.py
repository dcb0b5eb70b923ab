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

from reports._i18n import Lang, say

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
                           "(default: lci.yaml in the current folder, else the bundled "
                           "sample project).")]
LangOption = Annotated[Lang, typer.Option(help="Language of what is printed: en or fr.")]


def _fail(message: str, code: int = 2, lang: Lang = "en") -> typer.Exit:
    errors.print(f"[red]{escape(say('error', lang))}[/red] {escape(message)}", markup=True,
                 soft_wrap=True)
    return typer.Exit(code)


def _catalogue(out: Path, config_path: Path | None = None, lang: Lang = "en") -> Catalogue:
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
        raise _fail(say("explain.configuration", lang, error=error), lang=lang) from None
    except CatalogueError as error:
        raise _fail(say("explain.catalogue", lang, error=error), lang=lang) from None


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


def _warehouse(out: Path, lang: Lang = "en") -> duckdb.DuckDBPyConnection | None:
    """The run's warehouse, read-only and without access to anything else on the machine."""
    import duckdb

    path = out / WAREHOUSE
    if not path.is_file():
        return None
    try:
        return duckdb.connect(str(path), read_only=True,
                              config={"enable_external_access": False})
    except duckdb.Error as error:
        raise _fail(say("explain.not_warehouse", lang, path=path, error=error),
                    lang=lang) from None


def _indicator_ids(catalogue: Catalogue) -> str:
    return ", ".join(i.id for i in catalogue)


def explain_command(
    indicator: Annotated[str, typer.Argument(help="Indicator id, e.g. LL01.")],
    out: OutOption = Path("output"),
    config: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """Print the SQL behind an indicator, with the definition it came from.

    Taken from the run in --out when there is one (the statement that produced its published
    numbers); otherwise planned afresh on the project's data.
    """
    catalogue = _catalogue(out, config, lang)
    chosen = next((i for i in catalogue if i.id == indicator.upper()), None)
    if chosen is None:
        raise _fail(say("explain.unknown", lang, indicator=indicator,
                        known=_indicator_ids(catalogue)), lang=lang)
    con = _warehouse(out, lang)
    if con is not None:
        found = con.execute("SELECT sql FROM indicator_sql WHERE indicator_id = ?",
                            [chosen.id]).fetchall()
        con.close()
        if found:
            errors.print(say("explain.from_run", lang, out=out), highlight=False, markup=False)
            typer.echo(found[0][0], nl=False)
            return
    typer.echo(_plan_afresh(chosen.id, config, catalogue, lang), nl=False)


def _plan_afresh(indicator_id: str, config_path: Path | None, catalogue: Catalogue,
                 lang: Lang = "en") -> str:
    """The plan on the project's data, read and validated in memory (nothing is written)."""
    import duckdb

    from indicators.compute.registry import plan_indicator
    from indicators.territories import build_membership
    from pipelines.config import ConfigError, default_config, load_config
    from pipelines.ingest import ingest

    try:
        config = load_config(config_path or default_config())
    except ConfigError as error:
        raise _fail(say("explain.configuration", lang, error=error), lang=lang) from None
    errors.print(say("explain.planned", lang, project=config.file or config.name),
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
    lang: LangOption = "en",
) -> None:
    """List the records behind one published cell and check they reproduce it.

    Exit status 0 when the records give back the published numerator, denominator and n.
    """
    import duckdb

    from indicators.compute.trace import TraceError, trace_cell

    catalogue = _catalogue(out, lang=lang)
    con = _warehouse(out, lang)
    if con is None:
        raise _fail(say("trace.no_run", lang, out=out, warehouse=WAREHOUSE), lang=lang)
    try:
        trace = trace_cell(con, catalogue, indicator.upper(), territory, year, breakdown)
        name = con.execute("SELECT any_value(territory_name) FROM territory_members "
                           "WHERE territory_code = ? AND territory_level = ?",
                           [trace.territory, trace.level]).fetchall()[0][0]
    except TraceError as error:
        raise _fail(str(error), lang=lang) from None
    except duckdb.Error as error:  # e.g. a warehouse written before records kept their rows
        raise _fail(say("trace.old", lang, path=out / WAREHOUSE,
                        error=str(error).splitlines()[0], out=out), lang=lang) from None
    finally:
        con.close()
    published = trace.published
    status = ", ".join(s for s in (published["status"], published["status_reason"]) if s)
    console.print(f"[bold]{escape(trace.indicator_id)}[/bold] · "
                  + escape(f"{trace.level}:{trace.territory} {name or ''} · {year} · "
                           f"{trace.breakdown} — "
                           + say("trace.published", lang, value=_number(published["value"]),
                                 status=status)))
    _print_records(trace.records, limit, lang)
    if csv_file is not None:
        _write_csv(trace.records, csv_file, lang)
        console.print(say("trace.written", lang, n=trace.records.num_rows, path=csv_file),
                      markup=False)
    checks = Table(title=say("trace.question", lang), title_justify="left")
    for column in ("", say("trace.from_records", lang), say("trace.published_column", lang), ""):
        checks.add_column(column)
    for what, found, shown, ok in trace.checks:
        mark = "[green]✓[/green]" if ok else (escape(say("trace.withheld", lang))
                                              if shown is None else "[red]✗[/red]")
        checks.add_row(Text(what), Text(_number(found)), Text(_number(shown)), mark)
    console.print(checks)
    if trace.withheld:
        console.print(Text(say("trace.withheld_cell", lang)))
    elif not trace.reproduces:
        errors.print(Text(say("trace.differ", lang), style="red bold"))
        raise typer.Exit(1)
    else:
        console.print(Text.assemble(("✓ ", "green"), say("trace.reproduce", lang)))


def _number(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".")
    return str(value)  # row numbers and counts as written, no thousands separator


def _print_records(records, limit: int, lang: Lang = "en") -> None:
    table = Table(title=say("trace.records", lang, n=records.num_rows,
                            shown=min(limit, records.num_rows)), title_justify="left")
    for name in records.column_names:
        table.add_column(Text(name), overflow="fold")
    for row in records.slice(0, limit).to_pylist():
        table.add_row(*(Text(_number(v)) for v in row.values()))
    console.print(table)


def _write_csv(records, path: Path, lang: Lang = "en") -> None:
    try:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(records.column_names)
            for row in records.to_pylist():
                writer.writerow(["" if v is None else v for v in row.values()])
    except OSError as error:
        raise _fail(say("cannot_write", lang, path=path, error=error.strerror),
                    lang=lang) from None
