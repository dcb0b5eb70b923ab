"""The estimators check every condition and ``where`` before any SQL runs: the examples of R's
api data give R's numbers, a hostile condition is refused naming itself, and nothing runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from indicators.conditions import ConditionError
from indicators.survey.estimators import (
    SurveyDesign,
    SurveyDesignError,
    compare_domains,
    survey_mean,
    survey_proportion,
    survey_query,
    survey_ratio,
    survey_total,
)
from tests.indicators.survey.test_against_r import load_api

STRAT = SurveyDesign("apistrat", weights="pw", strata="stype", fpc=("fpc",))


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    load_api(connection)
    yield connection
    connection.close()


HOSTILE = [
    ("(SELECT count(*) FROM read_csv('{secret}')) > 0", "subquery"),
    ("length(read_text('{secret}')) > 0", "read_text reads files"),
    ("read_blob('{secret}') IS NOT NULL", "read_blob reads files"),
    ("glob('/*') IS NOT NULL", "glob reads files"),
    ("getenv('HOME') IS NOT NULL", "getenv reads the machine"),
    ("current_setting('threads') IS NOT NULL", "current_setting reads the machine"),
    ("api00 > 1; COPY apistrat TO '{secret}.out'", "it contains ';'"),
    ("api00 > 1 -- ; COPY apistrat TO '{secret}.out'", "comment"),
    ("sum(api00) > 0", "aggregate"),
    ("row_number() OVER () = 1", "window"),
    ("api00 = ?", "parameter"),
    ("api00 = $1", "parameter"),
    ("nowhere = 1", "unknown column 'nowhere'"),
]


@pytest.mark.parametrize(("condition", "reason"), HOSTILE)
def test_a_hostile_condition_is_refused_in_every_role(con, condition, reason, tmp_path: Path):
    secret = tmp_path / "secret.csv"
    secret.write_text("a\nSECRET\n", encoding="utf-8")
    text = condition.format(secret=secret)
    calls = [
        lambda: survey_proportion(con, STRAT, text),
        lambda: survey_mean(con, STRAT, "api00", where=text),
        lambda: survey_total(con, STRAT, "enroll", where=text),
        lambda: survey_ratio(con, STRAT, "api00", "api99", where=text),
        lambda: survey_query(con, STRAT, "proportion", text),
        lambda: compare_domains(con, STRAT, "proportion", text, by=("stype",),
                                first={"stype": "E"}, second={"stype": "H"}),
    ]
    for call in calls:
        with pytest.raises(SurveyDesignError, match=reason) as caught:
            call()
        assert isinstance(caught.value, ConditionError)
        assert repr(text)[1:-1][:40] in str(caught.value)
        assert caught.value.french
    assert not (tmp_path / "secret.csv.out").exists()


def test_the_r_examples_give_the_same_estimates_as_the_unchecked_sql(con):
    """The checked SQL is the condition with its columns quoted: the same numbers."""
    d = SurveyDesign("apiclus1", psu=("dnum",), weights="pw", fpc=("fpc",))
    (checked,) = survey_proportion(con, d, "\"sch.wide\" = 'Yes'")
    (again,) = survey_proportion(con, d, "\"SCH.WIDE\" = 'Yes'")
    for field in ("estimate", "se", "ci_low", "ci_high", "df", "n"):  # summed in parallel:
        assert getattr(checked, field) == pytest.approx(getattr(again, field), rel=1e-12)
    sql = survey_query(con, d, "proportion", "stype IN ('E','M')", where="api00 > 700")
    assert "(\"stype\" IN ('E', 'M'))" in sql and "(\"api00\" > 700)" in sql


def test_variables_and_domains_stay_column_names(con):
    with pytest.raises(SurveyDesignError, match=r"unknown variable column 'api0' "
                                                r"\(did you mean api00 or api99\?\)"):
        survey_mean(con, STRAT, "api0")
    with pytest.raises(SurveyDesignError, match="unknown variable column"):
        survey_mean(con, STRAT, "api00 + (SELECT 1)")
    with pytest.raises(SurveyDesignError, match="unknown by column"):
        survey_mean(con, STRAT, "api00", by=("stype\" FROM apistrat; --",))
