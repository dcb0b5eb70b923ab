"""``--lang fr`` is the language of everything a command prints, not only of the report; and a
run that set rows aside ends with a warning saying how many and where they are, never a bare
green tick."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli.commands import app
from tests.small_project import write_small_project

runner = CliRunner()
WIDE = {"COLUMNS": "200"}
# The English of the console's own words: none may be left in a French output.
ENGLISH_UI = ("Reading and validating", "Computing indicators", "Writing", "Sources loaded",
              "read", "accepted", "quarantined", "flagged", "indicator values", "Note:",
              "Written:", "Report:", "Publish:", "Restricted, auditors only", "Signed by key",
              "per-user key", "Validation report", "summary:", "row(s)", "reasons in",
              "All rows passed", "of rows rejected", "allowed", "Error:",
              "Configuration error", "e.g.", "column '", "decimal comma detected",
              "encoding detected", "not computed", "why not", "indicator", "unit",
              "direction", "kind", "Higher is better", "Lower is better", "survey proportion",
              "administrative ratio", "built-in", "Private key", "Public key", "Fingerprint",
              "Sign with it")


def english_left(output: str) -> list[str]:
    """The console's English words found in ``output`` (whole words, paths left out)."""
    text = re.sub(r"\S*/\S*", "", output)  # paths name folders, not words of the console
    return [w for w in ENGLISH_UI if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text)]


def small_project(root: Path, allowed: float = 0.9) -> Path:
    """The small project (3 rows to quarantine), allowed to go on to the report."""
    config = write_small_project(root)
    config.write_text(config.read_text(encoding="utf-8").replace('decimal: ",", ', "")
                      + f"validation: {{max_rejected_share: {allowed}}}\n", encoding="utf-8")
    return config


