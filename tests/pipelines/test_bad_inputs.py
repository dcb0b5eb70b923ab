"""Bad inputs, as offices send them (``tests/bad_inputs/<case>/``), get answers people can act on.

Each case holds the file and ``case.yaml``: the source declaration and the expected answer,
either one message stopping the source (a whole-file problem) or row accounting with every
quarantined row's file row number, file column, check, raw value and rule. Whatever the case,
ingest never raises, rows read = rows accepted + rows quarantined, the contract table holds
the accepted rows, and every rule is stated in English and in French.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.validating.contracts import SCHEMAS
from pipelines.validating.messages import format_failure
from tests.bad_inputs_loader import Run, case_folders, load_case, run_case


def _case(folder: Path):
    reason = load_case(folder).get("xfail")
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(folder, id=folder.name, marks=marks)


@pytest.mark.parametrize("folder", [_case(f) for f in case_folders()])
def test_a_bad_input_gets_an_answer_in_words_and_loses_no_row(folder: Path, tmp_path: Path):
    case = load_case(folder)
    try:
        run = run_case(folder, tmp_path)
    except Exception as error:
        pytest.fail(f"ingest raised {type(error).__name__} instead of answering: {error}")
    expect = case["expect"]
    nothing_written_outside(tmp_path)
    references_load_cleanly(run)
    if "source_error" in expect:
        source_stops_with_one_message(run, expect["source_error"])
    else:
        rows_are_accounted_for(run, expect)
        quarantine_names_file_row_column_rule_and_value(run, expect.get("failures", []))
        read_report_says_what_was_fixed(run, expect.get("notes", []))
        accepted_rows_load_as_expected(run, expect.get("loaded", []))


def nothing_written_outside(root: Path) -> None:
    """A name or value in a file never runs as SQL: the corpus's hostile names aim at
    /tmp/pwned.csv, and reading leaves no working copy in the project folder."""
    assert not Path("/tmp/pwned.csv").exists()
    assert not [p for p in root.rglob("*") if p.name.startswith("lci-")]


def references_load_cleanly(run: Run) -> None:
    """The case's source is the only one in trouble."""
    name = run.source["name"]
    assert [e.source for e in run.result.errors] in ([], [name]), run.result.errors
    assert all(o.rows_quarantined == 0 for o in run.result.outcomes if o.source != name)


def source_stops_with_one_message(run: Run, fragment: str) -> None:
    name, file, table = run.source["name"], run.source["path"], run.source["table"]
    assert [e.source for e in run.result.errors] == [name], f"{name} should have stopped"
    error = run.result.errors[0]
    assert fragment in error.message
    assert file in str(error)
    assert "\n" not in error.message and "Traceback" not in error.message
    # The French report gets the same message in French.
    problem = error.problem
    assert problem.code.startswith("source.") and problem.severity == "error"
    assert problem.message.en == error.message
    assert problem.message.fr and problem.message.fr != error.message
    assert "\n" not in problem.message.fr
    assert name not in {o.source for o in run.result.outcomes}
    assert count(run, f"SELECT count(*) FROM {table}") == 0
    assert count(run, "SELECT count(*) FROM quarantine WHERE source = ?", name) == 0
    recorded = run.con.execute("SELECT file, rows_read, error FROM run_sources "
                               "WHERE source = ?", [name]).fetchall()
    assert recorded == [(file, 0, error.message)]
    problems = run.con.execute("SELECT code, file, message.en, message.fr FROM problems "
                               "WHERE source = ?", [name]).fetchall()
    assert problems == [(problem.code, file, problem.message.en, problem.message.fr)]


def rows_are_accounted_for(run: Run, expect: dict) -> None:
    name, table = run.source["name"], run.source["table"]
    assert not run.result.errors, [str(e) for e in run.result.errors]
    [outcome] = [o for o in run.result.outcomes if o.source == name]
    counts = (outcome.rows_read, outcome.rows_accepted, outcome.rows_quarantined)
    assert counts == (expect["rows_read"], expect["rows_accepted"], expect["rows_quarantined"])
    assert outcome.rows_read == outcome.rows_accepted + outcome.rows_quarantined
    assert count(run, f"SELECT count(*) FROM {table}") == outcome.rows_accepted
    assert count(run, "SELECT count(DISTINCT row_number) FROM quarantine WHERE source = ?",
                 name) == outcome.rows_quarantined
    recorded = run.con.execute(
        "SELECT rows_read, rows_accepted, rows_quarantined, error FROM run_sources "
        "WHERE source = ?", [name]).fetchall()
    assert recorded == [(*counts, None)]
    assert count(run, "SELECT count(*) FROM problems WHERE source = ? AND code LIKE 'source.%'",
                 name) == 0


def quarantine_names_file_row_column_rule_and_value(run: Run, expected: list[dict]) -> None:
    """Every quarantined failure is expected (by row and check) and every expected failure is
    found with the file column, raw value and rule the case states."""
    found = [dict(zip(("file", "row", "column", "check", "value", "rule_en", "rule_fr"), r,
                      strict=True))
             for r in run.con.execute(
                 "SELECT file, row_number, file_column, check_id, value, rule.en, rule.fr "
                 "FROM quarantine WHERE source = ? ORDER BY row_number, check_id",
                 [run.source["name"]]).fetchall()]
    for failure in found:
        assert failure["file"] == run.source["path"]
        assert failure["check"].startswith(run.source["table"] + ".")
        assert failure["rule_en"] and failure["rule_fr"]
        assert failure["rule_fr"] != failure["rule_en"]
        for lang, rule in (("en", failure["rule_en"]), ("fr", failure["rule_fr"])):
            line = format_failure(lang, failure["file"], failure["row"], failure["column"],
                                  failure["value"], rule)
            assert line.startswith(failure["file"]) and str(failure["row"]) in line
        assert any(failure["row"] == e["row"] and failure["check"] == e.get("check",
                                                                             failure["check"])
                   for e in expected), f"unexpected failure {failure}"
    for failure in expected:
        assert any(matches(f, failure) for f in found), f"missing {failure} in {found}"


def matches(found: dict, expected: dict) -> bool:
    return all(found[key] == value if key != "rule_en" else value in found[key]
               for key, value in expected.items())


def read_report_says_what_was_fixed(run: Run, fragments: list[str]) -> None:
    [report] = [r for r in run.result.reports if r.source == run.source["name"]]
    for fragment in fragments:
        assert any(fragment in note for note in report.notes), (fragment, report.notes)
    # Each note also exists in French, for the French validation report.
    assert [p.message.en for p in report.problems] == report.notes
    assert all(p.message.fr and p.message.fr != p.message.en for p in report.problems)
    assert all(p.code.startswith("read.") and p.severity == "note" for p in report.problems)
    recorded = run.con.execute("SELECT code, message.en, message.fr FROM problems WHERE "
                               "source = ? AND code LIKE 'read.%'",
                               [run.source["name"]]).fetchall()
    assert recorded == [(p.code, p.message.en, p.message.fr) for p in report.problems]


def accepted_rows_load_as_expected(run: Run, rows: list[dict]) -> None:
    table = run.source["table"]
    columns = list(SCHEMAS[table].columns)
    loaded = [dict(zip(columns, r, strict=True))
              for r in run.con.execute(f"SELECT * EXCLUDE (source_file, source_row) "
                                       f"FROM {table}").fetchall()]
    for row in rows:
        assert any(all(r[k] == v for k, v in row.items()) for r in loaded), (row, loaded)


def count(run: Run, sql: str, *params: object) -> int:
    return run.con.execute(sql, list(params)).fetchall()[0][0]
