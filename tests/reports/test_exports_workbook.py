"""The workbook for people: one sheet per domain laid out as the report's tables, a Read me
with the marks and definitions, frozen identifiers and headers, number formats from each
indicator's decimals, and a print setup of one page wide with titles and page numbers."""

from __future__ import annotations

import re
import zipfile
from xml.etree import ElementTree

import pytest
from python_calamine import CalamineWorkbook

from indicators import Catalogue, load_catalogue
from reports import territory_rows, write_xlsx
from reports._spreadsheet import HEADER_ROWS, marks
from reports._tables import MARKS, legend_items
from tests.reports_fixtures import (
    EPCI,
    GROUP,
    LOW_RELIABILITY,
    MISSING,
    SIGNIFICANT_DOWN,
    SIGNIFICANT_UP,
    SUPPRESSED,
    THOUSANDS,
    YEAR,
    build_warehouse,
)

CHOSEN = ["56260", "53", GROUP, "56243", "56003", EPCI]
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="module")
def con(catalogue):
    return build_warehouse(catalogue)


@pytest.fixture(scope="module")
def french(con, catalogue, tmp_path_factory):
    return write_xlsx(con, catalogue, tmp_path_factory.mktemp("fr") / "indicators.xlsx", "fr",
                      territories=CHOSEN, year=YEAR)


def _sheet(path, name: str) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()


def _columns(rows: list[list], indicator_id: str) -> dict[str, int]:
    """Column of each part of one indicator, found from the two header rows."""
    start = next(n for n, cell in enumerate(rows[HEADER_ROWS - 2])
                 if str(cell).endswith(f"· {indicator_id}"))
    parts = {}
    for n in range(start, len(rows[0])):
        part = rows[HEADER_ROWS - 1][n]
        if n > start and rows[HEADER_ROWS - 2][n] not in ("", None):
            break
        parts[part] = n
    return parts


def _cell(rows: list[list], code: str, indicator_id: str, part: str):
    row = next(r for r in rows[HEADER_ROWS:] if r[0] == code)
    return row[_columns(rows, indicator_id)[part]]


def test_a_domain_sheet_lists_the_report_territories_in_the_report_order(con, french):
    """As the report's tables: the territories given, grouped by level in order of first
    appearance."""
    rows = _sheet(french, "LL")
    listed = [r[0] for r in rows[HEADER_ROWS:] if r[0] and r[1]][:len(CHOSEN)]
    assert listed == ["56260", "56243", "56003", "53", GROUP, EPCI]
    assert listed == list(territory_rows(con, YEAR, "fr", CHOSEN)["territory_code"])
    assert rows[HEADER_ROWS - 1][:3] == ["Code du territoire", "Territoire", "Niveau"]
    assert list(_columns(rows, "LL01")) == ["Valeur", "IC à 95\u202f%, bas",
                                            "IC à 95\u202f%, haut", "Évolution", "Signes"]
    assert rows[0][0] == "Participation à l'apprentissage tout au long de la vie"
    assert rows[1][0] == f"{YEAR} · évolution depuis {YEAR - 1}"


def test_an_administrative_indicator_has_no_interval_columns(con, catalogue, tmp_path):
    path = write_xlsx(con, catalogue, tmp_path / "x.xlsx", "en", territories=CHOSEN)
    rows = _sheet(path, "SKL")
    assert list(_columns(rows, THOUSANDS[0])) == ["Value", "Change", "Marks"]
    assert _cell(rows, THOUSANDS[1], THOUSANDS[0], "Value") == THOUSANDS[2]


def test_each_cell_carries_the_marks_of_the_report_tables(con, french):
    value = con.execute("SELECT value FROM indicator_values WHERE indicator_id = 'LL01' AND "
                        "territory_code = '56260' AND year = ? AND breakdown = 'total'",
                        [YEAR]).fetchone()[0]
    ll = _sheet(french, "LL")
    assert _cell(ll, "56260", "LL01", "Valeur") == value
    assert _cell(ll, SIGNIFICANT_UP[1], "LL01", "Signes") == MARKS["significant_up"]
    assert _cell(ll, SIGNIFICANT_DOWN[1], "LL05", "Signes") == MARKS["significant_down"]
    assert _cell(ll, SUPPRESSED[1], "LL01", "Valeur") == ""
    assert _cell(ll, SUPPRESSED[1], "LL01", "Signes") == MARKS["suppressed"]
    assert isinstance(_cell(ll, LOW_RELIABILITY[1], "LL04", "Valeur"), float)
    assert _cell(ll, LOW_RELIABILITY[1], "LL04", "Signes") == MARKS["low_reliability"]
    eco = _sheet(french, "ECO")
    assert _cell(eco, MISSING[1], MISSING[0], "Signes") == MARKS["missing"]
    assert _cell(ll, "53", "LL01", "Signes") == ""  # published, no significant change


