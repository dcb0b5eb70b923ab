"""A French run speaks French: no English word of the catalogue or of the interface is left in
anything it writes for people — report, tables, profiles, validation reports, spreadsheets,
CSV and the console.

The words looked for are English words that French never uses; a code (``LL01``, ``COM``) or a
name (``UNESCO``) is not a word of either language. The same scan over the English run finds
them, so the test can fail."""

from __future__ import annotations

import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from pipelines.config import bundled_sample_config, load_config

ENGLISH = frozenset("""
the and of with from for which this that these those not are is was were been has have than
when where each every only between within without higher lower better worse value values
share people adults learning published reliability error errors warning warnings rows file
files years year rank target below above missing suppressed significant interval women men
none unknown territory territories low high shown read accepted rejected quarantined
flagged indicator indicators report change changes level levels
""".split())  # noqa: SIM905 - a list of words reads best as words
WORD = re.compile(r"[A-Za-z][A-Za-z']+")
SKIPPED = {"style", "script"}
ATTRIBUTES = {"title", "aria-label", "alt", "aria-description"}


class _Text(HTMLParser):
    """What a reader sees or hears of a page: its text, titles and accessible names."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED:
            self._skip += 1
        self.parts += [value for name, value in attrs if name in ATTRIBUTES and value]

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def page_text(path: Path) -> str:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return " ".join(parser.parts)


def workbook_text(path: Path) -> str:
    book = CalamineWorkbook.from_path(str(path))
    return " ".join(str(cell) for name in book.sheet_names
                    for row in book.get_sheet_by_name(name).to_python() for cell in row
                    if isinstance(cell, str))


IDENTIFIER = re.compile(r"\S*[_./\\]\S*|\S+:(?=\s|$)")
"""A token with ``_``, ``.`` or ``/`` names a check, a column or a file, and one glued to its
colon is a key of the project file (French puts a space before a colon): no one's language."""
NAMES = ("Learning City Indicators",)  # the product's name, in every language


@cache
def declared_names() -> frozenset[str]:
    """The names the project declares (its sources) and the contract's tables and columns:
    identifiers the reports quote, whatever the language."""
    config = load_config(bundled_sample_config())
    names = {source.name for source in config.sources}
    for table, schema in config.contracts.schemas.items():
        names.add(table)
        names.update(schema.columns)
    return frozenset(names)


def english_words(text: str) -> list[str]:
    for name in NAMES:
        text = text.replace(name, " ")
    text = IDENTIFIER.sub(" ", text)
    declared = declared_names()
    return sorted({w for w in WORD.findall(text) if w.lower() in ENGLISH and w not in declared})


def outputs(out: Path) -> dict[str, str]:
    """Every file written for people, as its text."""
    found: dict[str, str] = {}
    for path in sorted(out.rglob("*.html")):
        found[path.relative_to(out).as_posix()] = page_text(path)
    for path in sorted(out.rglob("*.xlsx")):
        found[path.relative_to(out).as_posix()] = workbook_text(path)
    for name in ("indicators.csv", "quarantine.csv"):
        for path in sorted(out.rglob(name)):
            found[path.relative_to(out).as_posix()] = path.read_text(encoding="utf-8-sig")
    return found


@pytest.fixture(scope="module")
def french(sample_run) -> tuple[dict[str, str], str]:
    """``lci run --lang fr`` on the sample project: what it wrote for people, and its console."""
    return outputs(sample_run("fr").out), sample_run("fr").console


@pytest.fixture(scope="module")
def english(sample_run) -> tuple[dict[str, str], str]:
    return outputs(sample_run("en").out), sample_run("en").console


def test_every_page_spreadsheet_and_csv_of_a_french_run_is_in_french(french):
    files, _ = french
    assert any(name.endswith("profiles/63113.html") for name in files)  # profiles are scanned
    left = {name: english_words(text) for name, text in files.items()}
    assert {name: words for name, words in left.items() if words} == {}


def test_the_console_of_a_french_run_is_in_french(french):
    _, console = french
    without_paths = re.sub(r"\S*/\S*", " ", console)  # file paths are no one's language
    assert english_words(without_paths) == []


def test_the_same_scan_finds_english_in_an_english_run(english):
    files, console = english
    assert len(english_words(" ".join(files.values()))) > 30
    assert english_words(console)
