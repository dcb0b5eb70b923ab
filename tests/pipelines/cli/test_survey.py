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


@pytest.mark.parametrize(("option", "condition", "reason"), [
    ("--proportion", "length(read_text('{secret}')) > 0", "read_text reads files or tables"),
    ("--proportion", "read_blob('{secret}') IS NOT NULL", "read_blob reads files or tables"),
    ("--proportion", "glob('/*') IS NOT NULL", "glob reads files or tables"),
    ("--proportion", "getenv('HOME') IS NOT NULL", "getenv reads the machine"),
    ("--proportion", "api00 > 1; COPY survey TO '{secret}.out'", "it contains ';'"),
    ("--proportion", "api00 > 1 -- ; COPY survey TO '{secret}.out'", "comment"),
    ("--proportion", "ATTACH '{secret}.db' AS other", "statement (ATTACH)"),
    ("--proportion", "sum(api00) > 0", "aggregate function"),
    ("--proportion", "api0 > 700", "unknown column 'api0' (did you mean api00"),
    ("--where", "(SELECT count(*) FROM read_csv('{secret}')) > 0", "is a subquery"),
    ("--where", "current_setting('threads') IS NOT NULL", "current_setting reads the machine"),
    ("--where", "api00 = $1", "parameter $1"),
])
def test_a_refused_condition_is_one_message_exit_2_and_nothing_runs(
        option: str, condition: str, reason: str, tmp_path: Path):
    secret = tmp_path / "secret.csv"
    secret.write_text("a\nSECRET-CONTENT-7431\n", encoding="utf-8")
    text = condition.format(secret=secret)
    statistic = [] if option == "--proportion" else ["--mean", "api00"]
    result = runner.invoke(app, ["survey", str(API / "apistrat.csv"), "--weights", "pw",
                                 "--strata", "stype", *statistic, option, text])
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert reason in flat and "refused" in flat
    assert "SECRET-CONTENT" not in result.output and "Traceback" not in result.output
    assert not (tmp_path / "secret.csv.out").exists()
    assert not (tmp_path / "secret.csv.db").exists()


def test_the_r_examples_are_accepted_on_the_command_line():
    rows = survey_json(str(API / "apistrat.csv"), "--weights", "pw", "--strata", "stype",
                       "--fpc", "fpc", "--proportion", "stype IN ('E','M')",
                       "--where", "api00 > 700")
    assert len(rows) == 1 and 0 < rows[0]["estimate"] <= 1


def test_the_connection_reads_only_the_given_file(tmp_path: Path):
    from pipelines.cli.survey import _open

    other = tmp_path / "other.csv"
    other.write_text("a\n1\n", encoding="utf-8")
    con = _open(API / "apistrat.csv")
    try:
        with pytest.raises(Exception, match="(?i)permission|disabled|not allowed"):
            con.execute("SELECT * FROM read_csv(?)", [str(other)]).fetchall()
        with pytest.raises(Exception, match="(?i)lock|configuration"):
            con.execute("SET enable_external_access = true")
    finally:
        con.close()


@pytest.mark.parametrize(("content", "args", "said"), [
    ("y,x,w\n1,NaN,1\n2,3,1\n", ["--mean", "x"], "'x' (1) hold values that are not finite"),
    ("y,x,w\n1,inf,1\n2,3,1\n", ["--mean", "x"], "must be numeric"),  # read as text
    ("y,x,w\n", ["--mean", "y"], "a header but no data rows"),
    ("y,x,w\na,1,1\nb,2,1\n", ["--proportion", "x > 'abc'"], "Could not convert string"),
])
def test_files_and_conditions_that_cannot_be_estimated_are_one_plain_message(
        tmp_path: Path, content: str, args: list[str], said: str):
    data = tmp_path / "survey.csv"
    data.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["survey", str(data), "--weights", "w", *args])
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert said in message
    assert "LINE 1" not in message and "SELECT" not in message  # no internal SQL shown
