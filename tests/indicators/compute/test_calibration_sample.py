"""A project's calibration of its survey weights agrees with R on the sample project.

The sample's respondents of département 34 in 2024, raked to the département's population
by sex and by age band (tests/calibration_golden.py, SAMPLE, with the R calls): the
calibrated weights, the département's proportion and its communes' (pooled design, each
territory a domain), to a relative 1e-9 (intervals 1e-7).
"""

from __future__ import annotations

import math

import duckdb
import pytest

from indicators.compute.calibration import CalibrationRules, calibrated_design, calibrated_weights
from indicators.compute.options import ComputeOptions
from indicators.compute.survey_proportion import design
from indicators.survey import survey_proportion
from indicators.survey.calibration import CalibrationError
from pipelines.config import CalibrationSettings, bundled_sample_config, load_config
from pipelines.run import compute_options
from tests.calibration_golden import SAMPLE

RULES = CalibrationSettings.model_validate(SAMPLE["rules"]).rules()
OPTIONS = ComputeOptions(calibration=RULES)


@pytest.fixture(scope="module")
def calibrated(sample_warehouse: duckdb.DuckDBPyConnection):
    return calibrated_design(sample_warehouse, design(OPTIONS), OPTIONS)


def test_weights_match_r(sample_warehouse: duckdb.DuckDBPyConnection, calibrated) -> None:
    rows = sample_warehouse.sql(
        f"SELECT respondent_id, _cal_weight FROM ({calibrated.source}) "
        f"WHERE _level = 'COM' AND year = 2024 AND territory = '34' ORDER BY 1").fetchall()
    want = SAMPLE["weights"]
    assert [r[0] for r in rows] == [w[0] for w in want]
    worst = max(abs(r[1] / w[1] - 1) for r, w in zip(rows, want, strict=True))
    assert worst < 1e-9


def test_every_level_gets_the_same_weights(sample_warehouse: duckdb.DuckDBPyConnection,
                                           calibrated) -> None:
    spread = sample_warehouse.sql(
        f"SELECT max(w) - min(w) FROM (SELECT respondent_id, year, _level, _cal_weight AS w "
        f"FROM ({calibrated.source})) GROUP BY respondent_id, year ORDER BY 1 DESC LIMIT 1"
    ).fetchall()[0][0]
    assert spread < 1e-9


def test_proportions_match_r(sample_warehouse: duckdb.DuckDBPyConnection, calibrated) -> None:
    got = {(e.by["_territory"], e.by["_level"], e.by["year"]): e for e in survey_proportion(
        sample_warehouse, calibrated, SAMPLE["condition"], by=("_territory", "_level", "year"),
        where="year = 2024 AND territory = '34'", na_rm=True, ci="logit")}
    for want in SAMPLE["expected"]:
        e = got[(want["by"]["_territory"], want["by"]["_level"], want["by"]["year"])]
        for field, tol in (("estimate", 1e-9), ("se", 1e-9), ("ci_low", 1e-7),
                           ("ci_high", 1e-7)):
            assert math.isclose(getattr(e, field), want[field], rel_tol=tol), (want["by"], field)


def test_a_small_commune_is_refused_by_name(sample_warehouse: duckdb.DuckDBPyConnection) -> None:
    options = ComputeOptions(calibration=CalibrationRules(age_bands=RULES.age_bands))
    with pytest.raises(CalibrationError, match=r"no respondent is in age_group='18-24' in "
                                               r"territory='\d+', year=20\d\d, whose population"):
        calibrated_design(sample_warehouse, design(options), options)


def test_without_rules_the_design_is_unchanged(sample_warehouse: duckdb.DuckDBPyConnection
                                               ) -> None:
    pooled = design(ComputeOptions())
    assert calibrated_design(sample_warehouse, pooled, ComputeOptions()) is pooled


def test_the_project_section_reaches_the_computation() -> None:
    config = load_config(bundled_sample_config())
    assert config.calibration is None
    assert compute_options("fail", config.contracts).calibration is None
    settings = CalibrationSettings.model_validate(
        {"method": "linear", "margins": [["sex", "age_group"]], "bounds": [0.5, 2]})
    rules = compute_options("fail", config.contracts, None, settings).calibration
    assert rules == CalibrationRules(method="linear", margins=(("sex", "age_group"),),
                                     age_bands=("18-24", "25-34", "35-44", "45-54", "55-64",
                                                "65-69"), bounds=(0.5, 2.0))
    for bad in ({"margins": ["income"]}, {"bounds": [1.2, 2]}, {"method": "logit"}):
        with pytest.raises(ValueError):
            CalibrationSettings.model_validate(bad)


def test_each_respondent_has_one_calibrated_weight(sample_warehouse: duckdb.DuckDBPyConnection,
                                                   calibrated) -> None:
    table = calibrated_weights(sample_warehouse, design(OPTIONS), OPTIONS)
    rows, respondents, total = sample_warehouse.sql(
        f"SELECT count(*), count(DISTINCT (year, respondent_id)), "
        f"sum(weight) FILTER (year = 2024 AND respondent_id IN (SELECT respondent_id FROM "
        f"survey_responses WHERE year = 2024 AND territory_code IN ('34057', '34129', "
        f"'34172'))) FROM {table}").fetchall()[0]
    assert rows == respondents == sample_warehouse.sql(
        "SELECT count(*) FROM survey_responses").fetchall()[0][0]
    assert math.isclose(total, sum(w for _, w in SAMPLE["weights"]), rel_tol=1e-12)
