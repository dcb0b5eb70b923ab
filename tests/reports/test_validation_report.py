"""The validation report is written for the person who corrects the files: a verdict first,
then the rows to correct with the file's own row numbers, column names and codes, and what
the readers noticed with an example from the data — all of it in the reader's language."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import tests.small_project as small
from pipelines.config import load_config
from pipelines.run import VALIDATION_STAGES, run

# What English would show in the French report's own words (ids and data aside).
ENGLISH = ("error", "warning", "Not read", "Rows read", "Accepted", "Quarantined", "Flagged",
           "Passed", "Failed", "Severity", "Rule", "File", "Row", "Column", "Value", "Check",
           "(empty)", "until", "refused", "accepted", "rows", "e.g.", "in the file")


class _Text(HTMLParser):
    """The words a reader sees: one line per heading, paragraph, list item or table row, the
    cells of a row joined by ' | ' (styles left out)."""

    BLOCKS = {"h1", "h2", "h3", "p", "li", "tr", "title"}

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "style":
            self.skip += 1
        if tag in self.BLOCKS:
            self._flush()
        if tag in ("td", "th") and self.current:
            self.current.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self.skip -= 1
        if tag in self.BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.current.append(data)

    def _flush(self) -> None:
        line = re.sub(r"[ \t\r\n]+", " ", "".join(self.current)).strip(" |")
        if line:
            self.lines.append(line)
        self.current = []


def seen(path: Path) -> str:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    parser._flush()
    return "\n".join(parser.lines) + "\n"


def bad_project(root: Path, *, decimal_declared: bool = True, allowed: float | None = 0.9,
                population: list[list[object]] | None = None) -> Path:
    """The small project with a SEXE code its recode does not know (row 7 of the sheet),
    'douze' for a number (line 4 of the CSV) and an unknown commune (line 5)."""
    config = small.write_small_project(root)
    small.write_population_xlsx(root / "population.xlsx", population or [
        *small.POPULATION_ROWS, ["2A004", 2024, 3, "25-34", 40]])
    text = config.read_text(encoding="utf-8")
    if not decimal_declared:
        text = text.replace('decimal: ",", ', "")
    if allowed is not None:
        text += f"validation: {{max_rejected_share: {allowed}}}\n"
    config.write_text(text, encoding="utf-8")
    return config


def validate(config: Path, out: Path, lang: str) -> Path:
    """Validate only, as ``lci validate`` does; return the restricted validation folder."""
    run(load_config(config), out, lang=lang, stages=VALIDATION_STAGES)
    return out / "restricted" / "validation"


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("validation-report")
    config = bad_project(root / "project", decimal_declared=False)
    return {lang: validate(config, root / f"out-{lang}", lang) for lang in ("en", "fr")}


def test_the_verdict_comes_first_with_the_counts_of_each_source(reports):
    lines = seen(reports["fr"] / "report.html").splitlines()
    assert lines[1] == "Rapport de validation"
    assert lines[2] == "Verdict"
    assert lines[3].startswith("Acceptées avec des lignes en quarantaine\u00a0: 4 ligne(s)")
    assert "population (population.xlsx) — acceptée avec des lignes en quarantaine\u00a0: " \
           "2 ligne(s) sur 4 mises de côté (50\u202f%)" in lines
    facts = json.loads((reports["en"] / "report.json").read_text(encoding="utf-8"))
    verdict = facts["verdict"]
    assert verdict["verdict"] == "accepted_with_quarantine"
    by_source = {s["source"]: s for s in verdict["sources"]}
    assert (by_source["admin"]["rows_read"], by_source["admin"]["rows_quarantined"]) == (4, 2)
    assert (by_source["admin"]["format"], by_source["population"]["format"]) == ("csv", "xlsx")
    assert by_source["territories"]["status"] == "accepted"


def test_a_source_rejecting_more_rows_than_allowed_is_refused(tmp_path: Path):
    folder = validate(bad_project(tmp_path / "p", allowed=None), tmp_path / "out", "en")
    facts = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert facts["verdict"]["verdict"] == "refused"
    shown = seen(folder / "report.html")
    assert "Refused: a source could not be read or rejected more rows than allowed" in shown
    assert "admin (admin.csv) — refused: 2 of 4 row(s) rejected (50%, more than the 5% " \
           "allowed)" in shown
    summary = json.loads((tmp_path / "out" / "public" / "validation" / "summary.json")
                         .read_text(encoding="utf-8"))
    assert summary["verdict"] == facts["verdict"]  # counts only: publishable


def test_clean_sources_are_accepted(tmp_path: Path):
    rows = [small.ADMIN_ROWS[0], small.ADMIN_ROWS[1], small.ADMIN_ROWS[2]]
    config = small.write_small_project(tmp_path / "p", rows)
    small.write_population_xlsx(tmp_path / "p" / "population.xlsx", small.POPULATION_ROWS[:2])
    folder = validate(config, tmp_path / "out", "fr")
    assert json.loads((folder / "report.json").read_text())["verdict"]["verdict"] == "accepted"
    assert "Acceptées\u00a0: toutes les lignes de toutes les sources ont passé la validation." \
        in seen(folder / "report.html")


def test_rows_to_correct_name_the_files_own_columns_and_row_numbers(reports):
    shown = seen(reports["fr"] / "report.html")
    csv_part = shown.split("admin.csv (CSV)")[1].split("population.xlsx (Excel)")[0]
    assert csv_part.startswith("\u00a0: numéros de ligne tels qu'un éditeur de texte les "
                               "affiche, en-tête compris")
    assert "Ligne du fichier | Colonne du fichier | Valeur telle qu'écrite" in csv_part
    assert "4 | valeur | douze | doit être un nombre" in csv_part
    assert "5 | code_commune | 99001 |" in csv_part
    sheet_part = shown.split("population.xlsx (Excel)")[1].split("Contrôles")[0]
    assert "tels que le tableur les affiche" in sheet_part
    assert "Ligne du tableur | Colonne du fichier" in sheet_part
    assert "6 | POP | -5 |" in sheet_part  # the header is on row 3: data rows 4 to 7
    columns = {line.split(" | ")[1] for line in (csv_part + sheet_part).splitlines()
               if line[:1].isdigit()}
    assert columns == {"valeur", "code_commune", "POP", "SEXE"}  # never the contract's names


def test_a_recoded_column_shows_the_files_own_code_and_the_codes_it_may_hold(reports):
    shown = seen(reports["en"] / "report.html")
    assert "7 | SEXE | 3 | must be one of: F, M (in the file: 1 → M, 2 → F)" in shown
    french = seen(reports["fr"] / "report.html")
    assert "7 | SEXE | 3 | doit être l'une des valeurs\u00a0: F, M (dans le fichier\u00a0: " \
           "1 → M, 2 → F)" in french


def test_a_readers_note_gives_the_first_value_concerned_with_its_row(reports):
    english = seen(reports["en"] / "report.html")
    assert "admin | admin.csv | decimal comma detected (1 values) | e.g. line 2, column " \
           "'valeur': '5 432,5'" in english
    french = seen(reports["fr"] / "report.html")
    assert "virgule décimale détectée (1 valeurs) | p. ex. ligne 2, colonne «\u00a0valeur\u00a0»" \
           "\u00a0: «\u00a05 432,5\u00a0»" in french


def test_the_public_summary_shows_the_verdict_and_the_notes_without_values(reports):
    summary = reports["fr"].parent.parent / "public" / "validation" / "summary.html"
    shown = seen(summary)
    assert "Verdict" in shown and "virgule décimale détectée" in shown
    assert "5 432,5" not in shown and "douze" not in shown


@pytest.mark.parametrize("page", ["report.html", "summary.html"])
def test_the_french_pages_have_no_english_word(reports, page):
    folder = reports["fr"] if page == "report.html" else \
        reports["fr"].parent.parent / "public" / "validation"
    shown = seen(folder / page)
    ids = re.compile(r"\b[a-z_]+(\.[a-z_0-9]+)+\b")  # check ids and contract tables are codes
    words = ids.sub("", shown)
    for english in ENGLISH:
        assert not re.search(rf"(?<![\w.]){re.escape(english)}(?![\w.])", words), english


def test_the_french_json_keeps_both_languages_and_says_severities_as_codes(reports):
    facts = json.loads((reports["fr"] / "report.json").read_text(encoding="utf-8"))
    assert {p["severity"] for p in facts["problems"]} <= {"error", "warning", "note"}
    assert all(set(p["message"]) == {"en", "fr"} for p in facts["problems"])


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_validation_report_of_a_small_bad_project_matches_its_snapshot(reports, lang,
                                                                          file_regression):
    file_regression.check(seen(reports[lang] / "report.html"), basename=f"report_{lang}",
                          extension=".txt")


def test_the_validation_report_is_the_same_bytes_on_every_run(reports, tmp_path: Path):
    again = validate(bad_project(tmp_path / "project", decimal_declared=False),
                     tmp_path / "out", "fr")
    assert (again / "report.html").read_bytes() == (reports["fr"] / "report.html").read_bytes()
    facts = [json.loads((folder / "report.json").read_text(encoding="utf-8"))
             for folder in (again, reports["fr"])]
    for run_facts in facts:  # the workbook written for each run holds the time it was made
        for source in run_facts["sources"]:
            source.pop("sha256")
    assert facts[0] == facts[1]
