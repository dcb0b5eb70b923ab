"""The national benchmark project: its small size loads, validates and is deterministic."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import duckdb
import pytest

from pipelines.config import load_config
from pipelines.ingest import ingest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "national_project.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("national_project", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("national_project", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, Path, dict]:
    generator = _generator()
    out = tmp_path_factory.mktemp("national") / "project"
    meta = generator.generate(generator.SIZES["10k"], out, seed=3)
    return generator, out, meta


def test_the_small_project_loads_and_every_row_validates(project):
    _, out, meta = project
    config = load_config(out / "lci.yaml")
    con = duckdb.connect()
    try:
        result = ingest(con, config)
        assert not result.errors
        assert result.rows_quarantined == 0
        read = {o.source: o.rows_read for o in result.outcomes}
        assert read["survey"] == 10_000
        assert read["territories"] == sum(meta["shape"].values())
        levels = dict(con.execute(
            "SELECT level, count(*) FROM territories GROUP BY level").fetchall())
        assert levels == {"COM": 384, "EPCI": 96, "DEP": 96, "REG": 13}
        # Every commune's EPCI, département and région is a territory of that level.
        orphans = con.execute("""
            SELECT count(*) FROM territories c WHERE c.level = 'COM' AND (
                c.epci_code NOT IN (SELECT territory_code FROM territories WHERE level = 'EPCI')
                OR c.departement_code NOT IN
                    (SELECT territory_code FROM territories WHERE level = 'DEP')
                OR c.region_code NOT IN
                    (SELECT territory_code FROM territories WHERE level = 'REG'))
        """).fetchall()[0][0]
        assert orphans == 0
        flagged = con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0]
        assert flagged == 0
    finally:
        con.close()


def test_codes_have_insee_formats(project):
    _, out, _ = project
    rows = duckdb.execute(
        "SELECT territory_code, level FROM read_csv(?, all_varchar = true)",
        [str(out / "reference" / "territories.csv")]).fetchall()
    patterns = {"COM": r"(0[1-9]|[1-8]\d|9[0-5]|2[AB])\d{3}", "EPCI": r"\d{9}",
                "DEP": r"0[1-9]|[1-8]\d|9[0-5]|2[AB]", "REG": r"\d{2}"}
    for code, level in rows:
        assert re.fullmatch(patterns[level], code), (level, code)


def test_the_same_seed_gives_the_same_files(project, tmp_path):
    generator, out, meta = project
    again = generator.generate(generator.SIZES["10k"], tmp_path / "again", seed=3)
    assert again["rows"] == meta["rows"]
    for name in ("raw/population.csv", "raw/commuting.csv", "raw/admin_measures.csv",
                 "reference/territories.csv", "lci.yaml"):
        assert (out / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name
    survey = "SELECT * FROM read_parquet(?) ORDER BY IDENT"
    assert duckdb.execute(survey, [str(out / "raw/survey.parquet")]).fetchall() == \
        duckdb.execute(survey, [str(tmp_path / "again/raw/survey.parquet")]).fetchall()
    assert generator.existing(generator.SIZES["10k"], out, seed=3) is not None
    assert generator.existing(generator.SIZES["10k"], out, seed=4) is None
    assert json.loads((out / generator.META).read_text())["seed"] == 3


def test_the_results_name_folders_by_their_role_not_by_where_this_machine_keeps_them():
    benchmarks = SCRIPT.parent
    sys.path.insert(0, str(benchmarks))
    try:
        spec = importlib.util.spec_from_file_location("national", benchmarks / "national.py")
        assert spec is not None and spec.loader is not None
        national = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(national)
    finally:
        sys.path.remove(str(benchmarks))
    scratch = "/var/scratch/run-1"
    line = (f"Run failed: {national.DATA}/national-20M/raw/survey.parquet in {scratch}/out "
            f"from {benchmarks.parent}/pipelines/run.py")
    assert national._relative(line, scratch) == (
        "Run failed: <benchmark data>/national-20M/raw/survey.parquet in <scratch>/out "
        "from <checkout>/pipelines/run.py")
