"""Run one source against the small project's reference tables, as a project would."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

from pipelines.config import load_config
from pipelines.ingest import IngestResult, ingest
from tests.small_project import CODEBOOK, GROUPS, TERRITORIES

CASES_DIR = Path(__file__).resolve().parent / "bad_inputs"
REFERENCES = {"territories": ("territories.csv", TERRITORIES),
              "territory_groups": ("groups.csv", GROUPS),
              "admin_codebook": ("codebook.csv", CODEBOOK)}


@dataclass
class Run:
    """An ingested project: the connection holding the warehouse, and what ingest said."""

    con: duckdb.DuckDBPyConnection
    result: IngestResult
    source: dict


def case_folders() -> list[Path]:
    return sorted(p.parent for p in CASES_DIR.glob("*/case.yaml"))


def load_case(folder: Path) -> dict:
    return yaml.safe_load((folder / "case.yaml").read_text(encoding="utf-8"))


def ingest_source(root: Path, source: dict, validation: dict | None = None,
                  references: tuple[str, ...] = tuple(REFERENCES),
                  project: dict | None = None) -> Run:
    """Write the reference tables and a project file declaring them and ``source`` (whose file
    must already be in ``root``), then ingest into a fresh in-memory warehouse; ``project``
    adds fields to the project file (e.g. ``waivers``)."""
    sources = []
    for table in references:
        name, text = REFERENCES[table]
        (root / name).write_text(text, encoding="utf-8")
        sources.append({"name": table, "path": name, "format": "csv", "table": table})
    project = {"name": "bad input", "years": [2024], "sources": [*sources, source],
               **({"validation": validation} if validation else {}), **(project or {})}
    (root / "lci.yaml").write_text(yaml.safe_dump(project, allow_unicode=True), encoding="utf-8")
    con = duckdb.connect()
    return Run(con, ingest(con, load_config(root / "lci.yaml")), source)


def run_case(folder: Path, root: Path) -> Run:
    """Ingest a case of ``tests/bad_inputs`` in ``root``."""
    case = load_case(folder)
    shutil.copy(folder / case["source"]["path"], root / case["source"]["path"])
    return ingest_source(root, case["source"], case.get("validation"),
                         project=case.get("project"))
