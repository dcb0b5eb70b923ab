"""A French run's ``indicators.csv`` is in French, all of it, in both styles: column names,
labels, units, statuses, breakdowns, reasons and group names; the words are the workbook's
and the report's. Column for column and row for row it is the English file, whose bytes do not
change. Programs that want codes whatever the language read the Parquet files or the SDMX-CSV.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from python_calamine import CalamineWorkbook

from indicators import Catalogue, load_catalogue
from indicators.territories import GROUP_LEVEL
from reports import write_csv, write_exports
from reports._exports import (
    _REASONS_FR,
    _WORDS,
    BREAKDOWNS,
    CSV_COLUMNS,
    EXPORT_COLUMNS,
    FLOATS,
    FRENCH_CSV_COLUMNS,
    STATUSES,
    column_header,
    word,
)
from reports._tables import mark_meaning
from tests.reports_fixtures import (
    GROUP,
    GROUP_NAME_FR,
    LOW_RELIABILITY,
    SUPPRESSED,
    YEAR,
    build_warehouse,
)

STYLES = ("standard", "spreadsheet")
NUMBERS = frozenset({*FLOATS, "year", "n_unweighted"})
KEYS = EXPORT_COLUMNS  # every column, in the order of both styles and both languages
TOKEN = re.compile(r"[^\W\d]+")  # letters and underscores: 'low_reliability', 'sex', 'f'


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


# Every form of reason the publication step writes (indicators.compute.publication).
REASONS = ("no data reported", "denominator is zero or missing", "unweighted n = 22 < 30",
           "unweighted n = 64 < 100", "coefficient of variation 0.240 > 0.2",
           "3 of 4 member communes reported", "fewer than 200 workers (150)")


@pytest.fixture(scope="module")
def con(catalogue):
    """The test warehouse, its reasons those the publication step writes, each form once."""
    con = build_warehouse(catalogue)
    con.execute("UPDATE indicator_values SET status_reason = NULL")
    keys = con.execute("SELECT indicator_id, territory_level, territory_code, year, breakdown "
                       "FROM indicator_values ORDER BY ALL LIMIT ?", [len(REASONS)]).fetchall()
    for reason, key in zip(REASONS, keys, strict=True):
        con.execute("UPDATE indicator_values SET status_reason = ? WHERE indicator_id = ? AND "
                    "territory_level = ? AND territory_code = ? AND year = ? AND breakdown = ?",
                    [reason, *key])
    return con


@pytest.fixture(scope="module")
def written(con, catalogue, tmp_path_factory) -> dict[tuple[str, str], list[dict[str, str]]]:
    """Every (language, style)'s CSV as rows keyed by column (EXPORT_COLUMNS), header first."""
    folder = tmp_path_factory.mktemp("csv")
    found = {}
    for lang in ("en", "fr"):
        for style in STYLES:
            path = write_csv(con, catalogue, folder / f"{lang}-{style}.csv", lang, style)
            raw = path.read_text(encoding="utf-8-sig" if style == "spreadsheet" else "utf-8")
            rows = list(csv.reader(io.StringIO(raw, newline=""),
                                   delimiter=";" if (lang, style) == ("fr", "spreadsheet")
                                   else ","))
            found[(lang, style)] = [dict(zip(KEYS, row, strict=True)) for row in rows]
    return found


def _tokens(text: str) -> set[str]:
    return set(TOKEN.findall(text.lower()))


def _english_vocabulary(con, catalogue: Catalogue) -> set[str]:
    """Every word an English CSV writes that a French one has no reason to: the English
    headers, status codes and words, breakdown codes, labels, units, reasons and group names,
    less the words French shares (codes, proper names, the French texts)."""
    english = [*CSV_COLUMNS, *STATUSES, *BREAKDOWNS,
               *(pair[0] for key, pair in _WORDS.items() if not key.startswith("meaning.")),
               *(t for i in catalogue for t in (i.label.en, i.unit.en))]
    french = [*FRENCH_CSV_COLUMNS, *(pair[1] for pair in _WORDS.values()),
              *(replacement for _, replacement in _REASONS_FR),
              *(t for i in catalogue for t in (i.label.fr, i.unit.fr, i.id, i.domain))]
    english += [row[0] for row in con.execute(
        "SELECT DISTINCT status_reason FROM indicator_values WHERE status_reason IS NOT NULL "
        "UNION ALL SELECT DISTINCT territory_name FROM indicator_values "
        "WHERE territory_level = $group", {"group": GROUP_LEVEL}).fetchall()]
    french += [row[0] for row in con.execute(
        "SELECT DISTINCT territory_name FROM indicator_values WHERE territory_level <> $group "
        "UNION ALL SELECT DISTINCT territory_code FROM indicator_values "
        "UNION ALL SELECT DISTINCT territory_level FROM indicator_values "
        "UNION ALL SELECT group_name_fr FROM territory_groups",
        {"group": GROUP_LEVEL}).fetchall()]
    shared = set().union(*map(_tokens, french))
    return set().union(*map(_tokens, english)) - shared


def _english_in(rows: list[dict[str, str]], vocabulary: set[str]) -> set[str]:
    """The English words of the header and of every cell of every text column."""
    cells = [cell for row in rows for key, cell in row.items()
             if row is rows[0] or key not in NUMBERS]
    return set().union(*map(_tokens, cells)) & vocabulary


