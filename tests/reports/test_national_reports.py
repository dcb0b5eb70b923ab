"""Reports at national scale: a table lists at most ``rows_per_level`` territories of a level,
a larger level shows the distribution of its values, the index shows its ends and the report's
own units, and the page says so in English and French.

The domain tables use the report fixture with twenty more communes made in SQL (24 communes:
more than a cap of 5); the index uses the sample project's warehouse (its communes: more than
a cap of 5). A small project, below the cap, reads exactly as it always has.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import duckdb
import numpy as np
import pytest

from indicators import Catalogue, compute_learning_city_index, load_catalogue
from indicators.sql import quote_ident
from reports import build_domain_table, write_report
from reports._composite import build_index_table, index_section, rank_interval_chart
from reports._i18n import format_number
from reports._tables import DISTRIBUTION_FILL, MARKS, MIN_CONTRAST, PALETTE, contrast_ratio
from tests.reports_fixtures import EPCI, YEAR, build_warehouse

CAP = 5
EXTRA_COMMUNES = 20  # beside the fixture's four
LEVEL_ROWS = ("10th percentile", "25th percentile", "median", "75th percentile",
              "90th percentile")
PERCENTILES = (10, 25, 50, 75, 90)
VALUE = 3  # cells per survey indicator (every LL one): value, interval, change


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="module")
def many(catalogue) -> duckdb.DuckDBPyConnection:
    """The report fixture with 20 more communes, copies of Vannes with shifted values; every
    ninth one suppressed and every seventh of low reliability, as a large survey would be."""
    con = build_warehouse(catalogue)
    con.execute(
        """
        INSERT INTO indicator_values
        SELECT indicator_id, printf('99%03d', i), 'COM', 'Commune ' || i, year, breakdown,
               CASE WHEN i % 9 = 4 THEN NULL ELSE value + (i * 37 % 101) / 10 END,
               numerator, denominator, se, ci_low, ci_high, n_unweighted,
               CASE WHEN i % 9 = 4 THEN 'suppressed'
                    WHEN i % 7 = 2 THEN 'low_reliability' ELSE status END,
               status_reason
        FROM indicator_values, range($n) AS t(i) WHERE territory_code = '56260'
        """, {"n": EXTRA_COMMUNES})
    con.execute(
        """
        INSERT INTO indicator_changes
        SELECT c.indicator_id, printf('99%03d', i), 'COM', c.breakdown, c.year,
               c.previous_year, c.change, c.se_change, c.significant
        FROM indicator_changes c, range($n) AS t(i) WHERE c.territory_code = '56260'
        """, {"n": EXTRA_COMMUNES})
    return con


class _Rows(HTMLParser):
    """Body rows of a great-tables table: [(group heading, stub, [(style, text) per cell])]."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, str, list[tuple[str, str]]]] = []
        self._group = ""
        self._in: str | None = None
        self._style = ""
        self._text: list[str] = []
        self._skipping = False

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        classes = attributes.get("class", "")
        if tag == "span" and classes == "lci-cover":  # an aggregate's coverage, not its name
            self._skipping = True
        elif tag == "th" and "gt_group_heading" in classes:
            self._in, self._text = "group", []
        elif tag == "th" and attributes.get("scope") == "row":
            self._in, self._text = "stub", []
        elif tag == "td" and "headers" in attributes:
            self._in, self._text, self._style = "cell", [], attributes.get("style", "")

    def handle_endtag(self, tag):
        if tag == "span" and self._skipping:
            self._skipping = False
            return
        if self._in is None or tag not in ("th", "td"):
            return
        content = unescape("".join(self._text)).strip()
        if self._in == "group":
            self._group = content
        elif self._in == "stub":
            self.rows.append((self._group, content, []))
        else:
            self.rows[-1][2].append((self._style, content))
        self._in = None

    def handle_data(self, data):
        if self._in and not self._skipping:
            self._text.append(data)


