"""The pandas comparison pipeline does LCI's work: the same rules, the same rows dropped and
the same LL01 estimates, standard errors and EPCI ratios, on the small national project."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import duckdb
import pandas as pd
import pytest

from pipelines.validating.contracts import DEFAULT_CONTRACTS

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
YEARS = [2023, 2024]


def _load(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def modules() -> tuple[ModuleType, ModuleType, ModuleType]:
    sys.path.insert(0, str(BENCHMARKS))  # the comparison imports its sibling scripts
    try:
        return _load("national_project"), _load("pandas_pipeline"), _load("core_comparison")
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.fixture(scope="module")
def project(modules, tmp_path_factory: pytest.TempPathFactory) -> Path:
    generator = modules[0]
    out = tmp_path_factory.mktemp("core") / "project"
    generator.generate(generator.SIZES["10k"], out, seed=5)
    return out


def _both(core: ModuleType, project_file: Path, work: Path) -> tuple[dict, dict]:
    """Each pipeline's report, their values written under ``work``."""
    (work / "lci").mkdir(parents=True)
    stages = core.Stages(None)
    try:
        lci = core.lci_child(project_file, work / "lci", stages, work / "values-lci")
        mine = core.pandas_child(project_file, stages, work / "values-pandas")
    finally:
        stages.stop()
    return mine, lci


def _checks(column) -> list[tuple[str, dict]]:
    return [(c.name, {k: str(v) for k, v in c.statistics.items()}) for c in column.checks]


def test_the_pandas_schemas_state_the_rules_of_lcis_contracts(modules):
    schemas = modules[1].schemas(YEARS)
    for table in modules[1].MAIN_TABLES:
        ours, contract = schemas[table], DEFAULT_CONTRACTS.schemas[table]
        lineage = {"source_file", "source_row"}
        assert list(ours.columns) == [c for c in contract.columns if c not in lineage], table
        assert list(ours.unique) == list(contract.unique), table
        for name, column in contract.columns.items():
            if name in lineage:
                continue
            mine = ours.columns[name]
            assert mine.nullable == column.nullable, (table, name)
            kept = [c for c in _checks(mine) if c[0] != "project_years"]
            assert kept == _checks(column), (table, name)


def test_on_the_small_project_pandas_gives_lcis_values(modules, project, tmp_path):
    core = modules[2]
    mine, lci = _both(core, project / "lci.yaml", tmp_path)
    check = core.compare(tmp_path / "values-pandas", tmp_path / "values-lci", mine, lci)
    ll01, ratio = check["ll01"], check["ratio"]
    # The same domains: every commune with respondents, and every EPCI, département,
    # région and group, by year.
    assert ll01["domains_pandas"] == ll01["domains_lci"] > ll01["communes"] > 300
    assert ll01["only_pandas"] == ll01["only_lci"] == ll01["n_differ"] == 0
    assert ll01["max_rel_estimate"] <= 1e-9
    assert ll01["max_rel_se"] <= 1e-9
    assert ll01["published"] > 0 and ll01["published_max_rel_se"] <= 1e-9
    assert ratio["epci_years_pandas"] == ratio["epci_years_lci"] == 192
    assert ratio["with_value_only_one_side"] == 0 and ratio["max_rel_value"] <= 1e-9
    assert check["values_agree"] and check["quarantine_agrees"]
    assert all(q["pandas"] == 0 for q in check["quarantined"].values())
    # The standard errors are the design's, not a simple random sample's: they vary with
    # the clusters (some design effects above 1).
    values = pd.read_parquet(tmp_path / "values-pandas" / "ll01.parquet")
    assert values["se"].gt(0).mean() > 0.9


def _break(project: Path) -> None:
    """Rows each breaking one rule, in the survey and the administrative measures."""
    survey = project / "raw" / "survey.parquet"
    broken = project / "raw" / "broken.parquet"
    duckdb.execute("""
        COPY (SELECT * REPLACE (
            CASE WHEN IDENT = '000000007' THEN -1.0 ELSE POIDS END AS POIDS,
            CASE WHEN IDENT = '000000011' THEN 99 ELSE AGE END AS AGE,
            CASE WHEN IDENT = '000000013' THEN '01999' WHEN IDENT = '000000017' THEN 'X1'
                 ELSE COM END AS COM,
            CASE WHEN IDENT = '000000029' THEN '3' ELSE SEXE END AS SEXE,
            CASE WHEN IDENT = '000000031' THEN 2019 ELSE ANNEE END AS ANNEE,
            CASE WHEN IDENT = '000000037' THEN 7 ELSE FED12 END AS FED12)
        FROM read_parquet($survey)
        UNION ALL SELECT * FROM read_parquet($survey) WHERE IDENT = '000000041')
        TO $broken (FORMAT parquet)""", {"survey": str(survey), "broken": str(broken)})
    broken.replace(survey)
    admin = project / "raw" / "admin_measures.csv"
    lines = admin.read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], lines[1:]
    rows[3] = rows[3].rsplit(";", 2)[0] + ";-5;Synthetic national benchmark"
    rows[5] = ";".join([*rows[5].split(";")[:2], "no_such_measure", *rows[5].split(";")[3:]])
    rows[8] = rows[8].rsplit(";", 2)[0] + ";999999999;Synthetic national benchmark"
    rows.append(rows[10])
    admin.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


def test_both_drop_the_same_rows_of_a_broken_project(modules, project, tmp_path):
    copy = tmp_path / "broken"
    shutil.copytree(project, copy)
    _break(copy)
    mine, lci = _both(modules[2], copy / "lci.yaml", tmp_path / "work")
    # weight, age, unknown commune, commune format, duplicated id (both rows), sex, year,
    # item code: 9 survey rows; negative value, unknown measure, above the codebook's
    # maximum, duplicated key (both rows): 5 admin rows.
    assert mine["quarantined"]["survey_responses"] == lci["quarantined"]["survey_responses"] == 9
    assert mine["quarantined"]["admin_measures"] == lci["quarantined"]["admin_measures"] == 5
    assert mine["quarantined"] == {t: lci["quarantined"][t] for t in mine["quarantined"]}