@pytest.mark.parametrize("style", STYLES)
def test_a_french_csv_has_no_english_header_or_word_in_any_text_cell(con, catalogue, written,
                                                                     style):
    vocabulary = _english_vocabulary(con, catalogue)
    assert _english_in(written[("fr", style)], vocabulary) == set()
    # The same scan over the English file finds its words, so the test can fail.
    found = _english_in(written[("en", style)], vocabulary)
    assert {"total", "sex", "french", "learning", "cities", "unweighted"} <= found
    assert ({"indicator_id", "label_en", "status_reason", "ok", "low_reliability",
             "suppressed", "missing"} if style == "standard" else
            {"indicator", "label", "published", "reliability", "missing"}) <= found


@pytest.mark.parametrize("style", STYLES)
def test_a_french_csv_maps_column_for_column_and_row_for_row_onto_the_english(
        catalogue, written, style):
    english, french = written[("en", style)], written[("fr", style)]
    assert list(french[0].values()) == (
        list(FRENCH_CSV_COLUMNS) if style == "standard" else
        [column_header(key, "fr") for key in EXPORT_COLUMNS])
    assert len(set(french[0].values())) == len(KEYS)
    assert len(french) == len(english)
    pairs: dict[str, set[tuple[str, str]]] = {key: set() for key in KEYS}
    for en, fr in zip(english[1:], french[1:], strict=True):
        for key in ("indicator_id", "domain", "territory_code", "territory_level", "year",
                    "n_unweighted"):
            assert fr[key] == en[key], key  # codes and counts are no one's language
        for key in FLOATS:
            assert fr[key].replace(",", ".") == en[key].replace(",", "."), key  # same values
        indicator = catalogue.get(en["indicator_id"])
        assert (fr["label"], fr["unit"]) == (indicator.label.fr, indicator.unit.fr)
        for key in ("territory_name", "breakdown", "status", "status_reason"):
            pairs[key].add((en[key], fr[key]))
    english_status = (lambda s: s) if style == "standard" else (lambda s: word(f"status.{s}",
                                                                                "en"))
    assert pairs["status"] == {(english_status(s), word(f"status.{s}", "fr")) for s in STATUSES}
    assert pairs["breakdown"] == {("total", "Ensemble"), ("sex=F", "Femmes"),
                                  ("sex=M", "Hommes")}
    assert {fr for en, fr in pairs["status_reason"] if en} == {
        "aucune donnée transmise", "dénominateur nul ou manquant",
        "effectif non pondéré de 22 < 30", "effectif non pondéré de 64 < 100",
        "coefficient de variation de 0,240 > 0,2", "3 communes membres sur 4 ont répondu",
        "moins de 200 actifs occupés (150)"}
    renamed = {(en, fr) for en, fr in pairs["territory_name"] if en != fr}
    assert renamed == {("French UNESCO learning cities", GROUP_NAME_FR)}  # a group, in French
    for key in ("breakdown", "status", "status_reason", "territory_name"):  # one to one
        assert len({fr for _, fr in pairs[key]}) == len({en for en, _ in pairs[key]}), key


def test_the_csv_says_statuses_and_breakdowns_as_the_workbook_and_the_report_do(
        con, catalogue, tmp_path):
    csv_path, xlsx_path, _ = write_exports(con, catalogue, tmp_path, "fr")
    with csv_path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    data = CalamineWorkbook.from_path(str(xlsx_path)).get_sheet_by_name("Données").to_python()
    assert data[0] == [column_header(key, "fr") for key in EXPORT_COLUMNS]
    status = data[0].index(column_header("status", "fr"))
    assert {r["statut"] for r in rows} == {r[status] for r in data[1:]} == {
        "Publié", "Fiabilité limitée", "Non publié", "Manquant"}
    assert {r["ventilation"] for r in rows} == {r[8] for r in data[1:]} == {
        "Ensemble", "Femmes", "Hommes"}
    for status in ("suppressed", "low_reliability"):  # the marks' words in the legend
        assert mark_meaning(status, "fr").startswith(word(f"status.{status}", "fr").lower())
    cell = {(r["code_indicateur"], r["code_territoire"], r["annee"], r["ventilation"]): r
            for r in rows}
    assert cell[(*SUPPRESSED, str(YEAR), "Ensemble")]["statut"] == "Non publié"
    assert cell[(*LOW_RELIABILITY, str(YEAR), "Ensemble")]["statut"] == "Fiabilité limitée"
    assert {r["nom_territoire"] for r in rows if r["code_territoire"] == GROUP} == {
        GROUP_NAME_FR}


def test_the_english_csv_keeps_its_codes_and_a_project_without_groups_its_names(
        catalogue, tmp_path):
    """English: the identifiers, status and breakdown codes programs have always read. A
    project with no territory_groups table writes its names as the values hold them."""
    con = build_warehouse(catalogue)
    con.execute("DROP TABLE territory_groups")
    english = write_csv(con, catalogue, tmp_path / "en.csv", "en")
    with english.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert {r["status"] for r in rows} == set(STATUSES)
    assert {r["breakdown"] for r in rows} == set(BREAKDOWNS)
    french = write_csv(con, catalogue, tmp_path / "fr.csv", "fr")
    with french.open(encoding="utf-8", newline="") as handle:
        names = {r["nom_territoire"] for r in csv.DictReader(handle)
                 if r["code_territoire"] == GROUP}
    assert names == {"French UNESCO learning cities"}