@pytest.fixture(scope="module")
def french_run(tmp_path_factory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("console-fr")
    config = small_project(root / "project")
    result = runner.invoke(app, ["run", "--config", str(config), "--lang", "fr", "--out",
                                 str(root / "out")], env={**WIDE, "XDG_CONFIG_HOME":
                                                          str(root / "config")})
    assert result.exit_code == 0, result.output
    return root / "out", result.output


def test_a_french_run_prints_no_english_word_of_the_console(french_run):
    _, output = french_run
    assert english_left(output) == []
    for french in ("▸ Lecture et validation des sources…", "▸ Calcul des indicateurs…",
                   "lues", "acceptées", "en quarantaine", "valeurs d'indicateurs pour",
                   "Fichiers écrits\u00a0:", "Rapport\u00a0:", "À publier\u00a0:",
                   "Restreint, pour les auditeurs seulement\u00a0:", "Signé avec la clé"):
        assert french in output, french


def test_a_french_run_gives_the_readers_notes_in_french_with_an_example(french_run):
    _, output = french_run
    assert "virgule décimale détectée (1 valeurs) — p. ex. ligne 2, colonne «\u00a0valeur\u00a0»" \
           "\u00a0: «\u00a05 432,5\u00a0»" in output


def test_a_run_that_quarantined_rows_ends_with_a_warning_naming_the_count_and_the_file(
        french_run):
    out, output = french_run
    last = output.strip().splitlines()[-1]
    assert last.startswith("⚠ 3 ligne(s) mises en quarantaine, non utilisées (population\u00a0: "
                           "1, admin\u00a0: 2)\u00a0:")
    assert last.endswith(str(out.resolve() / "restricted" / "quarantine.csv"))


def test_an_english_run_that_quarantined_rows_ends_with_the_warning_too(tmp_path: Path):
    result = runner.invoke(app, ["run", "--config", str(small_project(tmp_path / "p")),
                                 "--out", str(tmp_path / "out")],
                           env={**WIDE, "XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("⚠ 3 row(s) quarantined, not used (population: 1, admin: 2): the "
                           "rows and their reasons are in ")
    assert not last.startswith("✓")


def test_validate_speaks_french(tmp_path: Path):
    result = runner.invoke(app, ["validate", "--config", str(small_project(tmp_path / "p")),
                                 "--lang", "fr", "--out", str(tmp_path / "out")], env=WIDE)
    assert result.exit_code == 1  # rows were quarantined
    assert english_left(result.output) == []
    assert "Rapport de validation\u00a0:" in result.output
    assert "(restreint)\u00a0; synthèse\u00a0:" in result.output
    assert result.output.strip().splitlines()[-1].startswith("⚠ 3 ligne(s) mises en quarantaine")


def test_validate_says_in_french_when_a_source_rejects_too_many_rows(tmp_path: Path):
    result = runner.invoke(app, ["validate", "--config",
                                 str(small_project(tmp_path / "p", allowed=0.05)),
                                 "--lang", "fr", "--out", str(tmp_path / "out")], env=WIDE)
    assert result.exit_code == 1
    assert "admin\u00a0: 50\u202f% des lignes rejetées, au-delà des 5\u202f% admis" in \
        result.output
    assert english_left(result.output) == []


def test_validate_on_clean_data_says_so_in_french(tmp_path: Path):
    rows = ["code_commune;annee;indicateur;valeur;source",
            "01053;2024;library_active_borrowers;5 432,5;Médiathèque"]
    config = write_small_project(tmp_path / "p", rows)
    from tests.small_project import POPULATION_ROWS, write_population_xlsx

    write_population_xlsx(tmp_path / "p" / "population.xlsx", POPULATION_ROWS[:2])
    result = runner.invoke(app, ["validate", "--config", str(config), "--lang", "fr",
                                 "--out", str(tmp_path / "out")], env=WIDE)
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == \
        "✓ Toutes les lignes ont passé la validation."


def test_indicators_in_french_has_no_english_word():
    result = runner.invoke(app, ["indicators", "--lang", "fr"], env=WIDE)
    assert result.exit_code == 0
    assert english_left(result.output) == []
    for french in ("indicateur", "unité", "lecture", "calcul", "Plus élevé = mieux",
                   "proportion d'enquête", "ratio administratif"):
        assert french in result.output, french


def test_a_configuration_error_is_said_in_french(tmp_path: Path):
    config = tmp_path / "lci.yaml"
    config.write_text("name: x\nyears: [2024]\nsources: []\nbogus: 1\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", "--config", str(config), "--lang", "fr",
                                 "--out", str(tmp_path / "out")], env=WIDE)
    assert result.exit_code == 2
    assert "Erreur de configuration\u00a0:" in result.output
    assert "ligne 4, bogus\u00a0: champ non prévu 'bogus' (valeur\u00a0: «\u00a01\u00a0»)" in \
        result.output
    assert english_left(result.output) == []


def test_keygen_speaks_french(tmp_path: Path):
    result = runner.invoke(app, ["keygen", str(tmp_path / "key.pem"), "--lang", "fr"],
                           env=WIDE)
    assert result.exit_code == 0, result.output
    assert "Clé privée\u00a0:" in result.output and "Empreinte\u00a0:" in result.output
    assert english_left(result.output) == []


@pytest.mark.parametrize("command", ["run", "validate", "indicators", "init", "keygen",
                                     "explain", "trace", "survey", "composite"])
def test_every_command_printing_for_people_takes_lang(command):
    result = runner.invoke(app, [command, "--help"], env=WIDE)
    assert "--lang" in result.output


def test_explain_and_trace_speak_french(french_run, tmp_path: Path):
    out, _ = french_run
    unknown = runner.invoke(app, ["explain", "XX99", "--out", str(out), "--lang", "fr"],
                            env=WIDE)
    assert unknown.exit_code == 2
    assert "Erreur\u00a0: aucun indicateur 'XX99' dans le catalogue\u00a0; connus\u00a0:" in \
        unknown.output
    no_run = runner.invoke(app, ["trace", "LL01", "01053", "2024", "--out",
                                 str(tmp_path / "nothing"), "--lang", "fr"], env=WIDE)
    assert no_run.exit_code == 2
    assert "aucune exécution dans" in no_run.output and english_left(no_run.output) == []


def test_survey_speaks_french(tmp_path: Path):
    data = tmp_path / "survey.csv"
    data.write_text("w,y\n1,2\n2,3\n", encoding="utf-8")
    result = runner.invoke(app, ["survey", str(data), "--lang", "fr"], env=WIDE)
    assert result.exit_code == 2
    assert "Erreur\u00a0: donnez exactement une option parmi --mean" in result.output
    table = runner.invoke(app, ["survey", str(data), "--weights", "w", "--mean", "y",
                                "--lang", "fr"], env=WIDE)
    assert table.exit_code == 0, table.output
    assert "moyenne de y — survey.csv" in table.output
