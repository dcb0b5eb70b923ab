"""The bundles: manifests, determinism, atomic replacement, waivers, and `lci audit`."""

from __future__ import annotations

import json
import math
import shutil
from datetime import date
from functools import partial
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from indicators import load_catalogue
from indicators.survey import design_for
from pipelines.cli.commands import app, render_reports
from pipelines.config import bundled_sample_config, load_config
from pipelines.ingest import file_sha256
from pipelines.publishing.audit import audit as audit_bundles
from pipelines.run import STAGES, RunFailed, run
from tests.small_project import write_small_project

runner = CliRunner()
audit = partial(audit_bundles, render=render_reports)
WAIVER = """
validation: {max_rejected_share: 0.9}
waivers:
  - source: population
    check: population.population.greater_than_or_equal_to
    rows: [6]
    reason: correction announced by the statistical office
    owner: Observatoire territorial
    expires: %s
"""


@pytest.fixture(scope="module")
def sample_bundle(sample_run) -> Path:
    return sample_run("en").out


def small_project(root: Path, extra: str = "validation: {max_rejected_share: 0.9}\n") -> Path:
    config = write_small_project(root)
    config.write_text(config.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return config


def test_the_manifests_hash_every_output_and_input_with_versions(sample_bundle: Path):
    manifest = json.loads((sample_bundle / "public" / "manifest.json").read_text(encoding="utf-8"))
    files = {o["file"]: o for o in manifest["outputs"]}
    for expected in ("2024/report.html", "2024/indicators.csv", "validation/summary.json",
                     "published/indicator_values.parquet", "reference/territories.parquet",
                     "project/lci.yaml", "signing-key.pub"):
        assert files[expected]["sha256"] == file_sha256(sample_bundle / "public" / expected)
    restricted = json.loads((sample_bundle / "restricted" / "manifest.json").read_text())
    private = {o["file"]: o for o in restricted["outputs"]}
    for expected in ("quarantine.csv", "validation/report.html", "validation/report.json",
                     "validated/survey_responses.parquet"):
        assert private[expected]["sha256"] == file_sha256(sample_bundle / "restricted" / expected)
    assert private["validated/survey_responses.parquet"]["rows"] == 25874
    assert restricted["public_manifest_sha256"] == file_sha256(
        sample_bundle / "public" / "manifest.json")
    assert set(manifest["versions"]) == {"lci", "python", "duckdb", "pandera"}
    assert len(manifest["catalogue_sha256"]) == 64
    survey = next(i for i in manifest["inputs"] if i["source"] == "aes_survey")
    assert survey["rows_read"] == survey["rows_accepted"] + survey["rows_quarantined"]
    assert survey["sha256"] == file_sha256(
        bundled_sample_config().parent / "raw" / "aes_survey.parquet")
    assert "run_id" not in (sample_bundle / "public" / "manifest.json").read_text()


def test_the_run_records_the_survey_design_of_its_cells_and_publishes_it(sample_bundle: Path):
    con = duckdb.connect(str(sample_bundle / "warehouse.duckdb"), read_only=True)
    try:
        design = design_for(con, "survey_responses")
    finally:
        con.close()
    assert (design.weights, design.strata, design.psu, design.lonely_psu) == (
        "weight", "_stratum", ("_psu",), "fail")
    assert '"year" || \'/\' || "stratum" AS _stratum' in design.source
    published = duckdb.sql("SELECT * FROM read_parquet($path)", params={
        "path": str(sample_bundle / "public" / "published" / "survey_design.parquet")})
    assert published.fetchall() == [("survey_responses", "weight", "stratum", ["psu"], "year",
                                     "fail")]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_two_runs_on_one_thread_give_byte_identical_bundles(sample_bundle, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(bundled_sample_config().parent, project)
    config = project / "lci.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "database: {threads: 1}\n",
                      encoding="utf-8")
    first, again = tmp_path / "first", tmp_path / "again"
    run(load_config(config), first)
    run(load_config(config), again)
    for bundle in ("public", "restricted"):  # signatures included: Ed25519 is deterministic
        assert _files(again / bundle) == _files(first / bundle)
    assert json.loads((first / "run.json").read_text())["run_id"] != \
        json.loads((again / "run.json").read_text())["run_id"]
    # On every core, DuckDB adds rows in varying order: the same numbers, to 12 digits.
    for table in ("indicator_values", "indicator_changes", "indicator_gaps"):
        one, every = (duckdb.execute("SELECT * FROM read_parquet(?)", [
            str(out / "public" / "published" / f"{table}.parquet")]).fetchall()
            for out in (first, sample_bundle))
        assert len(one) == len(every)
        for a, b in zip(one, every, strict=True):
            for x, y in zip(a, b, strict=True):
                assert x == y or (isinstance(x, float) and math.isclose(x, y, rel_tol=1e-11))


def test_audit_passes_on_an_untouched_bundle(sample_bundle: Path):
    result = runner.invoke(app, ["audit", str(sample_bundle)])
    assert result.exit_code == 0, result.output
    assert "Audit passed" in result.output
    assert all(f.ok for f in audit(sample_bundle))


def test_audit_names_a_tampered_output(sample_bundle: Path, tmp_path: Path):
    copy = tmp_path / "copy"
    shutil.copytree(sample_bundle, copy)
    with open(copy / "public" / "2024" / "indicators.csv", "a", encoding="utf-8") as handle:
        handle.write("LL01,LL,forged\n")
    result = runner.invoke(app, ["audit", str(copy)])
    assert result.exit_code == 1
    assert "public/2024/indicators.csv" in result.output and "SHA-256" in result.output


def test_audit_recomputes_indicators_and_names_a_forged_value(sample_bundle, tmp_path):
    copy = tmp_path / "forged"
    shutil.copytree(sample_bundle, copy)
    published = copy / "public" / "published" / "indicator_values.parquet"
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT * REPLACE (CASE WHEN indicator_id = 'LL01'
                      AND territory_code = '34172' AND year = 2024 AND breakdown = 'total'
                      THEN value + 5 ELSE value END AS value)
                  FROM read_parquet('{published}') ORDER BY ALL) TO '{tmp_path}/v.parquet'""")
    shutil.copyfile(tmp_path / "v.parquet", published)
    manifest = json.loads((copy / "public" / "manifest.json").read_text())
    for entry in manifest["outputs"]:  # a forger who also rewrote the manifest
        entry["sha256"] = file_sha256(copy / "public" / entry["file"])
    (copy / "public" / "manifest.json").write_text(json.dumps(manifest))
    bad = [f for f in audit(copy) if not f.ok and f.step == "indicators"]
    assert [(f.step, f.subject) for f in bad] == [("indicators", "LL01/COM/34172/2024/total")]
    assert "value: published" in bad[0].detail
    assert "restricted/validated/survey_responses.parquet" in bad[0].detail


def test_audit_revalidates_tables_with_pandera_and_names_the_check(sample_bundle, tmp_path):
    copy = tmp_path / "bad-table"
    shutil.copytree(sample_bundle, copy)
    table = copy / "restricted" / "validated" / "admin_measures.parquet"
    duckdb.execute(f"COPY (SELECT * REPLACE (-value AS value) FROM read_parquet('{table}')) "
                   f"TO '{tmp_path}/a.parquet'")
    shutil.copyfile(tmp_path / "a.parquet", table)
    bad = [f for f in audit(copy) if not f.ok and f.step == "schema"]
    assert len(bad) == 1
    assert "admin_measures.value.greater_than_or_equal_to" in bad[0].detail


def test_a_failed_run_leaves_the_previous_outputs_intact(tmp_path: Path):
    config = load_config(small_project(tmp_path / "project"))
    out = tmp_path / "out"
    run(config, out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def interrupted(ctx):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(config, out, stages=(*STAGES[:2], ("interrupt", interrupted)))
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert (tmp_path / "out.failed" / "restricted" / "quarantine.csv").is_file()


def test_a_folder_that_is_not_an_lci_output_is_never_replaced(tmp_path: Path):
    config = load_config(small_project(tmp_path / "project"))
    precious = tmp_path / "documents"
    precious.mkdir()
    (precious / "budget.ods").write_text("keep me")
    with pytest.raises(RunFailed, match="not empty and holds no previous LCI run"):
        run(config, precious)
    assert (precious / "budget.ods").read_text() == "keep me"


def test_a_source_rejecting_too_many_rows_fails_the_run(tmp_path: Path):
    config = load_config(small_project(tmp_path / "project", extra=""))
    rejected = r"admin: 2 of 4 rows rejected \(50.0% > 5.0%\)"
    with pytest.raises(RunFailed, match=rejected) as failed:
        run(config, tmp_path / "out")
    assert "mostly (1 row): " in str(failed.value) and "e.g. row " in str(failed.value)
    assert "surtout (1 ligne) : " in failed.value.french


def test_a_waiver_accepts_a_known_failure_and_reports_it(tmp_path: Path):
    config = load_config(small_project(tmp_path / "project", extra=WAIVER % "2099-12-31"))
    out = tmp_path / "out"
    ctx = run(config, out)
    population = next(o for o in ctx.ingest.outcomes if o.source == "population")
    assert (population.rows_quarantined, population.rows_waived) == (0, 1)
    facts = json.loads((out / "restricted" / "validation" / "report.json").read_text())
    assert facts["waived"][0]["row_number"] == 6
    assert "correction announced" in facts["waived"][0]["waiver"]
    assert "correction announced" in (out / "restricted" / "validation" / "report.html"
                                      ).read_text()
    summary = json.loads((out / "public" / "validation" / "summary.json").read_text())
    assert summary["waived"] == [{"check_id": "population.population.greater_than_or_equal_to",
                                  "waiver": facts["waived"][0]["waiver"], "rows": 1}]
    assert [f for f in audit(out) if not f.ok] == []


def test_an_expired_waiver_fails_the_run(tmp_path: Path):
    config = load_config(small_project(tmp_path / "project", extra=WAIVER % "2020-01-01"))
    with pytest.raises(RunFailed, match="(?s)expired waiver.*Observatoire territorial"):
        run(config, tmp_path / "out", today=date(2025, 1, 1))


def test_the_warehouse_keeps_the_validation_history_of_every_run(tmp_path: Path):
    config = load_config(small_project(tmp_path / "project"))
    out = tmp_path / "out"
    run(config, out)
    run(config, out)
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    runs = con.execute("SELECT count(DISTINCT run_id) FROM validation_history").fetchall()[0][0]
    assert runs == 2


def test_the_quarantine_speaks_the_report_language(tmp_path: Path):
    config = load_config(small_project(tmp_path / "project"))
    run(config, tmp_path / "out", lang="fr")
    text = (tmp_path / "out" / "restricted" / "quarantine.csv").read_text(encoding="utf-8")
    assert "doit être un nombre" in text
    assert "douze" in text


def test_the_annual_report_names_waived_failures(tmp_path: Path):
    config = load_config(small_project(tmp_path / "project", extra=WAIVER % "2099-12-31"))
    run(config, tmp_path / "out")
    html = (tmp_path / "out" / "public" / "2024" / "report.html").read_text(encoding="utf-8")
    assert "Data quality" in html
    assert "population.population.greater_than_or_equal_to: 1 row(s)" in html
    assert "correction announced by the statistical office" in html


def test_a_project_too_small_for_an_index_says_so_and_still_reports(tmp_path: Path):
    result = runner.invoke(app, ["run", "--config", str(small_project(tmp_path / "project")),
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "learning-city index not built" in result.output
    assert (tmp_path / "out" / "public" / "2024" / "report.html").is_file()
    assert [f for f in audit(tmp_path / "out") if not f.ok] == []  # no index: none published


def test_unreadable_sources_and_read_notes_speak_the_report_language(tmp_path: Path):
    config = small_project(tmp_path / "project")
    (tmp_path / "project" / "population.xlsx").write_bytes(b"not a workbook")
    detect = config.read_text(encoding="utf-8").replace("encoding: cp1252", "encoding: auto")
    config.write_text(detect, encoding="utf-8")
    run(load_config(config), tmp_path / "out", lang="fr")
    html = (tmp_path / "out" / "restricted" / "validation" / "report.html").read_text()
    assert "non lue — " in html  # the unreadable workbook, in French
    assert "encodage détecté\u00a0: Windows-1252" in html
    assert "cannot be read as Excel" not in html and "encoding detected" not in html


def test_the_bundle_holds_the_sql_behind_every_published_indicator(sample_bundle: Path):
    manifest = json.loads((sample_bundle / "public" / "manifest.json").read_text())
    listed = {o["file"] for o in manifest["outputs"]}
    catalogue = load_catalogue()
    for indicator in catalogue:
        name = f"{manifest['year']}/sql/{indicator.id}.sql"
        assert name in listed
        script = (sample_bundle / "public" / name).read_text(encoding="utf-8")
        assert script.startswith(f"-- {indicator.id} — ")
        assert "CREATE OR REPLACE TABLE indicator_values" in script  # publication rules too


def test_audit_names_an_edited_sql_file_even_with_its_hash_rewritten(sample_bundle, tmp_path):
    copy = tmp_path / "edited-sql"
    shutil.copytree(sample_bundle, copy)
    manifest_path = copy / "public" / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    edited = copy / "public" / str(manifest["year"]) / "sql" / "MED04.sql"
    edited.write_text(edited.read_text(encoding="utf-8").replace("$scale *", "1.1 * $scale *"),
                      encoding="utf-8")
    for entry in manifest["outputs"]:
        if entry["file"].endswith("sql/MED04.sql"):
            entry["sha256"] = file_sha256(edited)
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    result = runner.invoke(app, ["audit", str(copy)])
    assert result.exit_code == 1
    assert "sql/MED04.sql" in result.output and "differs from the SQL" in result.output


def test_the_public_bundle_alone_can_be_audited_anywhere(sample_bundle, tmp_path, signing_key):
    copy = tmp_path / "downloaded"
    shutil.copytree(sample_bundle / "public", copy)  # no run.json, no restricted bundle
    result = runner.invoke(app, ["audit", str(copy), "--public-key",
                                 str(signing_key.with_suffix(".pub"))], terminal_width=300)
    assert result.exit_code == 0, result.output
    assert "Input files: not checked" in result.output
    assert "Restricted bundle: not given" in result.output
    restricted = runner.invoke(app, ["audit", str(sample_bundle / "restricted")])
    assert restricted.exit_code == 2
    assert "expected the public bundle" in " ".join(restricted.output.split())
