"""``lci explain`` prints the SQL behind an indicator; ``lci trace`` the records behind a cell."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def output(sample_run) -> Path:
    return sample_run("en").out


def test_explain_prints_the_sql_the_run_wrote(output: Path):
    result = runner.invoke(app, ["explain", "LL01", "--out", str(output)])
    assert result.exit_code == 0, result.output
    written = (output / "public" / "2024" / "sql" / "LL01.sql").read_text(encoding="utf-8")
    assert written in result.stdout
    for name in ("respondents", "psu_totals", "domains", "variance"):
        assert f"{name} AS" in written
    assert "condition: formal_12m = 1 OR nonformal_12m = 1" in written


def test_explain_without_a_run_plans_on_the_project_data(tmp_path: Path):
    result = runner.invoke(app, ["explain", "MED04", "--out", str(tmp_path / "none")])
    assert result.exit_code == 0, result.output
    assert "$numerator_measure = 'library_active_borrowers'" in result.stdout


def test_explain_names_the_known_indicators_for_an_unknown_one(output: Path):
    result = runner.invoke(app, ["explain", "ZZ99", "--out", str(output)])
    assert result.exit_code == 2
    assert "no indicator 'ZZ99'" in result.output and "LL01" in result.output


def test_trace_lists_the_records_and_reproduces_the_cell(output: Path, tmp_path: Path):
    records = tmp_path / "records.csv"
    result = runner.invoke(app, ["trace", "LL01", "34172", "2024", "--out", str(output),
                                 "--csv", str(records)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Montpellier" in result.output
    assert "The records reproduce the published numerator, denominator and n" in result.output
    lines = records.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("source_file,source_row,respondent_id")
    assert all(line.startswith("raw/aes_survey.parquet,") for line in lines[1:])


def test_trace_of_a_breakdown_and_of_each_kind(output: Path):
    for args in (["LL01", "34172", "2024", "--breakdown", "sex=F"],
                 ["MED04", "34172", "2024"], ["LNK01", "34172", "2024"]):
        result = runner.invoke(app, ["trace", *args, "--out", str(output)], terminal_width=200)
        assert result.exit_code == 0, (args, result.output)
        assert "✓" in result.output


def test_trace_says_what_to_do_without_a_run(tmp_path: Path):
    result = runner.invoke(app, ["trace", "LL01", "34172", "2024", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "lci run" in result.output and "Traceback" not in result.output
