"""The annual run as an ordered list of named stages sharing one signature.

ingest (sources → validated warehouse) → indicators (catalogue → ``indicator_values``) →
report (comparison tables, annual report, exports). The warehouse is built beside its final
place and moved there at the end, so a failed run leaves the previous one intact.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import duckdb

from indicators import Catalogue, compute_indicator_values, load_catalogue
from pipelines.config import ProjectConfig
from pipelines.ingest import IngestResult, ingest
from reports import write_exports, write_report

Language = Literal["en", "fr"]
WAREHOUSE_NAME = "warehouse.duckdb"


@dataclass
class RunContext:
    """What the stages share: inputs, the open warehouse and what they produced."""

    config: ProjectConfig
    catalogue: Catalogue
    con: duckdb.DuckDBPyConnection
    out_dir: Path
    year: int
    lang: Language
    ingest: IngestResult | None = None
    indicator_rows: int = 0
    written: list[Path] = field(default_factory=list)


def stage_ingest(ctx: RunContext) -> None:
    ctx.ingest = ingest(ctx.con, ctx.config)
    quarantine = ctx.out_dir / "quarantine.csv"
    ctx.con.execute(
        f"COPY (SELECT * FROM quarantine ORDER BY ALL) TO '{quarantine}' (HEADER, DELIMITER ',')"
    )
    ctx.written.append(quarantine)


def stage_indicators(ctx: RunContext) -> None:
    ctx.indicator_rows = compute_indicator_values(ctx.con, ctx.catalogue)


def stage_report(ctx: RunContext) -> None:
    year_dir = ctx.out_dir / str(ctx.year)
    title = ctx.config.report.title.get(ctx.lang)
    files = write_report(ctx.con, ctx.catalogue, ctx.year, ctx.lang, year_dir,
                         territories=ctx.config.report.territories or None, title=title)
    ctx.written.extend(files.all)
    ctx.written.extend(write_exports(ctx.con, ctx.catalogue, year_dir))


Stage = Callable[[RunContext], None]
STAGES: tuple[tuple[str, Stage], ...] = (
    ("ingest", stage_ingest),
    ("indicators", stage_indicators),
    ("report", stage_report),
)


def run(
    config: ProjectConfig,
    out_dir: Path,
    *,
    year: int | None = None,
    lang: Language = "en",
    stages: tuple[tuple[str, Stage], ...] = STAGES,
    on_stage: Callable[[str], None] = lambda name: None,
) -> RunContext:
    """Run the given stages (by default all) and return what they produced."""
    year = year or config.latest_year
    if year not in config.years:
        raise ValueError(f"year {year} is not one of the project's years {list(config.years)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / WAREHOUSE_NAME
    building = out_dir / f".{WAREHOUSE_NAME}.building"
    building.unlink(missing_ok=True)
    con = duckdb.connect(str(building))
    ctx = RunContext(config, load_catalogue(), con, out_dir, year, lang)
    try:
        for name, stage in stages:
            on_stage(name)
            stage(ctx)
    except BaseException:
        con.close()
        building.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(building, final)
    ctx.written.insert(0, final)
    return ctx
