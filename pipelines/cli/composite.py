"""``lci composite``: a composite index from COINr-format files, to compare with the JRC's tool.

DATA is COINr's ``iData`` (``uCode``, optional ``uName``, one column per indicator) and META its
``iMeta`` (``Level, iCode, Direction, Weight, Parent, Type``). Bad metadata or data end with one
message and exit status 2, never a traceback. Codes, names and messages from the files are
printed literally, never read as rich markup.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from reports._i18n import Lang, say

if TYPE_CHECKING:  # the composite engine (pandas, SciPy) is imported when the command runs
    import pandas as pd

    from indicators.composite.build import CompositeResult
    from indicators.composite.specification import CompositeSpec, Normalisation

NormaliseChoice = Literal["minmax", "zscore", "rank", "prank", "target"]
AggregateChoice = Literal["amean", "gmean", "hmean"]
_BOUNDED = ("minmax", "target")

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)


def composite_command(
    data: Annotated[Path, typer.Argument(help="COINr iData CSV: uCode, uName, indicators.")],
    meta: Annotated[Path, typer.Option("--meta", help="COINr iMeta CSV: Level, iCode, "
                                       "Direction, Weight, Parent, Type.")],
    normalise: Annotated[NormaliseChoice, typer.Option(
        "--normalise", help="minmax, zscore, rank, prank (percentile rank) or target "
                            "(distance to META's Target).")] = "minmax",
    range_: Annotated[str | None, typer.Option(
        "--range", help="L,U: the scale of minmax and target (default 0,100).")] = None,
    aggregate: Annotated[AggregateChoice, typer.Option(
        "--aggregate", help="amean, gmean or hmean (weighted arithmetic, geometric, "
                            "harmonic mean).")] = "amean",
    weights: Annotated[Path | None, typer.Option(
        "--weights", help="CSV with iCode, Weight; overrides META's weights.")] = None,
    treat: Annotated[bool, typer.Option(
        "--treat", help="Treat outliers as COINr's default Treat (winsorise, else log).")] =
    False,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write uCode, normalised indicators, aggregates and Rank to this CSV; "
                      "without it, a table is printed.")] = None,
    lang: Annotated[Lang, typer.Option(help="Language of what is printed: en or fr.")] = "en",
) -> None:
    """Build a composite index from COINr-format DATA and META files."""
    from pydantic import ValidationError

    from indicators.composite.build import build_composite
    from indicators.composite.data import read_coinr, read_weights
    from indicators.composite.hierarchy import CompositeError
    from indicators.composite.specification import Aggregate, CompositeSpec, Treat

    try:
        coin = read_coinr(data, meta)
        spec = CompositeSpec(
            weights=read_weights(weights) if weights is not None else {},
            treat=Treat() if treat else None,
            normalise=_normalisation(normalise, range_),
            aggregate=Aggregate(method=aggregate),
        )
        result = build_composite(coin, spec)
    except (CompositeError, ValidationError) as error:
        errors.print(f"[red]{escape(say('error', lang))}[/red] {escape(_message(error))}")
        raise typer.Exit(2) from None
    if out is not None:
        _write_csv(result, out)
        console.print(Text.assemble(("✓ ", "green"), say(
            "composite.written", lang, units=len(result.ranks),
            indicators=len(result.hierarchy.indicators), path=out)))
        return
    _print(result, coin.names, normalise, spec, lang)


def _normalisation(method: str, range_: str | None) -> Normalisation:
    from indicators.composite.hierarchy import CompositeError
    from indicators.composite.specification import (
        DistanceToTarget,
        MinMax,
        PercentRank,
        Rank,
        ZScore,
    )

    if range_ is not None and method not in _BOUNDED:
        raise CompositeError(f"--range applies to minmax and target normalisation, "
                             f"not to {method}")
    lower, upper = _parse_range(range_) if range_ is not None else (0.0, 100.0)
    return {
        "minmax": lambda: MinMax(lower=lower, upper=upper),
        "zscore": ZScore,
        "rank": Rank,
        "prank": PercentRank,
        "target": lambda: DistanceToTarget(lower=lower, upper=upper),
    }[method]()


def _parse_range(text: str) -> tuple[float, float]:
    from indicators.composite.hierarchy import CompositeError

    parts = text.split(",")
    try:
        lower, upper = (float(p) for p in parts)
    except ValueError:
        raise CompositeError(f"--range must be two numbers L,U (e.g. 0,100); got {text!r}") \
            from None
    if not upper > lower:
        raise CompositeError(f"--range: U must exceed L; got {text!r}")
    return lower, upper


def _message(error: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(error, ValidationError):
        return "; ".join(e["msg"] for e in error.errors())
    return str(error)


def _write_csv(result: CompositeResult, out: Path) -> None:
    frame = result.to_frame()
    frame["Rank"] = frame["Rank"].astype("Int64")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    frame.to_csv(partial, index=False, lineterminator="\n")
    partial.replace(out)


def _print(result: CompositeResult, names: pd.Series | None, method: str,
           spec: CompositeSpec, lang: Lang = "en") -> None:
    """The index and its children, by rank; the full table is one --out away."""
    import pandas as pd

    hierarchy = result.hierarchy
    shown = [hierarchy.root, *hierarchy.children(hierarchy.root)]
    choices = say("composite.choices", lang, normalise=_describe(spec.normalise),
                  aggregate=spec.aggregate.method,
                  treat="COINr Treat" if spec.treat else say("composite.none", lang))
    table = Table(title=say("composite.title", lang, units=len(result.ranks),
                            indicators=len(hierarchy.indicators)), title_justify="left",
                  caption=Text(choices), caption_justify="left")
    table.add_column(say("composite.rank", lang), justify="right", no_wrap=True)
    table.add_column("uCode", no_wrap=True)
    if names is not None:
        table.add_column("uName", overflow="fold")
    for code in shown:
        table.add_column(Text(str(code)), justify="right", no_wrap=True)
    order = result.ranks.sort_values(na_position="last", kind="stable").index
    for unit in order:
        rank = result.ranks[unit]
        cells = ["—" if pd.isna(rank) else f"{int(rank)}", str(unit)]
        if names is not None:
            cells.append(str(names.get(unit, "")))
        cells += ["—" if pd.isna(v) else f"{v:.2f}"
                  for v in result.aggregates.loc[unit, shown]]
        table.add_row(*(Text(c) for c in cells))
    console.print(table)
    treated = (next(e for e in result.log if e.step == "treat").effect or {}).get("treated", {})
    if treated:
        console.print(say("composite.treated", lang, n=len(treated),
                          codes=", ".join(sorted(treated))), markup=False)
    console.print(say("composite.more", lang), markup=False)


def _describe(spec: Normalisation) -> str:
    from indicators.composite.specification import DistanceToTarget, MinMax

    if isinstance(spec, MinMax | DistanceToTarget):
        return f"{spec.method} [{spec.lower:g}, {spec.upper:g}]"
    return spec.method
