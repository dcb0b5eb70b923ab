"""A calibration the project's data cannot meet stops the run with one message, in French in
a French run: the engine's refusal, said again whole, naming the margin, the category and the
territory."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from indicators.compute.calibration import calibrated_design
from indicators.compute.survey_proportion import design
from indicators.survey.calibration import CalibrationError
from pipelines.calibration_messages import in_french
from pipelines.cli.commands import app
from pipelines.config import CalibrationSettings, bundled_sample_config, load_config
from pipelines.run import compute_options


def refusal(con: duckdb.DuckDBPyConnection, settings: dict) -> str:
    options = compute_options("fail", load_config(bundled_sample_config()).contracts, None,
                              CalibrationSettings.model_validate(settings))
    with pytest.raises(CalibrationError) as refused:
        calibrated_design(con, design(options), options)
    return str(refused.value)


def test_a_category_without_respondents_is_said_in_french(sample_warehouse):
    english = refusal(sample_warehouse, {})  # by commune: too few respondents in some
    assert english.startswith("no respondent is in age_group='18-24' in territory='")
    french = in_french(english)
    assert french is not None
    assert french.startswith("aucun répondant n'a age_group='18-24' dans territory='")
    assert french.endswith(": regroupez cette catégorie avec une voisine, ou calez à un niveau "
                           "territorial plus large (level)")


def test_bounds_no_weights_can_meet_are_said_in_french(sample_warehouse):
    english = refusal(sample_warehouse, {"level": "DEP", "bounds": [0.99, 1.01]})
    assert english.startswith("the calibration did not converge in 50 iterations: margin ")
    french = in_french(english)
    assert french is not None
    assert french.startswith("le calage n'a pas convergé en 50 itérations : la marge '")
    assert " s'écarte encore de " in french and "élargissez les bornes (bounds)" in french


@pytest.mark.parametrize("english, french", [
    ("the population's 'total' is missing, negative or not finite for sex='F' in the design",
     "le total 'total' de la population est manquant, négatif ou non fini pour sex='F' dans le "
     "plan de sondage"),
    ("3 respondents are in sex='X' in territory='34', a category the population of margin "
     "'sex' does not have",
     "3 répondants ont sex='X' dans territory='34', une catégorie que la population de la "
     "marge 'sex' n'a pas"),
    ("the calibration makes the weights of 2 cells zero, negative or not finite (g = -0.5 for "
     "_b0='34'); give bounds with a positive lower bound, or calibrate by raking",
     "le calage rend nuls, négatifs ou non finis les poids de 2 cellules (g = -0.5 pour "
     "_b0='34') ; donnez des bornes (bounds) dont la borne basse est positive, ou calez par "
     "raking"),
    ("the margins disagree on the population of territory='34': sex sums to 100, age_group "
     "to 98",
     "les marges ne s'accordent pas sur la population de territory='34' : sex totalise 100, "
     "age_group 98"),
])
def test_each_refusal_of_the_engine_has_its_french(english, french):
    assert in_french(english) == french


def test_a_message_not_known_is_left_as_it_is_rather_than_half_said():
    assert in_french("calibration needs at least one margin") is None


def test_the_run_stops_with_the_french_message_and_keeps_nothing_half_written(tmp_path: Path):
    project = tmp_path / "project"
    shutil.copytree(bundled_sample_config().parent, project)
    config = project / "lci.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "\ncalibration: {}\n",
                      encoding="utf-8")
    result = CliRunner().invoke(app, ["run", "--config", str(config), "--out",
                                      str(tmp_path / "out"), "--lang", "fr"],
                                terminal_width=400)
    said = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert f"{config} : calage : aucun répondant n'a age_group='18-24' dans territory=" in said
    assert "Traceback" not in said and "no respondent" not in said
    assert not (tmp_path / "out").exists()
