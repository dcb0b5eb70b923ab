"""The exports speak the run's language: headers, labels, units, statuses, reasons and every
word of the workbook; codes (indicator ids, territory codes, levels) stay as they are."""

from __future__ import annotations

import csv
import io
import re

import pytest
from python_calamine import CalamineWorkbook

from indicators import Catalogue, load_catalogue
from reports import write_exports
from reports._exports import _WORDS as EXPORT_WORDS
from reports._exports import CSV_COLUMNS
from reports._i18n import _STRINGS as UI_STRINGS
from reports._spreadsheet import _WORDS as WORKBOOK_WORDS
from reports._tables import _STRINGS as TABLE_STRINGS
from tests.reports_fixtures import LOW_RELIABILITY, SUPPRESSED, YEAR, build_warehouse


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="module")
def french(catalogue, tmp_path_factory):
    """A French run's exports, the CSV in spreadsheet conventions."""
    con = build_warehouse(catalogue)
    return write_exports(con, catalogue, tmp_path_factory.mktemp("fr"), "fr", "spreadsheet")


def _strings(book: CalamineWorkbook) -> set[str]:
    return {cell for name in book.sheet_names for row in book.get_sheet_by_name(name).to_python()
            for cell in row if isinstance(cell, str) and cell}


def _english_words(catalogue: Catalogue) -> set[str]:
    """Every English text the exports may show that French says otherwise."""
    pairs = [*EXPORT_WORDS.values(), *WORKBOOK_WORDS.values(), *UI_STRINGS.values(),
             *TABLE_STRINGS.values()]
    for indicator in catalogue:
        pairs += [(t.en, t.fr) for t in (indicator.label, indicator.unit, indicator.description,
                                         indicator.source)]
        pairs.append((indicator.reference_in("en") or "", indicator.reference_in("fr") or ""))
        if indicator.target:
            pairs.append((indicator.target.source_in("en"), indicator.target.source_in("fr")))
    pairs += [(d.label("en"), d.label("fr")) for d in catalogue.domains]
    english = set()
    for en, fr in pairs:
        for piece in re.split(r"\{[^}]*\}|&[A-Z]", en):  # the fixed words around placeholders
            piece = piece.strip(" .,:;()·")
            if len(piece) > 3 and piece not in fr:
                english.add(piece)
    return english | {"low_reliability", "suppressed", "Higher is better", "Read me"}


def _english_found(csv_path, xlsx_path, english: set[str]) -> list[str]:
    book = CalamineWorkbook.from_path(str(xlsx_path))
    shown = [*_strings(book), *csv_path.read_text(encoding="utf-8-sig").splitlines()]
    return sorted({word for word in english for line in shown if word in line})


def test_no_english_word_reaches_a_french_workbook_or_spreadsheet_csv(catalogue, french,
                                                                      tmp_path):
    english = _english_words(catalogue)
    assert _english_found(french[0], french[1], english) == []
    con = build_warehouse(catalogue)  # the same scan over an English run finds its words
    in_english = write_exports(con, catalogue, tmp_path, "en", "spreadsheet")
    assert len(_english_found(in_english[0], in_english[1], english)) > 50


def test_a_french_workbook_names_its_sheets_and_columns_in_french(catalogue, french):
    book = CalamineWorkbook.from_path(str(french[1]))
    assert book.sheet_names == ["Lisez-moi", *(d.code for d in catalogue.domains), "Données"]
    data = book.get_sheet_by_name("Données").to_python()
    assert data[0][:4] == ["Indicateur", "Domaine", "Libellé", "Unité"]
    assert data[0][-3:] == ["Statut", "Motif", "Non-réponse partielle (part)"]
    ll01 = catalogue.get("LL01")
    first = next(r for r in data[1:] if r[0] == "LL01")
    assert first[2:4] == [ll01.label.fr, ll01.unit.fr]
    assert {r[8] for r in data[1:]} == {"Ensemble", "Femmes", "Hommes"}
    by_cell = {(r[0], r[4], int(r[7]), r[8]): r for r in data[1:]}
    suppressed = by_cell[(*SUPPRESSED, YEAR, "Ensemble")]
    assert suppressed[-3:-1] == ["Non publié", "effectif non pondéré de 22 < 30"]
    assert by_cell[(*LOW_RELIABILITY, YEAR, "Ensemble")][-3:-1] == [
        "Fiabilité limitée", "coefficient de variation de 0,24 > 0,2"]


def test_the_french_spreadsheet_csv_says_in_french_what_the_workbook_says(french):
    rows = list(csv.reader(io.StringIO(french[0].read_text(encoding="utf-8-sig")),
                           delimiter=";"))
    assert rows[0][:3] == ["Indicateur", "Domaine", "Libellé"]
    assert {r[-3] for r in rows[1:]} == {"Publié", "Fiabilité limitée", "Non publié",
                                         "Manquant"}


def test_the_english_standard_csv_keeps_its_identifiers_and_codes(catalogue, tmp_path):
    """As it has always been: identifiers, status and breakdown codes; the label and unit
    columns say their language (a French run's CSV: test_exports_french_csv)."""
    con = build_warehouse(catalogue)
    english = write_exports(con, catalogue, tmp_path / "en", "en")[0]
    with english.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert list(CSV_COLUMNS[:4]) == ["indicator_id", "domain", "label_en", "unit_en"]
    assert {r["status"] for r in rows} == {"ok", "low_reliability", "suppressed", "missing"}
    assert {r["breakdown"] for r in rows} == {"total", "sex=F", "sex=M"}
    assert "unweighted n = 22 < 30" in {r["status_reason"] for r in rows}


def test_an_english_run_writes_english_and_a_french_run_other_bytes(catalogue, tmp_path):
    con = build_warehouse(catalogue)
    english = write_exports(con, catalogue, tmp_path / "en", "en", "spreadsheet")
    french = write_exports(con, catalogue, tmp_path / "fr", "fr", "spreadsheet")
    for en, fr in zip(english[:2], french[:2], strict=True):
        assert en.read_bytes() != fr.read_bytes(), en.name
    book = CalamineWorkbook.from_path(str(english[1]))
    assert book.sheet_names[0] == "Read me" and book.sheet_names[-1] == "Data"
    strings = _strings(book)
    assert {"Low reliability", "Not published", "Higher is better"} <= strings
    assert english[2].read_bytes() == french[2].read_bytes()  # SDMX codes carry no language


def test_an_unknown_language_or_csv_style_is_refused(catalogue, tmp_path):
    con = build_warehouse(catalogue)
    with pytest.raises(ValueError, match="unsupported language 'de'"):
        write_exports(con, catalogue, tmp_path, "de")
    with pytest.raises(ValueError, match="unknown CSV style 'excel'"):
        write_exports(con, catalogue, tmp_path, "fr", "excel")
