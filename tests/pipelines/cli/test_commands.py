"""The `lci` command end to end, as a city analyst uses it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli.commands import app
from tests.small_project import write_small_project

runner = CliRunner()
CITIES = ("Clermont-Ferrand", "Mantes-la-Jolie", "Montpellier", "Évry-Courcouronnes", "Vannes")


@pytest.fixture(scope="module")
def english_run(sample_run) -> tuple[Path, str]:
    return sample_run("en").out, sample_run("en").console


@pytest.fixture(scope="module")
def french_run(sample_run) -> tuple[Path, str]:
    return sample_run("fr").out, sample_run("fr").console


def test_validate_on_clean_sample_data_exits_zero(tmp_path: Path):
    result = runner.invoke(app, ["validate", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "All rows passed validation" in result.output


def test_validate_exits_one_and_points_to_the_quarantine_when_rows_are_rejected(tmp_path):
    config = write_small_project(tmp_path / "project")
    result = runner.invoke(app, ["validate", "--config", str(config), "--out",
                                 str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "quarantined" in result.output
    lines = (tmp_path / "out" / "restricted" / "quarantine.csv").read_text(
        encoding="utf-8").splitlines()
    assert lines[0].startswith("file,row,column,value,rule,check_id")
    assert any(line.startswith("admin.csv,4,valeur,douze,must be a number,") for line in lines)


def test_in_a_project_folder_the_commands_read_its_project_file(tmp_path, monkeypatch):
    config = write_small_project(tmp_path / "project")
    monkeypatch.chdir(config.parent)
    result = runner.invoke(app, ["validate", "--out", str(tmp_path / "out")])
    assert result.exit_code == 1  # the small project's rejected rows, not the clean sample
    assert (tmp_path / "out" / "restricted" / "quarantine.csv").is_file()


def test_a_bad_configuration_is_one_message_and_exit_status_2(tmp_path: Path):
    config = tmp_path / "lci.yaml"
    config.write_text("name: x\nyears: [2024]\nsources: []\n")
    result = runner.invoke(app, ["run", "--config", str(config), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "sources" in result.output


def test_a_folder_lci_may_not_replace_is_refused_in_the_runs_language(tmp_path: Path):
    config = write_small_project(tmp_path / "project")
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "letter.txt").write_text("keep me", encoding="utf-8")
    result = runner.invoke(app, ["run", "--config", str(config), "--out", str(documents),
                                 "--lang", "fr"], terminal_width=400)
    assert result.exit_code == 1
    assert "n'est pas vide et ne contient pas de sortie d'LCI : choisissez un dossier de " \
           "sortie nouveau ou vide (--out)" in " ".join(result.output.split())
    assert "Traceback" not in result.output and "holds no previous" not in result.output
    assert (documents / "letter.txt").read_text(encoding="utf-8") == "keep me"


def test_an_unknown_year_is_one_message(tmp_path: Path):
    result = runner.invoke(app, ["run", "--year", "1999", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "year 1999 is not one of the project's years" in result.output


def test_indicators_lists_the_catalogue_in_both_languages():
    wide = {"COLUMNS": "200"}
    english = runner.invoke(app, ["indicators"], env=wide)
    french = runner.invoke(app, ["indicators", "--lang", "fr"], env=wide)
    assert english.exit_code == french.exit_code == 0
    assert "LL01" in english.output and "Adult learning participation" in english.output
    assert "Participation des adultes" in french.output


def test_the_console_script_is_installed():
    lci = Path(sys.executable).parent / "lci"
    result = subprocess.run([str(lci), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    for command in ("run", "validate", "indicators"):
        assert command in result.stdout


def test_names_and_messages_from_files_print_literally_never_as_markup(tmp_path: Path):
    config = write_small_project(tmp_path / "project")
    text = config.read_text(encoding="utf-8").replace("name: admin\n", "name: '[red]admin[/red]'\n")
    config.write_text(text + "validation: {max_rejected_share: 0.9}\nbogus: [bold]1\n",
                      encoding="utf-8")
    result = runner.invoke(app, ["run", "--config", str(config), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "bogus" in result.output  # the configuration error still names what is wrong
    config.write_text(text + "validation: {max_rejected_share: 0.9}\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", "--config", str(config), "--out",
                                 str(tmp_path / "out")], terminal_width=200)
    assert "[red]admin[/red]" in result.output


def test_printed_text_is_never_read_as_markup():
    from rich.console import Console

    from pipelines.cli import commands

    capture = Console(width=200, highlight=False, force_terminal=False)
    with capture.capture() as captured:
        original, commands.console = commands.console, capture
        try:
            outcome = type("Outcome", (), {"source": "[red]x[/red]", "file": "a[b]/[i]c.csv",
                                           "rows_read": 1, "rows_accepted": 1,
                                           "rows_quarantined": 0, "rows_flagged": 0})()
            report = type("Report", (), {"file": "[bold]f.csv", "notes": ["[blink]note"]})()
            result = type("Result", (), {"outcomes": [outcome], "reports": [report],
                                         "errors": []})()
            commands._print_ingest(result)
        finally:
            commands.console = original
    shown = captured.get()
    for literal in ("[red]x[/red]", "[i]c.csv", "[bold]f.csv", "[blink]note"):
        assert literal in shown


def test_validate_lists_every_problem_as_json_in_the_readers_language(tmp_path):
    import json

    project = write_small_project(tmp_path / "project")
    result = runner.invoke(app, ["validate", "--config", str(project), "--out",
                                 str(tmp_path / "out"), "--format", "json", "--lang", "fr"])
    assert result.exit_code == 1  # the small project has rows to reject
    facts = json.loads(result.stdout)
    assert facts["clean"] is False
    negative = next(p for p in facts["problems"] if p["value"] == "-5")
    assert (negative["file"], negative["row"], negative["column"]) == ("population.xlsx", 6,
                                                                       "POP")
    assert negative["message"]["fr"] == "doit être supérieur ou égal à 0"
    assert {s["source"] for s in facts["sources"]} >= {"admin", "population", "territories"}


def test_the_exports_carry_each_survey_cells_item_nonresponse(english_run):
    import csv

    import duckdb

    out, _ = english_run
    with (out / "public" / "2024" / "indicators.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    published = dict(((r[0], r[1], r[2], r[3], str(r[4])), r[5]) for r in duckdb.execute(
        "SELECT indicator_id, territory_level, territory_code, breakdown, year, "
        "item_nonresponse FROM read_parquet(?)",
        [str(out / "public" / "published" / "indicator_values.parquet")]).fetchall())
    survey = [r for r in rows if r["n_unweighted"]]
    assert survey and any(float(r["item_nonresponse"]) > 0 for r in survey)
    for r in rows:
        share = published[(r["indicator_id"], r["territory_level"], r["territory_code"],
                           r["breakdown"], r["year"])]
        assert r["item_nonresponse"] == ("" if share is None else f"{share:.6f}".rstrip("0")
                                         .rstrip(".")), r