def test_marks_follow_status_then_significance():
    assert marks("ok", 1.0, False) == ""
    assert marks(None, None, None) == MARKS["missing"]
    assert marks("low_reliability", -2.0, True) == (
        f"{MARKS['low_reliability']} {MARKS['significant_down']}")


def test_the_read_me_explains_every_mark_and_defines_every_indicator(catalogue, french):
    rows = _sheet(french, "Lisez-moi")
    pairs = {(r[0], r[1]) for r in rows}
    assert set(legend_items("fr")) <= pairs
    heading = next(n for n, r in enumerate(rows) if r[:3] == ["Indicateur", "Libellé",
                                                              "Définition"])
    defined = rows[heading + 1:]
    assert [r[0] for r in defined] == [i.id for i in catalogue]
    ll01 = catalogue.get("LL01")
    assert defined[0][:6] == ["LL01", ll01.label.fr, ll01.description.fr, "LL", ll01.unit.fr,
                              "Plus élevé = mieux"]
    assert defined[0][8:10] == [ll01.reference_fr,  # the catalogue's French words
                                f"60 ({ll01.target.source_fr})"]


def test_a_domain_sheet_as_read_in_french(french, data_regression):
    """Every cell of a domain sheet, one line per row (trailing empty cells left out)."""
    rows = [[round(c, 6) if isinstance(c, float) else c for c in row]
            for row in _sheet(french, "LL")]
    while rows and not any(rows[-1]):
        rows.pop()
    data_regression.check({"rows": [" | ".join(str(c) for c in row).rstrip(" |")
                                    for row in rows]})


def _xml(path, member: str) -> ElementTree.Element:
    with zipfile.ZipFile(path) as archive:
        return ElementTree.fromstring(archive.read(member))


def _sheet_xml(path, name: str) -> ElementTree.Element:
    book = _xml(path, "xl/workbook.xml")
    names = [s.get("name") for s in book.iter(f"{MAIN}sheet")]
    return _xml(path, f"xl/worksheets/sheet{names.index(name) + 1}.xml")


def test_identifiers_and_headers_stay_in_view(french):
    pane = _sheet_xml(french, "LL").find(f".//{MAIN}pane")
    assert (pane.get("xSplit"), pane.get("ySplit"), pane.get("state")) == (
        "2", str(HEADER_ROWS), "frozen")
    data = _sheet_xml(french, "Données").find(f".//{MAIN}pane")
    assert (data.get("ySplit"), data.get("state")) == ("1", "frozen")


def test_the_sheets_print_one_page_wide_with_titles_and_page_numbers(french):
    for name in ("Lisez-moi", "LL", "Données"):
        sheet = _sheet_xml(french, name)
        setup = sheet.find(f"{MAIN}pageSetup")
        assert setup.get("paperSize") == "9" and setup.get("fitToHeight") == "0"
        assert setup.get("fitToWidth") in (None, "1")
        assert sheet.find(f".//{MAIN}pageSetUpPr").get("fitToPage") == "1"
        assert setup.get("orientation") == ("portrait" if name == "Lisez-moi" else "landscape")
        header = sheet.find(f".//{MAIN}oddHeader").text
        assert header == f"&LIndicateurs de la ville apprenante {YEAR}&R&A"
        assert sheet.find(f".//{MAIN}oddFooter").text == "&CPage &P sur &N"
    titles = {d.text for d in _xml(french, "xl/workbook.xml").iter(f"{MAIN}definedName")
              if d.get("name") == "_xlnm.Print_Titles"}
    assert "LL!$A:$B,LL!$4:$5" in titles and "Données!$1:$1" in titles


def _formats(path, name: str) -> dict[str, str]:
    """Cell reference -> its number format code."""
    styles = _xml(path, "xl/styles.xml")
    codes = {f.get("numFmtId"): f.get("formatCode") for f in styles.iter(f"{MAIN}numFmt")}
    xfs = [xf.get("numFmtId") for xf in styles.find(f"{MAIN}cellXfs")]
    return {c.get("r"): codes.get(xfs[int(c.get("s", 0))], "General")
            for c in _sheet_xml(path, name).iter(f"{MAIN}c")}


def test_numbers_show_each_indicators_decimals_and_changes_their_sign(catalogue, french):
    rows = _sheet(french, "LL")
    formats = _formats(french, "LL")
    for indicator in catalogue.in_domain("LL"):
        decimals = "0" * indicator.decimals
        body = "#,##0" + (f".{decimals}" if decimals else "")
        columns = _columns(rows, indicator.id)
        for part, column in columns.items():
            ref = f"{_letters(column)}{HEADER_ROWS + 1}"
            if part == "Évolution":
                zero = "0" + (f".{decimals}" if decimals else "")
                assert formats[ref] == f"+{body};-{body};{zero}"
            elif part != "Signes":
                assert formats[ref] == body, (indicator.id, part)
    data = _formats(french, "Données")
    values = [data[f"J{n}"] for n in range(2, 200) if f"J{n}" in data]
    assert len(values) > 100 and all(re.fullmatch(r"#,##0(\.0+)?", v) for v in values)


