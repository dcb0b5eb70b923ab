"""`lci survey`: one command per R call, the same numbers, and clear errors for bad designs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli.commands import app
from tests.reference_data import api_dir
from tests.survey_golden import CASES

runner = CliRunner()
API = api_dir()


def golden(case_id: str) -> dict:
    return next(c for c in CASES if c["id"] == case_id)


def survey_json(*args: str) -> list[dict]:
    result = runner.invoke(app, ["survey", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_like_r(found: dict, expected: dict) -> None:
    for key in ("estimate", "se"):
        assert found[key] == pytest.approx(expected[key], rel=1e-9)
    for key in ("ci_low", "ci_high"):
        assert found[key] == pytest.approx(expected[key], rel=1e-7)


def test_reproduces_svymean_api00_on_the_stratified_design():
    # R: svymean(~api00, svydesign(id=~1, strata=~stype, weights=~pw, fpc=~fpc, data=apistrat))
    [found] = survey_json(str(API / "apistrat.csv"), "--weights", "pw", "--strata", "stype",
                          "--fpc", "fpc", "--mean", "api00")
    assert_like_r(found, golden("strat-mean-api00")["expected"][0])
    assert found["by"] == {} and found["n"] == 200 and found["df"] == 197


def test_reproduces_svyciprop_beta_on_the_one_stage_cluster_design():
    # R: svyciprop(~I(sch.wide == "Yes"), svydesign(id=~dnum, weights=~pw, fpc=~fpc,
    #    data=apiclus1), method = "beta")
    [found] = survey_json(str(API / "apiclus1.csv"), "--weights", "pw", "--psu", "dnum",
                          "--fpc", "fpc", "--proportion", "\"sch.wide\" = 'Yes'", "--ci", "beta")
    assert_like_r(found, golden("clus1-prop-beta-0.95")["expected"][0])


def test_domains_two_stage_design_and_the_table_output():
    rows = survey_json(str(API / "apiclus2.csv"), "--psu", "dnum,snum", "--fpc", "fpc1,fpc2",
                       "--mean", "api00", "--by", "stype")
    assert [r["by"] for r in rows] == [{"stype": "E"}, {"stype": "H"}, {"stype": "M"}]
    table = runner.invoke(app, ["survey", str(API / "apiclus2.csv"), "--psu", "dnum,snum",
                                "--fpc", "fpc1,fpc2", "--ratio", "api.stu:enroll", "--na-rm"])
    assert table.exit_code == 0 and "ratio of api.stu:enroll" in table.output


@pytest.mark.parametrize(("args", "message"), [
    (["--weights", "pw", "--mean", "nowhere"], "unknown"),
    (["--weights", "pw", "--proportion", "api00 >>> 3"], "not a valid SQL expression"),
    (["--weights", "pw"], "exactly one of --mean"),
    (["--weights", "pw", "--mean", "api00", "--ci", "beta"], "is for proportions"),
    (["--weights", "pw", "--strata", "stype", "--mean", "api00", "--where", "stype = 'H'"], ""),
])
def test_invalid_designs_are_one_message_and_exit_status_2(args, message):
    result = runner.invoke(app, ["survey", str(API / "apistrat.csv"), *args])
    if not message:  # a valid subpopulation keeps the full design: not an error
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_negative_weights_are_refused(tmp_path: Path):
    bad = tmp_path / "bad.csv"
    bad.write_text("y,w\n1,2\n0,-1\n", encoding="utf-8")
    result = runner.invoke(app, ["survey", str(bad), "--weights", "w", "--mean", "y"])
    assert result.exit_code == 2
    assert "weight" in result.output.lower()


@pytest.mark.parametrize("condition", [
    "(SELECT count(*) FROM read_csv('{secret}')) > 0",
    "(SELECT max(column0) FROM read_csv('{secret}', header = false)) = 'x'",
    "length(read_text('{secret}')) > 0",
    "(SELECT count(*) FROM glob('/*')) > 0",
    "(SELECT count(*) FROM read_parquet('https://example.org/x.parquet')) > 0",
])
def test_conditions_cannot_read_the_machine(condition: str, tmp_path: Path):
    secret = tmp_path / "secret.csv"
    secret.write_text("a\nSECRET-CONTENT-7431\n", encoding="utf-8")
    result = runner.invoke(app, ["survey", str(API / "apistrat.csv"), "--weights", "pw",
                                 "--strata", "stype",
                                 "--proportion", condition.format(secret=secret)])
    assert result.exit_code == 2, result.output
    assert "SECRET-CONTENT" not in result.output and "Traceback" not in result.output
