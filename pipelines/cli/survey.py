"""``lci survey``: design-based estimates on any survey file, for analysts who bring their own.

One command reproduces what R's ``svydesign`` + ``svymean``/``svytotal``/``svyciprop``/
``svyratio`` (+ ``svyby``) give, computed in DuckDB. Column names may contain dots, as in R data;
conditions are DuckDB SQL over the file's columns (quote dotted names: ``"sch.wide" = 'Yes'``),
checked before they run: one expression over the file's columns with the allowed operators and
functions (docs/researchers.md), so a condition cannot read another file or run a statement.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from reports._i18n import Lang, say

if TYPE_CHECKING:  # DuckDB and the survey engine are imported when the command runs
    import duckdb

    from indicators import Estimate

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)
CiMethod = Literal["normal", "t", "logit", "beta"]
LonelyPsu = Literal["fail", "adjust", "average", "certainty", "remove"]
OutputFormat = Literal["table", "json"]
FIELDS = ("estimate", "se", "ci_low", "ci_high", "df", "n", "cv", "deff")


def _columns(text: str | None) -> tuple[str, ...]:
    return tuple(c.strip() for c in text.split(",") if c.strip()) if text else ()


def _fail(message: str, lang: Lang = "en") -> typer.Exit:
    errors.print(f"[red]{escape(say('error', lang))}[/red] {escape(message)}")
    return typer.Exit(2)


def _open(path: Path, lang: Lang = "en") -> duckdb.DuckDBPyConnection:
    """The file as a table named ``survey`` (CSV or Parquet, by extension).

    The connection may read that one file and nothing else, loads no extension and cannot
    change its settings (``pipelines.warehouse.connect``); conditions are checked before they
    reach SQL as well (``indicators.conditions``).
    """
    import duckdb

    from pipelines.warehouse import WarehouseError, connect

    if not path.is_file():
        raise _fail(say("survey.not_found", lang, path=path), lang)
    try:
        con = connect(readable=[path])
    except WarehouseError as error:
        raise _fail(f"{path}: cannot be opened ({error})") from None
    reader = "read_parquet(?)" if path.suffix.lower() == ".parquet" else "read_csv(?)"
    try:
        con.execute(f"CREATE TABLE survey AS SELECT * FROM {reader}", [str(path.resolve())])
    except duckdb.Error as error:
        con.close()
        raise _fail(f"{path}: cannot be read ({str(error).splitlines()[0]})") from None
    problem = _unusable(con)
    if problem:
        con.close()
        raise _fail(f"{path}: {problem}")
    return con


def _unusable(con: duckdb.DuckDBPyConnection) -> str | None:
    """Why the loaded file cannot be estimated on: no rows, or numbers that are not finite
    (NaN and infinities are bad values, as everywhere in LCI: they would give NaN estimates)."""
    from indicators.sql import quote_ident

    if con.execute("SELECT count(*) FROM survey").fetchall()[0][0] == 0:
        return "the file has a header but no data rows"
    floats = [name for name, kind, *_ in con.execute("DESCRIBE survey").fetchall()
              if kind in ("DOUBLE", "FLOAT", "REAL")]
    if not floats:
        return None
    counts = con.execute("SELECT " + ", ".join(
        f"count(*) FILTER (WHERE NOT isfinite({quote_ident(c)}))" for c in floats)
        + " FROM survey").fetchall()[0]
    bad = [f"'{c}' ({n:,})" for c, n in zip(floats, counts, strict=True) if n]
    if bad:
        return (f"column(s) {', '.join(bad)} hold values that are not finite numbers (NaN or "
                f"infinite): correct or remove those rows")
    return None


def _number(value: float | int | None) -> object:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value


def estimates_as_json(estimates: list[Estimate]) -> str:
    """One object per domain, as the README documents."""
    return json.dumps([{"by": {k: _number(v) if not isinstance(v, str) else v
                               for k, v in e.by.items()},
                        **{f: _number(getattr(e, f)) for f in FIELDS}} for e in estimates],
                      indent=2, ensure_ascii=False, default=str)


def _print_table(estimates: list[Estimate], title: str) -> None:
    table = Table(title=title, title_justify="left")
    by = list(estimates[0].by) if estimates else []
    for column in [*by, *FIELDS]:
        table.add_column(column, justify="left" if column in by else "right")
    for e in estimates:
        cells = [str(e.by[b]) for b in by]
        cells += [f"{getattr(e, f):.6g}" if getattr(e, f) is not None else "" for f in FIELDS]
        table.add_row(*cells)
    console.print(table)


def survey_command(
    file: Annotated[Path, typer.Argument(help="Survey microdata: CSV or Parquet.")],
    weights: Annotated[str | None, typer.Option(help="Weight column.")] = None,
    strata: Annotated[str | None, typer.Option(help="Stratum column.")] = None,
    psu: Annotated[str | None, typer.Option(help="PSU column(s), one per stage: COL[,COL].")] =
    None,
    fpc: Annotated[str | None, typer.Option(
        help="Finite population correction per stage: population sizes or sampling fractions."
    )] = None,
    mean: Annotated[str | None, typer.Option(help="Estimate the mean of COL.")] = None,
    total: Annotated[str | None, typer.Option(help="Estimate the total of COL.")] = None,
    proportion: Annotated[str | None, typer.Option(
        help="Estimate the proportion where a SQL condition holds.")] = None,
    ratio: Annotated[str | None, typer.Option(help="Estimate the ratio NUM:DEN of totals.")] =
    None,
    by: Annotated[str | None, typer.Option(help="Domain column(s): COL[,COL].")] = None,
    where: Annotated[str | None, typer.Option(
        help="Subpopulation (SQL condition); the full design is kept.")] = None,
    ci: Annotated[CiMethod | None, typer.Option(
        help="Interval: normal, t (design df); proportions also logit (default), beta.")] = None,
    level: Annotated[float, typer.Option(help="Confidence level.")] = 0.95,
    na_rm: Annotated[bool, typer.Option("--na-rm", help="Drop missing values (R's na.rm).")] =
    False,
    lonely_psu: Annotated[LonelyPsu, typer.Option(
        help="Strata with one PSU: fail, adjust, average, certainty, remove.")] = "fail",
    output: Annotated[OutputFormat, typer.Option("--format", help="table or json.")] = "table",
    lang: Annotated[Lang, typer.Option(help="Language of what is printed: en or fr.")] = "en",
) -> None:
    """Design-based estimates (Taylor linearisation) that agree with R's survey package."""
    import duckdb

    from indicators import (
        SurveyDesign,
        SurveyDesignError,
        survey_mean,
        survey_proportion,
        survey_ratio,
        survey_total,
    )

    chosen = {k: v for k, v in {"mean": mean, "total": total, "proportion": proportion,
                                "ratio": ratio}.items() if v is not None}
    if len(chosen) != 1:
        raise _fail(say("survey.one_statistic", lang), lang)
    statistic, target = next(iter(chosen.items()))
    if not 0 < level < 1:
        raise _fail(say("survey.level", lang, level=level), lang)
    if ci in {"logit", "beta"} and statistic != "proportion":
        raise _fail(say("survey.ci", lang, ci=ci, statistic=say(f"survey.{statistic}", lang)),
                    lang)
    con = _open(file, lang)
    design = SurveyDesign(source="survey", weights=weights, strata=strata, psu=_columns(psu),
                          fpc=_columns(fpc), lonely_psu=lonely_psu)
    options = {"by": _columns(by), "where": where, "na_rm": na_rm, "level": level}
    try:
        if statistic == "ratio":
            if target.count(":") != 1:
                raise _fail(say("survey.ratio_form", lang), lang)
            numerator, denominator = target.split(":")
            estimates = survey_ratio(con, design, numerator, denominator, ci=ci or "normal",
                                     **options)
        elif statistic == "proportion":
            estimates = survey_proportion(con, design, target, ci=ci or "logit", **options)
        else:
            estimator = survey_mean if statistic == "mean" else survey_total
            estimates = estimator(con, design, target, ci=ci or "normal", **options)
    except SurveyDesignError as error:
        raise _fail(str(error), lang) from None
    except duckdb.Error as error:  # e.g. a condition comparing text with a number
        reason = str(error).strip().splitlines()[0]  # not the statement that follows it
        raise _fail(say("survey.cannot_compute", lang, file=file.name, reason=reason),
                    lang) from None
    finally:
        con.close()
    if output == "json":
        print(estimates_as_json(estimates))
    else:
        _print_table(estimates, say("survey.title", lang, statistic=say(f"survey.{statistic}",
                                                                        lang),
                                    target=target, file=file.name))