def _letters(column: int) -> str:
    name = ""
    column += 1
    while column:
        column, rest = divmod(column - 1, 26)
        name = chr(65 + rest) + name
    return name


def test_without_report_territories_a_large_level_shows_its_distribution_instead(
        con, catalogue, tmp_path):
    """Bounded whatever the project's size: a level of more territories than the report's
    tables list shows, as they do, how many have a value and the percentiles of the values."""
    path = write_xlsx(con, catalogue, tmp_path / "x.xlsx", "en", rows_per_level=2)
    rows = _sheet(path, "LL")
    listed = [r for r in rows[HEADER_ROWS:] if r[0] and r[1]]
    assert "Communes" not in {r[2] for r in listed} and "Régions" in {r[2] for r in listed}
    assert rows[2][0] == (
        "Every territory of the levels with at most 2 territories. For communes (4), more "
        "than 2 territories each, the distribution of the values (how many territories have "
        "one; 10th, 25th, 50th, 75th and 90th percentiles) stands in their place; every "
        "territory is in the sheet Data.")
    block = [r for r in rows[HEADER_ROWS:] if r[1].startswith("Communes — ")]
    assert [r[1] for r in block] == [
        "Communes — territories with a value", "Communes — 10th percentile",
        "Communes — 25th percentile", "Communes — median", "Communes — 75th percentile",
        "Communes — 90th percentile"]
    assert rows.index(block[0]) == HEADER_ROWS  # communes come first, in level order
    value = _columns(rows, "LL01")["Value"]
    published, median = con.execute(
        "SELECT count(value), median(value) FROM indicator_values WHERE indicator_id = 'LL01' "
        "AND territory_level = 'COM' AND year = ? AND breakdown = 'total'", [YEAR]).fetchone()
    assert (block[0][value], block[3][value]) == (published, pytest.approx(median))
    every = _sheet(write_xlsx(con, catalogue, tmp_path / "y.xlsx", "en"), "LL")
    assert every[2][0] == "Every territory, by level."
    assert "Communes" in {r[2] for r in every[HEADER_ROWS:]}


def test_report_territories_come_first_and_a_large_levels_distribution_after(
        con, catalogue, tmp_path):
    path = write_xlsx(con, catalogue, tmp_path / "x.xlsx", "fr", ["56260", "53"],
                      rows_per_level=2)
    rows = _sheet(path, "LL")
    assert [r[1] for r in rows[HEADER_ROWS:HEADER_ROWS + 3]] == [
        "Vannes", "Bretagne", "Communes — territoires avec une valeur"]
    assert rows[2][0].startswith("Les 2 territoires du rapport, dans son ordre. Tous les "
                                 "territoires figurent dans la feuille Données. Pour "
                                 "communes (4), plus de 2 territoires chacun")


def test_the_report_title_heads_every_printed_page(con, catalogue, tmp_path):
    path = write_xlsx(con, catalogue, tmp_path / "x.xlsx", "fr", CHOSEN,
                      title="Vannes & Bretagne")
    for name in ("Lisez-moi", "LL", "Données"):
        header = _sheet_xml(path, name).find(f".//{MAIN}oddHeader").text
        assert header == "&LVannes && Bretagne&R&A"  # '&' doubled, as a header writes it
    assert _sheet(path, "Lisez-moi")[0][0] == "Vannes & Bretagne"


def test_two_writes_give_the_same_bytes(con, catalogue, tmp_path):
    for lang in ("en", "fr"):
        first = write_xlsx(con, catalogue, tmp_path / f"a-{lang}.xlsx", lang, CHOSEN)
        second = write_xlsx(con, catalogue, tmp_path / f"b-{lang}.xlsx", lang, CHOSEN)
        assert first.read_bytes() == second.read_bytes()
        assert not list(tmp_path.glob(".*partial"))


def test_a_low_reliability_value_sits_on_a_hatched_fill_and_others_on_none(french):
    rows = _sheet(french, "LL")
    styles = _xml(french, "xl/styles.xml")
    fills = [f.find(f"{MAIN}patternFill").get("patternType")
             for f in styles.find(f"{MAIN}fills")]
    xfs = [int(xf.get("fillId", 0)) for xf in styles.find(f"{MAIN}cellXfs")]
    cells = {c.get("r"): fills[xfs[int(c.get("s", 0))]]
             for c in _sheet_xml(french, "LL").iter(f"{MAIN}c")}

    def fill(code: str, indicator_id: str) -> str:
        row = next(n for n, r in enumerate(rows) if r[0] == code) + 1
        return cells[f"{_letters(_columns(rows, indicator_id)['Valeur'])}{row}"]

    assert fill(LOW_RELIABILITY[1], LOW_RELIABILITY[0]) == "lightDown"
    assert fill("56260", "LL04") == "none"
