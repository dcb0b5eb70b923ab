"""Problems as data: a missing file, a read note, a failing check and a configuration error all
come out as one :class:`Problem` — a code, where it is, the value as written, the message in
English and French — kept in the warehouse table ``problems`` and listed in report.json."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import duckdb
import pytest

from pipelines.config import ConfigError, load_config
from pipelines.ingest import ingest
from pipelines.problems import Problem, Text
from pipelines.run import run
from tests.bad_inputs_loader import CASES_DIR, run_case
from tests.small_project import ADMIN_ROWS, write_small_project

KEYS = ["code", "severity", "source", "file", "row", "column", "field", "value", "message",
        "hint"]


def _bilingual(text: dict | Text) -> bool:
    en, fr = (text["en"], text["fr"]) if isinstance(text, dict) else text
    return bool(en) and bool(fr) and en != fr


def _problems(con: duckdb.DuckDBPyConnection, code: str) -> list[dict]:
    result = con.execute('SELECT code, severity, source, file, "row", "column", field, value, '
                         "message, hint FROM problems WHERE code = ?", [code])
    return [dict(zip(KEYS, r, strict=True)) for r in result.fetchall()]


def test_a_problem_is_plain_data_in_both_languages_or_one():
    problem = Problem("read.decimal_comma", "note", Text("decimal comma", "virgule décimale"),
                      source="admin", file="admin.csv", row=2, column="valeur", value="5,5")
    assert list(problem.as_dict()) == KEYS
    assert problem.as_dict()["message"] == {"en": "decimal comma", "fr": "virgule décimale"}
    assert problem.as_dict("fr")["message"] == "virgule décimale"
    assert problem.as_dict("en")["hint"] is None
    json.dumps(problem.as_dict())
    with pytest.raises(dataclasses.FrozenInstanceError):
        problem.code = "other"  # type: ignore[misc]


def test_a_missing_file_is_a_problem_naming_the_file(tmp_path: Path):
    config = write_small_project(tmp_path)
    (tmp_path / "admin.csv").unlink()
    con = duckdb.connect()
    result = ingest(con, load_config(config))
    [error] = result.errors
    assert error.problem.code == "source.not_found"
    [problem] = _problems(con, "source.not_found")
    assert (problem["source"], problem["file"], problem["severity"]) == ("admin", "admin.csv",
                                                                         "error")
    assert problem["message"] == {"en": "file not found", "fr": "fichier introuvable"}
    assert _bilingual(problem["hint"])


def test_a_read_note_says_where_and_what_was_written(tmp_path: Path):
    found = run_case(CASES_DIR / "decimal_comma_detected", tmp_path)
    [report] = [r for r in found.result.reports if r.source == "admin"]
    [note] = [p for p in report.problems if p.code == "read.decimal_comma"]
    assert (note.severity, note.file, note.row, note.column, note.value) == (
        "note", "admin.csv", 2, "valeur", "5 432,5")
    assert _bilingual(note.message)
    [stored] = _problems(found.con, "read.decimal_comma")
    assert stored == {**note.as_dict(), "message": note.message._asdict()}


def test_a_failing_check_is_a_problem_per_row_with_the_value_as_written(tmp_path: Path):
    con = duckdb.connect()
    ingest(con, load_config(write_small_project(tmp_path)))
    [problem] = _problems(con, "check.admin_measures.value.type")
    assert (problem["severity"], problem["source"], problem["file"]) == ("error", "admin",
                                                                         "admin.csv")
    assert (problem["row"], problem["column"], problem["value"]) == (4, "valeur", "douze")
    assert problem["message"] == {"en": "must be a number", "fr": "doit être un nombre"}
    failures = con.execute("SELECT count(*) FROM validation_failures").fetchall()[0][0]
    checks = con.execute("SELECT count(*) FROM problems WHERE code LIKE 'check.%'").fetchall()
    assert checks[0][0] == failures


def test_a_configuration_error_names_the_field_and_the_value(tmp_path: Path):
    path = tmp_path / "lci.yaml"
    path.write_text("name: x\nyears: [2024]\ncolour: green\nsources:\n"
                    "  - {name: population, path: p.ods, format: ods, table: population}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    by_code = {p.code: p for p in caught.value.problems}
    extra, choice = by_code["config.extra_field"], by_code["config.invalid_choice"]
    assert (extra.field, extra.value, extra.file) == ("colour", "green", str(path))
    assert (choice.field, choice.value) == ("sources[population].format", "ods")
    assert all(_bilingual(p.message) for p in caught.value.problems)
    assert "sources[population].format" in str(caught.value)
    with pytest.raises(ConfigError) as missing:
        load_config(tmp_path / "absent.yaml")
    assert [p.code for p in missing.value.problems] == ["config.not_found"]


def test_report_json_lists_every_kind_of_problem_and_the_html_speaks_its_language(
        tmp_path: Path):
    admin = [ADMIN_ROWS[0], ADMIN_ROWS[1].replace("01053", "1053", 1), *ADMIN_ROWS[2:]]
    config = write_small_project(tmp_path / "project", admin)
    config.write_text(config.read_text(encoding="utf-8")
                      + "validation: {max_rejected_share: 0.9}\n", encoding="utf-8")
    (tmp_path / "project" / "population.xlsx").unlink()
    out = tmp_path / "out"
    run(load_config(config), out, lang="fr")
    facts = json.loads((out / "restricted" / "validation" / "report.json").read_text())
    problems = facts["problems"]
    assert all(list(p) == KEYS and _bilingual(p["message"]) for p in problems)
    codes = {p["code"] for p in problems}
    assert {"source.not_found", "read.leading_zero", "check.admin_measures.value.type"} <= codes
    douze = next(p for p in problems if p["code"] == "check.admin_measures.value.type")
    assert (douze["file"], douze["row"], douze["column"], douze["value"]) == (
        "admin.csv", 4, "valeur", "douze")
    html = (out / "restricted" / "validation" / "report.html").read_text(encoding="utf-8")
    assert "refusée\u00a0: non lue — fichier introuvable" in html
    assert "Lignes à corriger" in html and "douze" in html and "doit être un nombre" in html
    zero = next(p for p in problems if p["code"] == "read.leading_zero")
    assert (zero["severity"], zero["row"], zero["column"], zero["value"]) == (
        "note", 2, "code_commune", "1053")
    assert "zéro initial rétabli" in html and "restored the leading zero" not in html
