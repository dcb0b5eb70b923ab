"""Spec: the reliability rules that flag a published survey cell (NCHS's defaults)."""

from __future__ import annotations

import duckdb
import pytest
from pydantic import ValidationError

from indicators import load_catalogue
from indicators.compute.options import ReliabilityRules
from indicators.compute.publication import DESIGN_COLUMNS, RAW_COLUMNS, finalise_values
from pipelines.config import ReliabilitySettings

CATALOGUE = load_catalogue()
LL01 = CATALOGUE.get("LL01")  # a survey proportion, in percent: min_n 30, reliable_n 100


def _judge(p: float, se: float, n: int = 400, df: float = 20.0, width: float | None = None,
           rules: ReliabilityRules | None = None,
           population: int | None = None) -> tuple[str, str | None]:
    """The status and reason of one LL01 cell with estimate ``p`` % and standard error ``se``
    (``n`` answers among ``population`` respondents, all of them by default)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE territory_members AS SELECT 'C1' AS territory_code, "
                "'COM' AS territory_level, 'One' AS territory_name")
    con.execute("CREATE TABLE territory_levels AS SELECT 'COM' AS level, 0 AS ordinal")
    con.execute(f"CREATE TEMP TABLE _raw_values ({RAW_COLUMNS})")
    con.execute(f"CREATE TEMP TABLE _raw_design ({DESIGN_COLUMNS})")
    half = (width if width is not None else 2 * 1.96 * se) / 2
    con.execute("INSERT INTO _raw_values VALUES ('LL01', 'C1', 'COM', 2024, 'total', ?, ?, ?, ?, "
                "?, ?, ?, NULL, NULL)", [p * n / 100, n, p, se, p - half, p + half, n])
    con.execute("INSERT INTO _raw_design VALUES ('LL01', 'C1', 'COM', 2024, 'total', ?, NULL, ?)",
                [df, population if population is not None else n])
    finalise_values(con, CATALOGUE, rules)
    return con.execute("SELECT status, status_reason FROM indicator_values").fetchone()


def _se_for_effective_n(p: float, effective_n: float) -> float:
    """The SE (points) giving n / deff = effective_n: deff = se² / (p(100 − p) / n)."""
    return (p * (100 - p) / effective_n) ** 0.5


def test_a_precise_cell_is_ok():
    assert _judge(40.0, 2.0) == ("ok", None)


def test_fewer_than_8_design_degrees_of_freedom_flag_the_cell():
    assert _judge(40.0, 2.0, df=8) == ("ok", None)
    assert _judge(40.0, 2.0, df=7) == ("low_reliability", "design degrees of freedom 7 < 8")


def test_an_effective_sample_size_below_30_flags_the_cell():
    assert _judge(50.0, _se_for_effective_n(50.0, 30.5), width=20.0)[0] == "ok"
    assert _judge(50.0, _se_for_effective_n(50.0, 29.5), width=20.0) == (
        "low_reliability", "effective sample size 29.5 < 30")


def test_a_design_effect_below_1_counts_as_1():
    """n / deff never exceeds n: a cell does not gain respondents from its design."""
    assert _judge(50.0, 0.1, n=400)[0] == "ok"


def test_an_interval_wider_than_30_points_flags_the_cell():
    assert _judge(50.0, 2.0, width=29.99)[0] == "ok"
    assert _judge(50.0, 2.0, width=30.01) == (
        "low_reliability", "95% interval width 30.01 points > 30")


def test_the_coefficient_of_variation_is_taken_on_the_smaller_of_p_and_its_complement():
    """SE / min(p, 100 − p) above max_cv (0.2) flags p and 100 − p alike."""
    for p in (10.0, 90.0):
        assert _judge(p, 1.9, width=5.0)[0] == "ok"
        assert _judge(p, 2.1, width=5.0) == (
            "low_reliability", "coefficient of variation 0.210 > 0.2")


def test_without_the_symmetric_cv_the_cv_is_taken_on_p():
    rules = ReliabilityRules(symmetric_cv=False)
    assert _judge(90.0, 2.1, width=5.0, rules=rules)[0] == "ok"
    assert _judge(10.0, 2.1, width=5.0, rules=rules)[0] == "low_reliability"


def test_min_n_suppression_and_reliable_n_come_first():
    assert _judge(40.0, 9.0, n=29, df=2) == ("suppressed", "unweighted n = 29 < 30")
    assert _judge(40.0, 9.0, n=99, df=2) == ("low_reliability", "unweighted n = 99 < 100")


def test_a_project_can_loosen_or_turn_off_a_rule():
    off = ReliabilityRules(min_df=0, min_effective_n=0, max_interval_width=100)
    assert _judge(50.0, 9.0, df=1, width=60.0, rules=off)[0] == "ok"


def test_the_settings_default_to_nchs_and_are_bounded():
    settings = ReliabilitySettings()
    assert (settings.min_df, settings.min_effective_n, settings.max_interval_width,
            settings.symmetric_cv) == (8, 30.0, 30.0, True)
    rules = ReliabilityRules()
    assert (rules.min_df, rules.min_effective_n, rules.max_interval_width) == (8, 30.0, 30.0)
    for bad in ({"min_df": -1}, {"min_df": 1001}, {"min_effective_n": -1},
                {"max_interval_width": 0}, {"max_interval_width": 101}, {"min_df": True}):
        with pytest.raises(ValidationError):
            ReliabilitySettings.model_validate(bad)
    for name, field in ReliabilitySettings.model_fields.items():
        assert field.description and field.json_schema_extra["description_fr"], name


def test_a_cell_whose_questions_too_many_respondents_left_unanswered_is_flagged():
    """OMB's guideline 3.2.9: below a 70 % item response rate the estimate may be biased."""
    assert _judge(40.0, 2.0, width=8.0, n=400, population=560)[0] == "ok"  # 28.6 %
    assert _judge(40.0, 2.0, width=8.0, n=400, population=600) == (
        "low_reliability", "item non-response 33.3% > 30%")
    loose = ReliabilityRules(max_item_nonresponse=1.0)
    assert _judge(40.0, 2.0, width=8.0, n=400, population=600, rules=loose)[0] == "ok"


def test_the_item_nonresponse_share_is_published_with_each_survey_cell(sample_warehouse):
    shares = sample_warehouse.execute(
        "SELECT item_nonresponse FROM indicator_values v JOIN (SELECT DISTINCT indicator_id "
        "FROM indicator_sql WHERE kind LIKE 'survey%') USING (indicator_id)").fetchall()
    assert shares and all(s is not None and 0 <= s < 1 for (s,) in shares)
    assert any(s > 0 for (s,) in shares)  # the sample has unanswered questions
    admin = sample_warehouse.execute(
        "SELECT count(item_nonresponse) FROM indicator_values v JOIN indicator_sql USING "
        "(indicator_id) WHERE kind NOT LIKE 'survey%'").fetchone()[0]
    assert admin == 0