def rows_of(table_html: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
    parser = _Rows()
    parser.feed(table_html.split("<tfoot")[0])
    return parser.rows


def plain(page: str) -> str:
    """The words a reader sees: no tags, styles or drawings, spaces collapsed."""
    page = re.sub(r"<(style|svg)\b.*?</\1>", " ", page, flags=re.S)
    return unescape(re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", page)))


def table(con, catalogue, lang="en", territories=None, domain="LL", cap=CAP) -> str:
    return build_domain_table(con, catalogue, domain, YEAR, lang, territories,
                              rows_per_level=cap).as_raw_html()


# --- domain tables --------------------------------------------------------------------------

def test_a_level_with_more_territories_than_the_cap_is_summarised_not_listed(many, catalogue):
    rows = rows_of(table(many, catalogue))
    stubs = [stub for _, stub, _ in rows]
    assert not any(stub.startswith("Commune ") or stub == "Vannes" for stub in stubs)
    communes = [row for row in rows if row[0].startswith("Communes")]
    assert {group for group, _, _ in communes} == {"Communes — distribution over 24 territories"}
    assert [stub for _, stub, _ in communes] == [
        "Communes — territories with a value", *(f"Communes — {r}" for r in LEVEL_ROWS)]
    listed = [row for row in rows if not row[0].startswith("Communes")]
    assert [group for group, _, _ in listed] == ["EPCI", "Départements", "Régions", "Groups"]
    assert len(rows) <= CAP * 5 + 6 * 1  # bounded by the cap, whatever the communes


def test_the_rows_stay_bounded_as_the_territories_grow(many, catalogue):
    before = len(rows_of(table(many, catalogue)))
    bigger = build_warehouse(catalogue)
    bigger.execute("""
        INSERT INTO indicator_values
        SELECT indicator_id, printf('98%04d', i), 'COM', 'Commune ' || i, year, breakdown,
               value + i % 13, numerator, denominator, se, ci_low, ci_high, n_unweighted,
               status, status_reason
        FROM indicator_values, range(300) AS t(i) WHERE territory_code = '56260'
        """)
    assert len(rows_of(table(bigger, catalogue))) == before


def _published(con, level: str, indicator_id: str) -> list[float]:
    return [r[0] for r in con.execute(
        "SELECT value FROM indicator_values WHERE year = ? AND breakdown = 'total' "
        "AND territory_level = ? AND indicator_id = ? AND value IS NOT NULL "
        "AND status IN ('ok', 'low_reliability')", [YEAR, level, indicator_id]).fetchall()]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_distribution_rows_are_the_percentiles_of_the_published_values(many, catalogue, lang):
    indicators = catalogue.in_domain("LL")
    rows = [row for row in rows_of(table(many, catalogue, lang)) if "Communes" in row[0]]
    count, *percentiles = rows
    for n, indicator in enumerate(indicators):
        values = _published(many, "COM", indicator.id)
        suppressed = many.execute(
            "SELECT count(*) FROM indicator_values WHERE year = ? AND breakdown = 'total' "
            "AND territory_level = 'COM' AND indicator_id = ? AND status = 'suppressed'",
            [YEAR, indicator.id]).fetchone()[0]
        assert suppressed and len(values) == 24 - suppressed  # suppressed cells are not values
        assert count[2][VALUE * n][1] == f"n = {format_number(len(values), 0, lang)}"
        expected = np.percentile(values, PERCENTILES)  # linear, numpy's default
        shown = [row[2][VALUE * n][1] for row in percentiles]
        assert shown == [format_number(v, indicator.decimals, lang) for v in expected]


def test_distribution_rows_are_neither_shaded_nor_given_a_change(many, catalogue):
    rows = rows_of(table(many, catalogue))
    for group, stub, cells in rows:
        values, intervals, changes = cells[0::VALUE], cells[1::VALUE], cells[2::VALUE]
        if group.startswith("Communes"):
            assert all(DISTRIBUTION_FILL in style for style, _ in values), stub
            assert not any(colour in style for style, _ in values for colour in PALETTE[1:])
            assert all(text == "" for _, text in changes + intervals), stub
            assert not any(mark in text for _, text in values for mark in MARKS.values())
    shaded = [style for group, _, cells in rows if not group.startswith("Communes")
              for style, _ in cells[0::VALUE]]
    assert any(colour in style for style in shaded for colour in PALETTE)  # territories are


def test_chosen_territories_are_listed_as_given_and_followed_by_the_distribution(many,
                                                                                 catalogue):
    rows = rows_of(table(many, catalogue, territories=["99003", EPCI, "56260"]))
    assert [(group, stub) for group, stub, _ in rows[:3]] == [  # levels as first named
        ("Communes", "Commune 3"), ("Communes", "Vannes"),
        ("EPCI", "Golfe du Morbihan - Vannes agglomération")]
    assert [group for group, _, _ in rows[3:]] == [
        "Communes — distribution over 24 territories"] * 6


def test_the_footnote_says_what_distribution_rows_are(many, catalogue):
    english = plain(table(many, catalogue).split("<tfoot")[1])
    assert "Distribution rows: percentiles of the published values" in english
    assert "indicators.csv, indicators.xlsx and published/indicator_values.parquet" in english
    french = plain(table(many, catalogue, "fr").split("<tfoot")[1])
    assert "Lignes de distribution : centiles des valeurs publiées" in french
    assert "Communes — médiane" in plain(table(many, catalogue, "fr"))


# --- what the report says it shows ----------------------------------------------------------

@pytest.mark.parametrize(("lang", "sentence"), [
    ("en", "The tables list every territory of these levels: EPCI (1), départements (1), "
           "régions (1) and groups (1). For communes (24), more than 5 territories each, they "
           "show the distribution of the values instead (10th, 25th, 50th, 75th and 90th "
           "percentiles, and how many territories have a value). Every value of every "
           "territory is in indicators.csv, indicators.xlsx and "
           "published/indicator_values.parquet."),
    ("fr", "Les tableaux présentent chaque territoire de ces niveaux : EPCI (1), "
           "départements (1), régions (1) et groupes de territoires (1). Pour communes (24), "
           "plus de 5 territoires chacun, ils donnent à la place la distribution des valeurs "
           "(10e, 25e, 50e, 75e et 90e centiles, et le nombre de territoires qui ont une "
           "valeur). Toutes les valeurs de tous les territoires figurent dans indicators.csv, "
           "indicators.xlsx et published/indicator_values.parquet."),
])
def test_the_report_says_what_its_tables_show(many, catalogue, tmp_path, lang, sentence):
    files = write_report(many, catalogue, YEAR, lang, tmp_path, rows_per_level=CAP)
    page = files.report.read_text(encoding="utf-8")
    introduction = plain(page.split('id="introduction"')[1].split("</section>")[0])
    assert sentence in introduction
    shown_tables = len(files.tables)
    assert plain(page).count(sentence) == 1 + shown_tables  # and under each table heading


def test_the_report_counts_its_chosen_territories(many, catalogue, tmp_path):
    files = write_report(many, catalogue, YEAR, "en", tmp_path, territories=["99003", EPCI],
                         rows_per_level=CAP)
    text = plain(files.report.read_text(encoding="utf-8"))
    assert ("The tables list the 2 territories chosen for this report. For communes (24), "
            "more than 5 territories each, they also show the distribution") in text


def test_a_small_project_reads_as_it_always_has(catalogue, tmp_path):
    """No level above the cap: nothing new on the page, byte for byte (four communes here)."""
    con = build_warehouse(catalogue)
    at_cap = write_report(con, catalogue, YEAR, "fr", tmp_path / "a", rows_per_level=4)
    far = write_report(con, catalogue, YEAR, "fr", tmp_path / "b", rows_per_level=100_000)
    assert at_cap.report.read_bytes() == far.report.read_bytes()
    assert [p.read_bytes() for p in at_cap.tables] == [p.read_bytes() for p in far.tables]
    text = plain(at_cap.report.read_text(encoding="utf-8"))
    assert "distribution" not in text and "e centile" not in text
    below = plain(write_report(con, catalogue, YEAR, "fr", tmp_path / "c",
                               rows_per_level=3).report.read_text(encoding="utf-8"))
    assert "Pour communes (4), plus de 3 territoires chacun" in below


def test_a_cap_below_one_is_refused(many, catalogue):
    with pytest.raises(ValueError, match="at least 1"):
        table(many, catalogue, cap=0)


# --- the learning-city index ----------------------------------------------------------------

def _copy(source: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    target = duckdb.connect()
    for (name,) in source.execute("SELECT table_name FROM duckdb_tables()").fetchall():
        target.register("_rows", source.sql(f"SELECT * FROM {quote_ident(name)}").to_arrow_table())
        target.execute(f"CREATE TABLE {quote_ident(name)} AS SELECT * FROM _rows")
        target.unregister("_rows")
    return target


@pytest.fixture(scope="module")
def indexed(sample_warehouse, catalogue) -> duckdb.DuckDBPyConnection:
    con = _copy(sample_warehouse)
    compute_learning_city_index(con, catalogue, YEAR, draws=10)
    return con


def _by_rank(con) -> list[tuple[str, str]]:
    """(code, name) of every index unit, in the table's order: rank, then name."""
    return con.execute(
        """
        SELECT r.territory_code, coalesce(n.name, r.territory_code) AS name
        FROM composite_ranks r LEFT JOIN (
          SELECT territory_code, first(territory_name ORDER BY year DESC) AS name
          FROM indicator_values WHERE territory_level = 'COM' GROUP BY territory_code) n
        USING (territory_code)
        WHERE r.year = ? ORDER BY r.rank NULLS LAST, name, r.territory_code
        """, [YEAR]).fetchall()


def test_the_index_shows_the_report_territories_and_its_ends_in_rank_order(indexed,
                                                                           catalogue):
    units = _by_rank(indexed)
    assert len(units) > 2 * 3 + 1 > CAP
    middle = units[len(units) // 2]
    html = build_index_table(indexed, catalogue, YEAR, "en", [middle[0], "REG:53"],
                             rows_per_level=CAP, ends=3).as_raw_html()
    stubs = [stub for _, stub, _ in rows_of(html)]
    expected = [name for _, name in units[:3]] + [middle[1]] + [name for _, name in units[-3:]]
    assert stubs == expected
    assert html.count("dashed") >= 2  # a rule at each gap
    svg = rank_interval_chart(indexed, catalogue, YEAR, "en", [middle[0]], rows_per_level=CAP,
                              ends=3)
    assert middle[1] in svg and units[3][1] not in svg


@pytest.mark.parametrize(("lang", "words"), [
    ("en", "The table and the chart show 7 of the {total} communes in the index: the 3 first "
           "and the 3 last ranks, and the report's territories among them (1), in rank order"),
    ("fr", "Le tableau et le graphique présentent 7 des {total} communes de l'indice : les 3 "
           "premiers et les 3 derniers rangs, ainsi que les territoires du rapport qui y "
           "figurent (1), dans l'ordre du rang"),
])
def test_the_index_section_says_which_units_it_shows(indexed, catalogue, lang, words):
    units = _by_rank(indexed)
    section = plain(index_section(indexed, catalogue, YEAR, lang, [units[len(units) // 2][0]],
                                  rows_per_level=CAP, ends=3))
    assert words.format(total=len(units)) in section
    assert "published/composite_ranks.parquet" in section


def test_an_index_within_the_cap_lists_every_unit_and_says_nothing_new(indexed, catalogue):
    units = _by_rank(indexed)
    html = build_index_table(indexed, catalogue, YEAR, "en", rows_per_level=len(units))
    assert [stub for _, stub, _ in rows_of(html.as_raw_html())] == [n for _, n in units]
    section = index_section(indexed, catalogue, YEAR, "en", rows_per_level=len(units))
    assert "in the index:" not in plain(section)
    assert section == index_section(indexed, catalogue, YEAR, "en")  # the default cap, 100


def test_the_rank_chart_has_an_accessible_name_and_description(indexed, catalogue):
    """Its text is drawn as paths: the name and the description are what a screen reader
    reads, in the report's language."""
    units = _by_rank(indexed)
    for lang, words in (("en", "Rank of each territory in the learning-city index, 2024"),
                        ("fr", "Rang de chaque territoire dans l'indice de la ville")):
        svg = rank_interval_chart(indexed, catalogue, YEAR, lang, rows_per_level=CAP, ends=3)
        head = svg[:svg.index(">")]
        assert 'role="img"' in head
        labelled = re.search(r'aria-labelledby="([^"]+)"', head).group(1).split()
        for ident in labelled:
            assert f'id="{ident}"' in svg
        title = unescape(re.search(r"<title[^>]*>(.*?)</title>", svg).group(1))
        desc = unescape(re.search(r"<desc[^>]*>(.*?)</desc>", svg).group(1))
        assert title.startswith(words)
        for _, name in units[:3] + units[-3:]:
            assert name in desc
        assert units[3][1] not in desc  # only the units drawn


def test_the_index_is_shaded_by_rank_class_in_readable_colours(indexed, catalogue):
    units = _by_rank(indexed)
    html = build_index_table(indexed, catalogue, YEAR, "en",
                             rows_per_level=len(units)).as_raw_html()
    fills = []
    for _, _, cells in rows_of(html):
        style = next(style for style, text in cells if re.fullmatch(r"\d+\.\d", text)
                     and "background-color" in style)
        fill = re.search(r"background-color: (#[0-9a-fA-F]{6})", style).group(1)
        ink = re.search(r"(?<![-\w])color: (#[0-9a-fA-F]{6})", style).group(1)
        assert contrast_ratio(ink, fill) >= MIN_CONTRAST
        fills.append(PALETTE.index(fill))
    assert fills == sorted(fills, reverse=True)  # best rank darkest
    assert fills[0] == len(PALETTE) - 1 and fills[-1] == 0


def test_the_index_marks_the_reports_own_territories_in_bold(indexed, catalogue):
    units = _by_rank(indexed)
    chosen = units[len(units) // 2]
    html = build_index_table(indexed, catalogue, YEAR, "en", highlight=[chosen[0]],
                             rows_per_level=len(units)).as_raw_html()
    bold = re.findall(r'<th style="([^"]*)" scope="row"[^>]*>([^<]*)', html)
    assert [name for style, name in bold if "font-weight: bold" in style] == [chosen[1]]
    assert "Names in bold with a green rule" in plain(html)
    assert "Names in bold" not in plain(build_index_table(indexed, catalogue, YEAR, "en")
                                        .as_raw_html())
